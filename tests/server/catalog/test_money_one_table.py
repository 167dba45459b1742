"""The catalogue reads feed prices with the checkout's ISO 4217 table: one money module."""

from __future__ import annotations

import pytest

from checkout_bridge.money import minor_to_major_string, minor_unit_exponent
from server.catalog.money import currency_exponent, format_minor, to_minor


@pytest.mark.parametrize(
    ("currency", "text", "minor"),
    [
        ("USD", "12.99", 1299),
        ("JPY", "1200", 1200),
        ("KWD", "1.234", 1234),
        ("CLF", "1.2345", 12345),
    ],
)
def test_feed_prices_and_the_checkout_agree(currency: str, text: str, minor: int) -> None:
    assert currency_exponent(currency) == minor_unit_exponent(currency)
    assert to_minor(text, currency) == minor
    assert format_minor(minor, currency) == minor_to_major_string(minor, currency) == text
