"""Field validators shared by the feed parsers: each turns one raw value into a clean one.

Pure. A validator either returns the clean value or raises :class:`FieldProblem` naming the
field, a stable row-error code (docs/catalog.md) and a message for the merchant. Must not know
which feed format the value came from.

Every text value must be well-formed Unicode: JSON can spell a lone surrogate (``"\\ud800"``),
which no database can store, so it is refused as ``invalid_text`` instead of failing the whole
import at the insert. Text shown to shoppers (:func:`prose`: titles, descriptions, brands,
variant titles) also holds no control characters (descriptions may keep line breaks and tabs;
``\\r\\n`` becomes ``\\n``) and passes the rooms' card-number gate: a card number is replaced
by ``[card number removed]`` and the row still loads, with a ``card_number_redacted`` notice
(:data:`NOTICE_CODES`). Product titles are copied into room events, so this keeps card numbers
out of the event log too.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from rooms.cardgate import PLACEHOLDER, redact_card_numbers
from server.catalog.money import AmountError, is_currency_code, to_minor

__all__ = [
    "LIMITS",
    "NOTICE_CODES",
    "FieldProblem",
    "Limits",
    "availability",
    "currency",
    "external_id_from",
    "identifier",
    "price",
    "prose",
    "quantity",
    "text",
    "url",
]


class Limits:
    """Caps that keep one feed from exhausting memory or the database."""

    max_feed_chars: Final = 20 * 1024 * 1024
    max_rows: Final = 50_000
    max_variants: Final = 100
    id_len: Final = 64
    title_len: Final = 150
    description_len: Final = 5_000
    brand_len: Final = 70
    variant_title_len: Final = 150
    url_len: Final = 2_048
    max_quantity: Final = 1_000_000_000


LIMITS = Limits()


class FieldProblem(ValueError):
    """One field of one row is unusable."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message


NOTICE_CODES = frozenset({"card_number_redacted"})
"""Codes of changes made to a row that still loaded (reported apart from rejected rows)."""

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_WS_RE = re.compile(r"\s+")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_ANY_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LINE_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but \t and \n
_LINE_BREAK_RE = re.compile(r"\r\n?")


def text(value: object, field: str, *, max_len: int, required: bool = False) -> str | None:
    """A trimmed string, ``None`` when blank; numbers are accepted and turned into text."""
    if value is None:
        cleaned = ""
    elif isinstance(value, str):
        if _SURROGATE_RE.search(value):
            raise FieldProblem(
                field, "invalid_text", f"{field} is not well-formed Unicode (a lone surrogate)"
            )
        cleaned = value.strip()
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        cleaned = str(value)
    else:
        raise FieldProblem(field, "bad_value", f"{field} must be text")
    if not cleaned:
        if required:
            raise FieldProblem(field, "missing_field", f"{field} is required")
        return None
    if len(cleaned) > max_len:
        raise FieldProblem(
            field, "too_long", f"{field} has {len(cleaned)} characters; the limit is {max_len}"
        )
    return cleaned


def prose(
    value: object,
    field: str,
    *,
    max_len: int,
    notices: list[FieldProblem],
    required: bool = False,
    multiline: bool = False,
) -> str | None:
    """Text shown to shoppers: :func:`text`, no control characters, card numbers redacted.

    ``multiline`` (descriptions) keeps ``\\n`` and ``\\t``; ``\\r\\n`` and ``\\r`` become ``\\n``.
    A redaction appends a ``card_number_redacted`` notice to ``notices``.
    """
    cleaned = text(value, field, max_len=max_len, required=required)
    if cleaned is None:
        return None
    if multiline:
        cleaned = _LINE_BREAK_RE.sub("\n", cleaned)
    control = (_LINE_CONTROL_RE if multiline else _ANY_CONTROL_RE).search(cleaned)
    if control:
        raise FieldProblem(
            field,
            "invalid_text",
            f"{field} contains the control character U+{ord(control.group()):04X}",
        )
    redacted, hit = redact_card_numbers(cleaned)
    if not hit:
        return cleaned
    if len(redacted) > max_len:
        raise FieldProblem(
            field,
            "too_long",
            f"{field} holds a card number; with it replaced by {PLACEHOLDER!r} it has "
            f"{len(redacted)} characters, over the limit of {max_len}",
        )
    notices.append(
        FieldProblem(
            field,
            "card_number_redacted",
            f"{field} held a number that reads as a payment card number; it was replaced by "
            f"{PLACEHOLDER!r}",
        )
    )
    return redacted


def identifier(value: object, field: str) -> str:
    """A required id (sku, variant id): one line, no control characters, at most 64 chars."""
    cleaned = text(value, field, max_len=LIMITS.id_len, required=True)
    assert cleaned is not None  # required=True never returns None
    if _CONTROL_RE.search(cleaned):
        raise FieldProblem(field, "bad_id", f"{field} must be one line without control characters")
    return cleaned


def url(value: object, field: str) -> str | None:
    """An optional http(s) URL, or a root-relative path such as ``/static/demo/img/a.svg``."""
    cleaned = text(value, field, max_len=LIMITS.url_len)
    if cleaned is None:
        return None
    lowered = cleaned.lower()
    absolute = lowered.startswith(("http://", "https://")) and len(cleaned.split("/")[2]) > 0
    relative = cleaned.startswith("/") and not cleaned.startswith("//")
    if not (absolute or relative) or _WS_RE.search(cleaned) or _CONTROL_RE.search(cleaned):
        raise FieldProblem(field, "bad_url", f"{field} must be an http(s) URL, got {cleaned!r}")
    return cleaned


def currency(value: object, field: str) -> str:
    """A required ISO 4217 code; lower case is accepted and upper-cased."""
    if not isinstance(value, str) or not value.strip():
        raise FieldProblem(field, "bad_currency", f"{field} needs an ISO 4217 currency like USD")
    code = value.strip().upper()
    if not is_currency_code(code):
        raise FieldProblem(field, "bad_currency", f"{value!r} is not an ISO 4217 currency code")
    return code


def price(value: object, currency_code: str, field: str) -> int:
    """A required amount in major units, converted to integer minor units of ``currency_code``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldProblem(field, "missing_field", f"{field} is required")
    if not isinstance(value, str | int | Decimal):
        raise FieldProblem(field, "bad_price", f"{field} must be a number or a decimal string")
    try:
        return to_minor(value, currency_code)
    except AmountError as exc:
        raise FieldProblem(field, exc.code, exc.message) from exc


_AVAILABILITY = {
    "instock": "in_stock",
    "limitedavailability": "in_stock",
    "onlineonly": "in_stock",
    "instoreonly": "in_stock",
    "outofstock": "out_of_stock",
    "soldout": "out_of_stock",
    "discontinued": "out_of_stock",
    "preorder": "preorder",
    "presale": "preorder",
    "backorder": "backorder",
}


def availability(value: object, field: str) -> str:
    """GMC values (``in_stock``, ``in stock``) or schema.org URLs (``https://schema.org/InStock``)."""
    cleaned = text(value, field, max_len=100)
    if cleaned is None:
        return "in_stock"
    key = re.sub(r"[^a-z]", "", cleaned.rstrip("/").rsplit("/", 1)[-1].lower())
    try:
        return _AVAILABILITY[key]
    except KeyError:
        raise FieldProblem(
            field,
            "bad_availability",
            f"{cleaned!r} is not one of in_stock, out_of_stock, preorder, backorder",
        ) from None


def quantity(value: object, field: str) -> int | None:
    """An optional whole number of units in stock (``None`` when blank: not tracked)."""
    if isinstance(value, dict):  # schema.org QuantitativeValue
        value = value.get("value")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise FieldProblem(field, "bad_quantity", f"{field} must be a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, Decimal) and value == value.to_integral_value():
        number = int(value)
    else:
        raise FieldProblem(field, "bad_quantity", f"{field} must be a whole number, got {value!r}")
    if not 0 <= number <= LIMITS.max_quantity:
        raise FieldProblem(field, "bad_quantity", f"{field} must be between 0 and 1000000000")
    return number


_SHOPIFY_GMC_ID = re.compile(r"shopify_[A-Za-z]{2}_\d+_(\d+)")
_VARIANT_PARAM = re.compile(r"[?&]variant=(\d+)")


def external_id_from(explicit: str | None, item_id: str, link: str | None) -> str | None:
    """The platform's variant id: explicit, from a Shopify GMC id, or a ``?variant=`` link."""
    if explicit:
        return explicit
    match = _SHOPIFY_GMC_ID.fullmatch(item_id)
    if match:
        return match.group(1)
    if link:
        found = _VARIANT_PARAM.search(link)
        if found:
            return found.group(1)
    return None
