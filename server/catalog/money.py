"""Amounts of money as integer minor units: parsing feed prices and formatting them back.

Pure: no I/O, and never a ``float`` — every amount goes through :class:`decimal.Decimal` so that
"0.1 + 0.2" problems cannot reach a price. Must not know about products or feeds.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from checkout_bridge.money import minor_to_major_string, minor_unit_exponent

__all__ = [
    "MAX_PRICE_MAJOR",
    "AmountError",
    "currency_exponent",
    "format_minor",
    "is_currency_code",
    "to_minor",
]

MAX_PRICE_MAJOR = Decimal(1_000_000)
"""The largest price a feed may carry, in major units of its currency."""

_CURRENCY_RE = re.compile(r"[A-Z]{3}")
# A leading minus is read (and then refused as price_out_of_range, the documented code).
_PLAIN_DECIMAL_RE = re.compile(r"-?\d+(?:\.\d+)?")


class AmountError(ValueError):
    """An amount that cannot become minor units; ``code`` is a feed row-error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_currency_code(text: str) -> bool:
    return _CURRENCY_RE.fullmatch(text) is not None


def currency_exponent(currency: str) -> int:
    """Number of decimals in ``currency``'s minor unit: JPY 0, KWD 3, CLF 4, most others 2.

    The one ISO 4217 table is :mod:`checkout_bridge.money`'s: what a feed's price means and
    what the checkout charges must never disagree.
    """
    return minor_unit_exponent(currency)


def to_minor(amount: str | int | Decimal, currency: str) -> int:
    """Convert a major-unit amount ("12.99", 12, Decimal("12.99")) to integer minor units.

    Raises :class:`AmountError` with code ``bad_price`` (not a plain decimal),
    ``too_many_decimals`` (more decimals than the currency has) or ``price_out_of_range``
    (negative, or above :data:`MAX_PRICE_MAJOR`).
    """
    if isinstance(amount, bool):  # bool is an int subclass; true is not a price
        raise AmountError("bad_price", "price must be a number")
    if isinstance(amount, str):
        text = amount.strip()
        if not _PLAIN_DECIMAL_RE.fullmatch(text):
            raise AmountError("bad_price", f"{amount!r} is not a plain decimal amount like 12.99")
        value = Decimal(text)
    elif isinstance(amount, int):
        value = Decimal(amount)
    else:
        value = amount
    try:
        if not value.is_finite():
            raise AmountError("bad_price", "price must be a finite number")
        exponent = currency_exponent(currency)
        scaled = value.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise AmountError(
                "too_many_decimals",
                f"{currency} has {exponent} decimal places; {value} has more",
            )
    except InvalidOperation as exc:  # pragma: no cover - only for absurd exponents
        raise AmountError("bad_price", "price is not a usable number") from exc
    if value < 0 or value > MAX_PRICE_MAJOR:
        raise AmountError(
            "price_out_of_range", f"price must be between 0 and {MAX_PRICE_MAJOR} {currency}"
        )
    return int(scaled)


def format_minor(minor: int, currency: str) -> str:
    """Render minor units as a plain decimal string: (1299, "USD") -> "12.99" (the checkout's
    :func:`checkout_bridge.money.minor_to_major_string`)."""
    return minor_to_major_string(minor, currency)
