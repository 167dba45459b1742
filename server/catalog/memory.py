"""One merchant's catalogue in memory: room facts by sku, and a substring search in title order.

:class:`MerchantCatalog` is an immutable snapshot at one catalogue revision. It is what the room
core reads (it is a :class:`rooms.catalog.Catalog`) and what the product list searches, so a
search over 50,000 products is a scan of case-folded strings in memory (about 10 ms), not a
``LIKE`` over every row.

:func:`build` makes the next snapshot from the previous one and a
:class:`~server.catalog.models.CatalogChanges` as a generator that yields between slices of at
most ``SLICE`` products, so the caller (the mirror, on the event loop rooms run on) can let other
work run between them: no step costs more than a few milliseconds, even when every one of 50,000
products changed. A few changes are placed by bisection; many are merged as sorted runs.
:func:`apply_changes` runs the whole generator at once.

Pure: no I/O, no clock. Must not query (``server/catalog/repository.py`` does that).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Generator

from rooms.catalog import ProductFacts
from server.catalog.models import CatalogChanges, Listed

__all__ = ["SLICE", "MerchantCatalog", "apply_changes", "build"]

SLICE = 5_000  # products handled between two yields of build()
_BISECT_MAX = 256  # up to this many products touched: placed one by one

_Key = tuple[str, str]  # (title, sku): the list's order


class MerchantCatalog:
    """A merchant's products at ``revision``: facts by sku, and search in (title, sku) order."""

    __slots__ = ("_listed", "_order", "_texts", "revision")

    def __init__(
        self, revision: int, listed: dict[str, Listed], order: list[_Key], texts: list[str]
    ) -> None:
        # Built by build(): ``order`` is sorted and ``texts[i]`` is the search text of order[i].
        self.revision = revision
        self._listed = listed
        self._order = order
        self._texts = texts

    def product(self, sku: str) -> ProductFacts | None:
        listed = self._listed.get(sku)
        return None if listed is None else listed.facts

    def __len__(self) -> int:
        return len(self._listed)

    def search(self, query: str | None, limit: int, offset: int) -> tuple[list[str], int]:
        """The skus of one page of products matching ``query``, and how many match.

        Same rules as :meth:`CatalogRepository.list`: ``query`` is a case-insensitive substring
        of title, description or brand (blank: everything); ordered by title, then sku.
        """
        needle = (query or "").strip().casefold()
        limit, offset = max(limit, 0), max(offset, 0)
        if not needle:
            return [sku for _, sku in self._order[offset : offset + limit]], len(self._order)
        hits = [i for i, text in enumerate(self._texts) if needle in text]
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
    listed = {} if base is None else dict(base._listed)
    touched = {item.facts.sku for item in changes.products}
    touched.update(sku for sku in changes.gone if sku in listed)
    old_keys = [(listed[sku].facts.title, sku) for sku in touched if sku in listed]
    for sku in changes.gone:
        listed.pop(sku, None)
    for n, item in enumerate(changes.products, 1):
        listed[item.facts.sku] = item
        if n % SLICE == 0:
            yield
    if base is not None and len(touched) <= _BISECT_MAX:
        order, texts = base._order.copy(), base._texts.copy()
        for key in old_keys:
            i = bisect_left(order, key)
            del order[i], texts[i]
        for item in changes.products:
            key = (item.facts.title, item.facts.sku)
            i = bisect_left(order, key)
            order.insert(i, key)
            texts.insert(i, item.search_text)
        return MerchantCatalog(changes.revision, listed, order, texts)
    runs: list[list[_Key]] = []
    if base is not None:
        kept: list[_Key] = []
        previous = base._order
        for start in range(0, len(previous), SLICE):
            kept.extend(k for k in previous[start : start + SLICE] if k[1] not in touched)
            yield
        runs.append(kept)
    keys = [(item.facts.title, item.facts.sku) for item in changes.products]
    for start in range(0, len(keys), SLICE):
        runs.append(sorted(keys[start : start + SLICE]))
        yield
    while len(runs) > 1:  # sorted() of two sorted runs is one linear merge (timsort)
        runs = [sorted(runs[i] + runs[i + 1]) if i + 1 < len(runs) else runs[i]
                for i in range(0, len(runs), 2)]  # fmt: skip
        yield
    order = runs[0] if runs else []
    shown: list[str] = []
    for start in range(0, len(order), SLICE):
        shown.extend(listed[sku].search_text for _, sku in order[start : start + SLICE])
        yield
    return MerchantCatalog(changes.revision, listed, order, shown)


def apply_changes(current: MerchantCatalog | None, changes: CatalogChanges) -> MerchantCatalog:
    """:func:`build` at once (tests, tools): the snapshot after ``changes``."""
    steps = build(current, changes)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            snapshot: MerchantCatalog = done.value
            return snapshot
