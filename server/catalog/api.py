"""REST routes for browsing a merchant's catalogue.

``GET /api/v1/merchants/{merchant_id}/products?q=&limit=&offset=`` and
``GET /api/v1/merchants/{merchant_id}/products/{sku}``. Handlers take the
:class:`~server.catalog.repository.CatalogRepository` from ``request.app.state.catalog`` and raise
:class:`~server.http.problem.ProblemError` (the app renders ``application/problem+json``). Must
not write to the catalogue or build the repository.

The list answers from the merchant's in-memory snapshot when the process has one (the
:class:`~server.catalog.mirror.CatalogMirror` rooms read, ``app.state.hub.catalogs``): the
snapshot's word index finds the page — instead of a ``LIKE`` over every row — and the snapshot
holds what the list shows of each product, so the page and its total are the snapshot's, at one
catalogue revision, without a query (a product the snapshot holds only in part — read by an
older reader — makes the page come from the database). A merchant not in memory yet is answered
from the database, and one that has products is then read into memory in the background.
"""

from __future__ import annotations

from typing import cast

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from server.catalog.errors import CatalogUnavailable
from server.catalog.mirror import CatalogMirror, sliced
from server.catalog.repository import CatalogRepository
from server.http.problem import ProblemError

__all__ = ["MAX_LIMIT", "catalog_routes"]

MAX_LIMIT = 100
MAX_OFFSET = 1_000_000
MAX_QUERY_LEN = 200


def catalog_routes() -> list[BaseRoute]:
    return [
        Route(
            "/api/v1/merchants/{merchant_id}/products",
            list_products,
            methods=["GET"],
            name="catalog_products",
        ),
        Route(
            "/api/v1/merchants/{merchant_id}/products/{sku}",
            get_product,
            methods=["GET"],
            name="catalog_product",
        ),
    ]


def _repository(request: Request) -> CatalogRepository:
    return cast(CatalogRepository, request.app.state.catalog)


def _mirror(request: Request) -> CatalogMirror | None:
    # The hub's catalogue cache is the mirror (server/hub/catalogs.py); an app without a hub
    # (or with another cache) searches in the database.
    mirror = getattr(getattr(request.app.state, "hub", None), "catalogs", None)
    return mirror if isinstance(mirror, CatalogMirror) else None


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default  # an empty value (``?offset=``) is refused below, as the document says
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ProblemError(
            400,
            "invalid_parameter",
            f"{name} must be a whole number from {low} to {high}",
            extra={"parameter": name},
        )
    return int(raw)


def _unavailable(exc: CatalogUnavailable) -> ProblemError:
    return ProblemError(
        503,
        exc.code,
        "the catalogue cannot be read right now; retry shortly",
        headers={"Retry-After": "1"},
    )


async def list_products(request: Request) -> JSONResponse:
    try:
        return await _list_products(request)
    except CatalogUnavailable as exc:
        raise _unavailable(exc) from exc


async def _list_products(request: Request) -> JSONResponse:
    merchant_id = request.path_params["merchant_id"]
    limit = _int_param(request, "limit", 24, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, MAX_OFFSET)
    query = request.query_params.get("q") or None
    if query is not None and len(query) > MAX_QUERY_LEN:
        raise ProblemError(
            400,
            "invalid_parameter",
            f"q must be at most {MAX_QUERY_LEN} characters",
            extra={"parameter": "q"},
        )
    repository = _repository(request)
    mirror = _mirror(request)
    snapshot = None if mirror is None else mirror.current(merchant_id)
    if snapshot is not None:
        skus, total = await sliced(snapshot.search_steps(query, limit, offset))
        in_memory = snapshot.products(merchant_id, skus)
        page = await repository.products(merchant_id, skus) if in_memory is None else in_memory
    else:
        page, total = await repository.list(merchant_id, query=query, limit=limit, offset=offset)
        if mirror is not None and total:
            mirror.warm(merchant_id)
    return JSONResponse(
        {
            "merchant_id": merchant_id,
            "query": query,
            "limit": limit,
            "offset": offset,
            "total": total,
            "items": [product.to_json() for product in page],
        }
    )


async def get_product(request: Request) -> JSONResponse:
    merchant_id = request.path_params["merchant_id"]
    sku = request.path_params["sku"]
    try:
        product = await _repository(request).get(merchant_id, sku)
    except CatalogUnavailable as exc:
        raise _unavailable(exc) from exc
    if product is None:
        raise ProblemError(
            404, "product_not_found", f"merchant {merchant_id!r} has no product {sku!r}"
        )
    return JSONResponse(product.to_json())
