"""Feed text shown to shoppers: well-formed Unicode, no control characters, no card numbers.

A row with a lone surrogate anywhere or a control character in a title, brand or variant title
(descriptions may keep line breaks and tabs) is refused with ``invalid_text``; a card number in
a title, description, brand or variant title is replaced and the row loads, with a
``card_number_redacted`` notice naming the row and field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from rooms.cardgate import PLACEHOLDER, redact_card_numbers
from server.catalog.feeds import parse_feed
from server.catalog.importer import format_report, import_feed
from server.catalog.records import ProductRecord
from server.catalog.repository import CatalogRepository

CARD = "4242 4242 4242 4242"


def _json_feed(**product: Any) -> str:
    node = {
        "@type": "Product",
        "sku": "p1",
        "name": "Tent",
        "offers": {"price": "10", "priceCurrency": "USD"},
        **product,
    }
    # ensure_ascii keeps a lone surrogate as a \\ud800 escape, as a real feed would spell it
    return json.dumps([node])


@pytest.mark.parametrize(
    ("product", "field"),
    [
        ({"name": "Tent \ud83d"}, "name"),
        ({"description": "lone \udc00 half"}, "description"),
        ({"brand": {"@type": "Brand", "name": "Acme\ud800"}}, "brand"),
        ({"sku": "p\udfff"}, "sku"),
        ({"url": "https://shop.example/\ud800"}, "url"),
        ({"size": "M\udbff"}, "size"),
        ({"name": "Tent\x00"}, "name"),
        ({"name": "Tent\nTwo lines"}, "name"),
        ({"name": "Tent\tTabbed"}, "name"),
        ({"name": "Te\x85nt"}, "name"),
        ({"brand": "Ac\x1bme"}, "brand"),
        ({"description": "bell\x07"}, "description"),
        ({"description": "del\x7f"}, "description"),
        ({"color": "Red\x9b"}, "size"),
    ],
)
def test_ill_formed_or_control_text_refuses_the_row(product: dict[str, Any], field: str) -> None:
    result = parse_feed(_json_feed(**product), "feed.json")
    assert result.products == []
    assert [(e.row, e.field, e.code) for e in result.errors] == [(1, field, "invalid_text")]
    for error in result.errors:
        error.message.encode("utf-8")  # the report itself stays printable


def test_descriptions_keep_line_breaks_and_tabs() -> None:
    result = parse_feed(_json_feed(description="Sizes:\r\n\tS\r\n\tM\rL\n"), "feed.json")
    assert result.errors == []
    assert result.products[0].description == "Sizes:\n\tS\n\tM\nL"


def test_csv_multiline_description_with_windows_line_breaks_loads() -> None:
    feed = 'id,title,price,description\r\np1,Tent,10 USD,"one\r\ntwo"\r\n'
    result = parse_feed(feed, "feed.csv")
    assert result.errors == []
    assert result.products[0].description == "one\ntwo"


def test_csv_title_with_a_control_character_is_refused() -> None:
    feed = "id,title,price\np1,Te\x01nt,10 USD\np2,Lamp,5 USD\n"
    result = parse_feed(feed, "feed.csv")
    assert [p.sku for p in result.products] == ["p2"]
    assert [(e.row, e.field, e.code) for e in result.errors] == [(2, "title", "invalid_text")]


def test_card_numbers_in_csv_text_are_redacted_with_a_notice_per_field() -> None:
    feed = (
        "id,title,price,description,brand,item_group_id,size,color\n"
        f"p1,Tent {CARD},10 USD,pay with 4242-4242-4242-4242 exp 12/29 cvc 123,,,,\n"
        "p2,Lamp,5 USD,GTIN 4006381333931,,,,\n"
        f"t-s,Tee,5 USD,,Acme 5555.5555.5555.4444,tee,S,Red 6011111111111117\n"
    )
    result = parse_feed(feed, "feed.csv")
    assert result.errors == []
    by_sku = {p.sku: p for p in result.products}
    assert by_sku["p1"].title == f"Tent {PLACEHOLDER}"
    assert "4242" not in by_sku["p1"].description
    assert "12/29" not in by_sku["p1"].description
    assert "123" not in by_sku["p1"].description
    assert by_sku["p2"].description == "GTIN 4006381333931"  # Luhn-invalid: unchanged
    assert by_sku["tee"].brand == f"Acme {PLACEHOLDER}"
    assert by_sku["tee"].variants[0].title == f"S / Red {PLACEHOLDER}"
    assert [(n.row, n.field, n.code) for n in result.notices] == [
        (2, "title", "card_number_redacted"),
        (2, "description", "card_number_redacted"),
        (4, "brand", "card_number_redacted"),
        (4, "size", "card_number_redacted"),
    ]
    assert all("4242" not in n.message for n in result.notices)


def test_card_numbers_in_json_groups_and_variants_are_redacted() -> None:
    doc = {
        "@type": "ProductGroup",
        "productGroupID": "tee",
        "name": f"Tee {CARD}",
        "description": "nice",
        "offers": {"price": "5", "priceCurrency": "USD"},
        "hasVariant": [
            {"@type": "Product", "sku": "tee-s", "size": "S"},
            {"@type": "Product", "sku": "tee-m", "size": "M", "name": "Tee 378282246310005"},
        ],
    }
    result = parse_feed(json.dumps(doc), "feed.json")
    assert result.errors == []
    (product,) = result.products
    assert product.title == f"Tee {PLACEHOLDER}"
    assert [(n.row, n.field) for n in result.notices] == [(1, "name"), (1, "hasVariant[1].name")]


def test_a_redacted_title_over_the_limit_is_refused() -> None:
    title = "x" * 130 + " 4222222222222"  # 144 characters; 152 once redacted
    result = parse_feed(_json_feed(name=title), "feed.json")
    assert result.products == []
    assert [(e.field, e.code) for e in result.errors] == [("name", "too_long")]
    assert result.notices == []


def test_a_refused_row_reports_no_notice() -> None:
    result = parse_feed(_json_feed(name=f"Tent {CARD}", sku=""), "feed.json")
    assert [e.code for e in result.errors] == ["missing_field"]
    assert result.notices == []


async def test_import_reports_redactions_apart_and_stays_ok(
    sqlite_catalog_engine: AsyncEngine, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(f"id,title,price\np1,Tent {CARD},10 USD\np2,Lamp,5 USD\n", encoding="utf-8")
    report = await import_feed(sqlite_catalog_engine, "shop", feed, now=1, prune=True)
    assert (report.products, report.ok, report.errors) == (2, True, ())
    assert [(n.row, n.field, n.code) for n in report.notices] == [
        (2, "title", "card_number_redacted")
    ]
    text = format_report(report)
    assert "No problems found." in text
    assert "1 change(s) in 1 row(s); those rows loaded as changed:" in text
    assert "row 2 [title] card_number_redacted" in text
    assert "4242" not in text
    stored = await CatalogRepository(sqlite_catalog_engine).get("shop", "p1")
    assert stored is not None and stored.title == f"Tent {PLACEHOLDER}"


async def test_an_ill_formed_row_never_breaks_the_import(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.json"
    good = {
        "@type": "Product",
        "sku": "ok",
        "name": "Lamp",
        "offers": {"price": "5", "priceCurrency": "USD"},
    }
    feed.write_text(
        _json_feed(name="bad \ud800")[:-1] + ", " + json.dumps(good) + "]", encoding="utf-8"
    )
    report = await import_feed(engine, "shop", feed, now=1)
    assert report.products == 1
    assert [(e.row, e.code) for e in report.errors] == [(1, "invalid_text")]
    assert await CatalogRepository(engine).get("shop", "ok") is not None


# st.text never draws a lone surrogate: build strings from pieces that include them.
_TEXT = st.lists(
    st.characters()
    | st.sampled_from(["\ud800", "\udfff", "\n", "\t", "\r\n", "\x00", "\x85", "\x9b", CARD]),
    max_size=12,
).map("".join)


def _all_text(product: ProductRecord) -> list[str]:
    values = [product.sku, product.title, product.description, product.brand or ""]
    values += [product.url or "", product.image or "", product.external_id or ""]
    for variant in product.variants:
        values += [variant.variant_id, variant.title, variant.external_id or ""]
    return values


@settings(max_examples=300, deadline=None)
@given(_TEXT, _TEXT, _TEXT, _TEXT, _TEXT)
def test_loaded_products_are_always_well_formed(
    sku: str, name: str, description: str, brand: str, size: str
) -> None:
    doc = _json_feed(
        sku=sku or "s", name=name or "n", description=description, brand=brand, size=size
    )
    result = parse_feed(doc, "feed.json")
    for product in result.products:
        for value in _all_text(product):
            value.encode("utf-8")
        assert not any(ord(c) < 32 and c not in "\n\t" for c in product.description)
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in product.title)
        for shown in (product.title, product.description, product.brand or ""):
            assert not redact_card_numbers(shown)[1]
