"""One merchant's catalogue in memory: room facts by sku, and a substring search in title order.

:class:`MerchantCatalog` is an immutable snapshot at one catalogue revision. It is what the room
core reads (it is a :class:`rooms.catalog.Catalog`) and what the product list searches, so a
search over 50,000 products is a scan of case-folded strings in memory (about 10 ms), not a
``LIKE`` over every row.

:func:`build` makes the next snapshot from the previous one and a
:class:`~server.catalog.models.CatalogChanges` as a generator that yields between slices of at
most ``SLICE`` products, so the caller (the mirror, on the event loop rooms run on) can let other
work run between them: a step costs about a millisecond (the last merges of sorted runs, up to
~6 ms, when thousands of 50,000 products changed). Up to 2,000 changes are placed by bisection;
more are merged as sorted runs.
:func:`apply_changes` runs the whole generator at once.

Pure: no I/O, no clock. Must not query (``server/catalog/repository.py`` does that).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Generator
from typing import TypeVar

from rooms.catalog import ProductFacts
from server.catalog.models import CatalogChanges

__all__ = ["SLICE", "MerchantCatalog", "apply_changes", "build", "run"]

SLICE = 1_000  # products handled between two yields of build() (about a millisecond)
_BISECT_MAX = 2_000  # up to this many products touched: placed one by one
_FOUND_MAX = 32  # searches remembered per snapshot (at most 200 KB each over 50,000 products)
_BISECT_SLICE = 20  # placements between two yields (each moves up to 50,000 pointers twice)

T = TypeVar("T")
_Key = tuple[str, str]  # (title, sku): the list's order
# A product's facts but its sku, as plain values (see models.Listed: the garbage collector does
# not track such tuples); ProductFacts are made when a room asks for one.
_Row = tuple[str, int, str, tuple[str, ...], int | None, str | None, str | None]


class MerchantCatalog:
    """A merchant's products at ``revision``: facts by sku, and search in (title, sku) order."""

    __slots__ = ("_found", "_order", "_rows", "_texts", "revision")

    def __init__(
        self, revision: int, rows: dict[str, _Row], order: list[_Key], texts: list[str]
    ) -> None:
        # Built by build(): ``order`` is sorted and ``texts[i]`` is the search text of order[i].
        self.revision = revision
        self._rows = rows
        self._order = order
        self._texts = texts
        # needle -> positions in ``_order`` of the products that match: paging through a result
        # or a popular query does not scan again (the snapshot never changes).
        self._found: OrderedDict[str, array[int]] = OrderedDict()

    def product(self, sku: str) -> ProductFacts | None:
        row = self._rows.get(sku)
        return None if row is None else ProductFacts(sku, *row)

    def __len__(self) -> int:
        return len(self._rows)

    def search(self, query: str | None, limit: int, offset: int) -> tuple[list[str], int]:
        """The skus of one page of products matching ``query``, and how many match.

        Same rules as :meth:`CatalogRepository.list`: ``query`` is a case-insensitive substring
        of title, description or brand (blank: everything); ordered by title, then sku.
        """
        return run(self.search_steps(query, limit, offset))

    def search_steps(
        self, query: str | None, limit: int, offset: int
    ) -> Generator[None, None, tuple[list[str], int]]:
        """:meth:`search`, yielding after every ``5 * SLICE`` products it looked at (a scan of
        50,000 takes ~10 ms: the caller lets rooms' turns run in between)."""
        needle = (query or "").strip().casefold()
        limit, offset = max(limit, 0), max(offset, 0)
        if not needle:
            return [sku for _, sku in self._order[offset : offset + limit]], len(self._order)
        hits = self._found.get(needle)
        if hits is None:
            hits = array("i")
            texts = self._texts
            for start in range(0, len(texts), 5 * SLICE):
                end = start + 5 * SLICE
                hits.extend(i for i, text in enumerate(texts[start:end], start) if needle in text)
                if end < len(texts):
                    yield
            self._found[needle] = hits
            if len(self._found) > _FOUND_MAX:
                self._found.popitem(last=False)
        else:
            self._found.move_to_end(needle)
        return [self._order[i][1] for i in hits[offset : offset + limit]], len(hits)


def build(
    current: MerchantCatalog | None, changes: CatalogChanges
) -> Generator[None, None, MerchantCatalog]:
    """The snapshot after ``changes`` (deletions first, then the products written since),
    yielding between slices of work (module docstring).

    A product deleted and written again since the last read is both in ``gone`` and in
    ``products`` (or only in ``products``): it stays, with its new facts.
    """
    base = None if changes.full else current
    rows = {} if base is None else dict(base._rows)
    if base is not None and len(changes.products) + len(changes.gone) <= _BISECT_MAX:
        return (yield from _placed(base, rows, changes))
    touched: set[str] = set()
    for n, sku in enumerate(changes.gone, 1):
        rows.pop(sku, None)
        touched.add(sku)
        if n % SLICE == 0:
            yield
    for n, item in enumerate(changes.products, 1):
        rows[item[0]] = item[1:8]
        touched.add(item[0])
        if n % SLICE == 0:
            yield
    runs: list[list[tuple[str, str, str]]] = []  # (title, sku, search text)
    if base is not None:
        kept: list[tuple[str, str, str]] = []
        previous, previous_texts = base._order, base._texts
        for start in range(0, len(previous), SLICE):
            kept.extend(
                (title, sku, text)
                for (title, sku), text in zip(
                    previous[start : start + SLICE],
                    previous_texts[start : start + SLICE],
                    strict=True,
                )
                if sku not in touched
            )
            yield
        runs.append(kept)
    written = changes.products
    for start in range(0, len(written), SLICE):
        chunk = written[start : start + SLICE]
        runs.append(sorted((p[1], p[0], p[8]) for p in chunk))
        yield
    while len(runs) > 1:  # sorted() of two sorted runs is one linear merge (timsort)
        merged = []
        for i in range(0, len(runs) - 1, 2):
            merged.append(sorted(runs[i] + runs[i + 1]))
            yield
        runs = merged + runs[len(merged) * 2 :]
    order: list[_Key] = []
    shown: list[str] = []
    final = runs[0] if runs else []
    for start in range(0, len(final), SLICE):
        for title, sku, text in final[start : start + SLICE]:
            order.append((title, sku))
            shown.append(text)
        yield
    return MerchantCatalog(changes.revision, rows, order, shown)


def _placed(
    base: MerchantCatalog, rows: dict[str, _Row], changes: CatalogChanges
) -> Generator[None, None, MerchantCatalog]:
    """A few changes: out of the old order and into the new one by bisection."""
    touched = {item[0] for item in changes.products}.union(changes.gone)
    old_keys = [(rows[sku][0], sku) for sku in touched if sku in rows]
    for sku in changes.gone:
        rows.pop(sku, None)
    order, texts = base._order.copy(), base._texts.copy()
    for n, key in enumerate(old_keys, 1):
        i = bisect_left(order, key)
        del order[i], texts[i]
        if n % _BISECT_SLICE == 0:
            yield
    for n, item in enumerate(changes.products, 1):
        rows[item[0]] = item[1:8]
        key = (item[1], item[0])
        i = bisect_left(order, key)
        order.insert(i, key)
        texts.insert(i, item[8])
        if n % _BISECT_SLICE == 0:
            yield
    return MerchantCatalog(changes.revision, rows, order, texts)


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
