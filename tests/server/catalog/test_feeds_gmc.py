"""Google Merchant Center CSV and TSV feeds through ``parse_feed``."""

from __future__ import annotations

import pytest

from server.catalog.feeds import detect_format, parse_feed
from server.catalog.fields import LIMITS
from server.catalog.records import RowError

HEADER = "id,title,description,link,image_link,price,sale_price,availability,brand,quantity"


def codes(errors: list[RowError]) -> list[tuple[int, str | None, str]]:
    return [(e.row, e.field, e.code) for e in errors]


def test_csv_basic_columns() -> None:
    text = (
        f"{HEADER}\n"
        "tent-1,Tent,Two person,https://shop.example/t,https://shop.example/t.jpg,"
        "199.99 USD,,in_stock,Acme,7\n"
        'mug-1,"Mug, enamel",,,,"USD 16",12.50 USD,out of stock,,\n'
    )
    result = parse_feed(text, "feed.csv")
    assert result.format == "csv"
    assert result.errors == []
    tent, mug = result.products
    assert (tent.sku, tent.title, tent.description, tent.price_minor, tent.stock) == (
        "tent-1",
        "Tent",
        "Two person",
        19999,
        7,
    )
    assert (tent.url, tent.image, tent.brand) == (
        "https://shop.example/t",
        "https://shop.example/t.jpg",
        "Acme",
    )
    # sale_price is what the shopper pays; the regular price is kept as compare-at.
    assert (mug.title, mug.price_minor, mug.compare_at_minor) == ("Mug, enamel", 1250, 1600)
    assert (mug.availability, mug.stock, mug.url) == ("out_of_stock", 0, None)


def test_tsv_with_g_prefix_bom_and_grouped_variants() -> None:
    rows = [
        ["\ufeffg:id", "g:title", "g:price", "g:item_group_id", "Size", "Color", "g:link"],
        ["shopify_US_1_111", "Tee", "20.00 USD", "tee", "S", "Blue", ""],
        ["shopify_US_1_112", "Tee", "22.00 USD", "tee", "M", "Blue", ""],
        ["solo", "Solo", "5 USD", "", "", "", "https://shop.example/p?variant=77"],
        ["tee-bad", "Tee", "20.00 EUR", "tee", "L", "", ""],
    ]
    text = "\n".join("\t".join(r) for r in rows) + "\n"
    result = parse_feed(text, "feed.tsv")
    assert result.format == "tsv"
    tee, solo = result.products
    assert (tee.sku, tee.title, tee.price_minor, tee.stock) == ("tee", "Tee", 2000, None)
    assert [(v.variant_id, v.title, v.price_minor, v.external_id) for v in tee.variants] == [
        ("shopify_US_1_111", "S / Blue", 2000, "111"),
        ("shopify_US_1_112", "M / Blue", 2200, "112"),
    ]
    assert solo.external_id == "77"
    assert codes(result.errors) == [(5, "price", "currency_mismatch")]


def test_group_stock_and_availability_are_summarised() -> None:
    text = (
        "id,title,price,item_group_id,size,quantity,availability\n"
        "b-8,Boot,100 USD,boot,8,0,out_of_stock\n"
        "b-9,Boot,100 USD,boot,9,3,in_stock\n"
    )
    [boot] = parse_feed(text, "boots.csv").products
    assert (boot.stock, boot.availability) == (3, "in_stock")
    assert [v.stock for v in boot.variants] == [0, 3]


def test_jpy_and_three_decimal_currencies() -> None:
    text = "id,title,price\na,Yen,1500 JPY\nb,Dinar,1.250 KWD\nc,Bad yen,1500.5 JPY\n"
    result = parse_feed(text, "f.csv")
    assert [(p.sku, p.price_minor, p.currency) for p in result.products] == [
        ("a", 1500, "JPY"),
        ("b", 1250, "KWD"),
    ]
    assert codes(result.errors) == [(4, "price", "too_many_decimals")]


def test_every_row_error_code() -> None:
    long_title = "x" * (LIMITS.title_len + 1)
    text = "\n".join(
        [
            HEADER,
            "ok,Fine,,,,1.00 USD,,,,",  # 2
            ",No id,,,,1.00 USD,,,,",  # 3 missing id
            "r4,,,,,1.00 USD,,,,",  # 4 missing title
            f"r5,{long_title},,,,1.00 USD,,,,",  # 5 title too long
            "r6,T,,ftp://x/y,,1.00 USD,,,,",  # 6 bad link scheme
            "r7,T,,,,12.999 USD,,,,",  # 7 too many decimals
            "r8,T,,,,12.99,,,,",  # 8 no currency
            "r9,T,,,,12.99 DOLLARS,,,,",  # 9 bad currency
            "r10,T,,,,2000000 USD,,,,",  # 10 out of range
            "r11,T,,,,1.00 USD,,sometimes,,",  # 11 bad availability
            "r12,T,,,,1.00 USD,,,,lots",  # 12 bad quantity
            "r13,T,,,,1.00 USD,2.00 USD,,,",  # 13 sale above price
            "r14,T,,,,1.00 USD,0.50 EUR,,,",  # 14 sale in another currency
            "ok,Again,,,,1.00 USD,,,,",  # 15 duplicate
            "r16,T,,,,1.00 USD,,,,,extra",  # 16 too many cells
            "r17,T,,,,1.00 USD,,,,",  # 17 fine
            "r18,T,,,,12 99 USD,,,,",  # 18 three parts
            "r19,T,,,,,,,,",  # 19 missing price
        ]
    )
    result = parse_feed(text, "feed.csv")
    assert [p.sku for p in result.products] == ["ok", "r17"]
    assert codes(result.errors) == [
        (3, "id", "missing_field"),
        (4, "title", "missing_field"),
        (5, "title", "too_long"),
        (6, "link", "bad_url"),
        (7, "price", "too_many_decimals"),
        (8, "price", "bad_price"),
        (9, "price", "bad_currency"),
        (10, "price", "price_out_of_range"),
        (11, "availability", "bad_availability"),
        (12, "quantity", "bad_quantity"),
        (13, "sale_price", "bad_sale_price"),
        (14, "sale_price", "currency_mismatch"),
        (15, "id", "duplicate_sku"),
        (16, None, "malformed_row"),
        (18, "price", "bad_price"),
        (19, "price", "missing_field"),
    ]


def test_missing_required_columns() -> None:
    result = parse_feed("id,name,cost\n1,a,2\n", "feed.csv")
    assert result.products == []
    assert codes(result.errors) == [
        (1, "title", "missing_column"),
        (1, "price", "missing_column"),
    ]


def test_blank_lines_are_skipped_and_short_rows_padded() -> None:
    result = parse_feed("id,title,price,brand\n\na,A,1 USD\n", "feed.csv")
    assert result.errors == []
    assert [p.sku for p in result.products] == ["a"]


def test_too_many_variants_in_a_group() -> None:
    lines = ["id,title,price,item_group_id"]
    lines += [f"v{i},T,1 USD,g" for i in range(LIMITS.max_variants + 1)]
    result = parse_feed("\n".join(lines), "feed.csv")
    assert len(result.products[0].variants) == LIMITS.max_variants
    assert codes(result.errors) == [(LIMITS.max_variants + 2, "item_group_id", "too_many_variants")]


def test_feed_size_cap() -> None:
    result = parse_feed("x" * (LIMITS.max_feed_chars + 1), "big.csv")
    assert codes(result.errors) == [(0, None, "feed_too_large")]


@pytest.mark.parametrize(
    ("text", "name", "fmt"),
    [
        ("{}", "feed.json", "json"),
        ("[]", "feed.jsonld", "json"),
        ("[1]", "feed.txt", "json"),
        ("id\ttitle\tprice\n", "feed.txt", "tsv"),
        ("id,title,price\n", "feed", "csv"),
        ("id,title\tx\n", "feed.tsv", "tsv"),
        ("{weird", "feed.csv", "csv"),
    ],
)
def test_detect_format(text: str, name: str, fmt: str) -> None:
    assert detect_format(text, name) == fmt


def test_a_negative_price_is_out_of_range() -> None:
    text = "\n".join(["id,title,price", "neg,T,-5.00 USD", "neg2,T,USD -1", "ok,T,1.00 USD"])
    result = parse_feed(text, "feed.csv")
    assert [p.sku for p in result.products] == ["ok"]
    assert codes(result.errors) == [
        (2, "price", "price_out_of_range"),
        (3, "price", "price_out_of_range"),
    ]
