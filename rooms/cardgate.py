"""The card-number gate: redact payment card numbers from free text.

coshop never handles card data. Any free text (chat, display names, cart notes, poll questions,
announcements, room titles) passes :func:`redact_card_numbers` before it becomes an event, so a
pasted card number is never broadcast, stored or logged. URLs cannot be redacted without breaking
them, and op ids are machine-made: both have their own, narrower rule (:func:`op_id_may_be_card`,
:func:`url_may_be_card`), under which timestamps and UUIDs are never card numbers, and a hit is
refused rather than redacted.

**What counts as a card number.** Decimal digits (any script: ``\\d`` matches every Unicode
``Nd`` digit and Luhn uses its numeric value) in groups separated by a *separator run* of at most
:data:`MAX_SEPARATOR_RUN` characters from :data:`SEPARATORS`: every Unicode space (``Zs``,
including no-break, narrow no-break and thin spaces), tab, line breaks, the invisible soft hyphen
and zero-width characters, ``. , / _ + ( )``, and the dashes (hyphen-minus, hyphen, non-breaking
hyphen, figure, en and em dashes, horizontal bar, minus sign, and their small/full-width forms).
So ``4242 - 4242`` and ``4242\\n4242`` join, while digits further apart than three characters do
not (prose with numbers in it is not glued together). One exception: a comma followed by
whitespace is how lists are written (``sizes 36, 38, 40, 42, 44, 46, 48``; ``19.99, 24.99``), so
it ends a run instead of joining it. Any stretch of *whole groups* of a run holding 13-19 digits
that passes the Luhn check and does not start with ``0`` (ISO/IEC 7812 gives the major industry
identifier 0 to no card issuer; phone numbers, zero padding and ``0000 0000 0000 0000`` start with
it) is replaced by :data:`PLACEHOLDER`; overlapping stretches merge. Luhn-invalid runs (order
numbers, most tracking numbers) pass unchanged.

**Expiry dates and security codes.** Only in a text in which a card number was redacted:

* a *labelled* expiry date anywhere in the text (``exp``, ``exp.``, ``expiry``, ``expires``,
  ``expiration (date)``, ``valid thru/through/until/to``, ``good thru``, then an optional ``:``
  or ``=``) is replaced by :data:`EXPIRY_PLACEHOLDER`; an expiry is a month (``1``-``12``, with or
  without a leading zero) and a two- or four-digit year joined by ``/``, ``-`` or an en dash,
  with up to two spaces around it (``12/29``, ``12/2029``, ``12-29``, ``12 / 29``), not part of a
  longer date (``01/12/2029`` is not an expiry);
* a *labelled* security code anywhere in the text (``cvc``, ``cvv``, ``cvc2``, ``cvv2``, ``cv2``,
  ``cid``, ``csc``, ``cvn``, ``security code``, ``card code``, ``verification code``,
  ``sec code``, then an optional ``:``, ``=``, ``#`` or ``is``) of 3-4 digits is replaced by
  :data:`CODE_PLACEHOLDER`; the label stays;
* right after a redacted number, an unlabelled expiry date and an unlabelled 3-4 digit group
  (one of each, in either order, each after a connector of 1-3 separator characters or
  ``; : |``) are redacted the same way: ``4242 4242 4242 4242 12/29 123``. A 3-4 digit group
  followed by a decimal point or comma and a digit is a price, not a code.

A text without a redacted number keeps every date and every 3-4 digit number, labelled or not
(``cvc 123`` alone is left as written: there is no card to protect). Digits *before* a number
are never treated as its expiry or code unless labelled.

**Judgment calls.** A contiguous block of more than 19 digits (e.g. a 16-digit card glued to four
more digits, a USPS tracking number written without spaces) is not searched inside. Scanning
every window of long references would redact most of them (one window in ten passes Luhn by
chance), and a glued number is not readable as a card without knowing where it starts. Grouped
text ("ref 12 4242 4242 4242 4242") *is* searched at group boundaries, so a card written in its
usual groups is caught wherever it sits. A real-world number of 13-19 digits that happens to pass
Luhn (one in ten of them: an EAN-13 barcode, a grouped tracking number, a millisecond timestamp)
is redacted: in free text the gate errs on the side of removing a number, and nobody needs to
chat a barcode. Numbers printed with more than three characters between groups, or with a letter
between them (``4242x4242x4242x4242``), are not card numbers to this gate.

The gate runs on every chat message: text with fewer than 13 digits in total is answered by one
anchored regular-expression pass that allocates nothing.

This module must not do I/O or log the text it inspects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import unquote

__all__ = [
    "CODE_PLACEHOLDER",
    "EXPIRY_PLACEHOLDER",
    "MAX_SEPARATOR_RUN",
    "PLACEHOLDER",
    "SEPARATORS",
    "luhn_valid",
    "op_id_may_be_card",
    "redact_card_numbers",
    "url_may_be_card",
]

PLACEHOLDER = "[card number removed]"
EXPIRY_PLACEHOLDER = "[expiry removed]"
CODE_PLACEHOLDER = "[security code removed]"
MAX_SEPARATOR_RUN = 3
_MIN_DIGITS = 13
_MAX_DIGITS = 19

_SPACES = " \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
_LINES = "\t\n\v\f\r\x85\u2028\u2029"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_PUNCTUATION = "./,_+()\uff0e\uff0f\uff0c\uff3f\uff0b\uff08\uff09"
SEPARATORS = frozenset(_SPACES + _LINES + _INVISIBLE + _DASHES + _PUNCTUATION)
"""Characters that may stand between the digit groups of a card number."""

_SEP_CLASS = "[" + re.escape("".join(sorted(SEPARATORS))) + "]"
# A comma followed by whitespace separates the items of a list: it never joins groups.
_SEP = rf"(?:(?!,\s){_SEP_CLASS})"
# Digit runs long enough to hold a card number, with separator runs between digits: most text
# has none, and short ones (prices, dates, op ids) need no Luhn work at all. A run starts only at
# the head of a chain of digits (the lookbehinds, tested after the first digit so that they run
# at digits only): a later start would find a shorter run of the same chain, and trying every
# digit made long texts cost twice as much. Separators and digits never overlap, so the
# possessive quantifiers lose nothing and never backtrack.
_LINK = rf"{_SEP}{{0,{MAX_SEPARATOR_RUN}}}+\d"
_HEAD = "".join(rf"(?<!\d{_SEP * count}\d)" for count in range(MAX_SEPARATOR_RUN + 1))
_RUN = re.compile(rf"\d{_HEAD}(?:{_LINK}){{{_MIN_DIGITS - 1},}}+")
# Cheap first pass: does the text hold 13 digits at all? (\D and \d never overlap: linear.)
_ENOUGH_DIGITS = re.compile(rf"(?:\D*+\d){{{_MIN_DIGITS}}}")
_GROUP = re.compile(r"\d+")

_MONTH = r"(?:0?[1-9]|1[0-2])"
_EXPIRY = rf"(?<![\d/]){_MONTH} {{0,2}}[/\-\u2013] {{0,2}}(?:\d\d){{1,2}}(?!\d|[/\-.]\d)"
_EXPIRY_LABEL = (
    r"(?:exp(?:iry|ires|iration)?(?:\s*date)?|valid\s+(?:thru|through|until|to)|good\s+thru)"
    r"\.?\s*[:=]?\s*"
)
_CODE = r"(\d{3,4})(?!\d|[.,]\d)"
_CODE_LABEL = (
    r"(?:cvc2?|cvv2?|cv2|cid|csc|cvn|security\s+code|card\s+code|verification\s+code"
    r"|sec\.?\s+code)\s*(?:[:=#]|is)?\s*"
)
_LABELLED = (
    (re.compile(rf"\b{_EXPIRY_LABEL}({_EXPIRY})", re.IGNORECASE), EXPIRY_PLACEHOLDER),
    (re.compile(rf"\b{_CODE_LABEL}{_CODE}", re.IGNORECASE), CODE_PLACEHOLDER),
)
_CONNECTOR = rf"(?:{_SEP_CLASS}|[;:|]){{1,{MAX_SEPARATOR_RUN}}}"
_AFTER_NUMBER = (
    (
        re.compile(rf"{_CONNECTOR}(?:{_EXPIRY_LABEL})?({_EXPIRY})", re.IGNORECASE),
        EXPIRY_PLACEHOLDER,
    ),
    (re.compile(rf"{_CONNECTOR}(?:{_CODE_LABEL})?{_CODE}", re.IGNORECASE), CODE_PLACEHOLDER),
)

_Span = tuple[int, int, str]


def luhn_valid(digits: str) -> bool:
    """True when the decimal digit string (any script) passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # Luhn's value of a doubled digit


def _card_windows(groups: list[str]) -> Iterator[tuple[int, int]]:
    """``(first, last)`` of every stretch of whole groups holding a Luhn-valid 13-19 digits.

    Luhn sums come from two prefix sums (one per parity of the window's last digit), so each
    window costs O(1): a long run of one-digit groups has thousands of windows.
    """
    values = [int(char) for group in groups for char in group]
    sums = ([0], [0])  # sums[p][k]: Luhn sum of values[:k] for a window whose end has parity p
    for index, value in enumerate(values):
        even, odd = (value, _DOUBLED[value]) if index % 2 == 0 else (_DOUBLED[value], value)
        sums[0].append(sums[0][-1] + even)
        sums[1].append(sums[1][-1] + odd)
    starts = []
    position = 0
    for group in groups:
        starts.append(position)
        position += len(group)
    starts.append(position)
    for first in range(len(groups)):
        start = starts[first]
        if values[start] == 0:
            continue  # ISO/IEC 7812: no card number starts with 0 (phone numbers and padding do)
        for last in range(first, len(groups)):
            end = starts[last + 1]
            if end - start > _MAX_DIGITS:
                break
            parity = sums[(end - 1) % 2]
            if end - start >= _MIN_DIGITS and (parity[end] - parity[start]) % 10 == 0:
                yield first, last


def _card_spans(text: str) -> list[_Span]:
    spans: list[_Span] = []
    for run in _RUN.finditer(text):
        found = list(_GROUP.finditer(text, run.start(), run.end()))
        covered = [False] * len(found)
        for first, last in _card_windows([group.group() for group in found]):
            covered[first : last + 1] = [True] * (last - first + 1)
        index = 0
        while index < len(found):
            if covered[index]:
                start = found[index].start()
                while index + 1 < len(found) and covered[index + 1]:
                    index += 1
                spans.append((start, found[index].end(), PLACEHOLDER))
            index += 1
    return spans


def _after_number(text: str, end: int) -> Iterator[_Span]:
    """An unlabelled expiry and code right after a number ending at ``end`` (either order)."""
    left = list(_AFTER_NUMBER)
    while left:
        for index, (pattern, placeholder) in enumerate(left):
            match = pattern.match(text, end)
            if match:
                end = match.end(1)
                yield match.start(1), end, placeholder
                del left[index]
                break
        else:
            return


def _merge(spans: list[_Span]) -> list[_Span]:
    merged: list[_Span] = []
    for start, end, placeholder in sorted(spans):
        if merged and start < merged[-1][1]:
            last_start, last_end, last_placeholder = merged[-1]
            kind = placeholder if placeholder == last_placeholder else PLACEHOLDER
            merged[-1] = (last_start, max(end, last_end), kind)
        else:
            merged.append((start, end, placeholder))
    return merged


def redact_card_numbers(text: str) -> tuple[str, bool]:
    """Return ``(text with card numbers replaced, whether anything was replaced)``.

    The expiry date and security code of a replaced number are replaced too (module docstring).
    """
    if not _ENOUGH_DIGITS.match(text):
        return text, False
    cards = _card_spans(text)
    if not cards:
        return text, False
    spans = list(cards)
    for _, end, _ in cards:
        spans.extend(_after_number(text, end))
    for pattern, placeholder in _LABELLED:
        spans.extend((m.start(1), m.end(1), placeholder) for m in pattern.finditer(text))
    parts: list[str] = []
    position = 0
    for start, end, placeholder in _merge(spans):
        parts.append(text[position:start])
        parts.append(placeholder)
        position = end
    parts.append(text[position:])
    return "".join(parts), True


# --- op ids -----------------------------------------------------------------------------------
# Op ids are chosen by client code, not typed by people, and stored with the op's outcome. A
# client using a counter, a UUID or a timestamp must never have a command refused, so the op-id
# rule is narrower than the free-text gate: UUIDs and timestamps are units that are never read
# as (part of) a card number. See :func:`op_id_may_be_card`.
_OP_UUID = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}|[0-9A-Fa-f]{32})"
    r"(?![0-9A-Za-z])"
)
_OP_JOIN = rf"(?:{_SEP_CLASS}|:)"
_OP_RUN = re.compile(rf"\d(?:{_OP_JOIN}{{0,{MAX_SEPARATOR_RUN}}}\d){{{_MIN_DIGITS - 1},}}")
# First digits of a Unix timestamp by length: seconds and milliseconds starting with 1 or 2
# (2001-09-09 .. 2065-01-24; no 13-digit card starts with 2), microseconds and nanoseconds
# starting with 1 (.. 2033-05-18; a 16-digit number starting with 2 may be a Mastercard).
_TIMESTAMP_FIRST = {10: "12", 13: "12", 16: "1", 19: "1"}


def _is_timestamp(group: str) -> bool:
    return group[0] in _TIMESTAMP_FIRST.get(len(group), "")


def op_id_may_be_card(op: str) -> bool:
    """True when the op id could be read as a card number, so it must not be stored.

    Digit groups joined by runs of at most three separators (those of the free-text gate, and
    ``:``) are read together, as in free text; a stretch of whole groups holding a Luhn-valid
    13-19 digits is a possible card number, unless it contains a *timestamp group* (Unix time:
    10 or 13 digits starting with ``1`` or ``2``, seconds or milliseconds until 2065; 16 or 19
    digits starting with ``1``, microseconds or nanoseconds until 2033) or lies inside a UUID
    (8-4-4-4-12 or 32 hex digits), which are units. So ``1765080000123``, ``1765080000123-7``,
    ``op:1765080000123``, ``1765080000.123456`` and every UUID pass; ``4242424242424242``,
    ``4242.4242.4242.4242``, ``4242_4242_4242_4242`` and ``4242:4242:4242:4242`` do not. No
    issuer prints a card number with a group of ten or more digits of those shapes (airline UATP
    cards are 15 digits, 2-series Mastercards 16: both still gated).
    """
    if not _ENOUGH_DIGITS.match(op):
        return False
    op = _OP_UUID.sub("x", op)
    for run in _OP_RUN.finditer(op):
        groups = _GROUP.findall(run.group())
        for first, last in _card_windows(groups):
            if not any(_is_timestamp(group) for group in groups[first : last + 1]):
                return True
    return False


def url_may_be_card(url: str) -> bool:
    """True when a URL, as written or percent-decoded, holds digits that read as a card number.

    The rule is :func:`op_id_may_be_card`'s: URLs are full of machine-made timestamps and UUIDs,
    and ``/ . _ - + :`` between digit groups join them as they do in op ids. Decoding catches
    ``4242%204242%204242%204242``.
    """
    return op_id_may_be_card(url) or op_id_may_be_card(unquote(url))
