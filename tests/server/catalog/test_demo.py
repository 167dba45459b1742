"""The bundled demo catalogue loads through the normal feed path and its images exist."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from sqlalchemy.ext.asyncio import AsyncEngine

from server.catalog.demo import DEMO_MERCHANT_ID, demo_feed, load_demo_catalog
from server.catalog.repository import CatalogRepository

ROOT = Path(__file__).resolve().parents[3]


def test_demo_feed_is_clean_and_believable() -> None:
    result = demo_feed()
    assert result.errors == []
    assert result.format == "json"
    products = result.products
    assert len(products) >= 24
    assert {p.currency for p in products} == {"USD"}
    assert sum(1 for p in products if p.variants) >= 5
    assert any(p.availability == "out_of_stock" and p.stock == 0 for p in products)
    assert len({p.sku for p in products}) == len(products)


def test_every_demo_image_is_a_local_svg() -> None:
    for product in demo_feed().products:
        assert product.image == f"/static/demo/img/{product.sku}.svg"
        path = ROOT / product.image.lstrip("/")
        assert path.is_file(), path
        root = ElementTree.fromstring(path.read_text(encoding="utf-8"))  # noqa: S314 (our own file)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert "http" not in path.read_text(encoding="utf-8").replace(
            "http://www.w3.org/2000/svg", ""
        )  # no remote references


async def test_load_demo_catalog_is_idempotent(engine: AsyncEngine) -> None:
    first = await load_demo_catalog(engine, now=1)
    second = await load_demo_catalog(engine, now=2)
    assert first == second >= 24
    repo = CatalogRepository(engine)
    page, total = await repo.list(DEMO_MERCHANT_ID, limit=100)
    assert total == first
    assert all(p.updated_at == 2 for p in page)
    boots = await repo.get(DEMO_MERCHANT_ID, "boots-trailbreaker")
    assert boots is not None
    assert [v.title for v in boots.variants] == ["US 8", "US 9", "US 10", "US 11"]
    tents, _ = await repo.list(DEMO_MERCHANT_ID, query="tent")
    assert {p.sku for p in tents} == {"tent-2p", "tent-4p"}
