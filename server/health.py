"""Liveness and readiness of one coshop process (``/livez``, ``/readyz``; docs/operations.md).

Readiness is *degraded* while any of these holds, each named in the answer's ``reasons``:

- ``database``: the background probe (``SELECT 1`` every :data:`PROBE_INTERVAL_S`, at most
  :data:`PROBE_TIMEOUT_S` each) failed — the database refused or dropped it — or timed out
  :data:`PROBE_TIMEOUTS` times in a row: one slow answer on a busy machine (a pool connection
  opened under load, a checkpoint) is not an outage;
- ``commits``: the most recent group commit failed for want of storage (a locked database, a
  full disk) — until a commit succeeds, or :data:`COMMIT_FAILURE_HOLD_S` pass without another
  failure (no command came to find out);
- ``broker``: the broker's listener is disconnected (read from the broker when asked).

Requests never touch the database: they read what the probe and the commits last reported, so
a check costs nothing and the answer changes within a second of the failure.

On SQLite the probe reads the file's header (``PRAGMA schema_version``: a ``SELECT 1`` would
not touch the file at all) on a connection and thread of its own (:mod:`server.db.sqlite_thread`):
one hop instead of a trip through SQLAlchemy's pool and aiosqlite's thread, which cost about
1.5 ms of CPU per probe, 3 ms a second on an idle server (docs/performance.md).
The ``coshop_broker_healthy`` gauge is read from the broker at render time as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.broker import Broker
from server.db.engine import sqlite_file
from server.db.sqlite_thread import SqliteThread
from server.storage import EventStore, StorageError, StorageUnavailable
from server.storage.events import Append, StoredEvent
from server.waiting import STOP_GRACE_S, stop_task, wait_event

__all__ = [
    "COMMIT_FAILURE_HOLD_S",
    "PROBE_ABANDON_S",
    "PROBE_INTERVAL_S",
    "PROBE_TIMEOUTS",
    "PROBE_TIMEOUT_S",
    "Health",
    "WatchedEventStore",
]

log = logging.getLogger("coshop.health")

PROBE_INTERVAL_S = 0.5
PROBE_TIMEOUT_S = 1.0
PROBE_TIMEOUTS = 2  # consecutive timeouts that make the database "unreachable"
PROBE_ABANDON_S = 15.0  # a SELECT 1 unanswered this long is cancelled and a new one sent
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
        probe_timeouts: int = PROBE_TIMEOUTS,
        commit_failure_hold_s: float = COMMIT_FAILURE_HOLD_S,
    ) -> None:
        self._engine = engine
        database = sqlite_file(engine)
        self._sqlite = None if database is None else SqliteThread(database, "coshop-health")
        self._broker = broker
        self._clock = clock
        self._interval = probe_interval_s
        self._timeout = probe_timeout_s
        self._timeouts_allowed = probe_timeouts
        self._timeouts = 0  # consecutive probes that ran out of time
        self._hold = commit_failure_hold_s
        self._database_ok = True
        self._commit_failed_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._probing: asyncio.Task[None] | None = None  # a SELECT 1 not answered yet
        self._probing_since = 0.0
        self._stopping = asyncio.Event()

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
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            await stop_task(task, grace_s=STOP_GRACE_S)
        probing, self._probing = self._probing, None
        if probing is not None:  # a database that never answered
            with contextlib.suppress(Exception):
                await stop_task(probing)
        if self._sqlite is not None:
            self._sqlite.close()

    async def probe(self) -> bool:
        """Wait for ``SELECT 1`` at most the probe timeout; True while the database counts as
        reachable: it answered, or it only ran out of time fewer than ``probe_timeouts`` times
        in a row.

        A query that runs out of time is not cancelled (a cancelled query makes SQLAlchemy
        terminate its connection, server/waiting.py): the next probe waits for the same one,
        for at most :data:`PROBE_ABANDON_S`; then it is given up and a new one is sent.
        """
        now = self._clock()
        if self._probing is not None and now - self._probing_since > PROBE_ABANDON_S:
            # a connection that never answers (a half-open TCP connection to a database that
            # came back): give it up, or readiness would wait on it for ever
            self._probing.cancel()
            self._probing = None
        if self._probing is None:
            self._probing = asyncio.get_running_loop().create_task(
                self._select_one(), name="health-select-1"
            )
            self._probing.add_done_callback(_retrieve)
            self._probing_since = now
        probing = self._probing
        await asyncio.wait({probing}, timeout=self._timeout)
        if not probing.done():
            self._timeouts += 1
            if self._timeouts >= self._timeouts_allowed:
                self._set_database(False, "TimeoutError")
            return self._database_ok
        self._probing = None
        self._timeouts = 0
        exc = probing.exception()
        if exc is not None:
            self._set_database(False, type(exc).__name__)
        else:
            self._set_database(True, "")
        return self._database_ok

    async def _select_one(self) -> None:
        if self._sqlite is not None:
            await self._sqlite.run(self._read_header)
            return
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def _read_header(self) -> None:
        """On the probe's SQLite thread: read the file's header (it must be readable)."""
        assert self._sqlite is not None
        try:
            self._sqlite.connection().execute("PRAGMA schema_version").fetchone()
        except sqlite3.Error:
            self._sqlite.drop()  # the next probe opens the file again
            raise

    def _set_database(self, ok: bool, why: str) -> None:
        if ok and not self._database_ok:
            log.info("database probe answers again")
        elif not ok and self._database_ok:
            log.warning("database probe failed: %s", why)
        self._database_ok = ok

    async def _probe_forever(self) -> None:
        while not self._stopping.is_set():
            await self.probe()
            await wait_event(self._stopping, self._interval)

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


def _retrieve(task: asyncio.Task[None]) -> None:
    """A probe's outcome is read by the next probe, or nobody (given up, or stopping)."""
    if not task.cancelled():
        task.exception()
