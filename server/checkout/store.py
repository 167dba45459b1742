"""Checkout persistence: snapshots, orders as event logs, provider sessions, seen webhooks.

An order is stored as its event log (``checkout_order_events``) and rebuilt with
:meth:`checkout_bridge.orders.Order.replay`. Every change goes through
:meth:`CheckoutStore.order_tx`: one write transaction that reads the log, lets the caller
decide, appends the new events, updates the order row, writes the effects those events cause
to the outbox (:mod:`server.checkout.outbox_store`) and (for a webhook) records the provider
event id — all or nothing, so a duplicate delivery is refused by the primary key before it can
change anything, and no committed fact can lose its effects.

This module knows SQL and the order codec; it holds no checkout rules and calls no provider.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from checkout_bridge.orders import (
    Order,
    OrderEvent,
    OrderOpened,
    event_from_dict,
    event_to_dict,
)
from checkout_bridge.pricing import CartSnapshot
from server.checkout.effects import Effect
from server.checkout.outbox_store import OutboxStore, insert_effects
from server.checkout.tables import order_events, orders, sessions, snapshots, webhook_events
from server.db.engine import begin_write
from server.storage import translate_unavailable

__all__ = ["CheckoutStore", "DuplicateWebhook", "OrderRecord", "OrderTx", "SessionRecord"]


class DuplicateWebhook(Exception):
    """This provider event id was handled before; the transaction was rolled back."""


@asynccontextmanager
async def _write(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction whose "database away or still locked" is ``StorageUnavailable``
    (a 503 with Retry-After for the caller to try again), never a 500: on a loaded SQLite a
    write can wait out the busy timeout behind the room's commits."""
    with translate_unavailable():
        async with begin_write(engine) as conn:
            yield conn


@dataclass(frozen=True, slots=True)
class OrderRecord:
    order: Order
    merchant_id: str
    seq: int
    buyer: str | None = None  # a live viewer's own order: the viewer


@dataclass(frozen=True, slots=True)
class SessionRecord:
    session_id: str
    provider: str
    order_id: str
    share_id: str
    payer: str
    attempt: int
    idempotency_key: str
    url: str | None
    payment_intent: str | None
    created_at: int


def _dump(data: object) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


class OrderTx:
    """One order inside a write transaction: read it, then append what the caller decided."""

    def __init__(self, conn: AsyncConnection, record: OrderRecord) -> None:
        self.conn = conn
        self.record = record
        self.effect_ids: list[str] = []  # outbox rows written by append

    @property
    def order(self) -> Order:
        return self.record.order

    async def append(
        self,
        events: Sequence[OrderEvent],
        now: int,
        *,
        effects: Sequence[Effect] = (),
        now_ms: int | None = None,
    ) -> Order:
        """Append ``events`` and write ``effects`` (what they cause) to the outbox, at once."""
        order, seq = self.record.order, self.record.seq
        if not events:
            return order
        first = seq + 1
        rows = []
        for event in events:
            seq += 1
            order = order.apply(event)
            rows.append(
                {
                    "order_id": order.order_id,
                    "seq": seq,
                    "type": type(event).__name__,
                    "data": _dump(event_to_dict(event)),
                    "at": now,
                }
            )
        await self.conn.execute(insert(order_events), rows)
        await self.conn.execute(
            update(orders)
            .where(orders.c.order_id == order.order_id)
            .values(status=order.status, updated_at=now)
        )
        self.effect_ids = await insert_effects(
            self.conn,
            order.order_id,
            order.room_id,
            first,
            effects,
            now * 1000 if now_ms is None else now_ms,
        )
        self.record = OrderRecord(order, self.record.merchant_id, seq, self.record.buyer)
        return order


class CheckoutStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.outbox = OutboxStore(engine)

    # -- snapshots ---------------------------------------------------------------------------
    async def next_version(self, room_id: str) -> int:
        async with self._engine.connect() as conn:
            top = await conn.scalar(
                select(func.max(snapshots.c.version)).where(snapshots.c.room_id == room_id)
            )
        return int(top or 0) + 1

    async def save_snapshot(self, room_id: str, snapshot: CartSnapshot, now: int) -> None:
        async with _write(self._engine) as conn:
            await conn.execute(
                insert(snapshots).values(
                    room_id=room_id,
                    version=snapshot.version,
                    digest=snapshot.digest(),
                    ready=snapshot.ready,
                    data=_dump(snapshot.to_dict()),
                    created_at=now,
                )
            )

    async def snapshot(self, room_id: str, version: int | None = None) -> CartSnapshot | None:
        query = select(snapshots.c.data).where(snapshots.c.room_id == room_id)
        if version is None:
            query = query.order_by(snapshots.c.version.desc()).limit(1)
        else:
            query = query.where(snapshots.c.version == version)
        async with self._engine.connect() as conn:
            data = await conn.scalar(query)
        return None if data is None else CartSnapshot.from_dict(json.loads(data))

    # -- orders ------------------------------------------------------------------------------
    async def create_order(
        self,
        opened: OrderOpened,
        merchant_id: str,
        now: int,
        *,
        buyer: str | None = None,
        hold: Callable[[AsyncConnection], Awaitable[None]] | None = None,
    ) -> Order:
        """Insert the order; ``hold`` (the stock it reserves) runs in the same transaction,
        and what it raises rolls the order back."""
        async with _write(self._engine) as conn:
            if hold is not None:
                await hold(conn)
            await conn.execute(
                insert(orders).values(
                    order_id=opened.order_id,
                    room_id=opened.room_id,
                    merchant_id=merchant_id,
                    snapshot_version=opened.snapshot_version,
                    status="collecting",
                    deadline=opened.deadline,
                    created_at=now,
                    updated_at=now,
                    buyer=buyer,
                )
            )
            await conn.execute(
                insert(order_events).values(
                    order_id=opened.order_id,
                    seq=1,
                    type="OrderOpened",
                    data=_dump(event_to_dict(opened)),
                    at=now,
                )
            )
        return Order.opened(opened)

    @staticmethod
    async def _load(conn: AsyncConnection, order_id: str) -> OrderRecord | None:
        row = (
            await conn.execute(
                select(orders.c.merchant_id, orders.c.buyer).where(orders.c.order_id == order_id)
            )
        ).first()
        if row is None:
            return None
        merchant, buyer = row
        result = await conn.execute(
            select(order_events.c.seq, order_events.c.data)
            .where(order_events.c.order_id == order_id)
            .order_by(order_events.c.seq)
        )
        rows = result.all()
        order = Order.replay(event_from_dict(json.loads(data)) for _seq, data in rows)
        return OrderRecord(order, str(merchant), int(rows[-1][0]), buyer)

    async def load(self, order_id: str) -> OrderRecord | None:
        async with self._engine.connect() as conn:
            return await self._load(conn, order_id)

    async def latest_order_id(self, room_id: str, buyer: str | None = None) -> str | None:
        """The room's latest room-wide order, or with ``buyer`` that viewer's latest own."""
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(orders.c.order_id)
                .where(
                    orders.c.room_id == room_id,
                    orders.c.buyer.is_(None) if buyer is None else orders.c.buyer == buyer,
                )
                .order_by(orders.c.created_at.desc(), orders.c.order_id.desc())
                .limit(1)
            )
        return None if found is None else str(found)

    async def collecting_order_ids(self) -> list[str]:
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(orders.c.order_id).where(orders.c.status == "collecting")
            )
            return [str(row[0]) for row in result]

    @asynccontextmanager
    async def order_tx(
        self, order_id: str, *, webhook: tuple[str, str, str, str] | None = None, now: int
    ) -> AsyncIterator[OrderTx | None]:
        """A write transaction over ``order_id`` (``None`` if unknown).

        With ``webhook=(provider, event_id, type, result)`` the event id is recorded first;
        a repeat raises :class:`DuplicateWebhook` and nothing is written.
        """
        async with _write(self._engine) as conn:
            if webhook is not None:
                await self._record_webhook(conn, webhook, now)
            record = await self._load(conn, order_id)
            yield None if record is None else OrderTx(conn, record)

    @staticmethod
    async def _record_webhook(
        conn: AsyncConnection, webhook: tuple[str, str, str, str], now: int
    ) -> None:
        provider, event_id, event_type, result = webhook
        try:
            await conn.execute(
                insert(webhook_events).values(
                    provider=provider,
                    event_id=event_id,
                    type=event_type[:64],
                    result=result[:64],
                    received_at=now,
                )
            )
        except IntegrityError as exc:  # the whole transaction rolls back with this
            raise DuplicateWebhook(event_id) from exc

    async def record_webhook(self, webhook: tuple[str, str, str, str], now: int) -> None:
        """Record an event that touches no order (ignored types, unknown sessions)."""
        async with _write(self._engine) as conn:
            await self._record_webhook(conn, webhook, now)

    async def webhook_seen(self, provider: str, event_id: str) -> bool:
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(webhook_events.c.event_id).where(
                    webhook_events.c.provider == provider, webhook_events.c.event_id == event_id
                )
            )
        return found is not None

    # -- provider sessions -------------------------------------------------------------------
    async def add_session(self, record: SessionRecord) -> SessionRecord:
        """Insert ``record``; if its idempotency key exists already, return the stored one."""
        try:
            async with _write(self._engine) as conn:
                await conn.execute(insert(sessions).values(**_session_row(record)))
            return record
        except IntegrityError:
            found = await self._session_where(sessions.c.idempotency_key == record.idempotency_key)
            if found is None:
                raise
            return found

    async def session(self, session_id: str) -> SessionRecord | None:
        return await self._session_where(sessions.c.session_id == session_id)

    async def session_by_intent(self, payment_intent: str) -> SessionRecord | None:
        return await self._session_where(sessions.c.payment_intent == payment_intent)

    async def set_payment_intent(self, session_id: str, payment_intent: str) -> None:
        async with _write(self._engine) as conn:
            await conn.execute(
                update(sessions)
                .where(sessions.c.session_id == session_id)
                .values(payment_intent=payment_intent)
            )

    async def _session_where(self, condition: Any) -> SessionRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(sessions).where(condition))).first()
        if row is None:
            return None
        return SessionRecord(**dict(row._mapping))


def _session_row(record: SessionRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}
