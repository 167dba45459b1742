"""One merchant's catalogue in memory: room facts by sku, and a substring search in title order.

:class:`MerchantCatalog` is an immutable snapshot at one catalogue revision. It is what the room
core reads (it is a :class:`rooms.catalog.Catalog`) and what the product list searches, so a
search over 50,000 products is a scan of case-folded strings in memory (about 10 ms), not a
``LIKE`` over every row. :func:`apply_changes` builds the next snapshot from the previous one and
a :class:`~server.catalog.models.CatalogChanges`; the mirror swaps it in with one assignment.

Pure: no I/O, no clock. Must not query (``server/catalog/repository.py`` does that).
"""

from __future__ import annotations

from rooms.catalog import ProductFacts
from server.catalog.models import CatalogChanges, Listed

__all__ = ["MerchantCatalog", "apply_changes"]


class MerchantCatalog:
    """A merchant's products at ``revision``: facts by sku, and search in (title, sku) order."""

    __slots__ = ("_listed", "_order", "_texts", "revision")

    def __init__(self, revision: int, listed: dict[str, Listed]) -> None:
        self.revision = revision
        self._listed = listed
        order = sorted(listed.values(), key=lambda item: (item.facts.title, item.facts.sku))
        self._order = [item.facts.sku for item in order]
        self._texts = [item.search_text for item in order]

    def product(self, sku: str) -> ProductFacts | None:
        listed = self._listed.get(sku)
        return None if listed is None else listed.facts

    def by_sku(self) -> dict[str, Listed]:
        """A copy of the products by sku (the snapshot itself never changes)."""
        return dict(self._listed)

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
            return self._order[offset : offset + limit], len(self._order)
        hits = [i for i, text in enumerate(self._texts) if needle in text]
        return [self._order[i] for i in hits[offset : offset + limit]], len(hits)


def apply_changes(current: MerchantCatalog | None, changes: CatalogChanges) -> MerchantCatalog:
    """The snapshot after ``changes``: deletions first, then the products written since.

    A product deleted and written again since the last read is both in ``gone`` and in
    ``products`` (or only in ``products``): it stays, with its new facts.
    """
    listed = {} if changes.full or current is None else current.by_sku()
    for sku in changes.gone:
        listed.pop(sku, None)
    for item in changes.products:
        listed[item.facts.sku] = item
    return MerchantCatalog(changes.revision, listed)
