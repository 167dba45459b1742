from __future__ import annotations

from decimal import Decimal

import pytest

from server.catalog.money import AmountError, currency_exponent, format_minor, to_minor


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.99", "USD", 1299),
        ("12.9", "EUR", 1290),
        ("12.990", "USD", 1299),  # trailing zeros are not extra precision
        ("0", "USD", 0),
        (12, "USD", 1200),
        (Decimal("0.1"), "USD", 10),
        ("1500", "JPY", 1500),
        ("1.250", "KWD", 1250),
        ("3.5", "BHD", 3500),
        ("1000000", "USD", 100_000_000),
    ],
)
def test_to_minor(amount: str | int | Decimal, currency: str, minor: int) -> None:
    assert to_minor(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        ("12.999", "USD", "too_many_decimals"),
        ("1500.5", "JPY", "too_many_decimals"),
        ("1.2345", "KWD", "too_many_decimals"),
        ("12,99", "USD", "bad_price"),
        ("-1", "USD", "price_out_of_range"),  # docs/catalog.md: below 0
        (" -12.50 ", "USD", "price_out_of_range"),
        ("--1", "USD", "bad_price"),
        ("+1", "USD", "bad_price"),
        (-3, "USD", "price_out_of_range"),
        ("1e3", "USD", "bad_price"),
        ("", "USD", "bad_price"),
        (True, "USD", "bad_price"),
        (Decimal("NaN"), "USD", "bad_price"),
        (Decimal("-0.5"), "USD", "price_out_of_range"),
        ("1000000.01", "USD", "price_out_of_range"),
    ],
)
def test_to_minor_rejects(amount: str | int | Decimal, currency: str, code: str) -> None:
    with pytest.raises(AmountError) as caught:
        to_minor(amount, currency)
    assert caught.value.code == code


def test_exponents_and_formatting() -> None:
    assert [currency_exponent(c) for c in ("USD", "JPY", "KWD", "XYZ")] == [2, 0, 3, 2]
    assert format_minor(1299, "USD") == "12.99"
    assert format_minor(5, "USD") == "0.05"
    assert format_minor(1500, "JPY") == "1500"
    assert format_minor(1250, "KWD") == "1.250"
