"""Whatever a merchant uploads, parse_feed answers with products and documented error codes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from server.catalog.feeds import parse_feed

DOCUMENTED_CODES = {
    "feed_too_large",
    "bad_encoding",
    "empty_feed",
    "bad_json",
    "missing_column",
    "malformed_row",
    "too_many_rows",
    "not_a_product",
    "missing_field",
    "bad_value",
    "too_long",
    "bad_id",
    "bad_price",
    "too_many_decimals",
    "price_out_of_range",
    "bad_currency",
    "missing_offer",
    "currency_mismatch",
    "bad_sale_price",
    "bad_url",
    "bad_availability",
    "bad_quantity",
    "duplicate_sku",
    "too_many_variants",
    "invalid_text",
}

_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.floats()
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "@type",
                    "sku",
                    "name",
                    "offers",
                    "price",
                    "priceCurrency",
                    "hasVariant",
                    "image",
                    "@graph",
                    "itemListElement",
                    "item",
                    "brand",
                    "availability",
                    "inventoryLevel",
                ]
            ),
            inner | st.sampled_from(["Product", "ProductGroup", "ItemList", "USD", "12.5"]),
            max_size=6,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(_json)
def test_random_json_never_crashes(doc: Any) -> None:
    result = parse_feed(json.dumps(doc), "feed.json")
    assert {e.code for e in result.errors} <= DOCUMENTED_CODES
    assert all(p.price_minor >= 0 for p in result.products)


_cell = st.sampled_from(
    ["", "a", "12.99 USD", "1 JPY", "x y", "in_stock", '"', "g1", "-1"]
) | st.text(max_size=8)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_cell, max_size=8), max_size=8), st.sampled_from([",", "\t"]))
def test_random_delimited_never_crashes(rows: list[list[str]], delimiter: str) -> None:
    header = delimiter.join(["id", "title", "price", "item_group_id", "quantity", "sale_price"])
    text = "\n".join([header, *(delimiter.join(r) for r in rows)])
    result = parse_feed(text, "feed.tsv" if delimiter == "\t" else "feed.csv")
    assert {e.code for e in result.errors} <= DOCUMENTED_CODES
    assert len({p.sku for p in result.products}) == len(result.products)
