"""What the merchant console reads and does over REST (merchant API key as bearer).

- ``GET /api/v1/merchant/rooms`` — the merchant's rooms, newest first (``?status=open|closed``,
  ``?limit=``), each with its kind, title, join policy and last activity.
- ``GET /api/v1/merchant/orders`` — the merchant's orders, newest first (``?limit=``,
  ``?before=`` the previous page's ``next_before``): status, total, paid, refunded, payers.
- ``GET /api/v1/merchant/catalog`` — the catalogue's counts and the latest imports with the rows
  they refused (``server.catalog.status``).
- ``GET /api/v1/merchant/analytics`` — the funnel (joined → added → checked out → paid), carts,
  orders, revenue and what led to each paid line, over the merchant's rooms (``?kind=``,
  ``?since=`` ms) or one show (``?room_id=``); ``GET …/analytics.csv`` the same per room
  (``?table=rooms``) or per cause (``?table=attribution``). Built by :mod:`server.analytics`.
- ``POST /api/v1/merchant/catalog/import?filename=feed.csv&prune=false`` — upload a feed (the
  body is the file: schema.org JSON-LD, or a Merchant Center CSV/TSV), imported like
  ``coshop catalog import``; answers the report with every refused row.

The console page (``/console``, ``templates/console.html``) is a client of these routes and of
the other merchant routes (origins, keys, publishable key, webhooks). Must not hold queries: it
calls the registry, :mod:`server.checkout.ledger` and :mod:`server.catalog.status`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.analytics.funnel import Attribution
from server.analytics.service import MerchantAnalytics, RoomFigures, merchant_analytics
from server.api.common import merchant_caller, now_ms, only_params, query_param
from server.catalog.fields import LIMITS
from server.catalog.importer import ImportReport, import_text
from server.catalog.records import RowError
from server.catalog.status import CatalogStatus, ImportSummary, catalog_status
from server.checkout.ledger import merchant_orders, page_cursor
from server.http.problem import ProblemError
from server.storage import Registry

__all__ = ["MAX_FEED_BYTES", "console_routes"]

MAX_FEED_BYTES = LIMITS.max_feed_chars
"""The largest feed the console uploads (the CLI reads bigger files from disk)."""
_FEED_TYPES = {
    "application/json",
    "application/ld+json",
    "text/csv",
    "text/tab-separated-values",
    "text/plain",
}
_FILENAME_SUFFIXES = (".json", ".jsonld", ".csv", ".tsv", ".txt")
_PAGE = 50


def _limit(request: Request) -> int:
    raw = query_param(request, "limit", max_len=3)
    if raw is None:
        return _PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise ProblemError(
            422, "invalid_field", "limit must be a whole number from 1 to 100",
            extra={"field": "limit"},
        )  # fmt: skip
    return int(raw)


async def list_rooms(request: Request) -> JSONResponse:
    """GET /api/v1/merchant/rooms"""
    merchant = await merchant_caller(request)
    only_params(request, "status", "limit")
    status = query_param(request, "status", max_len=10)
    if status not in (None, "open", "closed"):
        raise ProblemError(
            422, "invalid_field", "status must be open or closed", extra={"field": "status"}
        )
    registry: Registry = request.app.state.registry
    found = await registry.list_rooms(
        merchant.merchant_id, _limit(request), include_closed=status != "open"
    )
    if status == "closed":
        found = [room for room in found if room.closed]
    activity = await registry.last_activity(room.room_id for room in found)
    return JSONResponse(
        {
            "rooms": [
                {
                    "room_id": room.room_id,
                    "kind": room.kind,
                    "title": room.title,
                    "created_at": room.created_at,
                    "closed": room.closed,
                    "join_policy": room.join_policy,
                    "last_activity_at": activity.get(room.room_id),
                }
                for room in found
            ]
        }
    )


async def list_orders(request: Request) -> JSONResponse:
    """GET /api/v1/merchant/orders"""
    merchant = await merchant_caller(request)
    only_params(request, "limit", "before")
    before = query_param(request, "before", max_len=100)
    limit = _limit(request)
    try:
        found = await merchant_orders(
            request.app.state.engine, merchant.merchant_id, limit=limit, before=before
        )
    except ValueError as exc:
        raise ProblemError(
            422, "invalid_field", "before must be the next_before of a previous page",
            extra={"field": "before"},
        ) from exc  # fmt: skip
    return JSONResponse(
        {
            "orders": [
                {
                    "order_id": o.order_id,
                    "room_id": o.room_id,
                    "status": o.status,
                    "currency": o.currency,
                    "total_minor": o.total_minor,
                    "paid_minor": o.paid_minor,
                    "refunded_minor": o.refunded_minor,
                    "payers": o.payers,
                    "paid_payers": o.paid_payers,
                    "created_at": o.created_at,
                    "updated_at": o.updated_at,
                }
                for o in found
            ],
            "next_before": page_cursor(found[-1]) if len(found) == limit else None,
        }
    )


def _row_json(entry: RowError) -> dict[str, Any]:
    return {"row": entry.row, "field": entry.field, "code": entry.code, "message": entry.message}


def _import_json(summary: ImportSummary) -> dict[str, Any]:
    return {
        "import_id": summary.import_id,
        "at": summary.at,
        "source": summary.source,
        "format": summary.format,
        "products": summary.products,
        "variants": summary.variants,
        "pruned": summary.pruned,
        "error_count": summary.error_count,
        "notice_count": summary.notice_count,
        "errors": [_row_json(e) for e in summary.errors],
        "notices": [_row_json(n) for n in summary.notices],
    }


def _status_json(status: CatalogStatus) -> dict[str, Any]:
    return {
        "merchant_id": status.merchant_id,
        "products": status.products,
        "variants": status.variants,
        "out_of_stock": status.out_of_stock,
        "revision": status.revision,
        "last_change_at": status.last_change_at,
        "imports": [_import_json(i) for i in status.imports],
    }


async def get_catalog(request: Request) -> JSONResponse:
    """GET /api/v1/merchant/catalog"""
    merchant = await merchant_caller(request)
    only_params(request)
    status = await catalog_status(request.app.state.engine, merchant.merchant_id)
    return JSONResponse(_status_json(status))


def _report_json(report: ImportReport) -> dict[str, Any]:
    return {
        "source": report.source,
        "format": report.format,
        "products": report.products,
        "variants": report.variants,
        "pruned": report.pruned,
        "errors": [_row_json(e) for e in report.errors],
        "notices": [_row_json(n) for n in report.notices],
    }


async def import_catalog(request: Request) -> JSONResponse:
    """POST /api/v1/merchant/catalog/import"""
    merchant = await merchant_caller(request)
    only_params(request, "filename", "prune")
    filename = query_param(request, "filename", max_len=200)
    filename = "feed.json" if filename is None else filename
    if not filename.lower().endswith(_FILENAME_SUFFIXES):
        raise ProblemError(
            422, "invalid_field",
            "filename must end in .json, .jsonld, .csv, .tsv or .txt (it picks the format)",
            extra={"field": "filename"},
        )  # fmt: skip
    prune = query_param(request, "prune", max_len=5)
    prune = "false" if prune is None else prune
    if prune not in ("true", "false"):
        raise ProblemError(
            422, "invalid_field", "prune must be true or false", extra={"field": "prune"}
        )
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in _FEED_TYPES:
        raise ProblemError(
            415, "unsupported_media_type",
            "send the feed as text/csv, text/tab-separated-values or application/json",
        )  # fmt: skip
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FEED_BYTES:
            raise ProblemError(
                413, "body_too_large", f"a feed may be at most {MAX_FEED_BYTES} bytes here"
            )
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProblemError(
            422, "bad_encoding", f"the feed is not UTF-8 (byte {exc.start})"
        ) from exc
    report = await import_text(
        request.app.state.engine,
        merchant.merchant_id,
        text,
        filename,
        now_ms(),
        prune=prune == "true",
    )
    # rooms of this process read the new products at their next turn (others within the
    # refresh period, COSHOP_CATALOG_REFRESH_S)
    request.app.state.hub.catalogs.invalidate(merchant.merchant_id)
    return JSONResponse(_report_json(report))


_KINDS = ("group", "live")


def _attribution_json(attribution: Mapping[str, Attribution]) -> dict[str, Any]:
    return {
        cause: {"lines": a.lines, "units": a.units, "value": dict(a.value)}
        for cause, a in attribution.items()
    }


async def _analytics(request: Request, *extra: str) -> MerchantAnalytics:
    merchant = await merchant_caller(request)
    only_params(request, "room_id", "kind", "since", *extra)
    kind = query_param(request, "kind", max_len=10)
    if kind is not None and kind not in _KINDS:
        raise ProblemError(
            422, "invalid_field", "kind must be group or live", extra={"field": "kind"}
        )
    raw_since = query_param(request, "since", max_len=16)
    if raw_since is not None and not raw_since.isdigit():
        raise ProblemError(
            422, "invalid_field", "since must be a time in milliseconds", extra={"field": "since"}
        )
    found = await merchant_analytics(
        request.app.state.registry,
        request.app.state.hub.store,
        merchant.merchant_id,
        room_id=query_param(request, "room_id", max_len=64),
        kind=kind,
        since=None if raw_since is None else int(raw_since),
    )
    if found is None:
        raise ProblemError(404, "room_not_found", "this shop has no such room")
    return found


def _room_row(item: RoomFigures) -> dict[str, Any]:
    room, f = item.room, item.figures
    return {
        "room_id": room.room_id,
        "kind": room.kind,
        "title": room.title,
        "created_at": room.created_at,
        "joined": f.joined,
        "added": f.added,
        "checked_out": f.checked_out,
        "paid": f.paid,
        "lines_added": f.lines_added,
        "orders": f.orders,
        "paid_orders": f.paid_orders,
        "revenue": dict(f.revenue),
        "attribution": _attribution_json(f.attribution),
    }


async def get_analytics(request: Request) -> JSONResponse:
    """GET /api/v1/merchant/analytics"""
    found = await _analytics(request)
    return JSONResponse(
        {
            "funnel": {
                "joined": found.joined,
                "added": found.added,
                "checked_out": found.checked_out,
                "paid": found.paid,
            },
            "rooms_count": len(found.rooms),
            "carts": found.carts,
            "orders": found.orders,
            "paid_orders": found.paid_orders,
            "revenue": found.revenue,
            "attribution": _attribution_json(found.attribution),
            "rooms": [_room_row(item) for item in found.rooms],
            "truncated": found.truncated,
        }
    )


_CSV_ROOM_COLUMNS = (
    "room_id", "kind", "title", "created_at", "joined", "added", "checked_out", "paid",
    "lines_added", "orders", "paid_orders", "currency", "revenue_minor",
)  # fmt: skip


def _csv_cell(value: object) -> str:
    text = str(value)
    # a cell a spreadsheet would run as a formula is quoted as text (CSV injection)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def get_analytics_csv(request: Request) -> Response:
    """GET /api/v1/merchant/analytics.csv — one row per room and currency (``?table=rooms``) or
    per cause of the paid lines (``?table=attribution``)."""
    found = await _analytics(request, "table")
    table = query_param(request, "table", max_len=12)
    table = "rooms" if table is None else table
    if table not in ("rooms", "attribution"):
        raise ProblemError(
            422, "invalid_field", "table must be rooms or attribution", extra={"field": "table"}
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if table == "rooms":
        writer.writerow(_CSV_ROOM_COLUMNS)
        for item in found.rooms:
            row = _room_row(item)
            for currency, minor in sorted(row["revenue"].items()) or [("", 0)]:
                writer.writerow(
                    [_csv_cell(row[c]) for c in _CSV_ROOM_COLUMNS[:-2]] + [currency, minor]
                )
    else:
        writer.writerow(("cause", "lines", "units", "currency", "value_minor"))
        for cause, a in found.attribution.items():
            for currency, minor in sorted(a.value.items()):
                writer.writerow((cause, a.lines, a.units, currency, minor))
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="coshop-{table}.csv"'},
    )


def console_routes() -> list[Route]:
    return [
        Route("/api/v1/merchant/analytics", get_analytics, methods=["GET"]),
        Route("/api/v1/merchant/analytics.csv", get_analytics_csv, methods=["GET"]),
        Route("/api/v1/merchant/rooms", list_rooms, methods=["GET"]),
        Route("/api/v1/merchant/orders", list_orders, methods=["GET"]),
        Route("/api/v1/merchant/catalog", get_catalog, methods=["GET"]),
        Route("/api/v1/merchant/catalog/import", import_catalog, methods=["POST"]),
    ]
