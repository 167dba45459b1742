"""The event log's append transaction on SQLite, in one hop to one thread.

This module is for: committing prepared event and op rows to a SQLite file through its own
``sqlite3`` connection, ``BEGIN IMMEDIATE`` … ``COMMIT`` in a single call on a dedicated thread.

It must not: decide whether a batch may be appended (the :class:`~server.storage.events.EventStore`
checks heads and explains refusals) or be used for anything but the log's inserts.

Why it exists (docs/performance.md): through SQLAlchemy's async engine each statement of the
append crosses to aiosqlite's thread and back three times (cursor, execute, close), and the
transaction adds a commit and a reset — eleven thread hops and about 1.6 ms of CPU for a
one-event append, ten times the cost of the SQLite work itself. Here the whole transaction is
one hop (about 0.2 ms). The connection gets the same pragmas as the engine's
(:func:`~server.db.engine.apply_sqlite_pragmas`): WAL, the same ``synchronous`` mode (an fsync
per commit by default), the same busy timeout; ``BEGIN IMMEDIATE`` takes the write lock first,
and it waits for the process's turn to write (:func:`~server.db.engine.sqlite_write_turn`), so it
serialises with the engine's writers and with other processes exactly as they do with each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.dialects import sqlite

from server.db.engine import SqliteFile, apply_sqlite_pragmas, sqlite_write_turn

__all__ = ["SqliteAppender", "insert_sql"]


def insert_sql(table: Table) -> str:
    """``INSERT INTO t (every column, in table order) VALUES (?, …)``, compiled by SQLAlchemy."""
    compiled = insert(table).compile(dialect=sqlite.dialect())
    if compiled.positiontup != [column.key for column in table.columns]:
        raise ValueError(f"{table.name}: columns would not bind in table order")
    return str(compiled)


class _Handle:
    """The connection, touched only on the appender's thread (sqlite3 checks that)."""

    __slots__ = ("conn",)

    def __init__(self) -> None:
        self.conn: sqlite3.Connection | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _shut_down(executor: ThreadPoolExecutor, handle: _Handle) -> None:
    with contextlib.suppress(RuntimeError):  # the interpreter is exiting: its threads end anyway
        executor.submit(handle.close)
    executor.shutdown(wait=False)


class SqliteAppender:
    """Appends rows to two tables of a SQLite file in one transaction per call.

    ``append`` calls are serialised (one connection); the committer makes one at a time anyway.
    Errors are sqlite3's own: :class:`sqlite3.IntegrityError` when a key is taken (the caller
    explains it), :class:`sqlite3.OperationalError` when the database is locked past the busy
    timeout or the disk fails. After any error the transaction is rolled back; a connection that
    cannot even roll back is dropped and the next call opens a new one.
    """

    def __init__(self, database: SqliteFile, first: Table, second: Table) -> None:
        self._database = database
        self._first_sql = insert_sql(first)
        self._second_sql = insert_sql(second)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="coshop-log-append")
        self._handle = _Handle()
        self._lock = asyncio.Lock()
        # A store dropped without close() still ends its thread and closes its connection.
        self._finalizer = weakref.finalize(self, _shut_down, self._executor, self._handle)

    async def append(self, first: Sequence[Sequence[Any]], second: Sequence[Sequence[Any]]) -> None:
        """Insert ``first`` rows into the first table and ``second`` into the second, atomically."""
        async with self._lock, sqlite_write_turn(self._database):
            await asyncio.get_running_loop().run_in_executor(
                self._executor, self._write, first, second
            )

    async def close(self) -> None:
        """Close the connection and end the thread; waits for an append in progress."""
        if not self._finalizer.alive:
            return
        async with self._lock:
            self._finalizer.detach()
            await asyncio.get_running_loop().run_in_executor(self._executor, self._handle.close)
            self._executor.shutdown(wait=False)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._database.path, isolation_level=None)
        try:
            apply_sqlite_pragmas(conn, self._database.synchronous)
        except BaseException:
            conn.close()
            raise
        return conn

    def _write(self, first: Sequence[Sequence[Any]], second: Sequence[Sequence[Any]]) -> None:
        if self._handle.conn is None:
            self._handle.conn = self._connect()
        conn = self._handle.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if first:
                conn.executemany(self._first_sql, first)
            if second:
                conn.executemany(self._second_sql, second)
            conn.execute("COMMIT")
        except BaseException:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                self._handle.close()  # unusable: the next append reconnects
            raise
