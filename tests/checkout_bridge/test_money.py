"""Minor units, ISO 4217 exponents and display formatting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkout_bridge.errors import MoneyError
from checkout_bridge.money import (
    Money,
    format_minor,
    major_to_minor,
    minor_to_major_string,
    minor_unit_exponent,
    normalize_currency,
    require_amount,
)


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        *[("JPY", 0), ("krw", 0), ("VND", 0), ("CLP", 0), ("EUR", 2), ("usd", 2), ("XYZ", 2)],
        *[("BHD", 3), ("KWD", 3), ("JOD", 3), ("OMR", 3), ("TND", 3), ("CLF", 4)],
    ],
)
def test_exponents(currency: str, exponent: int) -> None:
    assert minor_unit_exponent(currency) == exponent


@pytest.mark.parametrize("code", ["", "EU", "EURO", "E1R", "€UR", 3])
def test_invalid_currency(code: object) -> None:
    with pytest.raises(MoneyError) as exc:
        normalize_currency(code)  # type: ignore[arg-type]  # deliberately wrong type
    assert exc.value.code == "invalid_currency"


@pytest.mark.parametrize(
    ("amount", "currency", "plain", "shown"),
    [
        (1234, "EUR", "12.34", "12.34 EUR"),
        (5, "eur", "0.05", "0.05 EUR"),
        (123450, "EUR", "1234.50", "1,234.50 EUR"),
        (1200, "JPY", "1200", "1,200 JPY"),
        (1234, "KWD", "1.234", "1.234 KWD"),
        (-1234, "EUR", "-12.34", "-12.34 EUR"),
        (-1234567, "JPY", "-1234567", "-1,234,567 JPY"),
        (0, "USD", "0.00", "0.00 USD"),
    ],
)
def test_formatting(amount: int, currency: str, plain: str, shown: str) -> None:
    assert minor_to_major_string(amount, currency) == plain
    assert format_minor(amount, currency) == shown
    assert major_to_minor(plain, currency) == amount


@pytest.mark.parametrize(
    ("text", "currency"), [("12.345", "EUR"), ("1.5", "JPY"), ("abc", "EUR"), ("NaN", "EUR")]
)
def test_major_to_minor_refuses(text: str, currency: str) -> None:
    with pytest.raises(MoneyError) as exc:
        major_to_minor(text, currency)
    assert exc.value.code == "invalid_amount"


def test_major_to_minor_refuses_non_text() -> None:
    with pytest.raises(MoneyError):
        major_to_minor(12, "EUR")  # type: ignore[arg-type]  # deliberately wrong type


@pytest.mark.parametrize("value", [1.5, True, "3", None])
def test_require_amount_refuses_non_ints(value: object) -> None:
    with pytest.raises(MoneyError) as exc:
        require_amount(value)
    assert exc.value.code == "invalid_amount"


def test_require_amount_negative() -> None:
    with pytest.raises(MoneyError):
        require_amount(-1)
    assert require_amount(-1, allow_negative=True) == -1
    assert require_amount(0) == 0


def test_money_arithmetic() -> None:
    a = Money(1050, "eur")
    assert a.currency == "EUR"
    assert a + Money(50, "EUR") == Money(1100, "EUR")
    assert a - Money(2000, "EUR") == Money(-950, "EUR")
    assert a.times(3) == Money(3150, "EUR")
    assert Money.zero("JPY") == Money(0, "JPY")
    assert a.exponent == 2
    assert str(a) == "10.50 EUR" == a.format()
    with pytest.raises(MoneyError) as exc:
        a + Money(1, "USD")
    assert exc.value.code == "currency_mismatch"
    with pytest.raises(MoneyError):
        a - Money(1, "USD")
    with pytest.raises(MoneyError):
        Money(1.5, "EUR")  # type: ignore[arg-type]  # deliberately wrong type


@settings(max_examples=100)
@given(
    amount=st.integers(-(10**12), 10**12),
    currency=st.sampled_from(["EUR", "JPY", "KWD", "CLF"]),
)
def test_text_round_trip(amount: int, currency: str) -> None:
    assert major_to_minor(minor_to_major_string(amount, currency), currency) == amount
    assert format_minor(amount, currency).endswith(" " + currency)
