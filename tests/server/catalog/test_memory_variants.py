"""The in-memory catalogue rooms read keeps each variant's own price and stock (groupux D1)."""

from __future__ import annotations

from rooms.catalog import ProductFacts
from server.catalog.memory import build, run
from server.catalog.models import CatalogChanges, listed, listed_facts

BAG = ProductFacts(
    "bag",
    "Sleeping Bag",
    22900,
    "USD",
    variants=("reg", "long"),
    stock=9,
    variant_facts=(("reg", 22900, 7), ("long", 24900, 2)),
)
MUG = ProductFacts("mug", "Mug", 1600, "USD")


def test_a_snapshot_keeps_variant_prices_and_stock_through_changes() -> None:
    first = run(build(None, CatalogChanges(1, True, (listed(BAG, "bag"), listed(MUG, "mug")))))
    bag = first.product("bag")
    assert bag == BAG
    assert bag is not None and (bag.unit_price("long"), bag.stock_of("long")) == (24900, 2)
    assert first.product("mug") == MUG
    # an incremental change (the Long one sold one) replaces the row, variants and all
    sold = ProductFacts(
        "bag", "Sleeping Bag", 22900, "USD", ("reg", "long"), 8, None, None,
        (("reg", 22900, 7), ("long", 24900, 1)),
    )  # fmt: skip
    second = run(build(first, CatalogChanges(2, False, (listed(sold, "bag"),))))
    assert second.product("bag") == sold
    assert first.product("bag") == BAG  # the old snapshot is unchanged


def test_a_read_without_variant_facts_gives_the_products_own() -> None:
    nine = listed(BAG, "bag")[:9]  # a read that leaves the variants' prices out
    assert listed_facts(nine).variant_facts == ()
    snapshot = run(build(None, CatalogChanges(1, True, (nine,))))
    bag = snapshot.product("bag")
    assert bag is not None and bag.unit_price("long") == 22900 and bag.stock_of("long") == 9
    assert listed_facts(listed(BAG, "bag")) == BAG
