"""import_feed / format_report: the path the ``coshop catalog import`` CLI takes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.catalog.errors import FeedReadError, InvalidMerchantId
from server.catalog.importer import ImportReport, format_report, import_feed
from server.catalog.records import RowError
from server.catalog.repository import CatalogRepository

CSV = (
    "id,title,price,item_group_id,size\n"
    "tent,Tent,199 USD,,\n"
    "tee-s,Tee,20 USD,tee,S\n"
    "tee-m,Tee,20 USD,tee,M\n"
    "bad,Bad,12.999 USD,,\n"
)


async def test_import_loads_good_rows_and_reports_bad_ones(
    sqlite_catalog_engine: AsyncEngine, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(CSV, encoding="utf-8")
    report = await import_feed(sqlite_catalog_engine, "shop", feed, now=5)
    assert (report.products, report.variants, report.format, report.ok) == (2, 2, "csv", False)
    assert report.loaded == 2
    assert [(e.row, e.code) for e in report.errors] == [(5, "too_many_decimals")]
    _, total = await CatalogRepository(sqlite_catalog_engine).list("shop")
    assert total == 2
    text = format_report(report)
    assert (
        "Imported 2 product(s) with 2 variant(s) for merchant 'shop' from feed.csv (csv)." in text
    )
    assert "row 5 [price] too_many_decimals" in text


async def test_prune_only_when_the_feed_is_clean(
    sqlite_catalog_engine: AsyncEngine, tmp_path: Path
) -> None:
    first = tmp_path / "first.csv"
    first.write_text("id,title,price\na,A,1 USD\nb,B,1 USD\n", encoding="utf-8")
    await import_feed(sqlite_catalog_engine, "shop", first, now=1)
    broken = tmp_path / "broken.csv"
    broken.write_text("id,title,price\na,A,1 USD\nc,C,oops\n", encoding="utf-8")
    report = await import_feed(sqlite_catalog_engine, "shop", broken, now=2, prune=True)
    assert report.pruned == 0
    clean = tmp_path / "clean.csv"
    clean.write_text("id,title,price\na,A,2 USD\n", encoding="utf-8")
    report = await import_feed(sqlite_catalog_engine, "shop", clean, now=3, prune=True)
    assert report.pruned == 1
    assert "Removed 1 product(s)" in format_report(report)
    page, _ = await CatalogRepository(sqlite_catalog_engine).list("shop")
    assert [(p.sku, p.price_minor) for p in page] == [("a", 200)]


async def test_file_level_problems(sqlite_catalog_engine: AsyncEngine, tmp_path: Path) -> None:
    with pytest.raises(FeedReadError) as caught:
        await import_feed(sqlite_catalog_engine, "shop", tmp_path / "missing.csv", now=1)
    assert caught.value.code == "feed_unreadable"

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("id,title,price\na,Caf\xe9,1 USD\n".encode("latin-1"))
    report = await import_feed(sqlite_catalog_engine, "shop", latin1, now=1)
    assert [(e.row, e.code) for e in report.errors] == [(0, "bad_encoding")]
    assert report.products == 0
    assert "file bad_encoding" in format_report(report)

    bom = tmp_path / "bom.csv"
    bom.write_bytes("id,title,price\na,Café,1 USD\n".encode("utf-8-sig"))
    report = await import_feed(sqlite_catalog_engine, "shop", bom, now=1)
    assert (report.products, report.errors) == (1, ())

    with pytest.raises(InvalidMerchantId):
        await import_feed(sqlite_catalog_engine, "bad id", bom, now=1)


def test_format_report_caps_the_error_list() -> None:
    errors = tuple(RowError(i, "price", "bad_price", "nope") for i in range(2, 62))
    report = ImportReport("m", "f.csv", "csv", products=0, variants=0, errors=errors)
    text = format_report(report, max_errors=10)
    assert "60 problem(s) in 60 row(s)" in text
    assert text.count("bad_price") == 10
    assert "… and 50 more" in text
    clean = ImportReport("m", "f.json", "json", products=3, variants=0)
    assert format_report(clean).endswith("No problems found.")
