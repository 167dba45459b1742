"""One merchant's catalogue in memory: room facts by sku, and substring search in title order.

:class:`MerchantCatalog` is an immutable snapshot at one catalogue revision. It is what the room
core reads (it is a :class:`rooms.catalog.Catalog`) and what the product list searches. Search
asks the snapshot's word index (``server/catalog/index.py``) which products contain the query,
and puts them in (title, sku) order by each product's *label*; only a query the index cannot
narrow down (no letters or digits, or a fragment that fits thousands of words) scans the
case-folded texts (about 10 ms for 50,000 products, in slices).

Labels: every product in the order has an int label, increasing along the order and spread
over ``(0, 2**30)`` (one-digit ints: the fastest to sort). A product put into the order gets a
label between its neighbours', so the others keep theirs; only when no label is left between
two neighbours are all of them given afresh (:attr:`Work.relabelled`). A search sorts its
products' labels and finds the page's positions by bisection.

:func:`build` makes the next snapshot from the previous one and a
:class:`~server.catalog.models.CatalogChanges`, in proportion to what changed: each product
written is compared with the snapshot's — same title and text (a price, stock, image): its facts
only; same title, another text: the index and its text; another title, new, deleted: out of the
order and into it by bisection (the rest of the order copied in C). The index is updated for
the texts that changed (copy-on-write), or built afresh for a full read or when more than half
of the texts changed. It is a generator that yields between slices of at most about a
millisecond, so the caller (the mirror, on the event loop rooms run on) lets other work run
between them; :attr:`MerchantCatalog.work` tells what a build did (tests, tools).
:func:`apply_changes` runs the whole generator at once.

Pure: no I/O, no clock. Must not query (``server/catalog/repository.py`` does that).
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Generator, Iterable, Sequence
from itertools import compress, islice, repeat
from operator import contains, itemgetter
from typing import Any, NamedTuple, TypeVar

from rooms.catalog import ProductFacts
from server.catalog.index import SearchIndex, indexed, updated
from server.catalog.models import (
    CatalogChanges,
    ListedRow,
    Product,
    Shown,
    listed_row,
    shown_product,
)

__all__ = ["SLICE", "MerchantCatalog", "Work", "apply_changes", "build", "run"]

SLICE = 1_000  # products handled between two yields of build() (about a millisecond)
_FOUND_MAX = 32  # searches remembered per snapshot (at most 200 KB each over 50,000 products)
_SCAN_SLICE = 10_000  # texts a scan looks at between two yields (about a millisecond)
_PLACE_SLICE = 300  # products placed by bisection between two yields
_FILTER_MIN = 1_000  # products out of the order beyond which the order is filtered, not bisected
_FILTER_SLICE = 5_000  # products of the order filtered between two yields
_COPY_SLICE = 20_000  # products of the order copied between two yields
_LABEL = array("i").itemsize  # bytes a label takes
_TOP = 1 << 30  # labels lie in (0, _TOP); 0 marks a product placed but not labelled yet

T = TypeVar("T")
_Key = tuple[str, str]  # (title, sku): the list's order
_Entry = tuple[str, str, str]  # (title, sku, search text)
# A product's facts but its sku, as plain values (see models.Listed: the garbage collector does
# not track such tuples); ProductFacts are made when a room asks for one.
_Row = ListedRow  # with the variants' own prices and stock (``ProductFacts.variant_facts``)


class Work(NamedTuple):
    """What :func:`build` did to make a snapshot: observable cost, for tests and tools."""

    rows: int  # products whose facts were written or deleted
    placed: int  # products taken out of the order or put into it (new, renamed, deleted)
    indexed: int  # texts added to, changed in or removed from the word index
    rebuilt: bool  # order, labels and index made afresh (a full read, or most texts changed)
    relabelled: bool  # every label given afresh


class MerchantCatalog:
    """A merchant's products at ``revision``: facts by sku, and search in (title, sku) order."""

    __slots__ = (
        "_found",
        "_index",
        "_label",
        "_labels",
        "_order",
        "_rows",
        "_shown",
        "_texts",
        "revision",
        "work",
    )

    def __init__(
        self,
        revision: int,
        rows: dict[str, _Row],
        order: list[_Key],
        texts: list[str],
        labels: array[int],
        index: SearchIndex,
        label: array[int],
        work: Work,
        shown: dict[str, Shown],
    ) -> None:
        # Built by build(): ``order`` is sorted, ``texts[i]`` is the search text of order[i] and
        # ``labels[i]`` its label (increasing); ``label[slot]`` is the label of the product in
        # the index's ``slot`` (a free slot's is meaningless: the index never answers it).
        self.revision = revision
        self._rows = rows
        self._order = order
        self._texts = texts
        self._labels = labels
        self._index = index
        self._label = label
        self.work = work
        self._shown = shown  # sku -> what the product list shows beyond the row (if read)
        # needle -> labels of the products that match, sorted: paging through a result or a
        # popular query does not search again (the snapshot never changes).
        self._found: OrderedDict[str, array[int]] = OrderedDict()

    def product(self, sku: str) -> ProductFacts | None:
        row = self._rows.get(sku)
        return None if row is None else ProductFacts(sku, *row)

    def __len__(self) -> int:
        return len(self._rows)

    def products(self, merchant_id: str, skus: Iterable[str]) -> list[Product] | None:
        """The products ``skus`` names as the product list shows them, at this revision; None
        when some of them are not in memory in full (the caller reads them from the database).
        """
        rows, shown = self._rows, self._shown
        found: list[Product] = []
        for sku in skus:
            row, extra = rows.get(sku), shown.get(sku)
            if row is None or extra is None:
                return None
            found.append(shown_product(merchant_id, sku, row, extra))
        return found

    @property
    def index(self) -> SearchIndex:
        """The snapshot's word index (sizes for tools; read-only)."""
        return self._index

    def search(self, query: str | None, limit: int, offset: int) -> tuple[list[str], int]:
        """The skus of one page of products matching ``query``, and how many match.

        Same rules as :meth:`CatalogRepository.list`: ``query`` is a case-insensitive substring
        of title, description or brand (blank: everything); ordered by title, then sku.
        """
        return run(self.search_steps(query, limit, offset))

    def search_steps(
        self, query: str | None, limit: int, offset: int
    ) -> Generator[None, None, tuple[list[str], int]]:
        """:meth:`search`, yielding between slices of its work: the caller lets rooms' turns
        run in between (the index's candidates are checked 10,000 at a time; a scan, when the
        index cannot narrow the query down, yields after every 10,000 products)."""
        needle = (query or "").strip().casefold()
        limit, offset = max(limit, 0), max(offset, 0)
        if not needle:
            return [sku for _, sku in self._order[offset : offset + limit]], len(self._order)
        hits = self._found.get(needle)
        if hits is None:
            slots = yield from self._index.matches(needle)
            if slots is not None:
                hits = array("i", sorted(map(self._label.__getitem__, slots)))
            else:
                positions = yield from self._scan(needle)
                hits = array("i", map(self._labels.__getitem__, positions))
            self._found[needle] = hits
            if len(self._found) > _FOUND_MAX:
                self._found.popitem(last=False)
        else:
            self._found.move_to_end(needle)
        order, labels = self._order, self._labels
        page = [order[bisect_left(labels, label)][1] for label in hits[offset : offset + limit]]
        return page, len(hits)

    def _scan(self, needle: str) -> Generator[None, None, array[int]]:
        """Positions of the texts that contain ``needle``, every text looked at."""
        hits = array("i")
        texts = self._texts
        for start in range(0, len(texts), _SCAN_SLICE):
            end = start + _SCAN_SLICE
            # ``needle in text`` for each text, iterated in C
            hits.extend(
                compress(range(start, end), map(contains, texts[start:end], repeat(needle)))
            )
            if end < len(texts):
                yield
        return hits


def build(
    current: MerchantCatalog | None, changes: CatalogChanges
) -> Generator[None, None, MerchantCatalog]:
    """The snapshot after ``changes`` (deletions first, then the products written since),
    yielding between slices of work (module docstring).

    A product deleted and written again since the last read is both in ``gone`` and in
    ``products`` (or only in ``products``): it stays, with its new facts.
    """
    if current is None or changes.full:
        return (yield from _fresh(changes))
    return (yield from _changed(current, changes))


def _fresh(changes: CatalogChanges) -> Generator[None, None, MerchantCatalog]:
    """Every product of a full read: sorted, labelled and indexed afresh."""
    rows: dict[str, _Row] = {}
    shown: dict[str, Shown] = {}
    for n, item in enumerate(changes.products, 1):
        rows[item[0]] = listed_row(item)
        if n % SLICE == 0:
            yield
    if changes.shown:
        for start in range(0, len(changes.shown), SLICE):
            end = start + SLICE
            shown.update(
                zip(
                    map(itemgetter(0), changes.products[start:end]),
                    changes.shown[start:end],
                    strict=True,
                )
            )
            yield
    runs: list[list[_Entry]] = []
    written = changes.products
    for start in range(0, len(written), SLICE):
        runs.append(sorted((p[1], p[0], p[8]) for p in written[start : start + SLICE]))
        yield
    order: list[_Key] = []
    texts: list[str] = []
    merged = heapq.merge(*runs)  # sorted runs merged lazily, a slice at a time
    while batch := list(islice(merged, SLICE)):
        for title, sku, text in batch:
            order.append((title, sku))
            texts.append(text)
        yield
    del runs, merged  # freed here, not in the next slice
    yield
    return (yield from _indexed_afresh(changes, rows, shown, order, texts, len(rows)))


def _indexed_afresh(
    changes: CatalogChanges,
    rows: dict[str, _Row],
    shown: dict[str, Shown],
    order: list[_Key],
    texts: list[str],
    placed: int,
) -> Generator[None, None, MerchantCatalog]:
    index = yield from indexed(zip(map(itemgetter(1), order), texts, strict=True))
    labels = _spread(len(order))  # the n-th product in order got slot n
    read = len(changes.gone) + len(changes.products)
    work = Work(read, placed, len(order), rebuilt=True, relabelled=True)
    return MerchantCatalog(changes.revision, rows, order, texts, labels, index, labels, work, shown)


def _changed(
    base: MerchantCatalog, changes: CatalogChanges
) -> Generator[None, None, MerchantCatalog]:
    """The snapshot after an incremental read: each product compared with ``base``'s."""
    rows = dict(base._rows)  # one copy in C (~1 ms for 50,000 products)
    yield
    shown = dict(base._shown)
    yield
    index = base._index
    slot_of, old_texts = index.slot_of, index.texts
    removed: list[_Key] = []  # out of the order: deleted, or renamed
    added: list[_Entry] = []  # into the order: new, or renamed
    retexted: list[tuple[_Key, str]] = []  # same place, another text
    gone: list[str] = []  # out of the index
    written: list[tuple[str, str]] = []  # (sku, text) new to the index, or another text
    # Deletions first: a product deleted and written again is then new (a slot of its own).
    for n, sku in enumerate(changes.gone, 1):
        old = rows.pop(sku, None)
        shown.pop(sku, None)
        if old is not None:
            removed.append((old[0], sku))
            gone.append(sku)
        if n % SLICE == 0:
            yield
    extras = changes.shown
    for n, item in enumerate(changes.products, 1):
        sku, title, text = item[0], item[1], item[8]
        old = rows.get(sku)
        rows[sku] = listed_row(item)
        if extras:
            shown[sku] = extras[n - 1]
        else:
            shown.pop(sku, None)  # not read: the list reads it from the database
        if old is None:
            added.append((title, sku, text))
            written.append((sku, text))
        else:
            if old_texts[slot_of[sku]] != text:
                written.append((sku, text))
                if old[0] == title:
                    retexted.append(((title, sku), text))
            if old[0] != title:
                removed.append((old[0], sku))
                added.append((title, sku, text))
        if n % SLICE == 0:
            yield
    order, texts, labels = base._order, base._texts, base._labels
    relabelled = False
    if removed or added:
        order, texts, labels, relabelled = yield from _reordered(
            order, texts, labels, removed, added
        )
    if retexted:
        if texts is base._texts:
            texts = texts.copy()
        for n, (key, text) in enumerate(retexted, 1):
            texts[bisect_left(order, key)] = text
            if n % SLICE == 0:
                yield
    placed = len(removed) + len(added)
    if len(written) + len(gone) > len(base) // 2:
        yield from _freed(removed, added, retexted, written)
        return (yield from _indexed_afresh(changes, rows, shown, order, texts, placed))
    index = yield from updated(index, gone, written)
    if relabelled:
        label = yield from _slot_labels(index, order, labels)
    elif added:
        label = array("i", base._label)
        label.extend(repeat(0, len(index.texts) - len(label)))
        for n, (title, sku, _) in enumerate(added, 1):
            label[index.slot_of[sku]] = labels[bisect_left(order, (title, sku))]
            if n % _PLACE_SLICE == 0:
                yield
    else:
        label = base._label  # every product keeps its slot and its label
    work = Work(len(changes.gone) + len(changes.products), placed, len(written) + len(gone),
                rebuilt=False, relabelled=relabelled)  # fmt: skip
    yield from _freed(removed, added, retexted, written, gone)
    return MerchantCatalog(changes.revision, rows, order, texts, labels, index, label, work, shown)


def _reordered(
    order: list[_Key],
    texts: list[str],
    labels: array[int],
    removed: Sequence[_Key],
    added: list[_Entry],
) -> Generator[None, None, tuple[list[_Key], list[str], array[int], bool]]:
    """New lists (the given ones are left as they are) without ``removed`` and with ``added``,
    the products in between copied in C; the products put in are labelled between their
    neighbours (all of them afresh when there is no room: True)."""
    if len(removed) > _FILTER_MIN:  # many: one pass over the order, no sort of positions
        dropped: set[str] = set()
        for start in range(0, len(removed), SLICE):
            dropped.update(sku for _, sku in removed[start : start + SLICE])
            yield
        kept_order: list[_Key] = []
        kept_texts: list[str] = []
        kept_labels = array("i")
        for start in range(0, len(order), _FILTER_SLICE):
            end = start + _FILTER_SLICE
            some = order[start:end]
            keep = [sku not in dropped for _, sku in some]
            kept_order += compress(some, keep)
            kept_texts += compress(texts[start:end], keep)
            kept_labels.extend(compress(labels[start:end], keep))
            yield
        order, texts, labels = kept_order, kept_texts, kept_labels
    elif removed:
        at: list[int] = []
        for start in range(0, len(removed), _PLACE_SLICE):
            at += map(bisect_left, repeat(order), removed[start : start + _PLACE_SLICE])
            yield
        at.sort()
        kept = _Spliced(order, texts, labels)
        for n, i in enumerate(at, 1):
            yield from kept.copy_to(i)
            kept.done = i + 1  # the product at i left out
            if n % _PLACE_SLICE == 0:
                yield
        yield from kept.copy_to(len(order))
        order, texts, labels = kept.order, kept.texts, kept.labels
    if added:
        runs: list[list[_Entry]] = []
        for start in range(0, len(added), SLICE):
            runs.append(sorted(added[start : start + SLICE]))
            yield
        in_order = heapq.merge(*runs)  # merged lazily, as the loop below takes them
        grown = _Spliced(order, texts, labels)
        for n, (title, sku, text) in enumerate(in_order, 1):
            key = (title, sku)
            yield from grown.copy_to(bisect_left(order, key, grown.done))
            grown.order.append(key)
            grown.texts.append(text)
            grown.labels.append(0)  # labelled below
            if n % _PLACE_SLICE == 0:
                yield
        yield from grown.copy_to(len(order))
        order, texts, labels = grown.order, grown.texts, grown.labels
    relabelled = False
    if added:
        relabelled = not (yield from _label_gaps(labels))
        if relabelled:
            labels = _spread(len(order))
        yield
    return order, texts, labels, relabelled


def _freed(*lists: list[Any]) -> Generator[None, None, None]:
    """Empty ``lists`` a slice at a time: 100,000 tuples freed at once take ~10 ms."""
    for items in lists:
        while items:
            del items[-SLICE:]
            yield


class _Spliced:
    """New order, texts and labels copied from old ones run by run (in C), at most
    ``_COPY_SLICE`` products between two yields, while the caller leaves products out or puts
    new ones in between the runs."""

    __slots__ = ("budget", "done", "labels", "old", "order", "texts")

    def __init__(self, order: list[_Key], texts: list[str], labels: array[int]) -> None:
        self.old = order, texts, labels
        self.order: list[_Key] = []
        self.texts: list[str] = []
        self.labels = array("i")
        self.done = 0  # old positions before it are copied (or left out)
        self.budget = _COPY_SLICE  # products to copy before the next yield

    def copy_to(self, upto: int) -> Generator[None, None, None]:
        """Copy the old products from ``done`` up to ``upto``."""
        order, texts, labels = self.old
        while self.done < upto:
            end = min(upto, self.done + self.budget)
            self.order += order[self.done : end]
            self.texts += texts[self.done : end]
            self.labels += labels[self.done : end]
            self.budget -= end - self.done
            self.done = end
            if not self.budget:
                self.budget = _COPY_SLICE
                yield


def _label_gaps(labels: array[int]) -> Generator[None, None, bool]:
    """Label the products labelled 0, each run of them spread between its neighbours' labels;
    False (``labels`` then half done) when some run has no room between its neighbours."""
    end = len(labels)
    i = 0
    work = 0
    while True:
        try:
            i = labels.index(0, i)  # in C
        except ValueError:
            return True
        j = i + 1
        while j < end and labels[j] == 0:
            j += 1
        low = labels[i - 1] if i else 0
        high = labels[j] if j < end else _TOP
        k = j - i
        if high - low <= k:
            return False
        for m in range(k):
            labels[i + m] = low + (high - low) * (m + 1) // (k + 1)
            work += 1
            if work % SLICE == 0:
                yield
        i = j


def _spread(n: int) -> array[int]:
    """Labels for ``n`` products in order, as far apart as they can be."""
    gap = _TOP // (n + 1)
    return array("i", range(gap, gap * (n + 1), gap))


def _slot_labels(
    index: SearchIndex, order: list[_Key], labels: array[int]
) -> Generator[None, None, array[int]]:
    """For each slot of ``index``, the label of its product (0: a free slot)."""
    label = array("i", bytes(len(index.texts) * _LABEL))
    slot_of = index.slot_of
    for start in range(0, len(order), 10 * _PLACE_SLICE):
        end = start + 10 * _PLACE_SLICE
        for (_, sku), value in zip(order[start:end], labels[start:end], strict=True):
            label[slot_of[sku]] = value
        yield
    return label


def apply_changes(current: MerchantCatalog | None, changes: CatalogChanges) -> MerchantCatalog:
    """:func:`build` at once (tests, tools): the snapshot after ``changes``."""
    return run(build(current, changes))


def run(steps: Generator[None, None, T]) -> T:
    """Run a sliced computation (``build``, ``search_steps``) to its end at once."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result: T = done.value
            return result
