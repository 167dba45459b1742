"""The card-number gate: Luhn-valid 13-19 digit numbers are redacted with their expiry and code.

The corpus is built from the payment providers' documented test numbers (Stripe, Adyen, PayPal
sandbox) written in every separator style the gate joins, and from real-world numbers a shopping
chat is full of (orders, phones, SKUs, prices, dates, tracking numbers, IBANs, ISBNs), which must
pass unchanged.
"""

from __future__ import annotations

import sys
import unicodedata
import uuid
from itertools import pairwise

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rooms import redact_card_numbers
from rooms.cardgate import (
    CODE_PLACEHOLDER,
    EXPIRY_PLACEHOLDER,
    MAX_SEPARATOR_RUN,
    PLACEHOLDER,
    SEPARATORS,
    _card_windows,
    luhn_valid,
    op_id_may_be_card,
)

CARD = PLACEHOLDER
EXP = EXPIRY_PLACEHOLDER
CODE = CODE_PLACEHOLDER


def _luhn_complete(prefix: str) -> str:
    """Append the check digit that makes ``prefix`` Luhn-valid."""
    for digit in "0123456789":
        if luhn_valid(prefix + digit):
            return prefix + digit
    raise AssertionError("unreachable")  # pragma: no cover


# Documented test numbers (Stripe's testing page unless noted), every one Luhn-valid.
TEST_NUMBERS = {
    "visa": "4242424242424242",
    "visa_debit": "4000056655665556",
    "visa_3ds": "4000002500003155",
    "visa_13": "4222222222222",
    "mastercard": "5555555555554444",
    "mastercard_2series": "2223003122003222",
    "mastercard_debit": "5200828282828210",
    "mastercard_prepaid": "5105105105105100",
    "amex": "378282246310005",
    "amex_2": "371449635398431",
    "discover": "6011111111111117",
    "discover_2": "6011000990139424",
    "diners": "3056930009020004",
    "diners_14": "36227206271667",
    "jcb": "3566002020360505",
    "unionpay": "6200000000000005",
    "unionpay_2": "6200000000000047",
    "unionpay_19": "6205500000000000004",
    "maestro_19": _luhn_complete("501200000000000000"),
}


def test_every_test_number_is_luhn_valid_and_13_to_19_digits() -> None:
    for number in TEST_NUMBERS.values():
        assert luhn_valid(number)
        assert 13 <= len(number) <= 19


def _groups(number: str) -> list[str]:
    """The number in the groups it is printed in (Amex 4-6-5, Diners 4-6-4, else fours)."""
    if len(number) in (14, 15):
        return [number[:4], number[4:10], number[10:]]
    return [number[i : i + 4] for i in range(0, len(number), 4)]


# Every separator style the gate joins, each with the number it is tried on.
SEPARATOR_STYLES = {
    "space": (" ", "visa"),
    "double space": ("  ", "mastercard"),
    "no-break space": ("\u00a0", "visa_debit"),
    "narrow no-break space": ("\u202f", "amex"),
    "thin space": ("\u2009", "discover"),
    "ideographic space": ("\u3000", "jcb"),
    "newline": ("\n", "mastercard_2series"),
    "CRLF": ("\r\n", "visa_3ds"),
    "tab": ("\t", "unionpay"),
    "dot": (".", "mastercard_debit"),
    "hyphen-minus": ("-", "discover_2"),
    "spaced hyphen": (" - ", "diners"),
    "en dash": ("\u2013", "amex_2"),
    "spaced en dash": (" \u2013 ", "diners_14"),
    "em dash": ("\u2014", "unionpay_2"),
    "minus sign": ("\u2212", "mastercard_prepaid"),
    "figure dash": ("\u2012", "visa_13"),
    "hyphen": ("\u2010", "unionpay_19"),
    "slash": ("/", "visa"),
    "spaced slash": (" / ", "maestro_19"),
    "comma": (",", "mastercard"),
    "underscore": ("_", "discover"),
    "plus": ("+", "visa_debit"),
    "zero-width space": ("\u200b", "amex"),
    "soft hyphen": ("\u00ad", "jcb"),
    "full-width hyphen": ("\uff0d", "unionpay"),
}


@pytest.mark.parametrize("style", sorted(SEPARATOR_STYLES))
def test_card_numbers_in_every_separator_style_are_redacted(style: str) -> None:
    separator, name = SEPARATOR_STYLES[style]
    written = separator.join(_groups(TEST_NUMBERS[name]))
    assert redact_card_numbers(f"my card is {written} thanks") == (
        f"my card is {CARD} thanks",
        True,
    )


@pytest.mark.parametrize("name", sorted(TEST_NUMBERS))
def test_test_numbers_contiguous_and_grouped_are_redacted(name: str) -> None:
    number = TEST_NUMBERS[name]
    assert redact_card_numbers(number) == (CARD, True)
    assert redact_card_numbers(" ".join(_groups(number)) + ".") == (f"{CARD}.", True)


# Must redact: (text, expected) beyond the separator styles above.
MUST_REDACT = [
    ("4242 4242 4242 4242", CARD),
    ("4242-4242-4242-4242", CARD),
    ("3782 822463 10005", CARD),
    ("(4242) 4242 4242 4242", f"({CARD}"),
    ("4242 4242\n4242 4242", CARD),
    ("4242 .4242. 4242 4242", CARD),
    ("4242 - 4242 \u2013 4242 \u2014 4242", CARD),
    ("card:4242424242424242!", f"card:{CARD}!"),
    ("x4242424242424242y", f"x{CARD}y"),  # glued to letters: still a card
    ("\uff14\uff12\uff14\uff12" * 4, CARD),  # full-width digits
    ("\u0664\u0662\u0664\u0662 " * 3 + "\u0664\u0662\u0664\u0662", CARD),  # Arabic-Indic digits
    ("\u096a\u0968\u096a\u0968" * 4, CARD),  # Devanagari digits
    ("6011111111111117 and 4242424242424242", f"{CARD} and {CARD}"),
    ("4242424242424242, 6011111111111117", f"{CARD}, {CARD}"),
    ("ref 77 4242 4242 4242 4242 12", f"ref 77 {CARD} 12"),
    ("order 1234567890123, card 4242-4242-4242-4242", f"order 1234567890123, card {CARD}"),
    # expiry and security code of a redacted number
    ("4242 4242 4242 4242 exp 12/29 cvc 123", f"{CARD} exp {EXP} cvc {CODE}"),
    ("4242424242424242 12/29 123", f"{CARD} {EXP} {CODE}"),
    ("4242424242424242, 12/2029, 1234", f"{CARD}, {EXP}, {CODE}"),
    ("4242424242424242\n12 / 29\n123", f"{CARD}\n{EXP}\n{CODE}"),
    ("4242424242424242 123 12-29", f"{CARD} {CODE} {EXP}"),
    ("4242424242424242 | 1/29 | 987", f"{CARD} | {EXP} | {CODE}"),
    ("378282246310005 expires 04/2031 CID 1234", f"{CARD} expires {EXP} CID {CODE}"),
    (
        "cvv: 321, expiry date: 09-28, number 5555 5555 5555 4444",
        f"cvv: {CODE}, expiry date: {EXP}, number {CARD}",
    ),
    (
        "5555555555554444 valid thru 11\u201330 security code is 5678",
        f"{CARD} valid thru {EXP} security code is {CODE}",
    ),
    ("Exp. 12/29 CVC2 #123 card 4000056655665556", f"Exp. {EXP} CVC2 #{CODE} card {CARD}"),
    ("4242424242424242 exp:12/29\ncsc=999", f"{CARD} exp:{EXP}\ncsc={CODE}"),
    ("4242424242424242 12/29 1234 5678", f"{CARD} {EXP} {CODE} 5678"),
    ("4242424242424242, 349.99", f"{CARD}, 349.99"),  # a price after the number is no code
    ("4242424242424242 exp 12/29/2026", f"{CARD} exp 12/29/2026"),  # a full date is no expiry
    # real-world numbers that happen to pass Luhn: redacted (documented judgment call)
    ("EAN 5901234123457", f"EAN {CARD}"),
    ("sent at 1765080000125", f"sent at {CARD}"),
]


@pytest.mark.parametrize(("text", "expected"), MUST_REDACT)
def test_must_redact(text: str, expected: str) -> None:
    assert redact_card_numbers(text) == (expected, True)


# Must keep: real-world text with numbers, unchanged.
MUST_KEEP = [
    "",
    "no digits at all",
    "4242 4242 4242 4241",  # one digit changed
    "4242424242424243",
    "424242424242",  # 12 digits, even if Luhn-valid
    "12345678901234567890",  # 20 contiguous digits
    _luhn_complete("4" * 19),  # 20 contiguous digits, Luhn-valid as a whole
    "order 1234567890123 shipped",  # Luhn-invalid order number
    "Your order #100234567 has shipped",
    "Order 2026-120700123 confirmed",
    "Call us on +1 (415) 555-0132 or +44 20 7946 0958",
    "+1 (415) 555-0132, +44 20 7946 0958, +49 30 901820",
    "WhatsApp me: +33 6 12 34 56 78",
    "call 0800 123 4567",
    "call 0800 123 4567 or 0800 765 4321",
    "SKU WD-2210-BR-42 and SKU 8806094-113-02",
    "\u20ac1,299.00 incl. VAT, was \u20ac1,499.00",
    "12.50 x 3 = 37.50",
    "prices: 19.99, 24.99, 29.99, 34.99, 39.99",
    "sizes 36, 38, 40, 42, 44, 46, 48, 50",
    "we are 3 people, 2 adults and 1 child, budget 300-400",
    "room 12 / 13 / 14 on floors 2, 3",
    "delivery 07.12.2026 between 14:00 and 18:00",
    "2026-12-07T02:37:00.123Z",
    "2026-12-07 02:37:00.123456",
    "ts 1765080000123",  # a millisecond timestamp that fails Luhn
    "UPS 1Z 999 AA1 01 2345 6784",
    "UPS 1Z999AA10123456784",
    "USPS 9400 1000 0000 0000 0000 00",
    "USPS 9400 1118 9922 3397 7654 32",
    "USPS 9400111899223397765432",  # 22 contiguous digits: not searched inside
    "IBAN DE89 3704 0044 0532 0130 00",
    "IBAN GB29 NWBK 6016 1331 9268 19",
    "ISBN 978-0-306-40615-7",
    "ISBN 978-3-16-148410-0",
    "EAN 4006381333931",
    "0000 0000 0000 0000",  # Luhn-valid zeros: no card starts with 0
    "version 1.2.3.4.5.6.7.8.9.10.11",
    "4242    4242    4242    4242",  # spaced wider than three characters
    "4242x4242x4242x4242",  # letters are no separators
    "cvc 123 and exp 12/29 but no card",
    "meet at 12/29, code 123",
]


def test_corpus_has_at_least_sixty_cases() -> None:
    total = len(SEPARATOR_STYLES) + 2 * len(TEST_NUMBERS) + len(MUST_REDACT) + len(MUST_KEEP)
    assert total >= 60
    assert len(MUST_KEEP) >= 30


@pytest.mark.parametrize("text", MUST_KEEP)
def test_must_keep(text: str) -> None:
    assert redact_card_numbers(text) == (text, False)


def test_every_unicode_space_is_a_separator() -> None:
    spaces = {
        chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Zs"
    }
    assert spaces <= SEPARATORS
    assert not any(char.isdigit() for char in SEPARATORS)


def test_separator_runs_are_bounded() -> None:
    assert MAX_SEPARATOR_RUN == 3
    assert redact_card_numbers("4242 - 4242 - 4242 - 4242")[1]
    assert not redact_card_numbers("4242 -- 4242 -- 4242 -- 4242")[1]


def test_comma_and_space_ends_a_run_but_a_bare_comma_joins() -> None:
    assert not redact_card_numbers("4242, 4242, 4242, 4242")[1]
    assert redact_card_numbers("4242,4242,4242,4242") == (CARD, True)


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert luhn_valid("\uff17\uff19\uff19\uff12\uff17\uff13\uff19\uff18\uff17\uff11\uff13")


# --- properties -------------------------------------------------------------------------------
_JOINING = sorted(SEPARATORS)
_PROSE = st.text(
    alphabet=st.characters(categories=["L"], max_codepoint=0x2FF) | st.sampled_from(" .!?"),
    max_size=30,
)


def _separator_run() -> st.SearchStrategy[str]:
    run = st.text(alphabet=st.sampled_from(_JOINING), min_size=1, max_size=MAX_SEPARATOR_RUN)
    return run.filter(lambda s: not any(a == "," and b.isspace() for a, b in pairwise(s)))


@st.composite
def _cards(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    body = draw(st.text(alphabet="0123456789", min_size=length - 2, max_size=length - 2))
    return _luhn_complete(draw(st.sampled_from("123456789")) + body)


@st.composite
def _written(draw: st.DrawFn, number: str) -> str:
    out = [number[0]]
    for digit in number[1:]:
        if draw(st.booleans()):
            out.append(draw(_separator_run()))
        out.append(digit)
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), before=_PROSE, after=_PROSE)
@example(data=None, before="", after="")
def test_any_luhn_valid_number_with_separators_is_redacted(
    data: st.DataObject | None, before: str, after: str
) -> None:
    if data is None:
        number, written = "4242424242424242", "4\u00a0242-4242\n42\u2013 42 4242"
    else:
        number = data.draw(_cards())
        written = data.draw(_written(number))
    text, redacted = redact_card_numbers(f"{before} {written} {after}")
    assert redacted
    assert number not in "".join(char for char in text if char.isdigit())
    assert text.startswith(f"{before} ")
    assert text.endswith(f" {after}")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_text_without_thirteen_digits_is_unchanged(text: str) -> None:
    if sum(char.isdigit() for char in text) < 13:
        assert redact_card_numbers(text) == (text, False)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.text(alphabet="0123456789", min_size=1, max_size=12),
        max_size=8,
    ),
    st.sampled_from([" ; ", ", ", "    ", " and ", " x "]),
)
def test_numbers_too_far_apart_are_never_joined(groups: list[str], glue: str) -> None:
    text = glue.join(groups)
    assert redact_card_numbers(text) == (text, False)


# --- op ids -----------------------------------------------------------------------------------
OP_IDS_KEPT = [
    "a1b2c3",
    "c42",
    "1",
    "1765080000123",  # millisecond timestamp, Luhn-invalid
    "1765080000125",  # millisecond timestamp, Luhn-valid: still a timestamp
    "1765080000125-7",
    "1765080000125-12",
    "7-1765080000125",
    "op:1765080000125",
    "tab3:1765080000125:42",
    "1765080000.123456",  # seconds.microseconds (str(time.time()))
    "1765080000125123",  # microseconds
    "1765080000125123456",  # nanoseconds
    "1765080000125-1765080000126",
    "2100000000006",  # a Luhn-valid millisecond timestamp of 2036
    "2100000000.006",
    "550e8400-e29b-41d4-a716-446655440000",
    "op-550e8400-e29b-41d4-a716-446655440000-2",
    "12345678-4242-4242-4242-424242424242",  # UUID-shaped: a unit
    "550e8400e29b41d4a716446655440000",
    "00000000-0000-0000-0000-000000000000",
    "order.12.34",
    "4242424242424241",  # Luhn-invalid
    "12345678901234567890123",  # more than 19 contiguous digits
]
OP_IDS_REFUSED = [
    "4242424242424242",
    "4242-4242-4242-4242",
    "4242.4242.4242.4242",
    "4242_4242_4242_4242",
    "4242:4242:4242:4242",
    "4242.-4242:_4242--4242",
    "op:4242424242424242",
    "op-4242_4242_4242_4242-1",
    "378282246310005",
    "3782:822463:10005",
    "1765080000125-4242424242424242",  # a card next to a timestamp is still a card
    "550e8400-e29b-41d4-a716-446655440000:4242.4242.4242.4242",
    "4222222222222",
    "2223003122003222",  # a 2-series Mastercard is no microsecond timestamp
    "1234567890123456789012-4242424242424242",
]


@pytest.mark.parametrize("op", OP_IDS_KEPT)
def test_op_ids_from_counters_timestamps_and_uuids_pass(op: str) -> None:
    assert not op_id_may_be_card(op)


@pytest.mark.parametrize("op", OP_IDS_REFUSED)
def test_op_ids_that_read_as_card_numbers_are_refused(op: str) -> None:
    assert op_id_may_be_card(op)


@settings(max_examples=300, deadline=None)
@given(st.integers(1_000_000_000_000, 2_999_999_999_999), st.integers(0, 999))
def test_millisecond_timestamp_op_ids_always_pass(stamp: int, counter: int) -> None:
    # 2001-09-09 .. 2065-01-24, alone, with a counter, a prefix, or as seconds.fraction
    seconds, millis = divmod(stamp, 1000)
    for op in (
        str(stamp),
        f"{stamp}-{counter}",
        f"{counter}-{stamp}",
        f"op:{stamp}",
        f"{stamp}.{counter}",
        f"{seconds}.{millis:03d}{counter}",
        f"{stamp}{counter:03d}",  # microseconds
    ):
        assert not op_id_may_be_card(op) or (op[0] == "2" and len(op) == 16)


@settings(max_examples=300, deadline=None)
@given(st.uuids())
def test_uuid_op_ids_always_pass(value: uuid.UUID) -> None:
    assert not op_id_may_be_card(str(value))
    assert not op_id_may_be_card(value.hex)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet="0123456789", min_size=1, max_size=8), max_size=12))
def test_windows_by_prefix_sums_match_luhn_on_every_stretch(groups: list[str]) -> None:
    expected = {
        (first, last)
        for first in range(len(groups))
        for last in range(first, len(groups))
        if 13 <= len(digits := "".join(groups[first : last + 1])) <= 19
        and digits[0] != "0"
        and luhn_valid(digits)
    }
    assert set(_card_windows(groups)) == expected
