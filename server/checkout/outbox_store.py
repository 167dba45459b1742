"""SQL of the checkout outbox (``checkout_outbox``): write effects, find due ones, claim, settle.

Rows are written by :func:`insert_effects` inside the transaction that appends the order events
causing them (see :meth:`server.checkout.store.OrderTx.append`), so an effect exists if and
only if its fact does. :class:`OutboxStore` serves the worker:

- :meth:`OutboxStore.due` lists rows not done whose retry time has come and whose lease (if
  any) ran out. Room commands of one room go first in, first out: a room row waits while an
  earlier room row of the same room is not done, so a share's ``paid`` can never be overtaken
  by its older ``checkout_open``.
- :meth:`OutboxStore.claim` takes a lease on one row with a conditional ``UPDATE`` and reports
  whether this caller won it: two processes on one PostgreSQL database never run one effect at
  the same time (and the idempotency keys make a run after an expired lease harmless).

Knows SQL only: no rules about what an effect means, no provider, no room.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.checkout.effects import Effect
from server.checkout.tables import outbox
from server.db.engine import begin_write
from server.storage import StorageUnavailable, translate_unavailable

__all__ = [
    "ENQUEUE_ATTEMPTS",
    "OutboxRow",
    "OutboxStats",
    "OutboxStore",
    "effect_id",
    "insert_effects",
]

log = logging.getLogger("coshop.checkout.outbox")

ENQUEUE_ATTEMPTS = 3  # writes of effects that follow an order the room already took


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: str
    order_id: str
    room_id: str
    kind: str
    payload: Mapping[str, Any]
    attempts: int  # runs started before this one
    created_at: int
    last_error: str | None = None
    done_at: int | None = None
    dead: bool = False


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int  # rows not done
    oldest_at: int | None  # created_at (ms) of the oldest row not done
    next_due_at: int | None  # the earliest next_attempt_at among rows not done


def effect_id(order_id: str, seq: int, n: int) -> str:
    """The row id of the ``n``-th effect of the events appended from order seq ``seq``."""
    return f"{order_id}-{seq:05d}-{n:02d}"


async def insert_effects(
    conn: AsyncConnection,
    order_id: str,
    room_id: str,
    seq: int,
    effects: Sequence[Effect],
    now_ms: int,
) -> list[str]:
    """Insert ``effects`` (due now) on ``conn``'s transaction; return their row ids."""
    rows = [
        {
            "id": effect_id(order_id, seq, n),
            "order_id": order_id,
            "room_id": room_id,
            "kind": effect.kind,
            "payload": json.dumps(dict(effect.payload), sort_keys=True, separators=(",", ":")),
            "attempts": 0,
            "next_attempt_at": now_ms,
            "claimed_until": None,
            "created_at": now_ms,
            "last_error": None,
            "done_at": None,
            "dead": False,
        }
        for n, effect in enumerate(effects)
    ]
    if rows:
        await conn.execute(insert(outbox), rows)
    return [str(row["id"]) for row in rows]


def _row(data: Mapping[Any, Any]) -> OutboxRow:
    return OutboxRow(
        id=str(data["id"]),
        order_id=str(data["order_id"]),
        room_id=str(data["room_id"]),
        kind=str(data["kind"]),
        payload=json.loads(data["payload"]),
        attempts=int(data["attempts"]),
        created_at=int(data["created_at"]),
        last_error=data["last_error"],
        done_at=data["done_at"],
        dead=bool(data["dead"]),
    )


class OutboxStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def enqueue(
        self, order_id: str, room_id: str, seq: int, effects: Sequence[Effect], now_ms: int
    ) -> list[str]:
        """Write effects in a transaction of their own (not caused by an order event).

        The room has already taken the order these effects follow, so a write that waited out
        a locked database (a loaded SQLite behind the room's commits) is tried again, up to
        :data:`ENQUEUE_ATTEMPTS` times, before :class:`StorageUnavailable` (a 503) is raised.
        A repeat after a commit whose outcome is unknown can write an effect twice: room
        effects set a state, so running one twice changes nothing.
        """
        for attempt in range(1, ENQUEUE_ATTEMPTS + 1):
            try:
                with translate_unavailable():
                    async with begin_write(self._engine) as conn:
                        return await insert_effects(conn, order_id, room_id, seq, effects, now_ms)
            except StorageUnavailable:
                if attempt == ENQUEUE_ATTEMPTS:
                    raise
                log.warning(
                    "checkout effects not written (database busy); trying again",
                    extra={"order_id": order_id, "attempt": attempt},
                )
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def due(
        self, now_ms: int, limit: int, ids: Sequence[str] | None = None
    ) -> list[OutboxRow]:
        """Rows to run now, oldest first (room rows first in, first out per room)."""
        earlier = outbox.alias("earlier")
        blocked = exists().where(
            earlier.c.room_id == outbox.c.room_id,
            earlier.c.kind == "room_command",
            earlier.c.done_at.is_(None),
            or_(
                earlier.c.created_at < outbox.c.created_at,
                and_(earlier.c.created_at == outbox.c.created_at, earlier.c.id < outbox.c.id),
            ),
        )
        query = (
            select(outbox)
            .where(
                outbox.c.done_at.is_(None),
                outbox.c.next_attempt_at <= now_ms,
                or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now_ms),
                or_(outbox.c.kind != "room_command", ~blocked),
            )
            .order_by(outbox.c.created_at, outbox.c.id)
            .limit(limit)
        )
        if ids is not None:
            query = query.where(outbox.c.id.in_(list(ids)))
        async with self._engine.connect() as conn:
            result = await conn.execute(query)
            return [_row(row._mapping) for row in result]

    async def claim(self, row_id: str, now_ms: int, lease_ms: int) -> bool:
        """Lease ``row_id`` to this caller and count the attempt; ``False`` if someone has it."""
        async with begin_write(self._engine) as conn:
            result = await conn.execute(
                update(outbox)
                .where(
                    outbox.c.id == row_id,
                    outbox.c.done_at.is_(None),
                    or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now_ms),
                )
                .values(claimed_until=now_ms + lease_ms, attempts=outbox.c.attempts + 1)
            )
            return int(result.rowcount) == 1

    async def finish(
        self, row_id: str, now_ms: int, *, error: str | None = None, dead: bool = False
    ) -> None:
        """Mark delivered (or, with ``dead``, given up on with ``error``)."""
        async with begin_write(self._engine) as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id)
                .values(done_at=now_ms, claimed_until=None, last_error=error, dead=dead)
            )

    async def retry(self, row_id: str, at_ms: int, error: str) -> None:
        """Release the lease and run the row again at ``at_ms``."""
        async with begin_write(self._engine) as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id, outbox.c.done_at.is_(None))
                .values(next_attempt_at=at_ms, claimed_until=None, last_error=error[:64])
            )

    async def stats(self) -> OutboxStats:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        func.count(),
                        func.min(outbox.c.created_at),
                        func.min(outbox.c.next_attempt_at),
                    ).where(outbox.c.done_at.is_(None))
                )
            ).one()
        return OutboxStats(int(row[0]), row[1], row[2])

    async def prune(self, before_ms: int) -> int:
        """Forget rows delivered before ``before_ms``; dead rows stay for an operator to see."""
        async with begin_write(self._engine) as conn:
            result = await conn.execute(
                delete(outbox).where(
                    outbox.c.done_at.is_not(None),
                    outbox.c.done_at < before_ms,
                    outbox.c.dead.is_(False),
                )
            )
            return int(result.rowcount)

    async def rows(self, order_id: str) -> list[OutboxRow]:
        """Every row of one order, oldest first (for status pages and tests)."""
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(outbox)
                .where(outbox.c.order_id == order_id)
                .order_by(outbox.c.created_at, outbox.c.id)
            )
            return [_row(row._mapping) for row in result]
