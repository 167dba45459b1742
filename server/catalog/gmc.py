"""Google Merchant Center product feeds as CSV or TSV text.

Pure: parses a string already in memory. Columns (case-insensitive, an optional ``g:`` prefix is
ignored): ``id``, ``title``, ``price`` are required; ``description``, ``link``, ``image_link``,
``sale_price``, ``availability``, ``brand``, ``item_group_id``, ``size``, ``color``,
``material``, ``pattern``, ``quantity`` and coshop's ``external_id`` are optional; other columns
are ignored. Must not decide the delimiter from the file name (the caller does) or touch the
database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import TypeVar

import server.catalog.fields as fields
from server.catalog.assemble import Candidate
from server.catalog.fields import LIMITS, FieldProblem
from server.catalog.records import RowError

__all__ = ["REQUIRED_COLUMNS", "parse_delimited", "split_price"]

REQUIRED_COLUMNS = ("id", "title", "price")
_VARIANT_COLUMNS = ("size", "color", "material", "pattern")

T = TypeVar("T")


def parse_delimited(text: str, delimiter: str) -> tuple[list[Candidate], list[RowError]]:
    """Parse GMC rows; the header is row 1, the first product row is row 2."""
    errors: list[RowError] = []
    candidates: list[Candidate] = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(0, None, "empty_feed", "the feed has no header row")]
    except csv.Error as exc:
        return [], [RowError(1, None, "malformed_row", f"unreadable header: {exc}")]
    columns = [_column_name(name) for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        return [], [
            RowError(1, name, "missing_column", f"the header has no {name!r} column")
            for name in missing
        ]
    row_number = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(row_number + 1, None, "malformed_row", str(exc)))
            break
        row_number += 1
        if not any(cell.strip() for cell in record):
            continue
        if row_number - 1 > LIMITS.max_rows:
            errors.append(
                RowError(row_number, None, "too_many_rows", f"only {LIMITS.max_rows} rows load")
            )
            break
        if len(record) > len(columns):
            errors.append(
                RowError(
                    row_number,
                    None,
                    "malformed_row",
                    f"{len(record)} cells but the header has {len(columns)} columns",
                )
            )
            continue
        values = dict(zip(columns, record + [""] * (len(columns) - len(record)), strict=True))
        candidate = _candidate(row_number, values, errors)
        if candidate is not None:
            candidates.append(candidate)
    return candidates, errors


def _column_name(raw: str) -> str:
    name = raw.strip().lower().replace(" ", "_")
    return name.removeprefix("g:").removeprefix("\ufeff")


def split_price(value: str, field: str) -> tuple[str, str]:
    """``"12.99 USD"`` (or ``"USD 12.99"``) -> ``("12.99", "USD")``."""
    parts = value.split()
    if not parts:
        raise FieldProblem(field, "missing_field", f"{field} is required")
    if len(parts) != 2:
        raise FieldProblem(
            field, "bad_price", f"{field} must look like '12.99 USD', got {value.strip()!r}"
        )
    amount, code = parts
    if amount[:1].isalpha() and not code[:1].isalpha():
        amount, code = code, amount
    return amount, fields.currency(code, field)


def _candidate(row: int, values: dict[str, str], errors: list[RowError]) -> Candidate | None:
    problems: list[FieldProblem] = []
    notices: list[FieldProblem] = []

    def take(check: Callable[[], T]) -> T | None:
        try:
            return check()
        except FieldProblem as problem:
            problems.append(problem)
            return None

    get = values.get
    sku = take(lambda: fields.identifier(get("id"), "id"))
    title = take(
        lambda: fields.prose(
            get("title"), "title", max_len=LIMITS.title_len, notices=notices, required=True
        )
    )
    description = take(
        lambda: fields.prose(
            get("description"),
            "description",
            max_len=LIMITS.description_len,
            notices=notices,
            multiline=True,
        )
    )
    link = take(lambda: fields.url(get("link"), "link"))
    image = take(lambda: fields.url(get("image_link"), "image_link"))
    brand = take(
        lambda: fields.prose(get("brand"), "brand", max_len=LIMITS.brand_len, notices=notices)
    )
    availability = take(lambda: fields.availability(get("availability"), "availability"))
    stock = take(lambda: fields.quantity(get("quantity"), "quantity"))
    group_id = take(
        lambda: (
            fields.identifier(get("item_group_id"), "item_group_id")
            if (get("item_group_id") or "").strip()
            else None
        )
    )
    external = take(lambda: fields.text(get("external_id"), "external_id", max_len=LIMITS.id_len))
    priced = take(lambda: _prices(get("price") or "", get("sale_price") or ""))
    variant_title = take(lambda: _variant_title(values, notices))
    if problems:
        errors.extend(RowError(row, p.field, p.code, p.message) for p in problems)
        return None
    errors.extend(RowError(row, n.field, n.code, n.message) for n in notices)  # NOTICE_CODES
    assert sku is not None
    assert title is not None
    assert priced is not None
    assert availability is not None
    price_minor, compare_at, currency = priced
    if stock is None and availability == "out_of_stock":
        stock = 0
    return Candidate(
        row=row,
        sku=sku,
        title=title,
        price_minor=price_minor,
        currency=currency,
        description=description or "",
        url=link,
        image=image,
        brand=brand,
        stock=stock,
        availability=availability,
        compare_at_minor=compare_at,
        external_id=fields.external_id_from(external, sku, link),
        group_id=group_id,
        variant_title=variant_title,
    )


def _prices(price_text: str, sale_text: str) -> tuple[int, int | None, str]:
    amount, currency = split_price(price_text, "price")
    regular = fields.price(amount, currency, "price")
    if not sale_text.strip():
        return regular, None, currency
    sale_amount, sale_currency = split_price(sale_text, "sale_price")
    if sale_currency != currency:
        raise FieldProblem(
            "sale_price",
            "currency_mismatch",
            f"sale_price is in {sale_currency} but price is in {currency}",
        )
    sale = fields.price(sale_amount, currency, "sale_price")
    if sale >= regular:
        raise FieldProblem("sale_price", "bad_sale_price", "sale_price must be below price")
    return sale, regular, currency


def _variant_title(values: dict[str, str], notices: list[FieldProblem]) -> str | None:
    parts = [values.get(name, "").strip() for name in _VARIANT_COLUMNS]
    joined = " / ".join(part for part in parts if part)
    return fields.prose(joined, "size", max_len=LIMITS.variant_title_len, notices=notices)
