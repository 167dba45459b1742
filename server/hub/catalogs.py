"""Per-merchant catalogue facts in memory, refreshed on a short TTL.

The room core decides synchronously, so the hub hands it a :class:`rooms.StaticCatalog` loaded
ahead of time. Prices shown in a room may lag the catalogue by up to ``ttl_s``; that is harmless
because the checkout bridge re-prices every line from the database when the cart is frozen.
"""

from __future__ import annotations

import asyncio
import time

from rooms import StaticCatalog
from server.catalog.repository import CatalogRepository

__all__ = ["CatalogCache"]


class CatalogCache:
    def __init__(self, repo: CatalogRepository, *, ttl_s: float = 30.0) -> None:
        self._repo = repo
        self._ttl = ttl_s
        self._cache: dict[str, tuple[float, StaticCatalog]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, merchant_id: str) -> StaticCatalog:
        hit = self._cache.get(merchant_id)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        lock = self._locks.setdefault(merchant_id, asyncio.Lock())
        async with lock:
            hit = self._cache.get(merchant_id)
            if hit is not None and time.monotonic() - hit[0] < self._ttl:
                return hit[1]
            catalog = StaticCatalog(await self._repo.all_facts(merchant_id))
            self._cache[merchant_id] = (time.monotonic(), catalog)
            return catalog

    def invalidate(self, merchant_id: str | None = None) -> None:
        if merchant_id is None:
            self._cache.clear()
        else:
            self._cache.pop(merchant_id, None)
