"""Variants with their own price and stock: the cart shows and limits by the variant."""

from __future__ import annotations

from rooms import ProductFacts, StaticCatalog
from rooms import commands as c
from rooms import events as e
from tests.rooms.support import Driver

# A scarf at 229.00; the Long one costs 249.00 and only 2 are left; Short has its own price but
# no stock of its own (it shares the product's 5); Plain has neither (the product's price).
SCARF = ProductFacts(
    "scarf",
    "Scarf",
    22900,
    "USD",
    variants=("short", "long", "plain"),
    stock=5,
    variant_facts=(("short", 19900, None), ("long", 24900, 2)),
)


def _driver() -> Driver:
    d = Driver()
    d.catalog = StaticCatalog([SCARF])
    d.join("bea")
    d.join("cal")
    return d


def test_facts_fall_back_to_the_product() -> None:
    assert [SCARF.unit_price(v) for v in ("short", "long", "plain", None)] == [
        19900,
        24900,
        22900,
        22900,
    ]
    assert [SCARF.stock_of(v) for v in ("short", "long", "plain")] == [5, 2, 5]
    assert [SCARF.own_stock(v) for v in ("short", "long", "plain")] == [False, True, False]


def test_line_takes_the_variants_price() -> None:
    d = _driver()
    (event,) = d.do("cal", c.AddLine("scarf", "long", 2))
    assert isinstance(event, e.LineAdded)
    assert event.price_minor == 24900
    (event,) = d.do("cal", c.AddLine("scarf", "plain", 1))
    assert isinstance(event, e.LineAdded)
    assert event.price_minor == 22900
    (event,) = d.do("cal", c.AddLine("scarf", "short", 5))
    assert isinstance(event, e.LineAdded)
    assert event.price_minor == 19900


def test_variant_stock_limits_a_line() -> None:
    d = _driver()
    refused = d.refuse("bea", c.AddLine("scarf", "long", 3), "out_of_stock")
    assert "scarf (long)" in str(refused)
    (added,) = d.do("bea", c.AddLine("scarf", "long", 2))
    assert isinstance(added, e.LineAdded)
    line = added.line_id
    d.refuse("bea", c.AddLine("scarf", "long", 1), "out_of_stock")  # merges into 3 > 2
    d.refuse("bea", c.SetQuantity(line, 3), "out_of_stock")
    d.do("bea", c.SetQuantity(line, 1))
    # the product's 5 bound the variants without stock of their own
    d.do("bea", c.AddLine("scarf", "plain", 5))
    d.refuse("cal", c.AddLine("scarf", "plain", 6), "out_of_stock")
