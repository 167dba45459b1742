"""A word index over one merchant's search texts: the products that contain a needle, no scan.

Search finds a *needle* (the query, stripped and case-folded) as a substring of a product's
search text (docs/catalog.md). :class:`SearchIndex` lists, for every *word* — a maximal run of
``\\w`` characters — of any text, the slots of the products whose text has it (its postings),
and keeps every word once in one string, the vocabulary, so that the words a needle could be
part of are found with ``str.find`` (in C), and only the products listed under them are looked
at:

* a needle of word characters only lies inside one word of any text that contains it: the
  products listed under the words containing it are exactly the answer;
* a needle with other characters (``lamp 12``, ``t-shirt``, ``100%``) is split into its words.
  In a text that contains it, a word of the needle with a separator on both sides is a whole
  word, the first one (when the needle starts with it) ends a word, the last one begins a word.
  The products listed under the words that fit the piece with the fewest postings, narrowed
  to those also listed under the other pieces when that is cheaper than checking them, are
  the candidates, and each is checked with ``needle in text``;
* a needle without word characters (``%``, ``-``), or whose every piece fits more than
  ``WORDS_MAX`` words or lists more postings than there are texts (a fragment such as ``e``),
  gets ``None``: the caller scans every text, which costs no more.

A product keeps its slot (an index into ``texts``) while it exists, so a change touches only
the postings of the words it gained or lost; a freed slot is reused. An index never changes
once built: :func:`updated` copies the dict, lists and posting lists it changes
(copy-on-write), so a search still running on the previous snapshot reads the previous index.
:func:`indexed` and :func:`updated` are generators that yield between slices of about a
millisecond, like ``server/catalog/memory.py``'s ``build``.

A word's posting list is a ``bytes`` object of native 32-bit slot numbers (read through
``memoryview.cast``): immutable and, unlike an ``array``, not tracked by the garbage collector —
50,000 arrays (a catalogue's words that appear once) made every full collection ~7 ms longer
for every room, and took more memory.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Collection, Generator, Iterable, Sequence
from itertools import compress, repeat
from operator import contains
from typing import cast

__all__ = ["WORDS_MAX", "SearchIndex", "indexed", "updated", "words"]

WORDS_MAX = 4_000  # vocabulary words one piece of a needle may fit before it is "unselective"
_CHECK_SLICE = 10_000  # candidates checked with ``in`` between two yields
_WORK_SLICE = 3_000  # words tokenised (or 8 times as many postings copied) between two yields
_WORD = re.compile(r"\w+")


def words(text: str) -> set[str]:
    """The distinct words of ``text`` (maximal runs of ``\\w`` characters)."""
    return set(_WORD.findall(text))


class SearchIndex:
    """Words of one merchant's search texts and the slots of the products that have them."""

    __slots__ = ("_entries", "_free", "_postings", "_vocab", "slot_of", "texts")

    def __init__(
        self,
        slot_of: dict[str, int],
        texts: list[str | None],
        free: list[int],
        postings: dict[str, bytes],
        vocab: str,
        entries: int,
    ) -> None:
        self.slot_of = slot_of  # sku -> slot
        self.texts = texts  # slot -> search text (None: a free slot)
        self._free = free  # free slots, reused by the next products written
        self._postings = postings  # word -> slots of the texts that have it (no order), packed
        # "\n" + the words joined by "\n" + "\n": words are found by str.find. It may still hold
        # words that no text has any more (no postings: skipped); ``entries`` counts all.
        self._vocab = vocab
        self._entries = entries

    def __len__(self) -> int:
        return len(self.slot_of)

    @property
    def words(self) -> int:
        """How many distinct words the texts have."""
        return len(self._postings)

    @property
    def postings(self) -> int:
        """How many (word, product) pairs are listed."""
        return sum(map(len, self._postings.values())) // _SLOT

    def footprint(self) -> int:
        """Bytes the index holds beyond the texts themselves (``sys.getsizeof``: postings, the
        words, the dicts, the vocabulary, the slot list); a snapshot shares what did not change
        with the one before it."""
        return (
            sum(map(sys.getsizeof, self._postings.values()))
            + sum(map(sys.getsizeof, self._postings))
            + sys.getsizeof(self._postings)
            + sys.getsizeof(self.slot_of)
            + sys.getsizeof(self.texts)
            + sys.getsizeof(self._vocab)
        )

    def matches(self, needle: str) -> Generator[None, None, Collection[int] | None]:
        """The slots whose text contains ``needle`` (case-folded, not blank), or None when the
        index cannot narrow it down (module docstring): the caller scans."""
        pieces = [(m.group(), m.start() > 0, m.end() < len(needle)) for m in _WORD.finditer(needle)]
        postings = self._postings
        fits: list[tuple[int, list[memoryview]]] = []  # (postings, their lists) per piece
        for word, left, right in pieces:
            fit = self._fitting(word, left, right)
            if fit is None:
                continue
            if not fit:
                return ()  # some piece is in no text
            arrays = [_slots(postings[w]) for w in fit]
            fits.append((sum(map(len, arrays)), arrays))
        if not fits:
            return None
        yield
        fits.sort(key=lambda fit: fit[0])
        size, arrays = fits[0]
        if size > len(self.slot_of):
            return None  # more postings to merge than texts to scan: a fragment such as "e"
        if len(pieces) == 1 and pieces[0][0] == needle:  # inside one word: no check needed
            return arrays[0] if len(arrays) == 1 else set().union(*arrays)
        # The rarest piece's products, narrowed by the next pieces while they are about as rare.
        checked: Sequence[int] | memoryview = arrays[0]
        if len(arrays) > 1 or (len(fits) > 1 and fits[1][0] <= 2 * size):
            candidates: set[int] = set().union(*arrays)
            for size, arrays in fits[1:]:
                if size > 2 * len(candidates):
                    break
                candidates.intersection_update(
                    arrays[0] if len(arrays) == 1 else set().union(*arrays)
                )
                yield
            checked = list(candidates)
        # needle in texts[slot] for each candidate, iterated in C (a loop in Python costs more
        # than the check)
        texts = cast(list[str], self.texts)  # a candidate's slot is live: it holds a text
        found: list[int] = []
        for start in range(0, len(checked), _CHECK_SLICE):
            some = checked[start : start + _CHECK_SLICE]
            found += compress(some, map(contains, map(texts.__getitem__, some), repeat(needle)))
            if start + _CHECK_SLICE < len(checked):
                yield
        return found

    def _fitting(self, word: str, left: bool, right: bool) -> list[str] | None:
        """The live words ``word`` fits: equal (separators on both sides), a prefix (on the
        left), a suffix (on the right), a substring (neither). None: more than WORDS_MAX."""
        postings = self._postings
        if left and right:
            return [word] if word in postings else []
        vocab = self._vocab
        pattern = ("\n" if left else "") + word + ("\n" if right else "")
        if vocab.count(pattern) > WORDS_MAX:
            return None
        fit: dict[str, None] = {}  # a word may be in the vocabulary twice (dead, then back)
        i = vocab.find(pattern)
        while i >= 0:
            start = i + 1 if left else vocab.rfind("\n", 0, i) + 1
            end = i + len(word) if right else vocab.find("\n", i + len(pattern))
            fit[vocab[start:end]] = None
            i = vocab.find(pattern, end)
        return [w for w in fit if w in postings]


def _vocabulary(words_: Collection[str]) -> str:
    return "\n" + "\n".join(words_) + "\n" if words_ else "\n"


def _slots(packed: bytes) -> memoryview:
    """A posting list's slots (a read-only view: no copy)."""
    return memoryview(packed).cast("i")


_pack = struct.Struct("i").pack  # one slot as a posting list
_SLOT = struct.calcsize("i")  # bytes a slot takes in a posting list


def indexed(entries: Iterable[tuple[str, str]]) -> Generator[None, None, SearchIndex]:
    """A new index of ``entries`` (sku, search text); the n-th entry gets slot n."""
    slot_of: dict[str, int] = {}
    texts: list[str | None] = []
    postings: dict[str, bytes | array[int]] = {}  # a word seen once keeps its slot packed
    get = postings.get
    work = 0
    for slot, (sku, text) in enumerate(entries):
        slot_of[sku] = slot
        texts.append(text)
        found = words(text)
        for word in found:
            listed = get(word)
            if listed is None:
                postings[word] = _pack(slot)
            elif type(listed) is bytes:
                postings[word] = grown = array("i", listed)
                grown.append(slot)
            else:
                listed.append(slot)  # type: ignore[union-attr]  # an array: not bytes
        work += len(found) + 1
        if work >= _WORK_SLICE:
            work = 0
            yield
    # Packed in place: each array is freed as its list is packed, not all at once at the end.
    for n, word in enumerate(list(postings), 1):
        listed = postings[word]
        if type(listed) is not bytes:
            postings[word] = listed.tobytes()  # type: ignore[union-attr]  # an array
        if n % _WORK_SLICE == 0:
            yield
    packed = cast(dict[str, bytes], postings)
    vocab = _vocabulary(packed)
    yield
    return SearchIndex(slot_of, texts, [], packed, vocab, len(packed))


def updated(
    base: SearchIndex, gone: Collection[str], written: Sequence[tuple[str, str]]
) -> Generator[None, None, SearchIndex]:
    """``base`` after deleting ``gone`` then writing ``written`` (sku, search text); ``base``
    itself is left as it was (module docstring). What did not change is shared: ``base`` itself
    when no text changed (a price or stock change), its ``slot_of`` when every product keeps
    its slot."""
    moved = any(sku in base.slot_of for sku in gone)  # some product loses its slot
    changed = list(written) if moved else []
    if not moved:
        for n, (sku, text) in enumerate(written, 1):
            slot = base.slot_of.get(sku)
            if slot is None or base.texts[slot] != text:
                changed.append((sku, text))
                moved = moved or slot is None
            if n % _WORK_SLICE == 0:
                yield
        if not changed:
            return base
    slot_of = base.slot_of.copy() if moved else base.slot_of
    free = base._free.copy() if moved else base._free
    texts = base.texts.copy()
    lost: dict[str, set[int]] = {}  # word -> slots whose text no longer has it
    gained: dict[str, list[int]] = {}  # word -> slots whose text now has it
    work = 0
    for sku in gone:
        slot = slot_of.pop(sku, None)
        if slot is None:
            continue
        old = words(texts[slot] or "")
        for word in old:
            lost.setdefault(word, set()).add(slot)
        texts[slot] = None
        free.append(slot)
        work += len(old) + 1
        if work >= _WORK_SLICE:
            work = 0
            yield
    for sku, text in changed:
        known = slot_of.get(sku)
        if known is None:
            slot = free.pop() if free else len(texts)
            if slot == len(texts):
                texts.append(None)
            slot_of[sku] = slot
            before: set[str] = set()
        else:
            slot = known
            previous = texts[slot]
            if previous == text:
                continue
            before = words(previous or "")
        after = words(text)
        for word in before - after:
            lost.setdefault(word, set()).add(slot)
        for word in after - before:
            gained.setdefault(word, []).append(slot)
        texts[slot] = text
        work += len(before) + len(after) + 1
        if work >= _WORK_SLICE:
            work = 0
            yield
    postings = base._postings.copy() if lost or gained else base._postings
    new_words: list[str] = []
    for word in lost.keys() | gained.keys():
        old_slots = postings.get(word)
        removed = lost.get(word, set())
        added = set(gained.get(word, ()))
        if old_slots is None:
            new_words.append(word)
            slots = array("i", sorted(added)).tobytes()
        else:
            # A slot both lost and gained (freed and reused) stays where it is.
            slots = _edited(old_slots, removed - added, added - removed)
        if slots:
            postings[word] = slots
        else:
            postings.pop(word, None)
        work += len(removed) + len(added) + len(slots) // 256 + 1
        if work >= _WORK_SLICE:
            work = 0
            yield
    entries = base._entries + len(new_words)
    if entries > 2 * len(postings) + 1_000:  # many words left no text: write the list again
        vocab, entries = _vocabulary(postings), len(postings)
    else:
        vocab = base._vocab + "".join(w + "\n" for w in new_words)
    return SearchIndex(slot_of, texts, free, postings, vocab, entries)


def _edited(packed: bytes, removed: Collection[int], added: Collection[int]) -> bytes:
    """A posting list (slots in ascending order) without ``removed`` and with ``added``: the
    places found by bisection, the runs in between copied in C (no pass over every slot)."""
    view, raw = _slots(packed), memoryview(packed)
    pieces: list[bytes | memoryview] = []
    done = 0  # slots of ``packed`` already placed
    for slot, add in sorted([(s, False) for s in removed] + [(s, True) for s in added]):
        at = bisect_left(view, slot, done)
        pieces.append(raw[done * _SLOT : at * _SLOT])
        if add:
            pieces.append(_pack(slot))
            done = at
        else:
            done = at + 1  # the removed slot itself
    pieces.append(raw[done * _SLOT :])
    return b"".join(pieces)
