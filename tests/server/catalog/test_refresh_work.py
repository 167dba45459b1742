"""A refresh of the in-memory catalogue does work in proportion to what changed (issue 17), and
the snapshot it makes answers what a full read would.

:attr:`MerchantCatalog.work` counts what a build did — facts written, products taken out of or
put into the order, texts changed in the word index, whether anything was made afresh — so
these tests see the cost without timing anything. The rare paths (every label given afresh when
no label is left between two neighbours; many products out of the order at once) are forced by
shrinking their thresholds, and must still find what a scan finds.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from rooms.catalog import ProductFacts
from server.catalog import memory
from server.catalog.memory import MerchantCatalog, Work, apply_changes
from server.catalog.mirror import CatalogMirror
from server.catalog.models import CatalogChanges, Listed, listed
from server.catalog.records import ProductRecord, VariantRecord
from server.catalog.repository import CatalogRepository
from tests.server.catalog.test_search_index import (
    Product,
    brute_force,
    catalogues,
    change_batches,
    entry,
    queries,
)


def catalogue(n: int) -> dict[str, Product]:
    return {
        f"p{i:05d}": (f"p{i:05d}", f"Lamp {i % 97} {i}", f"tent-{i % 7} merino", "Trail")
        for i in range(n)
    }


def snapshot_of(products: dict[str, Product]) -> MerchantCatalog:
    return apply_changes(None, CatalogChanges(1, True, tuple(map(entry, products.values()))))


def label_of(snapshot: MerchantCatalog, sku: str) -> int:
    """The label the snapshot's order gives ``sku`` (white box: labels are what let a refresh
    leave the products it does not place where they are)."""
    for key, label in zip(snapshot._order, snapshot._labels, strict=True):
        if key[1] == sku:
            return label
    raise KeyError(sku)


QUERIES = ["lamp 12", "tent-3", "merino", "zebra", "striped", "p0001", "trail", "%", None]


def assert_searches_like_a_scan(snapshot: MerchantCatalog, products: dict[str, Product]) -> None:
    for query in QUERIES:
        for limit, offset in [(10_000, 0), (7, 3)]:
            assert snapshot.search(query, limit, offset) == brute_force(
                products, query, limit, offset
            ), query


def test_a_refresh_touches_only_the_products_that_changed() -> None:
    products = catalogue(3_000)
    base = snapshot_of(products)
    assert base.work == Work(3_000, 3_000, 3_000, rebuilt=True, relabelled=True)
    written: list[Listed] = []
    for sku in ["p00010", "p00020", "p00030", "p00040", "p00050"]:  # prices only
        written.append(entry(products[sku], price_minor=777))
    for sku, title in [("p00060", "Zebra lamp"), ("p00070", "Aardvark mug")]:  # renamed
        products[sku] = (sku, title, *products[sku][2:])
        written.append(entry(products[sku]))
    products["p00080"] = ("p00080", products["p00080"][1], "striped", "Trail")  # another text
    written.append(entry(products["p00080"]))
    products["n00001"] = ("n00001", "Zebra tent", "striped", "Trail")  # new
    written.append(entry(products["n00001"]))
    del products["p00090"]
    after = apply_changes(base, CatalogChanges(2, False, tuple(written), ("p00090",)))

    # 10 products read; 2 renamed out of the order and into it, 1 new, 1 deleted: 6 placed;
    # 2 renamed, 1 retexted, 1 new, 1 deleted: 5 texts through the index. Nothing afresh.
    assert after.work == Work(10, 6, 5, rebuilt=False, relabelled=False)
    assert len(after) == len(products) == 3_000
    assert getattr(after.product("p00010"), "price_minor", None) == 777
    assert after.product("p00090") is None
    # The products the refresh did not place keep their labels.
    for sku in ["p00000", "p00010", "p00080", "p02999"]:
        assert label_of(after, sku) == label_of(base, sku)
    assert_searches_like_a_scan(after, products)
    # The snapshot the refresh replaced answers as it did.
    assert base.search("zebra", 10, 0) == ([], 0)
    assert base.search("lamp 90 90", 10, 0) == (["p00090"], 1)
    assert getattr(base.product("p00010"), "price_minor", None) == 100


def test_new_prices_for_every_product_share_the_order_and_the_index() -> None:
    """A re-import of the same feed with other prices and stock: facts only, however many."""
    products = catalogue(3_000)
    base = snapshot_of(products)
    written = tuple(entry(p, price_minor=555) for p in products.values())
    after = apply_changes(base, CatalogChanges(2, False, written))
    assert after.work == Work(3_000, 0, 0, rebuilt=False, relabelled=False)
    assert after.index is base.index
    assert (after._order, after._texts, after._labels) == (base._order, base._texts, base._labels)
    assert after._order is base._order and after._label is base._label
    assert {getattr(after.product(sku), "price_minor", None) for sku in products} == {555}
    assert_searches_like_a_scan(after, products)


def test_a_new_text_under_the_same_title_keeps_the_order() -> None:
    products = catalogue(500)
    base = snapshot_of(products)
    products["p00007"] = ("p00007", products["p00007"][1], "striped zebra", "Trail")
    after = apply_changes(base, CatalogChanges(2, False, (entry(products["p00007"]),)))
    assert after.work == Work(1, 0, 1, rebuilt=False, relabelled=False)
    assert after._order is base._order and after._labels is base._labels
    assert after._texts is not base._texts  # copied, then changed
    assert after.search("zebra", 10, 0) == (["p00007"], 1)
    assert base.search("zebra", 10, 0) == ([], 0)


def test_most_texts_changed_rebuild_the_index() -> None:
    products = catalogue(1_000)
    base = snapshot_of(products)
    for sku in list(products)[:600]:
        products[sku] = (sku, products[sku][1], "striped", "Zebra-Works")
    after = apply_changes(
        base, CatalogChanges(2, False, tuple(entry(products[s]) for s in list(products)[:600]))
    )
    assert after.work == Work(600, 0, 1_000, rebuilt=True, relabelled=True)
    assert_searches_like_a_scan(after, products)


def test_products_put_in_one_place_until_no_label_is_left_are_relabelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(memory, "_TOP", 1_000)  # 10 products: labels 90 apart
    products = catalogue(10)
    snapshot = snapshot_of(products)
    relabelled: list[bool] = []
    for i in range(12):  # each between "Lamp 0 0" and "Lamp 1 1": the gap halves every time
        sku = f"q{i:02d}"
        products[sku] = (sku, "Lamp 0 0", "squeezed", "Trail")
        snapshot = apply_changes(snapshot, CatalogChanges(2 + i, False, (entry(products[sku]),)))
        relabelled.append(snapshot.work.relabelled)
        assert list(snapshot._labels) == sorted(set(snapshot._labels))  # increasing
        assert_searches_like_a_scan(snapshot, products)
    assert relabelled[0] is False and any(relabelled)
    assert snapshot.search("squeezed", 20, 0) == ([f"q{i:02d}" for i in range(12)], 12)


@pytest.mark.parametrize(("name", "value"), [("_TOP", 64), ("_FILTER_MIN", 0)])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_rare_paths_find_what_a_scan_finds(name: str, value: int, data: st.DataObject) -> None:
    """Labels with little room (relabelled often) or every removal through the filter: change
    after change, the snapshot answers what a scan of its catalogue answers."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(memory, name, value)
        products = data.draw(catalogues(max_size=12))
        snapshot = snapshot_of(products)
        next_id = 1_000
        for revision in range(2, 2 + data.draw(st.integers(1, 5))):
            products, changes, next_id = data.draw(change_batches(products, next_id))
            changes = CatalogChanges(revision, False, changes.products, changes.gone)
            snapshot = apply_changes(snapshot, changes)
            assert len(snapshot) == len(products)
            assert list(snapshot._labels) == sorted(set(snapshot._labels))
            for _ in range(3):
                query = data.draw(queries(products))
                assert snapshot.search(query, 100, 0) == brute_force(products, query, 100, 0)


def record(sku: str, title: str, price_minor: int = 1000, description: str = "") -> ProductRecord:
    return ProductRecord(sku, title, price_minor, "USD", description=description)


async def test_the_mirror_refreshes_what_the_database_changed(engine: AsyncEngine) -> None:
    repo = CatalogRepository(engine)
    await repo.upsert("m1", [record(f"s{i:03d}", f"Mug {i}") for i in range(200)], now=1)
    mirror = CatalogMirror(repo, refresh_s=3600.0)
    first = await mirror.catalog("m1")
    assert first.work == Work(200, 200, 200, rebuilt=True, relabelled=True)

    await repo.upsert("m1", [record("s001", "Mug 1", 1500)], now=2)  # a price
    await repo.upsert("m1", [record("s002", "Zebra mug")], now=2)  # renamed
    await repo.upsert("m1", [record("s003", "Mug 3", description="Striped")], now=2)
    sized = ProductRecord(
        "s005", "Mug 5", 1000, "USD", brand="Zq", compare_at_minor=1200, external_id="x5",
        availability="preorder", variants=(VariantRecord("s005-m", "M", 1100, 3, "v5"),
                                           VariantRecord("s005-l", "L"))
    )  # fmt: skip
    await repo.upsert("m1", [sized], now=3)  # a product with every shown field
    await repo.upsert("m1", [record("n001", "Zebra lamp")], now=2)  # new
    keep = [f"s{i:03d}" for i in range(200) if i != 4] + ["n001"]
    assert await repo.prune("m1", keep) == 1
    after = await mirror.refresh("m1")
    # 5 products read and 1 tombstone; 2 + 1 + 1 placed; 5 texts through the index (s005 has
    # a brand now).
    assert after.work == Work(6, 4, 5, rebuilt=False, relabelled=False)
    assert mirror.current("m1") is after
    for query in ["zebra", "mug 1", "striped", "mug 4", "lamp", None]:
        page, total = await repo.list("m1", query=query, limit=100)
        assert after.search(query, 100, 0) == ([p.sku for p in page], total), query
        # What the product list shows comes from memory, as the database has it.
        assert after.products("m1", [p.sku for p in page]) == page, query
    assert getattr(after.product("s001"), "price_minor", None) == 1500
    assert after.products("m1", ["s005", "s001"]) == await repo.products("m1", ["s005", "s001"])
    assert after.products("m1", ["s004"]) is None  # deleted: not in memory
    assert after.product("s004") is None
    assert first.search("zebra", 10, 0) == ([], 0)  # the old snapshot as it was
    await mirror.close()


def test_product_facts_come_from_the_last_write() -> None:
    base = apply_changes(
        None, CatalogChanges(1, True, (listed(ProductFacts("a", "A", 1, "USD"), "a"),))
    )
    again = apply_changes(
        base, CatalogChanges(2, False, (listed(ProductFacts("a", "A", 2, "USD"), "a"),), ("a",))
    )
    # Deleted and written again in one read: out of the order and back in; of a catalogue of
    # one, more than half the texts: the index made afresh.
    assert again.work == Work(2, 2, 1, rebuilt=True, relabelled=True)  # 1 text, afresh
    assert getattr(again.product("a"), "price_minor", None) == 2
    assert again.search("a", 10, 0) == (["a"], 1)
