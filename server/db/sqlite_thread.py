"""One ``sqlite3`` connection on a thread of its own: a read or a transaction in one hop.

This module is for: running short functions against a SQLite file from the event loop through a
dedicated connection and thread (``await thread.run(fn)``; ``fn`` gets nothing and calls
:meth:`SqliteThread.connection` itself). The connection gets the engine's pragmas
(:func:`~server.db.engine.apply_sqlite_pragmas`). Through SQLAlchemy's async engine one statement
crosses to aiosqlite's thread and back several times and costs about 1.5 ms of CPU (a pool
checkout, ``BEGIN``, the cursor, a reset on return); here it is one hop (docs/performance.md).

It must not: be shared between unrelated callers that need their own transactions, or take the
process's SQLite write turn by itself (writers call :func:`~server.db.engine.sqlite_write_turn`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from server.db.engine import SqliteFile, apply_sqlite_pragmas

__all__ = ["SqliteThread"]

T = TypeVar("T")


class SqliteThread:
    """One ``sqlite3`` connection, touched only on its own thread (sqlite3 checks that)."""

    def __init__(self, database: SqliteFile, name: str) -> None:
        self._database = database
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None
        # dropped without close(), it still ends its thread and closes its connection
        self._finalizer = weakref.finalize(self, _shut_down, self._executor, self._close)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def connection(self) -> sqlite3.Connection:
        """The connection (opened on first use); call on this thread only."""
        if self._conn is None:
            conn = sqlite3.connect(self._database.path, isolation_level=None)
            try:
                apply_sqlite_pragmas(conn, self._database.synchronous)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def drop(self) -> None:
        """Forget a connection that failed badly; the next call opens a new one."""
        with contextlib.suppress(sqlite3.Error):
            self._close()
        self._conn = None

    async def run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def close(self) -> None:
        """Close the connection on its thread and let the thread end (without waiting for a
        call still running: a read stuck on a lock ends with its busy timeout)."""
        if self._finalizer.alive:
            self._finalizer()


def _shut_down(executor: ThreadPoolExecutor, close: Callable[[], None]) -> None:
    with contextlib.suppress(RuntimeError):  # the interpreter is exiting: its threads end anyway
        executor.submit(close)
    executor.shutdown(wait=False)
