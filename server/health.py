"""Liveness and readiness of one coshop process (``/livez``, ``/readyz``; docs/operations.md).

Readiness is *degraded* while any of these holds, each named in the answer's ``reasons``:

- ``database``: the background probe (``SELECT 1`` every :data:`PROBE_INTERVAL_S`, at most
  :data:`PROBE_TIMEOUT_S` each) failed or timed out — the database is unreachable;
- ``commits``: the most recent group commit failed for want of storage (a locked database, a
  full disk) — until a commit succeeds, or :data:`COMMIT_FAILURE_HOLD_S` pass without another
  failure (no command came to find out);
- ``broker``: the broker's listener is disconnected (read from the broker when asked).

Requests never touch the database: they read what the probe and the commits last reported, so
a check costs nothing and the answer changes within a second of the failure.
The ``coshop_broker_healthy`` gauge is read from the broker at render time as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.broker import Broker
from server.storage import EventStore, StorageError, StorageUnavailable
from server.storage.events import Append, StoredEvent

__all__ = [
    "COMMIT_FAILURE_HOLD_S",
    "PROBE_INTERVAL_S",
    "PROBE_TIMEOUT_S",
    "Health",
    "WatchedEventStore",
]

log = logging.getLogger("coshop.health")

PROBE_INTERVAL_S = 0.5
PROBE_TIMEOUT_S = 0.5
COMMIT_FAILURE_HOLD_S = 10.0


class Health:
    """What ``/readyz`` answers; fed by the database probe and by every group commit."""

    def __init__(
        self,
        engine: AsyncEngine,
        broker: Broker,
        *,
        clock: Callable[[], float] = time.monotonic,
        probe_interval_s: float = PROBE_INTERVAL_S,
        probe_timeout_s: float = PROBE_TIMEOUT_S,
        commit_failure_hold_s: float = COMMIT_FAILURE_HOLD_S,
    ) -> None:
        self._engine = engine
        self._broker = broker
        self._clock = clock
        self._interval = probe_interval_s
        self._timeout = probe_timeout_s
        self._hold = commit_failure_hold_s
        self._database_ok = True
        self._commit_failed_at: float | None = None
        self._task: asyncio.Task[None] | None = None

    # -- what the commits report -------------------------------------------------------------

    def commit_succeeded(self) -> None:
        self._commit_failed_at = None

    def commit_failed(self) -> None:
        self._commit_failed_at = self._clock()

    # -- the probe ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._probe_forever(), name="health-probe"
            )

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def probe(self) -> bool:
        """Run ``SELECT 1`` once (bounded by the probe timeout); True if it answered."""
        try:
            async with asyncio.timeout(self._timeout), self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            if self._database_ok:
                log.warning("database probe failed: %s", type(exc).__name__)
            self._database_ok = False
        else:
            if not self._database_ok:
                log.info("database probe answers again")
            self._database_ok = True
        return self._database_ok

    async def _probe_forever(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self._interval)

    # -- the answer --------------------------------------------------------------------------

    @property
    def broker_healthy(self) -> bool:
        return self._broker.healthy

    def reasons(self) -> list[str]:
        """Why this process is not ready; empty when it is."""
        out = []
        if not self._database_ok:
            out.append("database")
        failed = self._commit_failed_at
        if failed is not None and self._clock() - failed < self._hold:
            out.append("commits")
        if not self._broker.healthy:
            out.append("broker")
        return out


class WatchedEventStore(EventStore):
    """The event store, telling :class:`Health` whether each group commit reached storage.

    A conflict, a duplicate op or a refused row is the database answering: only an outage
    (:class:`StorageUnavailable`, or an error nobody classified) counts as a failed commit.
    """

    health: Health | None = None

    async def append_batch(self, batch: Sequence[Append]) -> list[tuple[StoredEvent, ...]]:
        try:
            stored = await super().append_batch(batch)
        except StorageUnavailable:
            self._report(ok=False)
            raise
        except StorageError:
            raise
        except Exception:
            self._report(ok=False)
            raise
        if batch:
            self._report(ok=True)
        return stored

    def _report(self, *, ok: bool) -> None:
        if self.health is not None:
            if ok:
                self.health.commit_succeeded()
            else:
                self.health.commit_failed()
