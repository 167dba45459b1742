"""Incremental catalogue reads (revisions, tombstones), the in-memory snapshot and its search,
and the mirror's stale-while-revalidate reads — against real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from rooms.catalog import ProductFacts
from server.catalog.memory import MerchantCatalog, apply_changes
from server.catalog.mirror import CatalogMirror
from server.catalog.models import CatalogChanges, Listed, listed, listed_facts
from server.catalog.records import ProductRecord, VariantRecord
from server.catalog.repository import CatalogRepository
from server.catalog.tables import revisions


def record(sku: str, title: str, price_minor: int = 1000, **kw: Any) -> ProductRecord:
    return ProductRecord(sku=sku, title=title, price_minor=price_minor, currency="USD", **kw)


def skus(changes: CatalogChanges) -> list[str]:
    return [p[0] for p in changes.products]


async def test_changes_name_what_each_revision_wrote_and_deleted(engine: AsyncEngine) -> None:
    repo = CatalogRepository(engine)
    first = await repo.changes("m1", -1)
    assert (first.revision, first.full, first.products, first.gone) == (0, True, (), ())
    await repo.upsert("m1", [record("a", "A"), record("b", "B"), record("c", "C")], now=1)
    await repo.upsert("m2", [record("a", "Other shop")], now=1)  # another merchant's counter
    assert await repo.revision("m1") == 1
    assert await repo.revision("m2") == 1
    assert (await repo.changes("m1", 1)) == CatalogChanges(1, full=False)

    await repo.upsert("m1", [record("b", "B", 1500, stock=2)], now=2)
    changed = await repo.changes("m1", 1)
    assert (changed.revision, changed.full, skus(changed), changed.gone) == (2, False, ["b"], ())
    assert (listed_facts(changed.products[0]).price_minor, changed.products[0][5]) == (1500, 2)

    assert await repo.prune("m1", ["b", "c"]) == 1
    assert await repo.prune("m1", ["b", "c"]) == 0  # nothing to delete: no revision taken
    pruned = await repo.changes("m1", 2)
    assert (pruned.revision, skus(pruned), pruned.gone) == (3, [], ("a",))
    assert skus(await repo.changes("m2", 0)) == ["a"]  # the other merchant kept its "a"

    # Deleted, then written again: the product is back and its tombstone is gone.
    await repo.upsert("m1", [record("a", "A again")], now=3)
    back = await repo.changes("m1", 2)
    assert (back.revision, skus(back), back.gone) == (4, ["a"], ())
    everything = await repo.changes("m1", 1)
    assert (sorted(skus(everything)), everything.gone) == (["a", "b"], ())


async def test_a_revision_behind_the_reader_answers_everything(engine: AsyncEngine) -> None:
    repo = CatalogRepository(engine)
    await repo.upsert("m1", [record("a", "A")], now=1)
    await repo.upsert("m1", [record("b", "B")], now=1)
    async with engine.begin() as conn:  # e.g. a restored backup
        await conn.execute(update(revisions).values(revision=1))
    again = await repo.changes("m1", 2)
    assert (again.revision, again.full, sorted(skus(again))) == (1, True, ["a", "b"])


async def test_a_full_read_pages_through_many_products_with_their_variants(
    engine: AsyncEngine,
) -> None:
    repo = CatalogRepository(engine)
    many = [
        record(
            f"p{i:04d}",
            f"Product {i}",
            variants=(VariantRecord(f"p{i}-s", "S"), VariantRecord(f"p{i}-m", "M"))
            if i % 7 == 0
            else (),
        )
        for i in range(1_203)
    ]
    await repo.upsert("m1", many, now=1)
    changes = await repo.changes("m1", -1)
    assert skus(changes) == [p.sku for p in many]
    by_sku = {p[0]: listed_facts(p) for p in changes.products}
    assert by_sku["p0007"].variants == ("p7-s", "p7-m")
    assert by_sku["p0008"].variants == ()
    assert changes.products[0][8] == "product 0\n\n"


async def test_memory_search_answers_what_the_database_does(engine: AsyncEngine) -> None:
    repo = CatalogRepository(engine)
    products = [
        record("tent", "Ridgeline Tent", description="Two-person, three-season", brand="Trail"),
        record("tee", "Trail Tee", description="Merino wool"),
        record("cafe", "Café Mug", description="Über-warm ENAMEL", brand="Zürich Works"),
        record("mug2", "Café Mug", description="The same title, another sku"),
        record("pct", "Percent 100% Off", description="under_score"),
        *(record(f"x{i:02d}", f"Extra {i:02d}", description="filler") for i in range(30)),
    ]
    await repo.upsert("m1", products, now=1)
    snapshot = apply_changes(None, await repo.changes("m1", -1))
    for query in [None, "", "  trail ", "MUG", "über", "ZÜRICH", "%", "_", "extra 1", "zzz"]:
        for limit, offset in [(24, 0), (5, 3), (100, 30), (1, 0)]:
            page, total = await repo.list("m1", query=query, limit=limit, offset=offset)
            found, count = snapshot.search(query, limit, offset)
            assert (found, count) == ([p.sku for p in page], total), (query, limit, offset)
    assert [p.sku for p in await repo.products("m1", ["tee", "gone", "cafe"])] == ["tee", "cafe"]


def test_apply_changes_removes_then_writes() -> None:
    def entry(sku: str, price_minor: int) -> Listed:
        return listed(ProductFacts(sku, sku.upper(), price_minor, "USD"), sku)

    base = apply_changes(None, CatalogChanges(1, True, (entry("a", 1), entry("b", 1))))
    after = apply_changes(base, CatalogChanges(2, False, (entry("a", 2),), ("a", "b")))
    assert (after.revision, len(after), after.product("b")) == (2, 1, None)
    assert getattr(after.product("a"), "price_minor", None) == 2  # deleted, then written again
    assert (len(base), getattr(base.product("a"), "price_minor", None)) == (2, 1)
    assert apply_changes(after, CatalogChanges(3, full=True)).product("a") is None


async def test_the_mirror_serves_its_snapshot_and_refreshes_behind_it(
    engine: AsyncEngine,
) -> None:
    repo = CatalogRepository(engine)
    await repo.upsert("m1", [record("a", "A", 100)], now=1)
    mirror = CatalogMirror(repo, refresh_s=0.0)  # every read finds the snapshot stale
    first, same = await asyncio.gather(mirror.catalog("m1"), mirror.catalog("m1"))
    assert first is same  # one first read, shared
    facts = first.product("a")
    assert facts is not None
    assert facts.price_minor == 100
    await repo.upsert("m1", [record("a", "A", 200)], now=2)
    stale = await mirror.catalog("m1")  # answers at once and starts a refresh
    assert stale is first
    for _ in range(500):
        current = mirror.current("m1")
        if current is not None and current is not first:
            break
        await asyncio.sleep(0.01)
    fresh = mirror.current("m1")
    assert fresh is not None
    assert (fresh.revision, getattr(fresh.product("a"), "price_minor", None)) == (2, 200)
    assert first.product("a") == facts  # a snapshot never changes
    await mirror.close()


async def test_a_failed_refresh_keeps_serving_the_last_snapshot(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    repo = CatalogRepository(engine)
    await repo.upsert("m1", [record("a", "A", 100)], now=1)
    mirror = CatalogMirror(repo, refresh_s=0.0)
    snapshot = await mirror.catalog("m1")
    await engine.dispose()
    broken = CatalogRepository(_BrokenEngine())  # type: ignore[arg-type]  # fails every query
    mirror.repo = broken
    assert await mirror.catalog("m1") is snapshot  # starts a refresh that fails
    for _ in range(500):
        if any("refresh failed" in r.message for r in caplog.records):
            break
        await asyncio.sleep(0.01)
    assert mirror.current("m1") is snapshot
    assert any("refresh failed" in r.message for r in caplog.records)
    mirror.repo = repo
    assert isinstance(await mirror.refresh("m1"), MerchantCatalog)
    await mirror.close()


class _BrokenEngine:
    def connect(self) -> Any:
        raise ConnectionRefusedError("the database is down")


@pytest.mark.parametrize("changed", [0, 3, 2_000, 2_001, 6_000])
def test_a_snapshot_built_from_changes_equals_one_built_from_scratch(changed: int) -> None:
    """Few changes are placed by bisection, many merged as sorted runs (across slices):
    either way the result is the snapshot a full read would give."""
    rnd = random.Random(changed)

    def entry(i: int, version: int) -> Listed:
        title = f"{rnd.choice(['Mug', 'Tent', 'Lamp', 'mug'])} {rnd.randint(0, 50)}"
        facts = ProductFacts(f"s{i:05d}", title, version, "USD")
        return listed(facts, f"{title.casefold()}\nv{version}")

    products = {i: entry(i, 1) for i in range(12_000)}
    base = apply_changes(None, CatalogChanges(1, True, tuple(products.values())))
    picked = rnd.sample(range(12_000), changed)
    gone = tuple(f"s{i:05d}" for i in picked[::3])
    written = tuple(entry(i, 2) for i in picked[1::3]) + tuple(
        entry(i, 2)
        for i in range(12_000, 12_000 + changed // 3)  # new products
    )
    after = apply_changes(base, CatalogChanges(2, False, written, gone))
    for sku in gone:
        products.pop(int(sku[1:]))
    for item in written:
        products[int(item[0][1:])] = item
    scratch = apply_changes(None, CatalogChanges(2, True, tuple(products.values())))
    assert len(after) == len(scratch) == len(products)
    for query in [None, "mug", "v2", "tent 4", "g 1", "4\nv", "p 2", "%", "1"]:
        assert after.search(query, 50_000, 0) == scratch.search(query, 50_000, 0)
        needle = (query or "").casefold()
        expected = sorted((item[1], item[0]) for item in products.values() if needle in item[8])
        assert after.search(query, 50, 7) == ([sku for _, sku in expected[7:57]], len(expected))
    assert all(after.product(item[0]) == listed_facts(item) for item in written)
    assert all(after.product(sku) is None for sku in gone if int(sku[1:]) not in products)


async def test_a_large_upsert_commits_a_revision_per_500_products(engine: AsyncEngine) -> None:
    repo = CatalogRepository(engine)
    assert (
        await repo.upsert("m1", [record(f"p{i:04d}", f"P {i}") for i in range(1_001)], 1) == 1_001
    )
    assert await repo.revision("m1") == 3
    assert len((await repo.changes("m1", 2)).products) == 1  # the last transaction's product


def test_remembered_searches_answer_like_fresh_ones() -> None:
    items = tuple(
        listed(ProductFacts(f"s{i:03d}", f"Item {i:03d}", 1, "USD"), f"item {i:03d}")
        for i in range(300)
    )
    snapshot = apply_changes(None, CatalogChanges(1, True, items))
    needles = [f"{i:02d}" for i in range(40)]  # more than it remembers
    first = [snapshot.search(n, 5, 2) for n in needles]
    again = [snapshot.search(n.upper() + " ", 5, 2) for n in reversed(needles)]
    assert again == list(reversed(first))
    assert snapshot.search("item 1", 3, 0) == (["s100", "s101", "s102"], 100)
