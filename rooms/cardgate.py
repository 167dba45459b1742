"""The card-number gate: redact payment card numbers from free text.

coshop never handles card data. Any free text (chat, display names, cart notes, poll questions,
announcements, room titles) passes :func:`redact_card_numbers` before it becomes an event, so a
pasted card number is never broadcast, stored or logged.

What counts as a card number: a run of digits written contiguously or in groups separated by a
single space or dash, where a stretch of *whole groups* holds 13-19 digits and passes the Luhn
check. Every such stretch is replaced by :data:`PLACEHOLDER`; overlapping stretches merge.
Luhn-invalid runs (order numbers) pass unchanged.

Judgment call: a contiguous block of more than 19 digits (e.g. a 16-digit card glued to four more
digits) is not searched inside. Scanning every window of long references would redact most of
them (one window in ten passes Luhn by chance), and a glued number is not readable as a card
without knowing where it starts. Grouped text ("ref 12 4242 4242 4242 4242") *is* searched at
group boundaries, so a card written in its usual groups is caught wherever it sits.

This module must not do I/O or log the text it inspects.
"""

from __future__ import annotations

import re

__all__ = ["PLACEHOLDER", "luhn_valid", "redact_card_numbers"]

PLACEHOLDER = "[card number removed]"
_MIN_DIGITS = 13
_MAX_DIGITS = 19
# Digit runs with single spaces or dashes between digits, only those long enough to hold a card
# number: most text has no such run, and short ones (prices, op ids) need no Luhn work at all.
_RUN = re.compile(rf"\d(?:[ -]?\d){{{_MIN_DIGITS - 1},}}")
_GROUP = re.compile(r"\d+")


def luhn_valid(digits: str) -> bool:
    """True when the decimal digit string passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _redact_run(run: str) -> tuple[str, bool]:
    groups = [(m.start(), m.end(), m.group()) for m in _GROUP.finditer(run)]
    covered = [False] * len(groups)
    for first in range(len(groups)):
        digits = ""
        for last in range(first, len(groups)):
            digits += groups[last][2]
            if len(digits) > _MAX_DIGITS:
                break
            if len(digits) >= _MIN_DIGITS and luhn_valid(digits):
                for index in range(first, last + 1):
                    covered[index] = True
    if not any(covered):
        return run, False
    out: list[str] = []
    position = 0
    index = 0
    while index < len(groups):
        start, end, _ = groups[index]
        if not covered[index]:
            index += 1
            continue
        while index + 1 < len(groups) and covered[index + 1]:
            index += 1
        end = groups[index][1]
        out.append(run[position:start])
        out.append(PLACEHOLDER)
        position = end
        index += 1
    out.append(run[position:])
    return "".join(out), True


def redact_card_numbers(text: str) -> tuple[str, bool]:
    """Return ``(text with card numbers replaced, whether anything was replaced)``."""
    redacted = False
    parts: list[str] = []
    position = 0
    for match in _RUN.finditer(text):
        cleaned, hit = _redact_run(match.group())
        if hit:
            redacted = True
            parts.append(text[position : match.start()])
            parts.append(cleaned)
            position = match.end()
    if not redacted:
        return text, False
    parts.append(text[position:])
    return "".join(parts), True
