"""The registry's join-time statements on SQLite: reads on the loop, invite uses group-committed.

This module is for: the three registry calls every join makes — read a room, read an invite,
count one use of an invite — on a SQLite file, through ``sqlite3`` connections of the
registry's own: reads on the event loop's thread (or on a reader thread when that one cannot
answer at once), writes on a thread of their own.

It must not: decide whether a use is allowed (the conditional ``UPDATE`` the registry builds
does, exactly as through the engine) or be used for anything else.

Why it exists (docs/performance.md, issue 18): through SQLAlchemy's async engine a read crosses
to aiosqlite's thread and back about six times, and every invite use was a transaction of its
own — one fsync (``synchronous=FULL``) per join, with the write lock held across it. A room
whose audience arrives at once was admitted at the pace of the disk's syncs (about 120 joins a
second). Here the uses that arrive while a transaction is being committed go into the next one
(group commit, as ``server/hub/committer.py`` does for events): one fsync for all of them. Each
use is still its own conditional ``UPDATE … RETURNING``, run one after the other inside the
transaction, so a ``max_uses`` is never exceeded, a revoked, disabled or expired invite is never
used, and nobody is answered before the transaction that counted their use is committed. If the
commit fails, every use of the batch fails with it and none is counted.

A read of one row by its key takes about 20 µs (p99 0.2 ms in an arrival storm) in WAL mode,
where readers never wait for writers; a hop to a thread and back costs more CPU than that and,
on a busy loop, two of its turns (30 ms of a join's latency in an arrival storm). So reads run
on the event loop's own thread, on a read-only connection of their own that never waits (no
busy timeout): in the rare case SQLite answers "busy" (a file being recovered), the read is
made on the reader's thread instead, which waits as every connection does.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy.dialects import sqlite
from sqlalchemy.sql import ClauseElement

from server.db.engine import SqliteFile, sqlite_write_turn
from server.db.sqlite_thread import SqliteThread

__all__ = ["SqliteRegistryPath", "UseOutcome"]


MAX_USES_PER_COMMIT = 256


@dataclass(frozen=True, slots=True)
class _Statement:
    """A SQLAlchemy statement compiled once for SQLite, and how to bind it by name."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]

    @classmethod
    def of(cls, stmt: ClauseElement) -> _Statement:
        compiled = stmt.compile(dialect=sqlite.dialect())
        names = getattr(compiled, "positiontup", None) or ()  # SQLite binds by position
        return cls(str(compiled), tuple(names), dict(compiled.params))

    def params(self, **values: Any) -> tuple[Any, ...]:
        return tuple(values[n] if n in values else self.defaults[n] for n in self.names)


@dataclass(frozen=True, slots=True)
class UseOutcome:
    """One use: the invite's row after the use, or (refused) the row as it is, or None."""

    used: Any | None
    found: Any | None


def _rows(cursor: sqlite3.Cursor) -> list[SimpleNamespace]:
    names = [d[0] for d in cursor.description or ()]
    return [SimpleNamespace(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


@dataclass(slots=True)
class _Pending:
    invite_id: str
    now: int
    future: asyncio.Future[UseOutcome]


class SqliteRegistryPath:
    """Room and invite reads in one hop, and group-committed invite uses, on a SQLite file.

    ``room_stmt`` and ``invite_stmt`` select one row by ``id``; ``use_stmt`` is the registry's
    conditional use (binds ``invite_id`` and ``now``, returns the row it changed). Rows come
    back as attribute namespaces with the table's column names, like SQLAlchemy rows.
    """

    def __init__(
        self,
        database: SqliteFile,
        *,
        room_stmt: ClauseElement,
        invite_stmt: ClauseElement,
        use_stmt: ClauseElement,
    ) -> None:
        self._room = _Statement.of(room_stmt)
        self._invite = _Statement.of(invite_stmt)
        self._use = _Statement.of(use_stmt)
        self._database = database
        self._reader = SqliteThread(database, "coshop-registry-read")
        # the connection reads use on the event loop's thread (opened on the first read), and
        # that thread: a read from any other thread takes the reader's
        self._inline: sqlite3.Connection | None = None
        self._inline_thread: int | None = None
        self._inline_closer: Callable[[], Any] | None = None
        self._writer = SqliteThread(database, "coshop-registry-write")
        self._queue: list[_Pending] = []
        self._draining: asyncio.Task[None] | None = None

    async def room(self, room_id: str) -> Any | None:
        return await self._read(self._room, room_id)

    async def invite(self, invite_id: str) -> Any | None:
        return await self._read(self._invite, invite_id)

    async def _read(self, stmt: _Statement, ident: str) -> Any | None:
        conn = self._inline_connection()
        if conn is not None:
            try:
                found = _rows(conn.execute(stmt.sql, stmt.params(id=ident)))
            except sqlite3.OperationalError:
                self._drop_inline()  # busy or failing: the reader's thread waits for the file
            else:
                return found[0] if found else None
        reader = self._reader

        def read() -> Any | None:
            try:
                found = _rows(reader.connection().execute(stmt.sql, stmt.params(id=ident)))
            except sqlite3.OperationalError:
                reader.drop()
                raise
            return found[0] if found else None

        return await reader.run(read)

    def _inline_connection(self) -> sqlite3.Connection | None:
        """The connection for reads on this thread, or None (another thread, or it failed)."""
        if self._inline is not None:
            return self._inline if self._inline_thread == threading.get_ident() else None
        if self._inline_thread is not None and self._inline_thread != threading.get_ident():
            return None
        try:
            # timeout=0: never wait on the loop. Used on this thread only (checked above);
            # closed by the finalizer on whichever thread drops the last reference, when
            # nothing can be using it. The file's WAL mode is the file's: nothing to set.
            conn = sqlite3.connect(
                self._database.path, timeout=0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error:
            return None
        try:
            conn.execute("PRAGMA query_only=ON")  # this connection only ever reads
        except sqlite3.Error:
            conn.close()
            return None
        self._inline, self._inline_thread = conn, threading.get_ident()
        self._inline_closer = weakref.finalize(self, conn.close)
        return conn

    def _drop_inline(self) -> None:
        """Close the loop's connection after an error; the next read opens a new one."""
        if self._inline_closer is not None:
            with contextlib.suppress(sqlite3.Error):
                self._inline_closer()
        self._inline = self._inline_closer = None

    async def use_invite(self, invite_id: str, now: int) -> UseOutcome:
        """Count one use in the next group commit; raises ``sqlite3.Error`` if it failed."""
        loop = asyncio.get_running_loop()
        pending = _Pending(invite_id, now, loop.create_future())
        self._queue.append(pending)
        if self._draining is None:
            # No timer: the first use starts a drain at once; uses that arrive while its
            # transaction runs wait for the next one, so batches grow with the load.
            self._draining = loop.create_task(self._drain(), name="registry-invite-uses")
        return await asyncio.shield(pending.future)

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[:MAX_USES_PER_COMMIT]
                del self._queue[:MAX_USES_PER_COMMIT]
                uses = [(p.invite_id, p.now) for p in batch]
                try:
                    async with sqlite_write_turn(self._database):
                        outcomes = await self._writer.run(functools.partial(self._commit, uses))
                except BaseException as exc:
                    for p in batch:
                        if not p.future.done():
                            p.future.set_exception(
                                exc if isinstance(exc, Exception) else sqlite3.OperationalError()
                            )
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for p, outcome in zip(batch, outcomes, strict=True):
                    if not p.future.done():
                        p.future.set_result(outcome)
        finally:
            self._draining = None
            if self._queue:  # cancelled with uses waiting: nobody may wait forever
                for p in self._queue:
                    if not p.future.done():
                        p.future.set_exception(sqlite3.OperationalError("registry stopped"))
                self._queue.clear()

    def _commit(self, uses: Sequence[tuple[str, int]]) -> list[UseOutcome]:
        """On the writer's thread: every use in one transaction, one after the other."""
        writer = self._writer
        conn = writer.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            out = []
            for invite_id, now in uses:
                params = self._use.params(invite_id=invite_id, now=now)
                used = _rows(conn.execute(self._use.sql, params))
                found = None
                if not used:
                    params = self._invite.params(id=invite_id)
                    rows = _rows(conn.execute(self._invite.sql, params))
                    found = rows[0] if rows else None
                out.append(UseOutcome(used[0] if used else None, found))
            conn.execute("COMMIT")
        except BaseException:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                writer.drop()  # unusable: the next batch reconnects
            raise
        return out
