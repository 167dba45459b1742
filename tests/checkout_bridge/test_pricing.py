"""Freezing the cart: server prices only, stock, variants, currency, snapshot round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkout_bridge.errors import PricingError
from checkout_bridge.pricing import CartLineInput, CartSnapshot, LineIssue, freeze_cart
from rooms.catalog import ProductFacts, StaticCatalog

CATALOG = StaticCatalog(
    [
        ProductFacts("mug", "Mug", 1250, "EUR"),
        ProductFacts("tee", "Tee", 2000, "EUR", variants=("S", "M"), stock=3),
        ProductFacts("cap", "Cap", 900, "EUR", stock=0),
        ProductFacts("pin", "Pin", 0, "EUR"),
    ]
)


def line(
    line_id: str,
    sku: str,
    quantity: int = 1,
    *,
    variant: str | None = None,
    added_by: str = "ann",
    payer: str | None = None,
    shown: int | None = None,
) -> CartLineInput:
    return CartLineInput(line_id, sku, variant, quantity, added_by, payer, shown)


def test_prices_come_from_the_catalogue_not_the_client() -> None:
    snap = freeze_cart(
        [line("l1", "mug", 2, shown=1), line("l2", "tee", variant="M", payer="bob")],
        CATALOG,
        version=7,
    )
    assert snap.version == 7
    assert snap.currency == "EUR"
    assert [(p.unit_price_minor, p.total_minor) for p in snap.lines] == [(1250, 2500), (2000, 2000)]
    assert snap.total_minor == 4500
    assert snap.lines[0].payer == "ann"  # unclaimed: billed to whoever added it
    assert snap.lines[1].payer == "bob"
    assert snap.lines[0].title == "Mug"
    # The tampered "shown" price is reported as a change, never charged.
    assert snap.changes == (LineIssue("l1", "mug", "price_changed", 1, 1250),)
    assert snap.price_changes == snap.changes
    assert not snap.changes[0].blocking
    assert snap.ready
    assert snap.line("l2") is snap.lines[1]
    assert snap.line("nope") is None


def test_shown_mapping_overrides_the_lines_shown_price() -> None:
    snap = freeze_cart([line("l1", "mug", shown=1250)], CATALOG, version=1, shown={"l1": 1000})
    assert snap.changes == (LineIssue("l1", "mug", "price_changed", 1000, 1250),)
    unchanged = freeze_cart([line("l1", "mug", shown=999)], CATALOG, version=1, shown={"l1": 1250})
    assert unchanged.changes == ()


def test_stock_is_shared_across_lines_of_one_product() -> None:
    snap = freeze_cart(
        [line("a", "tee", 2, variant="S"), line("b", "tee", 2, variant="M")], CATALOG, version=1
    )
    assert [c.kind for c in snap.changes] == ["insufficient_stock", "insufficient_stock"]
    assert snap.changes[0].requested == 4
    assert snap.changes[0].available == 3
    assert snap.changes[0].blocking
    assert not snap.ready
    assert snap.blocking_changes == snap.changes


def test_out_of_stock_unknown_product_and_variants() -> None:
    snap = freeze_cart(
        [
            line("a", "cap"),
            line("b", "ghost"),
            line("c", "tee", variant="XL"),
            line("d", "tee"),
            line("e", "mug", variant="blue"),
        ],
        CATALOG,
        version=2,
    )
    kinds = [(c.line_id, c.kind) for c in snap.changes]
    assert kinds == [
        ("a", "out_of_stock"),
        ("b", "unknown_product"),
        ("c", "unknown_variant"),
        ("d", "unknown_variant"),
        ("e", "unknown_variant"),
    ]
    assert snap.changes[0].available == 0
    assert [p.line_id for p in snap.lines] == ["a", "c", "d", "e"]  # the unknown has no price
    assert not snap.ready


def test_only_unknown_products_with_merchant_currency() -> None:
    snap = freeze_cart([line("a", "ghost")], CATALOG, version=1, currency="eur")
    assert snap.currency == "EUR"
    assert snap.lines == ()
    assert not snap.ready
    with pytest.raises(PricingError) as exc:
        freeze_cart([line("a", "ghost")], CATALOG, version=1)
    assert exc.value.code == "unknown_currency"


def test_mixed_currency_is_refused() -> None:
    catalog = StaticCatalog([ProductFacts("a", "A", 100, "EUR"), ProductFacts("b", "B", 1, "JPY")])
    with pytest.raises(PricingError) as exc:
        freeze_cart([line("1", "a"), line("2", "b")], catalog, version=1)
    assert exc.value.code == "mixed_currency"
    with pytest.raises(PricingError) as exc:
        freeze_cart([line("1", "a")], catalog, version=1, currency="USD")
    assert exc.value.code == "mixed_currency"


def test_zero_decimal_currency() -> None:
    catalog = StaticCatalog([ProductFacts("tea", "Tea", 1500, "JPY")])
    snap = freeze_cart([line("1", "tea", 3)], catalog, version=1)
    assert snap.currency == "JPY"
    assert snap.total_minor == 4500


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([], "empty_cart"),
        ([line("a", "mug", 0)], "invalid_quantity"),
        ([line("a", "mug", -1)], "invalid_quantity"),
        (
            [CartLineInput("a", "mug", None, True, "ann")],
            "invalid_quantity",
        ),  # bool: not a quantity
        ([line("a", "mug"), line("a", "tee")], "duplicate_line"),
    ],
)
def test_refused_carts(lines: list[CartLineInput], code: str) -> None:
    with pytest.raises(PricingError) as exc:
        freeze_cart(lines, CATALOG, version=1)
    assert exc.value.code == code


def test_round_trip_and_digest() -> None:
    snap = freeze_cart(
        [line("a", "mug", 2, shown=1000), line("b", "tee", 5, variant="S"), line("c", "pin")],
        CATALOG,
        version=3,
    )
    data = snap.to_dict()
    again = CartSnapshot.from_dict(data)
    assert again == snap
    assert again.digest() == snap.digest()
    assert len(snap.digest()) == 64
    other = freeze_cart([line("a", "mug", 2)], CATALOG, version=3)
    assert other.digest() != snap.digest()


def _valid() -> dict[str, object]:
    return freeze_cart([line("a", "mug", 2), line("b", "pin")], CATALOG, version=1).to_dict()


def _mutate(path: str, value: object) -> dict[str, object]:
    data = _valid()
    head, _, tail = path.partition(".")
    if tail:
        target = data[head]
        assert isinstance(target, list)
        target[0][tail] = value
    else:
        data[head] = value
    return data


@pytest.mark.parametrize(
    "data",
    [
        {},
        _mutate("version", "1"),
        _mutate("version", True),
        _mutate("currency", 5),
        _mutate("currency", "EURO"),
        _mutate("lines", {}),
        _mutate("lines", [1]),
        _mutate("total_minor", 1),
        _mutate("lines.total_minor", 1),
        _mutate("lines.unit_price_minor", -1),
        _mutate("lines.variant", 3),
        _mutate("lines", [_valid()["lines"][0]] * 2),  # type: ignore[index]  # a list here
        {**_valid(), "changes": [{"line_id": "a", "sku": "mug", "kind": "free"}]},
        {**_valid(), "changes": [{"line_id": "a", "sku": "mug", "kind": "out_of_stock"}]},
    ],
)
def test_from_dict_refuses_inconsistent_data(data: dict[str, object]) -> None:
    with pytest.raises(PricingError) as exc:
        CartSnapshot.from_dict(data)
    assert exc.value.code == "snapshot_invalid"


def test_from_dict_keeps_changes() -> None:
    data = _valid()
    data["changes"] = [
        {
            "line_id": "a",
            "sku": "mug",
            "kind": "out_of_stock",
            "old_price_minor": None,
            "new_price_minor": None,
            "requested": 2,
            "available": 0,
        }
    ]
    snap = CartSnapshot.from_dict(data)
    assert snap.changes == (LineIssue("a", "mug", "out_of_stock", requested=2, available=0),)


@settings(max_examples=60)
@given(
    quantities=st.lists(st.integers(1, 50), min_size=1, max_size=6),
    prices=st.lists(st.integers(0, 10**7), min_size=6, max_size=6),
)
def test_total_is_sum_of_catalogue_prices(quantities: list[int], prices: list[int]) -> None:
    catalog = StaticCatalog([ProductFacts(f"p{i}", "P", prices[i], "EUR") for i in range(6)])
    lines = [line(f"l{i}", f"p{i}", q, shown=0) for i, q in enumerate(quantities)]
    snap = freeze_cart(lines, catalog, version=1)
    assert snap.total_minor == sum(q * prices[i] for i, q in enumerate(quantities))
    assert CartSnapshot.from_dict(snap.to_dict()) == snap


def test_from_dict_refuses_repeated_line_ids() -> None:
    data = _valid()
    lines = data["lines"]
    assert isinstance(lines, list)
    data["lines"] = [lines[0], lines[0]]
    data["total_minor"] = 2 * lines[0]["total_minor"]
    with pytest.raises(PricingError) as exc:
        CartSnapshot.from_dict(data)
    assert exc.value.code == "snapshot_invalid"


SCARF = ProductFacts(
    "scarf",
    "Scarf",
    22900,
    "USD",
    variants=("short", "long", "plain"),
    stock=4,
    variant_facts=(("short", 19900, None), ("long", 24900, 2)),
)


def test_lines_are_priced_and_stocked_by_variant() -> None:
    catalog = StaticCatalog([SCARF])
    snap = freeze_cart(
        [
            line("l1", "scarf", 2, variant="long", shown=24900),
            line("l2", "scarf", 1, variant="plain"),
            line("l3", "scarf", 3, variant="short"),
        ],
        catalog,
        version=1,
    )
    assert [p.unit_price_minor for p in snap.lines] == [24900, 22900, 19900]
    assert snap.total_minor == 2 * 24900 + 22900 + 3 * 19900
    # Long has its own 2; plain and short share the product's 4 (1 + 3).
    assert snap.changes == ()
    assert snap.ready

    # A third Long, on another line: the variant's stock is short, the others unaffected.
    snap = freeze_cart(
        [
            line("l1", "scarf", 2, variant="long"),
            line("l2", "scarf", 1, variant="long", added_by="bea"),
            line("l3", "scarf", 4, variant="short"),
        ],
        catalog,
        version=2,
    )
    assert snap.changes == (
        LineIssue("l1", "scarf", "insufficient_stock", requested=3, available=2),
        LineIssue("l2", "scarf", "insufficient_stock", requested=3, available=2),
    )
    assert not snap.ready
    # The product's stock binds every variant without its own.
    snap = freeze_cart(
        [line("l1", "scarf", 3, variant="short"), line("l2", "scarf", 2, variant="plain")],
        catalog,
        version=3,
    )
    assert [c.kind for c in snap.changes] == ["insufficient_stock", "insufficient_stock"]
    assert snap.changes[0].requested == 5
