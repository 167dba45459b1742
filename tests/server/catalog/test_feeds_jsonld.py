"""schema.org JSON / JSON-LD feeds through ``parse_feed``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server.catalog.feeds import parse_feed
from server.catalog.records import RowError


def product(sku: str = "tent-1", **overrides: Any) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": "Product",
        "sku": sku,
        "name": "Tent",
        "description": "A tent",
        "image": "https://shop.example/tent.jpg",
        "brand": {"@type": "Brand", "name": "Acme"},
        "url": "https://shop.example/tent",
        "offers": {
            "@type": "Offer",
            "price": "199.99",
            "priceCurrency": "USD",
            "availability": "https://schema.org/InStock",
        },
    }
    node.update(overrides)
    return node


def parse(doc: Any) -> tuple[list[Any], list[RowError]]:
    result = parse_feed(json.dumps(doc), "feed.json")
    assert result.format == "json"
    return result.products, result.errors


def codes(errors: list[RowError]) -> list[tuple[int, str | None, str]]:
    return [(e.row, e.field, e.code) for e in errors]


def test_single_product_object() -> None:
    products, errors = parse({"@context": "https://schema.org", **product()})
    assert errors == []
    [p] = products
    assert (p.sku, p.title, p.price_minor, p.currency) == ("tent-1", "Tent", 19999, "USD")
    assert (p.brand, p.image, p.url, p.availability) == (
        "Acme",
        "https://shop.example/tent.jpg",
        "https://shop.example/tent",
        "in_stock",
    )
    assert p.stock is None
    assert p.variants == ()


def test_list_itemlist_and_graph_shapes() -> None:
    as_list, _ = parse([product("a"), product("b")])
    item_list, _ = parse(
        {
            "@type": "ItemList",
            "itemListElement": [
                {"@type": "ListItem", "position": 1, "item": product("a")},
                product("b"),
            ],
        }
    )
    graph, graph_errors = parse(
        {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "Organization", "name": "Acme"},
                product("a"),
                {"@type": "BreadcrumbList"},
                product("b"),
            ],
        }
    )
    assert graph_errors == []  # non-product graph nodes are skipped, not errors
    for found in (as_list, item_list, graph):
        assert [p.sku for p in found] == ["a", "b"]


def test_numbers_are_decimal_not_float() -> None:
    # 0.1 + 0.2 style float errors must not reach the price: 1.15 * 100 is 114.99999 in float.
    products, errors = parse(product(offers={"price": 1.15, "priceCurrency": "USD"}))
    assert errors == []
    assert products[0].price_minor == 115


def test_offer_shapes() -> None:
    aggregate = product(
        "agg",
        offers={
            "@type": "AggregateOffer",
            "lowPrice": "10",
            "highPrice": "20",
            "priceCurrency": "eur",
        },
    )
    offer_list = product(
        "list",
        offers=[
            {"price": 5, "priceCurrency": "GBP", "availability": "http://schema.org/OutOfStock"},
            {"price": 6, "priceCurrency": "USD"},
        ],
    )
    spec = product(
        "spec",
        offers={"priceSpecification": {"price": "1500", "priceCurrency": "JPY"}},
        image=[{"@type": "ImageObject", "url": "https://shop.example/a.png"}, "x"],
        brand="Plain",
    )
    products, errors = parse([aggregate, offer_list, spec])
    assert errors == []
    by_sku = {p.sku: p for p in products}
    assert (by_sku["agg"].price_minor, by_sku["agg"].currency) == (1000, "EUR")
    assert (by_sku["list"].price_minor, by_sku["list"].currency) == (500, "GBP")
    assert by_sku["list"].availability == "out_of_stock"
    assert by_sku["list"].stock == 0  # out of stock without a count means zero left
    assert (by_sku["spec"].price_minor, by_sku["spec"].currency) == (1500, "JPY")
    assert by_sku["spec"].image == "https://shop.example/a.png"
    assert by_sku["spec"].brand == "Plain"


def test_three_decimal_currency() -> None:
    products, errors = parse(product(offers={"price": "2.125", "priceCurrency": "KWD"}))
    assert errors == []
    assert products[0].price_minor == 2125


def test_product_group_with_variants() -> None:
    group = {
        "@type": "ProductGroup",
        "productGroupID": "tee",
        "name": "Trail Tee",
        "description": "Soft tee",
        "image": "https://shop.example/tee.png",
        "hasVariant": [
            {
                "@type": "Product",
                "sku": "tee-s",
                "size": "S",
                "color": {"name": "Blue"},
                "offers": {
                    "price": "20.00",
                    "priceCurrency": "USD",
                    "inventoryLevel": {"value": 4},
                    "url": "https://shop.example/products/tee?variant=4242",
                },
            },
            {
                "@type": "Product",
                "sku": "tee-m",
                "name": "Trail Tee M",
                "offers": {"price": "18", "priceCurrency": "USD", "inventoryLevel": 6},
            },
        ],
    }
    products, errors = parse(group)
    assert errors == []
    [tee] = products
    assert (tee.sku, tee.title, tee.price_minor, tee.stock) == ("tee", "Trail Tee", 1800, 10)
    assert tee.image == "https://shop.example/tee.png"
    assert [
        (v.variant_id, v.title, v.price_minor, v.stock, v.external_id) for v in tee.variants
    ] == [
        ("tee-s", "S / Blue", 2000, 4, "4242"),
        ("tee-m", "Trail Tee M", 1800, 6, None),
    ]


def test_variant_inherits_group_offer_and_bad_variant_is_reported() -> None:
    group = product(
        "grp",
        hasVariant=[
            {"sku": "grp-1", "color": "Red"},
            {"sku": "grp-2", "offers": {"price": "abc", "priceCurrency": "USD"}},
            "not an object",
        ],
    )
    products, errors = parse(group)
    [grp] = products
    assert [v.variant_id for v in grp.variants] == ["grp-1"]
    assert grp.variants[0].price_minor == 19999
    assert codes(errors) == [
        (1, "hasVariant[1].offers.price", "bad_price"),
        (1, "hasVariant[2]", "not_a_product"),
    ]


def test_bad_rows_are_reported_and_good_rows_still_load() -> None:
    feed = [
        product("good"),
        product("no-price", offers={"priceCurrency": "USD"}),
        product("no-currency", offers={"price": "1"}),
        product("bad-url", url="javascript:alert(1)"),
        product(
            "bad-avail", offers={"price": "1", "priceCurrency": "USD", "availability": "Maybe"}
        ),
        product("long", name="x" * 151),
        {"@type": "Organization", "name": "not a product"},
        product("", name=""),
        product("good"),
        product("qty", offers={"price": "1", "priceCurrency": "USD", "inventoryLevel": -3}),
        product("cents", offers={"price": "1.001", "priceCurrency": "USD"}),
        product("huge", offers={"price": "99999999", "priceCurrency": "USD"}),
        product("bool", offers={"price": True, "priceCurrency": "USD"}),
    ]
    products, errors = parse(feed)
    assert [p.sku for p in products] == ["good"]
    assert codes(errors) == [
        (2, "offers.price", "missing_field"),
        (3, "offers.priceCurrency", "bad_currency"),
        (4, "url", "bad_url"),
        (5, "offers.availability", "bad_availability"),
        (6, "name", "too_long"),
        (7, None, "not_a_product"),
        (8, "sku", "missing_field"),
        (8, "name", "missing_field"),
        (9, "sku", "duplicate_sku"),
        (10, "offers.inventoryLevel", "bad_quantity"),
        (11, "offers.price", "too_many_decimals"),
        (12, "offers.price", "price_out_of_range"),
        (13, "offers.price", "bad_price"),
    ]
    assert all(e.message for e in errors)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "bad_json"),
        ('{"price": NaN}', "bad_json"),
        ("[]", "empty_feed"),
        ("   ", "empty_feed"),
    ],
)
def test_whole_file_problems_are_row_zero(text: str, code: str) -> None:
    result = parse_feed(text, "feed.json")
    assert result.products == []
    assert [(e.row, e.code) for e in result.errors] == [(0, code)]


def test_relative_image_paths_are_allowed_but_protocol_relative_are_not() -> None:
    products, errors = parse(
        [product("a", image="/static/a.svg"), product("b", image="//evil.example/x.png")]
    )
    assert [p.image for p in products] == ["/static/a.svg"]
    assert codes(errors) == [(2, "image", "bad_url")]


def test_flat_variants_group_by_in_product_group_with_id() -> None:
    products, errors = parse(
        {
            "@context": "https://schema.org",
            "@graph": [
                product("cap-red", name="Cap", color="Red", inProductGroupWithID="cap"),
                product(
                    "cap-blue", name="Cap", color="Blue", isVariantOf={"productGroupID": "cap"}
                ),
                product("solo", identifier={"@type": "PropertyValue", "value": "x"}),
                product("ided", identifier="9001"),
            ],
        }
    )
    assert errors == []
    cap, solo, ided = products
    assert (cap.sku, [v.title for v in cap.variants]) == ("cap", ["Red", "Blue"])
    assert solo.external_id is None  # a PropertyValue identifier is not a hand-off id
    assert ided.external_id == "9001"


def test_a_product_without_an_offer_says_so_and_a_negative_price_is_out_of_range() -> None:
    no_offer = product("no-offer")
    del no_offer["offers"]
    feed = [
        no_offer,
        product("empty-offer", offers={}),
        product("offer-list-of-junk", offers=["x"]),
        product("negative", offers={"price": "-5", "priceCurrency": "USD"}),
        product("negative-number", offers={"price": -5, "priceCurrency": "USD"}),
        product("good"),
    ]
    products, errors = parse(feed)
    assert [p.sku for p in products] == ["good"]
    assert codes(errors) == [
        (1, "offers", "missing_offer"),
        (2, "offers", "missing_offer"),
        (3, "offers", "missing_offer"),
        (4, "offers.price", "price_out_of_range"),
        (5, "offers.price", "price_out_of_range"),
    ]
