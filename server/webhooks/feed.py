"""The feed: turns committed room and order facts into webhook deliveries, exactly once.

Where webhook events come from (docs/webhooks.md, "Where events come from"): the room's event
log (``room_events``) and the order's event log (``checkout_order_events``) *are* the durable
outbox of webhook messages. Each fact is written there in its own transaction, so a message
exists if and only if its fact does; the feed reads each log past a cursor (``webhook_feed``)
and, in **one** transaction, writes a delivery per subscribed endpoint and moves the cursor. A
crash before that commit leaves the cursor where it was: the next pass (or the next start's
recovery) reads the same entries again. Two processes feeding one log race on the cursor and
the deliveries' primary key; the loser rolls back.

Nothing here runs in a room's turn. The committer tells the feed which rooms' logs grew
(:meth:`Feed.rooms_committed`, a set insert) and the checkout service which order's log grew
(:meth:`Feed.order_changed`); the feed's own task does the reading and writing. A room log
entry that moves an order (``SettlementBegan``, ``ShareUpdated``, ``OrderSettled``) also marks
that order. At start and every ``recover_s`` the feed looks for logs of merchants with endpoints
that are ahead of their cursor (a process that died between a commit and its feed).

An endpoint receives only facts logged after it was created: no history replay.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from checkout_bridge.orders import Order, OrderOpened, event_from_dict
from checkout_bridge.pricing import CartSnapshot
from server.checkout.tables import order_events, orders, sessions, snapshots
from server.db.engine import begin_write
from server.storage import StoredEvent
from server.storage.tables import room_events, rooms
from server.waiting import STOP_GRACE_S, stop_task, wait_event
from server.webhooks.events import (
    ORDER_MARKERS,
    Message,
    envelope,
    order_message,
    room_message,
)
from server.webhooks.store import Endpoint, delivery_id, endpoints_of, insert_deliveries
from server.webhooks.tables import endpoints, feed

__all__ = ["Feed"]

log = logging.getLogger("coshop.webhooks.feed")

Source = tuple[str, str]  # ("room", room_id) or ("order", order_id)
_BATCH = 200  # log entries per transaction
_KNOWN = 10_000  # rooms whose merchant the feed remembers
_CONTEXT = ("MemberJoined", "LineAdded")
_LATER_S = 0.2  # how soon a log whose room is not registered yet is read again
_LATER_TRIES = 50  # … and how often (then the periodic recovery finds it)


class _Raced(Exception):
    """Another process moved this cursor first; its transaction wrote the deliveries."""


class _NotYet(Exception):
    """The log's room has no registry row yet: a room's log is written before its row."""


class Feed:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        delivered: Callable[[], None],
        clock: Callable[[], float] = time.time,
        retry_s: float = 1.0,
        recover_s: float = 300.0,
        endpoints_ttl_s: float = 2.0,
    ) -> None:
        self._engine = engine
        self._delivered = delivered  # told when new deliveries were written
        self._clock = clock
        self.retry_s = retry_s
        self.recover_s = recover_s
        self._ttl = endpoints_ttl_s
        self._dirty: dict[Source, None] = {}  # an ordered set: first marked, first fed
        self._later: dict[Source, int] = {}  # not registered yet: tries so far
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._merchants: dict[str, str] = {}  # room id → merchant id
        self._listening: dict[str, tuple[bool, float]] = {}  # merchant → (has endpoints, until)

    # ---- hooks: synchronous, cheap, never raise ---------------------------------------------
    def rooms_committed(self, results: Sequence[tuple[StoredEvent, ...]]) -> None:
        """The committer committed these appends (called on its task: only note the rooms)."""
        for stored in results:
            if stored:
                self._dirty[("room", stored[0].room_id)] = None
        self._wake.set()

    def order_changed(self, order_id: str) -> None:
        self._dirty[("order", order_id)] = None
        self._wake.set()

    def endpoints_changed(self, merchant_id: str) -> None:
        self._listening.pop(merchant_id, None)

    # ---- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False  # a worker closed and started again runs again
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-feed")

    async def close(self) -> None:
        """Let the pass in progress finish (a query cancelled half way costs its connection,
        server/waiting.py), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await stop_task(self._task, grace_s=STOP_GRACE_S)
            self._task = None

    async def _run(self) -> None:
        recover_at = 0.0
        while not self._stopping:
            self._wake.clear()
            for source in self._later:
                self._dirty.setdefault(source, None)
            if time.monotonic() >= recover_at:
                try:
                    await self.recover()
                    recover_at = time.monotonic() + self.recover_s
                except Exception:
                    log.exception("webhook feed recovery failed; retrying")
                    recover_at = time.monotonic() + self.retry_s
            failed = not await self.drain()
            wait = self.retry_s if failed else max(0.0, recover_at - time.monotonic())
            if self._later:
                wait = min(wait, _LATER_S)
            await wait_event(self._wake, wait)

    async def drain(self) -> bool:
        """Feed every marked log; ``False`` if one failed (it stays marked)."""
        wrote = False
        try:
            while self._dirty:
                source = next(iter(self._dirty))
                del self._dirty[source]
                try:
                    more, written = await self.feed(source)
                except _Raced:
                    more, written = True, False
                except _NotYet:
                    tries = self._later.get(source, 0) + 1
                    if tries <= _LATER_TRIES:
                        self._later[source] = tries
                    else:
                        del self._later[source]
                    continue
                except Exception:
                    self._dirty[source] = None
                    log.exception("webhook feed failed; retrying", extra={"source": source})
                    return False
                self._later.pop(source, None)
                wrote = wrote or written
                if more:
                    self._dirty[source] = None
            return True
        finally:
            if wrote:
                self._delivered()

    # ---- recovery ----------------------------------------------------------------------------
    async def recover(self) -> None:
        """Mark every log of a merchant with endpoints that is ahead of its cursor.

        A log without a cursor whose last entry is older than the merchant's first endpoint
        holds nothing to send: it is left alone (no history replay, no reading old rooms).
        """
        since = {
            str(r[0]): int(r[1])
            for r in await self._read(
                select(endpoints.c.merchant_id, func.min(endpoints.c.created_at))
                .where(endpoints.c.enabled.is_(True))
                .group_by(endpoints.c.merchant_id)
            )
        }
        if not since:
            return
        listening = list(since)
        heads: list[tuple[Source, str, int, int]] = []  # source, merchant, head seq, last at
        rows = await self._read(
            select(
                room_events.c.room_id,
                rooms.c.merchant_id,
                func.max(room_events.c.seq),
                func.max(room_events.c.at),
            )
            .join(rooms, rooms.c.room_id == room_events.c.room_id)
            .where(rooms.c.merchant_id.in_(listening))
            .group_by(room_events.c.room_id, rooms.c.merchant_id)
        )
        heads.extend((("room", str(r[0])), str(r[1]), int(r[2]), int(r[3])) for r in rows)
        rows = await self._read(
            select(
                order_events.c.order_id,
                orders.c.merchant_id,
                func.max(order_events.c.seq),
                func.max(order_events.c.at),
            )
            .join(orders, orders.c.order_id == order_events.c.order_id)
            .where(orders.c.merchant_id.in_(listening))
            .group_by(order_events.c.order_id, orders.c.merchant_id)
        )
        # order events are logged in seconds
        heads.extend(
            (("order", str(r[0])), str(r[1]), int(r[2]), int(r[3]) * 1000 + 999) for r in rows
        )
        cursors = {
            (str(r[0]), str(r[1])): int(r[2])
            for r in await self._read(select(feed.c.source, feed.c.stream_id, feed.c.seq))
        }
        behind = [
            source
            for source, merchant, head, last_at in heads
            if (source in cursors and cursors[source] < head)
            or (source not in cursors and last_at >= since[merchant])
        ]
        for source in behind:
            self._dirty[source] = None
        if behind:
            log.info("webhook feed resumes %d logs", len(behind))

    async def _read(self, query: Any) -> list[Any]:
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).all())

    # ---- feeding one log ---------------------------------------------------------------------
    async def feed(self, source: Source) -> tuple[bool, bool]:
        """Feed one log's next entries; ``(more left, deliveries written)``."""
        kind, stream_id = source
        if kind == "room":
            merchant = await self._merchant_of_room(stream_id)
        else:
            merchant = await self._merchant_of_order(stream_id)
        if merchant is None:
            raise _NotYet(source)
        if not await self._has_endpoints(merchant):
            return False, False
        markers: set[str] = set()
        async with begin_write(self._engine) as conn:
            listeners = await endpoints_of(conn, merchant)
            if not listeners:
                return False, False
            cursor = await conn.scalar(
                select(feed.c.seq).where(feed.c.source == kind, feed.c.stream_id == stream_id)
            )
            after = 0 if cursor is None else int(cursor)
            if kind == "room":
                last, messages, room_id = await self._room_messages(
                    conn, stream_id, merchant, after, markers
                )
            else:
                last, messages, room_id = await self._order_messages(
                    conn, stream_id, merchant, after
                )
            if last == after:
                return False, False
            # order events are logged to the second: one in the second the endpoint was
            # created in counts as after it
            slack = 0 if kind == "room" else 999
            rows = self._deliveries(listeners, messages, room_id, slack)
            try:
                await insert_deliveries(conn, rows)
            except IntegrityError as exc:
                raise _Raced(source) from exc
            await self._move(conn, kind, stream_id, cursor, last)
        for order_id in markers:
            self._dirty[("order", order_id)] = None
        return last - after >= _BATCH, bool(rows)

    def _deliveries(
        self,
        listeners: Sequence[Endpoint],
        messages: Sequence[tuple[str, Message]],
        room_id: str,
        slack: int,
    ) -> list[dict[str, Any]]:
        now = int(self._clock() * 1000)
        rows = []
        for index, (message_id, message) in enumerate(messages):
            body = json.dumps(envelope(message), separators=(",", ":"), sort_keys=True)
            for endpoint in listeners:
                if not endpoint.wants(message.type) or message.at + slack < endpoint.created_at:
                    continue
                rows.append(
                    {
                        "delivery_id": delivery_id(endpoint.endpoint_id, message_id),
                        "endpoint_id": endpoint.endpoint_id,
                        "message_id": message_id,
                        "event_type": message.type,
                        "room_id": room_id,
                        "position": now * 1000 + index,
                        "payload": body,
                        "created_at": now,
                    }
                )
        return rows

    @staticmethod
    async def _move(
        conn: AsyncConnection, kind: str, stream_id: str, cursor: int | None, last: int
    ) -> None:
        if cursor is None:
            try:
                await conn.execute(insert(feed).values(source=kind, stream_id=stream_id, seq=last))
            except IntegrityError as exc:
                raise _Raced((kind, stream_id)) from exc
            return
        result = await conn.execute(
            update(feed)
            .where(feed.c.source == kind, feed.c.stream_id == stream_id, feed.c.seq == cursor)
            .values(seq=last)
        )
        if int(result.rowcount) != 1:
            raise _Raced((kind, stream_id))

    async def _room_messages(
        self, conn: AsyncConnection, room_id: str, merchant: str, after: int, markers: set[str]
    ) -> tuple[int, list[tuple[str, Message]], str]:
        result = await conn.execute(
            select(room_events.c.seq, room_events.c.type, room_events.c.data, room_events.c.at)
            .where(room_events.c.room_id == room_id, room_events.c.seq > after)
            .order_by(room_events.c.seq)
            .limit(_BATCH)
        )
        entries = result.all()
        if not entries:
            return after, [], room_id
        last = int(entries[-1][0])
        names, lines = await _room_context(conn, room_id, last)
        messages = []
        for seq, event_type, raw, at in entries:
            data = json.loads(raw)
            if event_type in ORDER_MARKERS:
                markers.add(str(data["order_id"]))
            message = room_message(
                event_type, data, room_id=room_id, merchant_id=merchant, at=int(at),
                names=names, lines=lines,
            )  # fmt: skip
            if message is not None:
                messages.append((f"msg_room_{room_id}_{seq}", message))
        return last, messages, room_id

    async def _order_messages(
        self, conn: AsyncConnection, order_id: str, merchant: str, after: int
    ) -> tuple[int, list[tuple[str, Message]], str]:
        result = await conn.execute(
            select(order_events.c.seq, order_events.c.data, order_events.c.at)
            .where(order_events.c.order_id == order_id)
            .order_by(order_events.c.seq)
        )
        entries = result.all()
        if not entries or int(entries[-1][0]) <= after:
            return after, [], ""
        new = [entry for entry in entries if int(entry[0]) > after][:_BATCH]
        last = int(new[-1][0])
        events = [(int(seq), event_from_dict(json.loads(raw)), int(at)) for seq, raw, at in entries]
        first = events[0][1]
        assert isinstance(first, OrderOpened), "an order's log starts with OrderOpened"
        room_id = first.room_id
        names, _lines = await _room_context(conn, room_id, None)
        providers = {
            str(r[0]): str(r[1])
            for r in await conn.execute(
                select(sessions.c.session_id, sessions.c.provider).where(
                    sessions.c.order_id == order_id
                )
            )
        }
        # A live viewer's own order keeps its snapshot under the order's id (the room's
        # snapshots are the group's carts: server/checkout/viewer.py); a group order under the
        # room's id. The order's own row wins.
        raw_snapshot = None
        for key in (order_id, room_id):
            raw_snapshot = await conn.scalar(
                select(snapshots.c.data).where(
                    snapshots.c.room_id == key, snapshots.c.version == first.snapshot_version
                )
            )
            if raw_snapshot is not None:
                break
        snapshot = (
            None if raw_snapshot is None else CartSnapshot.from_dict(json.loads(raw_snapshot))
        )
        messages = []
        order: Order | None = None
        for seq, event, at in events:
            order = Order.opened(first) if order is None else order.apply(event)
            if after < seq <= last:
                message = order_message(
                    event, order, merchant_id=merchant, at=at * 1000, snapshot=snapshot,
                    names=names, providers=providers,
                )  # fmt: skip
                if message is not None:
                    messages.append((f"msg_order_{order_id}_{seq}", message))
        return last, messages, room_id

    # ---- lookups -----------------------------------------------------------------------------
    async def _merchant_of_room(self, room_id: str) -> str | None:
        known = self._merchants.get(room_id)
        if known is not None:
            return known
        async with self._engine.connect() as conn:
            found = await conn.scalar(select(rooms.c.merchant_id).where(rooms.c.room_id == room_id))
        if found is None:
            return None
        if len(self._merchants) >= _KNOWN:
            self._merchants.clear()
        self._merchants[room_id] = str(found)
        return str(found)

    async def _merchant_of_order(self, order_id: str) -> str | None:
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(orders.c.merchant_id).where(orders.c.order_id == order_id)
            )
        return None if found is None else str(found)

    async def _has_endpoints(self, merchant: str) -> bool:
        """Whether the merchant has an enabled endpoint (remembered ``endpoints_ttl_s``): a
        merchant without one costs the feed one read, never a write transaction."""
        known = self._listening.get(merchant)
        now = time.monotonic()
        if known is not None and known[1] > now:
            return known[0]
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(func.count()).where(
                    endpoints.c.merchant_id == merchant, endpoints.c.enabled.is_(True)
                )
            )
        self._listening[merchant] = (bool(found), now + self._ttl)
        return bool(found)


async def _room_context(
    conn: AsyncConnection, room_id: str, upto: int | None
) -> tuple[dict[str, str], dict[str, Mapping[str, Any]]]:
    """Display names by member id and ``LineAdded`` data by line id, from the room's log."""
    query = select(room_events.c.type, room_events.c.data).where(
        room_events.c.room_id == room_id, room_events.c.type.in_(_CONTEXT)
    )
    if upto is not None:
        query = query.where(room_events.c.seq <= upto)
    names: dict[str, str] = {}
    lines: dict[str, Mapping[str, Any]] = {}
    for event_type, raw in await conn.execute(query.order_by(room_events.c.seq)):
        data = json.loads(raw)
        if event_type == "MemberJoined":
            names[str(data["member_id"])] = str(data["display_name"])
        else:
            lines[str(data["line_id"])] = data
    return names, lines
