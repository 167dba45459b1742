"""REST routes, driven in the test's own event loop through httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from server.catalog.api import catalog_routes
from server.catalog.demo import load_demo_catalog
from server.catalog.mirror import CatalogMirror
from server.catalog.repository import CatalogRepository
from server.http.problem import ProblemError, problem_response

BASE = "/api/v1/merchants"


def _handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc)


@pytest.fixture(params=["database", "memory"])
async def client(
    request: pytest.FixtureRequest, sqlite_catalog_engine: AsyncEngine
) -> AsyncIterator[httpx.AsyncClient]:
    """The routes over the database alone, or with the merchant in the hub's memory."""
    await load_demo_catalog(sqlite_catalog_engine, now=1)
    app = Starlette(routes=catalog_routes())
    repository = CatalogRepository(sqlite_catalog_engine)
    app.state.catalog = repository
    mirror = CatalogMirror(repository)
    if request.param == "memory":
        app.state.hub = SimpleNamespace(catalogs=mirror)  # what the app's hub carries
        await mirror.catalog("demo")
    app.add_exception_handler(ProblemError, _handler)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://coshop.test") as http:
        yield http
    await mirror.close()


async def test_list_products_pages(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/demo/products", params={"limit": 5, "offset": 5})
    assert response.status_code == 200
    body = response.json()
    assert (body["limit"], body["offset"], body["query"]) == (5, 5, None)
    assert body["total"] >= 24
    assert len(body["items"]) == 5
    item = body["items"][0]
    assert set(item) >= {"sku", "title", "price_minor", "price", "currency", "image", "variants"}
    default = (await client.get(f"{BASE}/demo/products")).json()
    assert len(default["items"]) == 24


async def test_search(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{BASE}/demo/products", params={"q": "TENT"})).json()
    assert sorted(i["sku"] for i in body["items"]) == ["tent-2p", "tent-4p"]
    assert body["total"] == 2
    empty = (await client.get(f"{BASE}/unknown-shop/products")).json()
    assert (empty["total"], empty["items"]) == (0, [])


async def test_get_product_with_variants(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/demo/products/bag-20f")
    assert response.status_code == 200
    bag: dict[str, Any] = response.json()
    assert (bag["price_minor"], bag["price"], bag["currency"]) == (22900, "229.00", "USD")
    assert [(v["variant_id"], v["price_minor"]) for v in bag["variants"]] == [
        ("bag-20f-reg", 22900),
        ("bag-20f-long", 24900),
    ]
    chair = (await client.get(f"{BASE}/demo/products/chair-lite")).json()
    assert (chair["in_stock"], chair["stock"], chair["availability"]) == (
        False,
        0,
        "out_of_stock",
    )


async def test_unknown_product_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/demo/products/nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "product_not_found"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"offset": "-5"}, "offset"),
        ({"offset": "1.5"}, "offset"),
        ({"offset": ""}, "offset"),  # not a number: the document says integer
        ({"limit": ""}, "limit"),
        ({"q": "x" * 201}, "q"),
    ],
)
async def test_bad_parameters(
    client: httpx.AsyncClient, params: dict[str, str], parameter: str
) -> None:
    response = await client.get(f"{BASE}/demo/products", params=params)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["parameter"]) == ("invalid_parameter", parameter)
