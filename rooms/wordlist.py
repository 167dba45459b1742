"""Word lists: words a room or its merchant keeps out of chat and announcements (issue 13).

Two lists reach a room. The merchant's is set over REST with the merchant's API key
(``server/api/moderation.py``) and fed in by the server as ``SetMerchantWordList``, a fact in the
room's log, so replaying a room needs no database. The room's own is set by its moderators with
``SetRoomWordList``. Each entry says what a message holding the word gets:

- ``block``: the message is refused and its author told which word; for the audience it is a
  strike (``rooms/rules/chat.py`` mutes after repeated strikes);
- ``mask``: the word is replaced by ``•••`` and the message goes out.

When both lists name a word, ``block`` wins. Matching is on whole words, after folding text and
entries the same way: NFKC (full-width and styled letters, ligatures), Unicode case folding,
accents stripped (NFKD, combining marks dropped), invisible format characters (zero-width space
and joiner, soft hyphen) dropped. A letter stretched three or more times still matches
("baaad" for "bad"); a doubled one does not ("good" is not "god"). An entry may be a phrase of up
to :data:`MAX_PHRASE_WORDS` words: they match in a row, separated by anything that is not a
letter or digit. Not covered: digits or other scripts used as look-alikes ("b4d", a Cyrillic
"a", U+0430), and words spelled out with spaces or dots between the letters.

This module is pure: no I/O, no clock.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rooms.errors import InvalidCommand
from rooms.state import WordAction, WordEntry, WordLists

__all__ = [
    "MASK",
    "MAX_PHRASE_WORDS",
    "MAX_WORD",
    "MAX_WORDS",
    "Screened",
    "check_word_list",
    "fold",
    "screen",
]

MASK = "•••"
MAX_WORDS = 200
"""Entries per list."""
MAX_WORD = 40
"""Characters of one entry, once folded."""
MAX_PHRASE_WORDS = 4
_ACTIONS: tuple[WordAction, ...] = ("block", "mask")


@dataclass(frozen=True, slots=True)
class Screened:
    """What a word list makes of a text: ``blocked`` entries it holds, else the masked text."""

    text: str
    blocked: tuple[str, ...] = ()
    masked: tuple[str, ...] = ()


def fold(text: str) -> tuple[str, tuple[int, ...]]:
    """``text`` folded for matching, and the index in ``text`` of each folded character."""
    out: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        if " " <= char <= "~":  # printable ASCII, most of any chat: folding is lowering
            out.append(char.lower())
            where.append(index)
            continue
        if unicodedata.category(char) == "Cf":  # zero-width space/joiner, soft hyphen…
            continue
        wide = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", char).casefold())
        for part in wide:
            if not unicodedata.combining(part):
                out.append(part)
                where.append(index)
    return "".join(out), tuple(where)


def _spans(folded: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every run of letters and digits in a folded text."""
    spans: list[tuple[int, int]] = []
    start = -1
    for i, char in enumerate(folded):
        if char.isalnum():
            if start < 0:
                start = i
        elif start >= 0:
            spans.append((start, i))
            start = -1
    if start >= 0:
        spans.append((start, len(folded)))
    return spans


def _runs(word: str) -> tuple[tuple[str, int], ...]:
    """``"baaad"`` -> ``(("b", 1), ("a", 3), ("d", 1))``."""
    runs: list[tuple[str, int]] = []
    for char in word:
        if runs and runs[-1][0] == char:
            runs[-1] = (char, runs[-1][1] + 1)
        else:
            runs.append((char, 1))
    return tuple(runs)


def _skeleton(word: str) -> str:
    """The word with each run of one letter cut to one: the key the index looks words up by."""
    return "".join(char for char, _n in _runs(word))


def _same(listed: str, written: str) -> bool:
    """True when ``written`` is ``listed``, perhaps with letters stretched to three or more."""
    want, have = _runs(listed), _runs(written)
    return len(want) == len(have) and all(
        a == b and (m == n or m >= max(3, n)) for (a, n), (b, m) in zip(want, have, strict=True)
    )


def _words(entry: str) -> tuple[str, ...]:
    folded, _where = fold(entry)
    return tuple(folded[a:b] for a, b in _spans(folded))


def check_word_list(entries: Iterable[WordEntry]) -> tuple[WordEntry, ...]:
    """The entries folded, duplicates merged (``block`` wins); or ``invalid_word_list``."""
    merged: dict[str, WordAction] = {}
    for entry in entries:
        if entry.action not in _ACTIONS:
            raise InvalidCommand("invalid_word_list", "each entry's action is 'block' or 'mask'")
        words = _words(entry.word)
        word = " ".join(words)
        if not words or len(word) > MAX_WORD or len(words) > MAX_PHRASE_WORDS:
            raise InvalidCommand(
                "invalid_word_list",
                f"each entry is a word or a phrase of up to {MAX_PHRASE_WORDS} words, "
                f"1-{MAX_WORD} letters or digits; {entry.word[:MAX_WORD]!r} is not",
            )
        if merged.get(word) != "block":
            merged[word] = entry.action
        if len(merged) > MAX_WORDS:
            raise InvalidCommand("invalid_word_list", f"a word list holds at most {MAX_WORDS}")
    return tuple(WordEntry(word, action) for word, action in merged.items())


@functools.lru_cache(maxsize=256)  # a room's lists change rarely; every message reads them
def _index(lists: WordLists) -> dict[str, list[tuple[tuple[str, ...], WordAction, str]]]:
    """First word's skeleton -> (words, action, entry) of every entry of both lists."""
    index: dict[str, list[tuple[tuple[str, ...], WordAction, str]]] = {}
    for entry in (*lists.merchant, *lists.room):
        words = tuple(entry.word.split(" "))
        index.setdefault(_skeleton(words[0]), []).append((words, entry.action, entry.word))
    return index


def _cut(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with each span (overlapping ones merged) replaced by :data:`MASK`."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    out: list[str] = []
    at = 0
    for start, end in merged:
        out += [text[at:start], MASK]
        at = end
    out.append(text[at:])
    return "".join(out)


def screen(text: str, lists: WordLists) -> Screened:
    """Find the listed words in ``text``: the entries that block it, or the text masked."""
    if not lists.room and not lists.merchant:
        return Screened(text)
    index = _index(lists)
    folded, where = fold(text)
    spans = _spans(folded)
    written = [folded[a:b] for a, b in spans]
    blocked: list[str] = []
    masked: list[str] = []
    cuts: list[tuple[int, int]] = []
    for i, word in enumerate(written):
        for words, action, entry in index.get(_skeleton(word), ()):
            tail = written[i : i + len(words)]
            if len(tail) < len(words) or not all(map(_same, words, tail)):
                continue
            if action == "block":
                blocked.append(entry)
            else:
                masked.append(entry)
                start, end = spans[i][0], spans[i + len(words) - 1][1]
                cuts.append((where[start], where[end - 1] + 1))
    if blocked:
        return Screened(text, blocked=tuple(dict.fromkeys(blocked)))
    if not cuts:
        return Screened(text)
    return Screened(_cut(text, cuts), masked=tuple(dict.fromkeys(masked)))
