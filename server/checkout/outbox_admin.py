"""What an operator does with the checkout outbox: list effects, show one, put dead ones back.

``coshop outbox list|show|retry`` (:mod:`server.cli`) run these queries against the database a
server uses (docs/runbook.md). They read and write ``checkout_outbox`` (and read
``checkout_orders``) directly, next to :mod:`server.checkout.outbox_store`, which serves the
worker and is not changed for them.

**Retry** puts a *dead* row back in the queue: ``dead`` false, ``done_at`` and the lease cleared,
due now. A running worker finds it on its next pass (it polls every second): no restart. The
row keeps its id, so a provider call carries the same ``Idempotency-Key: coshop-fx-{id}`` as
every earlier attempt and the provider answers a repeat with its first answer instead of moving
money twice. ``attempts`` and ``last_error`` are kept: they are the row's only history (each
attempt is also a log line with its ``effect_id``), and the back-off is capped at
``outbox_max_s`` anyway. Only dead rows are retried: a pending row is queued already, a
delivered one must not run again. A dead capture is never retried: the order already counted
its share failed, so capturing now would take money it no longer wants. A room command is not
retried when a later room command of its order was delivered since (the room would be set back
to an older state) unless forced.

Must not hold rules about what an effect means or deliver anything: the worker does that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, and_, func, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.checkout.tables import orders, outbox
from server.db.engine import begin_write

__all__ = [
    "CAPTURE_REFUSED",
    "PAYLOAD_FIELDS",
    "OrderInfo",
    "OutboxAdmin",
    "OutboxEntry",
    "RetryResult",
    "State",
    "Which",
    "format_age",
    "idempotency_key",
    "parse_duration",
    "shown_payload",
]

State = Literal["pending", "running", "dead", "delivered"]
Which = Literal["open", "dead", "pending", "all"]  # open = dead and pending (not delivered)

# Every field an effect's payload has today (server/checkout/effects.py): ids, amounts,
# statuses. A field not listed here is shown as hidden, so a secret added to a payload one day
# is not printed on an operator's terminal or pasted into a ticket.
PAYLOAD_FIELDS = frozenset(
    {
        "name", "payer", "status", "amount_minor", "choice", "covered_by", "dropped_line_ids",
        "outcome", "share_id", "session_id", "payment_id",
    }
)  # fmt: skip
HIDDEN = "(hidden)"


def shown_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` with every field not in :data:`PAYLOAD_FIELDS` replaced by ``(hidden)``."""
    return {k: (v if k in PAYLOAD_FIELDS else HIDDEN) for k, v in sorted(payload.items())}


def idempotency_key(row_id: str) -> str:
    """The ``Idempotency-Key`` of every attempt of a provider call (server/checkout/service.py)."""
    return f"coshop-fx-{row_id}"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One ``checkout_outbox`` row as an operator sees it (times in epoch milliseconds)."""

    id: str
    order_id: str
    room_id: str
    kind: str
    payload: Mapping[str, Any]  # already passed through shown_payload
    attempts: int
    created_at: int
    next_attempt_at: int
    claimed_until: int | None
    last_error: str | None
    done_at: int | None
    dead: bool

    def state(self, now_ms: int) -> State:
        if self.dead:
            return "dead"
        if self.done_at is not None:
            return "delivered"
        if self.claimed_until is not None and self.claimed_until >= now_ms:
            return "running"
        return "pending"

    @property
    def what(self) -> str:
        """The kind, and for a room command its name: ``room UpdateShare``, ``refund``."""
        if self.kind == "room_command":
            return f"room {self.payload.get('name', '?')}"
        return self.kind

    @property
    def provider_key(self) -> str | None:
        return None if self.kind == "room_command" else idempotency_key(self.id)

    def to_json(self, now_ms: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state(now_ms),
            "kind": self.kind,
            "room_id": self.room_id,
            "order_id": self.order_id,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "next_attempt_at": None if self.done_at is not None else self.next_attempt_at,
            "claimed_until": self.claimed_until,
            "done_at": self.done_at,
            "dead": self.dead,
            "age_s": max(0, now_ms - self.created_at) / 1000,
            "idempotency_key": self.provider_key,
            "payload": dict(self.payload),
        }


@dataclass(frozen=True, slots=True)
class OrderInfo:
    order_id: str
    status: str  # collecting, paid, void
    merchant_id: str
    updated_at: int


@dataclass(frozen=True, slots=True)
class RetryResult:
    id: str
    requeued: bool
    reason: str  # why not, or what it was


def _entry(data: Mapping[Any, Any]) -> OutboxEntry:
    try:
        payload = json.loads(data["payload"])
    except ValueError:
        payload = {"payload": "not JSON"}
    return OutboxEntry(
        id=str(data["id"]),
        order_id=str(data["order_id"]),
        room_id=str(data["room_id"]),
        kind=str(data["kind"]),
        payload=shown_payload(payload if isinstance(payload, dict) else {}),
        attempts=int(data["attempts"]),
        created_at=int(data["created_at"]),
        next_attempt_at=int(data["next_attempt_at"]),
        claimed_until=data["claimed_until"],
        last_error=data["last_error"],
        done_at=data["done_at"],
        dead=bool(data["dead"]),
    )


class OutboxAdmin:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def has_outbox(self) -> bool:
        """Whether the database has the outbox table (it was migrated)."""
        async with self._engine.connect() as conn:
            found = await conn.run_sync(lambda c: inspect(c).has_table(outbox.name))
        return bool(found)

    @staticmethod
    def _filtered(
        query: Select[Any],
        which: Which,
        room: str | None,
        order: str | None,
        kind: str | None,
        died_before: int | None = None,
    ) -> Select[Any]:
        if which == "dead":
            query = query.where(outbox.c.dead.is_(True))
        elif which == "pending":
            query = query.where(outbox.c.done_at.is_(None))
        elif which == "open":
            query = query.where(or_(outbox.c.done_at.is_(None), outbox.c.dead.is_(True)))
        if room is not None:
            query = query.where(outbox.c.room_id == room)
        if order is not None:
            query = query.where(outbox.c.order_id == order)
        if kind is not None:
            query = query.where(outbox.c.kind == kind)
        if died_before is not None:
            query = query.where(outbox.c.dead.is_(True), outbox.c.done_at <= died_before)
        return query

    async def entries(
        self,
        which: Which = "open",
        *,
        room: str | None = None,
        order: str | None = None,
        kind: str | None = None,
        limit: int = 50,
    ) -> tuple[list[OutboxEntry], int]:
        """The matching rows (at most ``limit``) and how many match in all.

        Pending rows come oldest first (the order the worker runs them); every other view
        newest first, so the effect that just died is on top.
        """
        ordering: list[Any] = [outbox.c.created_at, outbox.c.id]
        if which != "pending":
            ordering = [column.desc() for column in ordering]
        query = self._filtered(select(outbox), which, room, order, kind)
        count = self._filtered(select(func.count()).select_from(outbox), which, room, order, kind)
        async with self._engine.connect() as conn:
            rows = await conn.execute(query.order_by(*ordering).limit(limit))
            found = [_entry(row._mapping) for row in rows]
            total = int((await conn.execute(count)).scalar_one())
        return found, total

    async def entry(self, row_id: str) -> OutboxEntry | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(outbox).where(outbox.c.id == row_id))).first()
        return None if row is None else _entry(row._mapping)

    async def order_info(self, order_id: str) -> OrderInfo | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        orders.c.order_id, orders.c.status, orders.c.merchant_id,
                        orders.c.updated_at,
                    ).where(orders.c.order_id == order_id)
                )
            ).first()  # fmt: skip
        if row is None:
            return None
        return OrderInfo(str(row[0]), str(row[1]), str(row[2]), int(row[3]))

    async def dead_ids(
        self,
        *,
        died_before: int | None = None,
        room: str | None = None,
        order: str | None = None,
        kind: str | None = None,
    ) -> tuple[list[str], int]:
        """Ids of the dead rows matching, oldest first (the order a retry queues them in), but
        captures, which are never retried: how many of those matched is the second value."""
        query = self._filtered(
            select(outbox.c.id, outbox.c.kind), "dead", room, order, kind, died_before
        )
        async with self._engine.connect() as conn:
            result = await conn.execute(query.order_by(outbox.c.created_at, outbox.c.id))
            rows = [(str(r[0]), str(r[1])) for r in result]
        return [i for i, k in rows if k != "capture"], sum(k == "capture" for _, k in rows)

    async def retry(
        self, ids: Sequence[str], now_ms: int, *, force: bool = False
    ) -> list[RetryResult]:
        """Put the dead rows ``ids`` back in the queue, due at ``now_ms``; one result per id."""
        results = []
        for row_id in dict.fromkeys(ids):
            async with begin_write(self._engine) as conn:
                row = (await conn.execute(select(outbox).where(outbox.c.id == row_id))).first()
                if row is None:
                    results.append(RetryResult(row_id, False, "no such effect"))
                    continue
                entry = _entry(row._mapping)
                if not entry.dead:
                    state = entry.state(now_ms)
                    why = "it is queued already" if state != "delivered" else "it was delivered"
                    results.append(RetryResult(row_id, False, f"not dead ({state}): {why}"))
                    continue
                if entry.kind == "capture":
                    # A capture dies only after the order counted its share failed
                    # (server/checkout/service.py _capture_refused): run now, it would take money
                    # for a failed share (then refund it), or on a void order.
                    results.append(RetryResult(row_id, False, CAPTURE_REFUSED))
                    continue
                if entry.kind == "room_command" and not force:
                    later = (
                        await conn.execute(
                            select(outbox.c.id)
                            .where(
                                outbox.c.order_id == entry.order_id,
                                outbox.c.kind == "room_command",
                                outbox.c.dead.is_(False),
                                outbox.c.done_at.is_not(None),
                                or_(
                                    outbox.c.created_at > entry.created_at,
                                    and_(
                                        outbox.c.created_at == entry.created_at,
                                        outbox.c.id > entry.id,
                                    ),
                                ),
                            )
                            .order_by(outbox.c.created_at.desc(), outbox.c.id.desc())
                            .limit(1)
                        )
                    ).first()
                    if later is not None:
                        results.append(
                            RetryResult(
                                row_id,
                                False,
                                f"superseded: a later room command of this order was delivered"
                                f" ({later[0]}); a retry would take the room back to an older"
                                " state (--force to do it anyway)",
                            )
                        )
                        continue
                # conditional: a concurrent retry (or anything that changed the row) wins once
                done = await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row_id, outbox.c.dead.is_(True))
                    .values(dead=False, done_at=None, claimed_until=None, next_attempt_at=now_ms)
                )
                if int(done.rowcount) == 1:
                    results.append(
                        RetryResult(row_id, True, f"{entry.what}, died with {entry.last_error}")
                    )
                else:
                    results.append(RetryResult(row_id, False, "changed meanwhile; look again"))
        return results


CAPTURE_REFUSED = (
    "a dead capture is never retried: the order counted its share failed when it died, so a"
    " capture now would charge for a failed share; release the authorization in the provider's"
    " dashboard instead (docs/runbook.md)"
)

_DURATION = re.compile(r"(\d+)([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """``90s``, ``10m``, ``2h``, ``1d``, ``1h30m`` → seconds; :class:`ValueError` otherwise."""
    value = text.strip().lower()
    parts = _DURATION.findall(value)
    if not value or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"{text!r} is not a duration like 90s, 10m, 2h or 1d")
    return sum(int(n) * _UNIT_S[u] for n, u in parts)


def format_age(ms: int) -> str:
    """A duration for a human: ``45s``, ``4m10s``, ``3h12m``, ``2d4h``."""
    s = max(0, ms) // 1000
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600}h"
