"""CatalogRepository against real SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from rooms.catalog import ProductFacts
from server.catalog.errors import InvalidMerchantId
from server.catalog.records import ProductRecord, VariantRecord
from server.catalog.repository import CatalogRepository


def record(sku: str, title: str, *, price_minor: int = 1000, **kw: Any) -> ProductRecord:
    return ProductRecord(sku=sku, title=title, price_minor=price_minor, currency="USD", **kw)


TENT = record(
    "tent",
    "Ridgeline Tent",
    description="Two-person, three-season",
    brand="Trailhead",
    stock=5,
    image="/static/demo/img/tent.svg",
    url="https://shop.example/tent",
)
TEE = record(
    "tee",
    "Trail Tee",
    price_minor=1800,
    variants=(
        VariantRecord("tee-s", "S", price_minor=1800, stock=2, external_id="111"),
        VariantRecord("tee-m", "M", price_minor=2000, stock=0),
    ),
)
CAFE = record("cafe", "Café Mug", description="Über-warm ENAMEL", brand="Zürich Works")


async def test_upsert_get_and_update(engine: AsyncEngine) -> None:
    repo = CatalogRepository(engine)
    assert await repo.upsert("m1", [TENT, TEE], now=100) == 2
    tent = await repo.get("m1", "tent")
    assert tent is not None
    assert (tent.title, tent.price_minor, tent.stock, tent.brand, tent.updated_at) == (
        "Ridgeline Tent",
        1000,
        5,
        "Trailhead",
        100,
    )
    tee = await repo.get("m1", "tee")
    assert tee is not None
    assert [
        (v.variant_id, v.title, v.price_minor, v.stock, v.external_id) for v in tee.variants
    ] == [
        ("tee-s", "S", 1800, 2, "111"),
        ("tee-m", "M", 2000, 0, None),
    ]
    # A second import replaces the product and its variants.
    changed = record(
        "tee", "Trail Tee v2", price_minor=2500, variants=(VariantRecord("tee-l", "L"),)
    )
    await repo.upsert("m1", [changed], now=200)
    tee = await repo.get("m1", "tee")
    assert tee is not None
    assert (tee.title, tee.price_minor, tee.updated_at) == ("Trail Tee v2", 2500, 200)
    assert [v.variant_id for v in tee.variants] == ["tee-l"]
    assert await repo.get("m1", "nope") is None
    assert await repo.get("other", "tent") is None  # merchants are isolated


async def test_list_pages_and_search(engine: AsyncEngine) -> None:
    repo = CatalogRepository(engine)
    many = [record(f"p{i:02d}", f"Product {i:02d}") for i in range(30)]
    await repo.upsert("shop", [*many, TENT, CAFE], now=1)
    await repo.upsert("elsewhere", [record("x", "Product elsewhere")], now=1)

    page, total = await repo.list("shop", limit=10, offset=0)
    assert total == 32
    assert [p.sku for p in page] == ["cafe"] + [f"p{i:02d}" for i in range(9)]  # by title
    page2, _ = await repo.list("shop", limit=10, offset=10)
    assert page2[0].sku == "p09"
    last, _ = await repo.list("shop", limit=10, offset=30)
    assert [p.sku for p in last] == ["p29", "tent"]

    for query, skus in [
        ("ridgeline", ["tent"]),  # title, case-insensitive
        ("THREE-SEASON", ["tent"]),  # description
        ("trailhead", ["tent"]),  # brand
        ("über", ["cafe"]),  # non-ASCII case folding works on SQLite too
        ("zÜRICH", ["cafe"]),
        ("100%", []),  # LIKE wildcards are escaped
        ("_", []),
        ("  ", [p.sku for p in page]),  # blank query = no filter (first page)
    ]:
        found, count = await repo.list("shop", query=query, limit=10)
        assert [p.sku for p in found] == skus, query
        if query.strip():
            assert count == len(skus)
    found, count = await repo.list("shop", query="product", limit=5)
    assert (len(found), count) == (5, 30)


async def test_facts_for_the_room_core(engine: AsyncEngine) -> None:
    repo = CatalogRepository(engine)
    await repo.upsert("m1", [TENT, TEE], now=1)
    facts = await repo.facts("m1", ["tee", "tent", "missing", "tee"])
    assert facts == {
        "tent": ProductFacts(
            sku="tent",
            title="Ridgeline Tent",
            price_minor=1000,
            currency="USD",
            stock=5,
            image="/static/demo/img/tent.svg",
            url="https://shop.example/tent",
        ),
        "tee": ProductFacts(
            sku="tee",
            title="Trail Tee",
            price_minor=1800,
            currency="USD",
            variants=("tee-s", "tee-m"),
            variant_facts=(("tee-s", 1800, 2), ("tee-m", 2000, 0)),
        ),
    }
    assert sorted(f.sku for f in await repo.all_facts("m1")) == ["tee", "tent"]
    assert await repo.all_facts("nobody") == []


async def test_prune_removes_products_missing_from_feed(engine: AsyncEngine) -> None:
    repo = CatalogRepository(engine)
    await repo.upsert("m1", [TENT, TEE, CAFE], now=1)
    await repo.upsert("m2", [TENT], now=1)
    assert await repo.prune("m1", ["tent"]) == 2
    assert [p.sku for p in (await repo.list("m1"))[0]] == ["tent"]
    assert await repo.get("m2", "tent") is not None


async def test_large_upsert_is_chunked(engine: AsyncEngine) -> None:
    repo = CatalogRepository(engine)
    batch = [
        record(f"s{i:04d}", f"Item {i:04d}", variants=(VariantRecord(f"s{i}-a", "A"),))
        for i in range(1200)
    ]
    assert await repo.upsert("bulk", batch, now=1) == 1200
    assert (await repo.list("bulk", limit=1))[1] == 1200
    assert len(await repo.facts("bulk", [p.sku for p in batch])) == 1200


@pytest.mark.parametrize("merchant_id", ["", "a b", "x" * 65, "-lead", "ü"])
async def test_invalid_merchant_id(sqlite_catalog_engine: AsyncEngine, merchant_id: str) -> None:
    with pytest.raises(InvalidMerchantId) as caught:
        await CatalogRepository(sqlite_catalog_engine).upsert(merchant_id, [TENT], now=1)
    assert caught.value.code == "invalid_merchant_id"
