"""The card-number gate: Luhn-valid 13-19 digit numbers are redacted, near-misses pass."""

from __future__ import annotations

import pytest

from rooms import redact_card_numbers
from rooms.cardgate import PLACEHOLDER, luhn_valid


def _luhn_complete(prefix: str) -> str:
    """Append the check digit that makes ``prefix`` Luhn-valid."""
    for digit in "0123456789":
        if luhn_valid(prefix + digit):
            return prefix + digit
    raise AssertionError("unreachable")  # pragma: no cover


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "378282246310005",
        "3782 822463 10005",
        "6011111111111117",
        "4222222222222",  # 13 digits
        _luhn_complete("622126" + "0" * 12),  # 19 digits
    ],
)
def test_card_numbers_are_redacted(number: str) -> None:
    assert luhn_valid(number.replace(" ", "").replace("-", ""))
    text, redacted = redact_card_numbers(f"my card is {number} thanks")
    assert redacted
    assert text == f"my card is {PLACEHOLDER} thanks"


def test_nineteen_digit_helper_is_nineteen_digits() -> None:
    assert len(_luhn_complete("622126" + "0" * 12)) == 19


@pytest.mark.parametrize(
    "text",
    [
        "4242 4242 4242 4241",  # one digit changed
        "4242424242424243",
        "424242424242",  # 12 digits, even if Luhn-valid
        "12345678901234567890",  # 20 contiguous digits
        _luhn_complete("4" * 19),  # 20 contiguous digits, Luhn-valid as a whole
        "order 1234567890123 shipped",  # Luhn-invalid order number
        "call 0800 123 4567",
        "4242  4242  4242  4242",  # double spaces split the groups below 13 digits
        "",
        "no digits at all",
    ],
)
def test_near_misses_pass_unchanged(text: str) -> None:
    assert redact_card_numbers(text) == (text, False)


def test_twelve_digit_luhn_valid_number_passes() -> None:
    assert luhn_valid("424242424242")


def test_mixed_text_keeps_everything_else() -> None:
    text, redacted = redact_card_numbers(
        "order 1234567890123, card 4242-4242-4242-4242 exp 12/29, amex 378282246310005!"
    )
    assert redacted
    assert text == (f"order 1234567890123, card {PLACEHOLDER} exp 12/29, amex {PLACEHOLDER}!")


def test_card_inside_longer_grouped_run_is_found() -> None:
    text, redacted = redact_card_numbers("ref 77 4242 4242 4242 4242 12")
    assert redacted
    assert "4242" not in text
    assert text.startswith("ref 77 ")
    assert text.endswith(" 12")


def test_two_separate_cards() -> None:
    text, redacted = redact_card_numbers("6011111111111117 and 4242424242424242")
    assert (text, redacted) == (f"{PLACEHOLDER} and {PLACEHOLDER}", True)


def test_full_width_digits_are_digits_too() -> None:
    wide = "".join(chr(ord(d) - ord("0") + 0xFF10) for d in "4242424242424242")
    assert redact_card_numbers(wide) == (PLACEHOLDER, True)


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
