"""The catalogue facts rooms read: the merchant's in-memory snapshot, never a query in a turn.

The room core decides synchronously, so the actor hands it the merchant's
:class:`~server.catalog.memory.MerchantCatalog` (a :class:`rooms.Catalog`). The first read of a
merchant is awaited when its first room is loaded (``RoomActor.load``), before the room's first
turn; after that :meth:`CatalogCache.get` answers from memory at once and refreshes stale
snapshots in the background, incrementally (``server/catalog/mirror.py``; DESIGN.md §11).
Prices shown in a room may lag the catalogue by about ``refresh_s`` plus one refresh; that is
harmless because the checkout bridge re-prices every line from the database when the cart is
frozen.
"""

from __future__ import annotations

from server.catalog.memory import MerchantCatalog
from server.catalog.mirror import REFRESH_S, CatalogMirror

__all__ = ["REFRESH_S", "CatalogCache"]


class CatalogCache(CatalogMirror):
    """The hub's view of the :class:`CatalogMirror`: ``get`` is what an actor calls each turn."""

    async def get(self, merchant_id: str) -> MerchantCatalog:
        """The merchant's snapshot (module docstring): waits only for a merchant's first read."""
        return await self.catalog(merchant_id)
