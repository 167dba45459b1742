"""Outbound webhook endpoints over REST (merchant API key as bearer), docs/webhooks.md.

- ``POST /api/v1/merchant/webhooks`` ``{"url", "events", "description"?}`` — add an endpoint;
  answers it with its ``secret`` (``whsec_…``, Standard Webhooks).
- ``GET /api/v1/merchant/webhooks`` — the merchant's endpoints (without secrets).
- ``GET /api/v1/merchant/webhooks/{id}`` — one endpoint, with its secret.
- ``PATCH /api/v1/merchant/webhooks/{id}`` — change ``url``, ``events``, ``description``,
  ``enabled``; ``DELETE`` removes it with its delivery log. An endpoint whose every attempt
  failed for days is disabled by the worker (``disabled_reason: "failing"``);
  ``{"enabled": true}`` enables it again and starts a fresh count of failures.
- ``POST /api/v1/merchant/webhooks/{id}/secret`` — rotate the secret; the old one still signs
  (a second signature) for 24 hours.
- ``GET /api/v1/merchant/webhooks/{id}/deliveries`` — the delivery log, newest first
  (``?limit=``, ``?before=`` the previous page's ``next_before``);
  ``GET …/deliveries/{delivery_id}`` one delivery with its body and attempts;
  ``POST …/deliveries/{delivery_id}/resend`` sends it again (same ``webhook-id``).

URLs are checked by :mod:`server.webhooks.urls` (https and public addresses in production).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.api.common import (
    check_text,
    merchant_caller,
    new_id,
    now_ms,
    path_param,
    query_param,
)
from server.api.common import read_json as _read_json
from server.http.problem import ProblemError
from server.storage import Merchant
from server.webhooks.events import SUBSCRIBABLE
from server.webhooks.service import WebhookService
from server.webhooks.signing import new_secret
from server.webhooks.store import Attempt, Delivery, Endpoint
from server.webhooks.urls import UrlRefused, check_url, resolve_public

__all__ = ["ROTATION_GRACE_MS", "webhook_routes"]

MAX_ENDPOINTS = 20
ROTATION_GRACE_MS = 24 * 3600 * 1000
_MAX_EVENTS = 32
_PAGE = 50


def _service(request: Request) -> WebhookService:
    service: WebhookService = request.app.state.webhooks
    return service


async def _endpoint(request: Request, merchant: Merchant) -> Endpoint:
    endpoint_id = path_param(request, "endpoint_id")
    found = await _service(request).store.endpoint(endpoint_id, merchant.merchant_id)
    if found is None:
        raise ProblemError(404, "webhook_not_found", "no such webhook endpoint")
    return found


def _field_error(field: str, message: str, code: str = "invalid_field") -> ProblemError:
    return ProblemError(422, code, message, extra={"field": field})


async def _url(request: Request, value: object) -> str:
    production = _service(request).production
    try:
        url = check_url(value, production=production)
        if production:
            await resolve_public(url)
    except UrlRefused as exc:
        raise _field_error("url", exc.message, exc.code) from exc
    return url


def _events(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(value) > _MAX_EVENTS:
        raise _field_error("events", f"events must be a list of 1-{_MAX_EVENTS} event types")
    for item in value:
        if not isinstance(item, str) or (item != "*" and item not in SUBSCRIBABLE):
            shown = str(item)[:60]
            raise _field_error(
                "events",
                f"{shown!r} is not an event type; use '*' or some of: "
                + ", ".join(sorted(SUBSCRIBABLE)),
                "unknown_webhook_event",
            )
    return tuple(dict.fromkeys(value))


def _description(value: object) -> str:
    if not isinstance(value, str) or len(value) > 200:
        raise _field_error("description", "description must be a string of at most 200 characters")
    return check_text(value, "description")


def _enabled(value: object) -> bool:
    if not isinstance(value, bool):
        raise _field_error("enabled", "enabled must be true or false")
    return value


def _endpoint_json(endpoint: Endpoint, *, secret: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": endpoint.endpoint_id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
        "failing_since": endpoint.failing_since,
        "disabled_at": endpoint.disabled_at,
        "disabled_reason": endpoint.disabled_reason,
    }
    if secret:
        data["secret"] = endpoint.secret
        data["previous_secret_valid_until"] = endpoint.previous_until
    return data


def _delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.delivery_id,
        "message_id": delivery.message_id,
        "event_type": delivery.event_type,
        "room_id": delivery.room_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at,
        "next_attempt_at": None if delivery.done_at is not None else delivery.next_attempt_at,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "done_at": delivery.done_at,
    }


def _attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "n": attempt.n,
        "at": attempt.at,
        "status": attempt.status,
        "error": attempt.error,
        "duration_ms": attempt.duration_ms,
        "response": attempt.response,
    }


# ---- endpoints -------------------------------------------------------------------------------
async def _create(request: Request) -> JSONResponse:
    """POST /api/v1/merchant/webhooks"""
    merchant = await merchant_caller(request)
    data = await _read_json(request)
    if "url" not in data:
        raise _field_error("url", "url is required")
    if "events" not in data:
        raise _field_error("events", "events is required (a list of event types, or ['*'])")
    url = await _url(request, data["url"])
    events = _events(data["events"])
    description = _description(data.get("description", ""))
    service = _service(request)
    if await service.store.count(merchant.merchant_id) >= MAX_ENDPOINTS:
        raise ProblemError(
            409, "too_many_webhooks", f"a merchant may have at most {MAX_ENDPOINTS} endpoints"
        )
    now = now_ms()
    endpoint = Endpoint(
        endpoint_id=new_id("we_"),
        merchant_id=merchant.merchant_id,
        url=url,
        events=events,
        description=description,
        secret=new_secret(),
        previous_secret=None,
        previous_until=None,
        enabled=True,
        created_at=now,
        updated_at=now,
    )
    await service.store.create_endpoint(endpoint)
    service.endpoints_changed(merchant.merchant_id)
    return JSONResponse(_endpoint_json(endpoint, secret=True), status_code=201)


async def _list(request: Request) -> JSONResponse:
    """GET /api/v1/merchant/webhooks"""
    merchant = await merchant_caller(request)
    found = await _service(request).store.endpoints(merchant.merchant_id)
    return JSONResponse({"webhooks": [_endpoint_json(e) for e in found]})


async def _collection(request: Request) -> JSONResponse:
    if request.method == "POST":
        return await _create(request)
    return await _list(request)


async def _update(request: Request, merchant: Merchant, endpoint: Endpoint) -> JSONResponse:
    data = await _read_json(request)
    changes: dict[str, Any] = {}
    if "url" in data:
        changes["url"] = await _url(request, data["url"])
    if "events" in data:
        changes["events"] = _events(data["events"])
    if "description" in data:
        changes["description"] = _description(data["description"])
    now = now_ms()
    if "enabled" in data and _enabled(data["enabled"]) != endpoint.enabled:
        changes["enabled"] = data["enabled"]
        if data["enabled"]:  # a fresh start: the run of failures is forgotten
            changes.update(disabled_at=None, disabled_reason=None, failing_since=None)
        else:
            changes.update(disabled_at=now, disabled_reason="merchant")
    service = _service(request)
    if changes:
        changes["updated_at"] = now
        await service.store.update_endpoint(endpoint.endpoint_id, changes)
        service.endpoints_changed(merchant.merchant_id)
    return await _current(request, endpoint.endpoint_id, secret=False)


async def _current(request: Request, endpoint_id: str, *, secret: bool) -> JSONResponse:
    found = await _service(request).store.endpoint(endpoint_id)
    if found is None:  # deleted by another request meanwhile
        raise ProblemError(404, "webhook_not_found", "no such webhook endpoint")
    return JSONResponse(_endpoint_json(found, secret=secret))


async def _one(request: Request) -> Response:
    """GET, PATCH, DELETE /api/v1/merchant/webhooks/{endpoint_id}"""
    merchant = await merchant_caller(request)
    endpoint = await _endpoint(request, merchant)
    if request.method == "PATCH":
        return await _update(request, merchant, endpoint)
    if request.method == "DELETE":
        service = _service(request)
        await service.store.delete_endpoint(endpoint.endpoint_id)
        service.endpoints_changed(merchant.merchant_id)
        return Response(status_code=204)
    return JSONResponse(_endpoint_json(endpoint, secret=True))


async def _rotate(request: Request) -> JSONResponse:
    """POST /api/v1/merchant/webhooks/{endpoint_id}/secret"""
    merchant = await merchant_caller(request)
    endpoint = await _endpoint(request, merchant)
    now = now_ms()
    service = _service(request)
    await service.store.update_endpoint(
        endpoint.endpoint_id,
        {
            "secret": new_secret(),
            "previous_secret": endpoint.secret,
            "previous_until": now + ROTATION_GRACE_MS,
            "updated_at": now,
        },
    )
    return await _current(request, endpoint.endpoint_id, secret=True)


# ---- the delivery log ------------------------------------------------------------------------
def _int_query(request: Request, name: str, low: int, high: int) -> int | None:
    raw = query_param(request, name, max_len=20)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ProblemError(
            400, "invalid_parameter", f"{name} must be a whole number from {low} to {high}",
            extra={"parameter": name},
        )  # fmt: skip
    return int(raw)


async def _deliveries(request: Request) -> JSONResponse:
    """GET /api/v1/merchant/webhooks/{endpoint_id}/deliveries"""
    merchant = await merchant_caller(request)
    endpoint = await _endpoint(request, merchant)
    limit = _int_query(request, "limit", 1, 200) or _PAGE
    before = _int_query(request, "before", 0, 2**62)
    rows = await _service(request).store.deliveries(
        endpoint.endpoint_id, limit=limit, before=before
    )
    return JSONResponse(
        {
            "deliveries": [_delivery_json(d) for d in rows],
            "next_before": rows[-1].position if len(rows) == limit else None,
        }
    )


async def _delivery(request: Request, merchant: Merchant) -> tuple[Endpoint, Delivery]:
    endpoint = await _endpoint(request, merchant)
    delivery_id = path_param(request, "delivery_id")
    found = await _service(request).store.delivery(delivery_id)
    if found is None or found.endpoint_id != endpoint.endpoint_id:
        raise ProblemError(404, "delivery_not_found", "no such delivery for this endpoint")
    return endpoint, found


async def _delivery_detail(request: Request) -> JSONResponse:
    """GET /api/v1/merchant/webhooks/{endpoint_id}/deliveries/{delivery_id}"""
    merchant = await merchant_caller(request)
    _endpoint_found, delivery = await _delivery(request, merchant)
    tries = await _service(request).store.attempts(delivery.delivery_id)
    return JSONResponse(
        {
            **_delivery_json(delivery),
            "payload": json.loads(delivery.payload),
            "attempt_log": [_attempt_json(a) for a in tries],
        }
    )


async def _resend(request: Request) -> JSONResponse:
    """POST /api/v1/merchant/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend"""
    merchant = await merchant_caller(request)
    _endpoint_found, delivery = await _delivery(request, merchant)
    service = _service(request)
    await service.store.resend(delivery.delivery_id, now_ms())
    service.worker.wake()
    updated = await service.store.delivery(delivery.delivery_id)
    if updated is None:  # its endpoint was deleted meanwhile
        raise ProblemError(404, "delivery_not_found", "no such delivery for this endpoint")
    return JSONResponse(_delivery_json(updated), status_code=202)


def webhook_routes() -> list[Route]:
    base = "/api/v1/merchant/webhooks"
    one = base + "/{endpoint_id}"
    delivery = one + "/deliveries/{delivery_id}"
    return [
        Route(base, _collection, methods=["GET", "POST"]),
        Route(one, _one, methods=["GET", "PATCH", "DELETE"]),
        Route(one + "/secret", _rotate, methods=["POST"]),
        Route(one + "/deliveries", _deliveries, methods=["GET"]),
        Route(delivery, _delivery_detail, methods=["GET"]),
        Route(delivery + "/resend", _resend, methods=["POST"]),
    ]
