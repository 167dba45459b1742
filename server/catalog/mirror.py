"""Every merchant's catalogue in memory, refreshed in the background (DESIGN.md §11).

Stale-while-revalidate, incremental:

* :meth:`CatalogMirror.catalog` answers from memory at once. Only a merchant's *first* read
  waits for the database — the hub makes it when a room is loaded, before the room's first turn;
  concurrent first reads share one load.
* A read that finds the snapshot older than ``refresh_s`` starts a refresh task and still
  answers with the snapshot it has. The refresh asks the repository what changed since the
  snapshot's revision (products written, tombstones of products deleted) in pages of 500,
  builds the next snapshot in proportion to what changed, in slices of a millisecond or two
  (``server/catalog/memory.py``), and swaps it in with one assignment; a reader sees the old
  snapshot or the new one, never half of one.
* A refresh that fails (the database is down) is logged, and the old snapshot is served until a
  later refresh succeeds.

Writes that bypass :class:`~server.catalog.repository.CatalogRepository` (a manual ``UPDATE``)
carry no revision and are not seen until the merchant's next full read. Must not be awaited in a
room's turn except through :meth:`catalog`, and must not hold room rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from server.catalog.memory import MerchantCatalog, build
from server.catalog.repository import CatalogRepository
from server.waiting import STOP_GRACE_S, stop_task

__all__ = ["BURST_S", "PAUSE_S", "REFRESH_S", "CatalogMirror", "sliced"]

log = logging.getLogger("coshop.catalog")

T = TypeVar("T")

REFRESH_S = 30.0
"""How old a merchant's snapshot may get before a read starts a background refresh."""


BURST_S = 0.002
"""CPU a sliced computation runs its slices for, back to back, before :func:`sliced` pauses it
for ``PAUSE_S``."""
PAUSE_S = 0.001


async def sliced(steps: Generator[None, None, T]) -> T:
    """Run a sliced computation of ``server/catalog/memory.py``, letting the loop run other
    work between bursts of its slices.

    Slices (at most a millisecond or two each) run back to back until they have used
    ``BURST_S``: a short computation (most searches) ends without giving the loop up at all —
    every time it did, it waited behind whatever else was ready. After each burst it sleeps
    ``PAUSE_S`` instead of only yielding: the loop then waits in ``select`` without the GIL, so
    the threads rooms' commits and page reads run in (SQLite through aiosqlite, the engine's
    pool) get it at once. Without the pause a long build (an index of 50,000 products: ~0.5 s)
    keeps the GIL busy, and each of those threads' turns waits up to the interpreter's 5 ms
    switch interval for it.
    """
    while True:
        started = time.perf_counter()
        try:
            while True:
                next(steps)
                if time.perf_counter() - started >= BURST_S:
                    break
        except StopIteration as done:
            result: T = done.value
            return result
        await asyncio.sleep(PAUSE_S)


@dataclass
class _Merchant:
    snapshot: MerchantCatalog
    fresh_at: float  # loop time of the last refresh that succeeded or failed
    task: asyncio.Task[None] | None = None
    failing: bool = False


class CatalogMirror:
    """Merchants' catalogues as :class:`MerchantCatalog` snapshots (module docstring)."""

    def __init__(self, repo: CatalogRepository, *, refresh_s: float = REFRESH_S) -> None:
        self.repo = repo
        self.refresh_s = refresh_s
        self._merchants: dict[str, _Merchant] = {}
        self._first: dict[str, asyncio.Future[MerchantCatalog]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def catalog(self, merchant_id: str) -> MerchantCatalog:
        """The merchant's snapshot; waits only when this process has never read the merchant."""
        current = self.current(merchant_id)
        if current is not None:
            return current
        pending = self._first.get(merchant_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[MerchantCatalog] = asyncio.get_running_loop().create_future()
        self._first[merchant_id] = future
        try:
            snapshot = await self.refresh(merchant_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters got it through shield
            raise
        else:
            future.set_result(snapshot)
            return snapshot
        finally:
            del self._first[merchant_id]

    def current(self, merchant_id: str) -> MerchantCatalog | None:
        """The merchant's snapshot if one is in memory (None: never read); never waits.

        Starts a background refresh when the snapshot is older than ``refresh_s``.
        """
        merchant = self._merchants.get(merchant_id)
        if merchant is None:
            return None
        loop = asyncio.get_running_loop()
        if merchant.task is None and loop.time() - merchant.fresh_at >= self.refresh_s:
            merchant.task = self._spawn(self._background(merchant_id, merchant))
        return merchant.snapshot

    def warm(self, merchant_id: str) -> None:
        """Start reading a merchant that is not in memory yet, in the background."""
        if merchant_id not in self._merchants and merchant_id not in self._first:
            self._spawn(self._warm(merchant_id))

    async def refresh(self, merchant_id: str) -> MerchantCatalog:
        """Read what changed since the snapshot (everything, the first time) and swap it in.

        One refresh per merchant at a time: a call made while one runs waits for it and then
        reads again, so what was committed before the call is in the answer.
        """
        lock = self._locks.setdefault(merchant_id, asyncio.Lock())
        async with lock:
            merchant = self._merchants.get(merchant_id)
            since = -1 if merchant is None else merchant.snapshot.revision
            changes = await self.repo.changes(merchant_id, since)
            now = asyncio.get_running_loop().time()
            if merchant is not None and not changes.full and changes.revision == since:
                merchant.fresh_at = now
                return merchant.snapshot
            base = None if merchant is None else merchant.snapshot
            # ~15 ms for 500 of 50,000 products changed, ~0.1 s when every price changed, in
            # slices of a millisecond or two: rooms' turns run between bursts of them. (Not a
            # thread: CPU work in a thread holds the GIL against the loop.)
            snapshot = await sliced(build(base, changes))
            merchant = self._merchants.get(merchant_id)  # still the same object, or None
            if merchant is None:
                self._merchants[merchant_id] = _Merchant(snapshot, now)
            else:
                merchant.snapshot, merchant.fresh_at = snapshot, now
            return snapshot

    def invalidate(self, merchant_id: str | None = None) -> None:
        """Refresh the merchant's snapshot (every merchant's when None) at its next read."""
        for mid in list(self._merchants) if merchant_id is None else [merchant_id]:
            merchant = self._merchants.get(mid)
            if merchant is not None:
                merchant.fresh_at = float("-inf")

    async def close(self) -> None:
        """Stop the refreshes in flight (the app's shutdown): they get a grace period to finish
        their read, then are cancelled (server/waiting.py)."""
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_GRACE_S)
        for task in tasks:
            with contextlib.suppress(Exception):  # a failed refresh has logged its error
                await stop_task(task)

    # ---- internals -------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _background(self, merchant_id: str, merchant: _Merchant) -> None:
        try:
            await self.refresh(merchant_id)
            if merchant.failing:
                merchant.failing = False
                log.info("catalogue refresh recovered", extra={"merchant_id": merchant_id})
        except Exception as exc:
            # Serve the snapshot we have; try again after another refresh_s.
            merchant.fresh_at = asyncio.get_running_loop().time()
            if not merchant.failing:
                merchant.failing = True
                log.warning(
                    "catalogue refresh failed; serving the last snapshot",
                    extra={"merchant_id": merchant_id, "error": type(exc).__name__},
                )
        finally:
            merchant.task = None

    async def _warm(self, merchant_id: str) -> None:
        try:
            await self.catalog(merchant_id)
        except Exception as exc:
            log.warning(
                "catalogue load failed",
                extra={"merchant_id": merchant_id, "error": type(exc).__name__},
            )
