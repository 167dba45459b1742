"""The durable room event log: group-committed appends, reads, op outcomes, snapshots.

This module is for: writing each room's events with gap-free per-room ``seq`` numbers, in one
transaction per batch (group commit), recording client op ids with the seq range they produced
in that same transaction, and reading the log and snapshots back.

It must not: decide anything about rooms (``rooms/`` does), cache state, or retry on its own —
on :class:`SeqConflict` the hub reloads the room and decides again; on :class:`DuplicateOp` it
answers the op with the recorded outcome.

Concurrency (DESIGN.md §3): ``(room_id, seq)`` is the primary key. Inside the write transaction
the store compares each room's real last seq with the writer's ``after_seq``. On SQLite the
transaction holds the write lock from its first statement (``BEGIN IMMEDIATE``), so the check is
exact. On PostgreSQL two processes can pass the check together; the primary key then rejects the
second insert and the store reports the same :class:`SeqConflict` after rolling back.
When a batch both conflicts and repeats an op, :class:`SeqConflict` wins: the writer's state is
stale and must be reloaded before anything else.

A batch that continues exactly from heads this store committed needs no check first (see
``_heads``). On a SQLite file such a batch also skips SQLAlchemy: it is committed through the
store's own ``sqlite3`` connection in one thread hop (:mod:`server.storage.sqlite_append`, about
an eighth of the CPU); everything else — the check, reads, snapshots — goes through the engine.
Call :meth:`EventStore.close` before disposing of the engine.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Table, and_, delete, func, insert, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.db.engine import begin_write, sqlite_file
from server.storage._sql import (
    dump_json,
    load_json,
    refused_by_database,
    translate_unavailable,
    wall_clock_ms,
)
from server.storage.errors import (
    DuplicateOp,
    InvalidBatch,
    SeqConflict,
    StorageError,
    WriteRefused,
)
from server.storage.sqlite_append import SqliteAppender
from server.storage.tables import room_events, room_ops, room_snapshots

__all__ = [
    "Append",
    "EventStore",
    "NewEvent",
    "OpKey",
    "OpOutcome",
    "StoredEvent",
]

# Rooms per "last seq" statement: keeps bind parameters far below every backend's limit.
_ROOMS_PER_QUERY = 200
_KNOWN_HEADS = 100_000  # rooms whose head a store remembers (about 10 MB at most)
_Row = tuple[Any, ...]
# The rows themselves cannot be stored: too long, out of range, not encodable (a lone surrogate).
_REFUSED_DATA = (sa_exc.DataError, sqlite3.DataError, UnicodeError)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event decided by a room, not yet numbered. ``at`` is epoch milliseconds."""

    type: str
    data: dict[str, Any]
    at: int
    actor: str


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A committed event with its place in the room's log."""

    room_id: str
    seq: int
    type: str
    data: dict[str, Any]
    at: int
    actor: str


@dataclass(frozen=True, slots=True)
class OpKey:
    """Identifies one client operation: retried ops carry the same key."""

    room_id: str
    actor: str
    op_id: str


@dataclass(frozen=True, slots=True)
class OpOutcome:
    """The seq range an op produced; ``(0, 0)`` for an op that produced no event.

    ``args_digest`` is the digest of the op's arguments recorded with it (None if the writer
    recorded none): the same op id with other arguments is a conflict, not a retry.
    """

    first_seq: int
    last_seq: int
    args_digest: str | None = None


@dataclass(frozen=True, slots=True)
class Append:
    """Events for one room, to be numbered ``after_seq + 1 …``; ``op`` is recorded with them.

    ``op_digest`` (at most 64 characters, e.g. :func:`server.hub.opdigest.op_digest`) is stored
    with ``op`` and comes back as :attr:`OpOutcome.args_digest`; without ``op`` it is ignored.
    """

    room_id: str
    after_seq: int
    events: tuple[NewEvent, ...]
    op: OpKey | None = None
    op_digest: str | None = None


class EventStore:
    """The room log on an :class:`AsyncEngine` (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], int] = wall_clock_ms) -> None:
        self._engine = engine
        self._clock = clock
        # Each room's last seq as this store committed it. A batch that continues exactly from
        # there needs no read before its insert: if another process wrote meanwhile, it took
        # ``after_seq + 1`` and the primary key refuses ours (then _check explains why). Any
        # other batch — first write here, or after other processes' events — is checked first.
        self._heads: dict[str, int] = {}
        database = sqlite_file(engine)
        self._appender = (
            SqliteAppender(database, room_events, room_ops) if database is not None else None
        )

    async def close(self) -> None:
        """Release the store's own SQLite connection (if any); the engine stays the caller's."""
        appender, self._appender = self._appender, None
        if appender is not None:
            await appender.close()

    # -- writes -----------------------------------------------------------------------------

    async def append_batch(self, batch: Sequence[Append]) -> list[tuple[StoredEvent, ...]]:
        """Commit every append of ``batch`` in one transaction, or none of them.

        Several appends may target one room if they chain (the second's ``after_seq`` is the
        first's last seq). Returns the stored events, one tuple per append, in batch order.
        Raises :class:`SeqConflict`, :class:`DuplicateOp`, :class:`InvalidBatch`,
        :class:`WriteRefused` (the database refused some row: a constraint or trigger, a value it
        cannot store) or :class:`StorageUnavailable`; in every case nothing was committed.
        """
        if not batch:
            return []
        stored, event_rows, op_rows = self._prepare(batch)
        with translate_unavailable():
            try:
                known = self._continues_known_heads(batch)
                if known and self._appender is not None:
                    await self._appender.append(event_rows, op_rows)
                else:
                    async with begin_write(self._engine) as conn:
                        if not known:
                            await self._check(conn, batch)
                        if event_rows:
                            await conn.execute(
                                insert(room_events), _as_dicts(room_events, event_rows)
                            )
                        if op_rows:
                            await conn.execute(insert(room_ops), _as_dicts(room_ops, op_rows))
            except (sa_exc.IntegrityError, sqlite3.IntegrityError) as exc:
                # Another process committed between our check and our insert (PostgreSQL), or
                # after the head this store knew (both) — or a constraint or trigger refused a
                # row, which the check cannot explain.
                known_heads, self._heads = self._heads, {}
                async with self._engine.connect() as conn:
                    await self._check(conn, batch)
                # The heads were right: the rows themselves were refused. Keep the fast path.
                known_heads.update(self._heads)
                self._heads = known_heads
                raise WriteRefused("the database refused the batch's rows") from exc
            except _REFUSED_DATA as exc:
                raise WriteRefused("the database cannot store the batch's rows") from exc
            except sa_exc.DBAPIError as exc:
                if not refused_by_database(exc):
                    raise
                raise WriteRefused("the database refused the batch's rows") from exc
        if len(self._heads) > _KNOWN_HEADS:
            self._heads.clear()  # a bound, not a policy: forgotten rooms are simply checked
        for append in batch:
            self._heads[append.room_id] = append.after_seq + len(append.events)
        return stored

    def _continues_known_heads(self, batch: Sequence[Append]) -> bool:
        expected: dict[str, int] = {}
        for append in batch:
            head = expected.get(append.room_id, self._heads.get(append.room_id))
            if head is None or append.after_seq != head:
                return False
            expected[append.room_id] = append.after_seq + len(append.events)
        return True

    def _prepare(
        self, batch: Sequence[Append]
    ) -> tuple[list[tuple[StoredEvent, ...]], list[_Row], list[_Row]]:
        """Number and encode everything before the transaction, keeping the write lock short.

        Rows are tuples in their table's column order (room_events, room_ops).
        """
        now = self._clock()
        seen_ops: set[OpKey] = set()
        stored: list[tuple[StoredEvent, ...]] = []
        event_rows: list[_Row] = []
        op_rows: list[_Row] = []
        for append in batch:
            if append.after_seq < 0:
                raise InvalidBatch(f"negative after_seq for room {append.room_id!r}")
            events = tuple(
                StoredEvent(
                    room_id=append.room_id,
                    seq=append.after_seq + offset,
                    type=event.type,
                    data=event.data,
                    at=event.at,
                    actor=event.actor,
                )
                for offset, event in enumerate(append.events, start=1)
            )
            stored.append(events)
            for event in events:
                try:
                    data = dump_json(event.data)
                except (TypeError, ValueError) as exc:
                    raise InvalidBatch(f"event {event.type!r} data is not JSON") from exc
                event_rows.append(
                    (event.room_id, event.seq, event.type, data, event.at, event.actor)
                )
            if append.op is not None:
                if append.op.room_id != append.room_id:
                    raise InvalidBatch(f"op {append.op.op_id!r} belongs to another room")
                if append.op in seen_ops:
                    raise InvalidBatch(f"op {append.op.op_id!r} appears twice in one batch")
                seen_ops.add(append.op)
                outcome = _outcome(events)
                op_rows.append(
                    (
                        append.op.room_id,
                        append.op.actor,
                        append.op.op_id,
                        outcome.first_seq,
                        outcome.last_seq,
                        now,
                        append.op_digest,
                    )
                )
        return stored, event_rows, op_rows

    async def _check(self, conn: AsyncConnection, batch: Sequence[Append]) -> None:
        """Raise :class:`SeqConflict` or :class:`DuplicateOp` if ``batch`` cannot commit."""
        rooms = list(dict.fromkeys(append.room_id for append in batch))
        heads = await _last_seqs(conn, rooms)
        expected = dict(heads)
        conflicts: dict[str, int] = {}
        for append in batch:
            if append.after_seq != expected[append.room_id]:
                conflicts[append.room_id] = heads[append.room_id]
            expected[append.room_id] = append.after_seq + len(append.events)
        if conflicts:
            raise SeqConflict(conflicts)
        keys = [append.op for append in batch if append.op is not None]
        if keys:
            found = await _find_ops(conn, keys)
            if found:
                first = next(key for key in keys if key in found)
                raise DuplicateOp(first, found[first], found)

    async def save_snapshot(self, room_id: str, seq: int, state: dict[str, Any]) -> None:
        """Store ``state`` as the room's snapshot at ``seq``; never replaces a newer one."""
        values = {"room_id": room_id, "seq": seq, "state": dump_json(state)}
        dialect = self._engine.dialect.name
        if dialect == "postgresql":
            pg = postgresql.insert(room_snapshots).values(values)
            stmt: Any = pg.on_conflict_do_update(
                index_elements=[room_snapshots.c.room_id],
                set_={"seq": pg.excluded.seq, "state": pg.excluded.state},
                where=pg.excluded.seq >= room_snapshots.c.seq,
            )
        elif dialect == "sqlite":
            lite = sqlite.insert(room_snapshots).values(values)
            stmt = lite.on_conflict_do_update(
                index_elements=[room_snapshots.c.room_id],
                set_={"seq": lite.excluded.seq, "state": lite.excluded.state},
                where=lite.excluded.seq >= room_snapshots.c.seq,
            )
        else:  # pragma: no cover - create_engine only builds the two dialects above
            raise StorageError(f"unsupported database dialect {dialect!r}")
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                await conn.execute(stmt)

    async def prune_ops(self, older_than_ms: int) -> int:
        """Forget op ids recorded before ``older_than_ms`` (epoch ms); returns how many.

        After pruning, a retry of such an op is no longer recognised; prune only beyond the
        longest time a client may keep retrying (docs/storage.md).
        """
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                result = await conn.execute(
                    delete(room_ops).where(room_ops.c.created_at < older_than_ms)
                )
        return int(result.rowcount)

    # -- reads ------------------------------------------------------------------------------

    async def read(
        self, room_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[StoredEvent]:
        """The room's events with ``seq > after_seq``, oldest first, at most ``limit``."""
        stmt = (
            select(room_events)
            .where(room_events.c.room_id == room_id, room_events.c.seq > after_seq)
            .order_by(room_events.c.seq)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with translate_unavailable():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(stmt)).all()
        return [_stored(row) for row in rows]

    async def last_seq(self, room_id: str) -> int:
        """The room's last committed seq; 0 for a room with no events."""
        with translate_unavailable():
            async with self._engine.connect() as conn:
                return (await _last_seqs(conn, [room_id]))[room_id]

    async def find_op(self, key: OpKey) -> OpOutcome | None:
        """The outcome recorded for ``key``, or None if the op was never applied (or pruned)."""
        with translate_unavailable():
            async with self._engine.connect() as conn:
                return (await _find_ops(conn, [key])).get(key)

    async def load_snapshot(self, room_id: str) -> tuple[int, dict[str, Any]] | None:
        """``(seq, state)`` of the room's latest snapshot, or None."""
        stmt = select(room_snapshots.c.seq, room_snapshots.c.state).where(
            room_snapshots.c.room_id == room_id
        )
        with translate_unavailable():
            async with self._engine.connect() as conn:
                row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        state: dict[str, Any] = load_json(row.state)
        return int(row.seq), state


def _as_dicts(table: Table, rows: list[_Row]) -> list[dict[str, Any]]:
    keys = [column.name for column in table.columns]
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _outcome(events: tuple[StoredEvent, ...]) -> OpOutcome:
    if not events:
        return OpOutcome(0, 0)
    return OpOutcome(events[0].seq, events[-1].seq)


def _stored(row: Row[Any]) -> StoredEvent:
    return StoredEvent(
        room_id=row.room_id,
        seq=int(row.seq),
        type=row.type,
        data=load_json(row.data),
        at=int(row.at),
        actor=row.actor,
    )


async def _last_seqs(conn: AsyncConnection, rooms: Sequence[str]) -> dict[str, int]:
    """Each room's last seq, one statement per chunk.

    One scalar ``max(seq)`` subquery per room lets both backends answer from the end of the
    primary-key index instead of scanning the room's log.
    """
    heads: dict[str, int] = {}
    for start in range(0, len(rooms), _ROOMS_PER_QUERY):
        chunk = rooms[start : start + _ROOMS_PER_QUERY]
        columns = [
            select(func.coalesce(func.max(room_events.c.seq), 0))
            .where(room_events.c.room_id == room)
            .scalar_subquery()
            .label(f"r{index}")
            for index, room in enumerate(chunk)
        ]
        row = (await conn.execute(select(*columns))).one()
        heads.update({room: int(row[index]) for index, room in enumerate(chunk)})
    return heads


async def _find_ops(conn: AsyncConnection, keys: Iterable[OpKey]) -> dict[OpKey, OpOutcome]:
    wanted = set(keys)
    found: dict[OpKey, OpOutcome] = {}
    rooms = sorted({key.room_id for key in wanted})
    op_ids = sorted({key.op_id for key in wanted})
    for start in range(0, max(len(op_ids), 1), _ROOMS_PER_QUERY):
        stmt = select(room_ops).where(
            and_(
                room_ops.c.room_id.in_(rooms),
                room_ops.c.op_id.in_(op_ids[start : start + _ROOMS_PER_QUERY]),
            )
        )
        for row in (await conn.execute(stmt)).all():
            key = OpKey(row.room_id, row.actor, row.op_id)
            if key in wanted:
                found[key] = OpOutcome(int(row.first_seq), int(row.last_seq), row.args_digest)
    return found
