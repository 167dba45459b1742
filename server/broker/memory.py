"""The in-memory broker: everything inside one process, no network.

:class:`InMemoryBus` plays the part of Redis: brokers sharing one bus behave like processes
sharing one Redis, which is how the contract tests simulate two processes. Delivery is
synchronous (``publish`` calls the other brokers' handlers before it returns), presence expires
by the bus's clock. It never becomes unhealthy and never calls ``on_reconnect``.

Must not: do I/O, import redis, or keep state outside the bus and its brokers.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping

from server.broker.base import BrokerMessage, Handler
from server.broker.errors import BrokerClosed
from server.broker.framing import check_kind
from server.broker.names import check_process_id, check_room_id, check_ttl

__all__ = ["InMemoryBroker", "InMemoryBus"]

log = logging.getLogger("coshop.broker")


class InMemoryBus:
    """The shared medium of a set of :class:`InMemoryBroker` instances (the "Redis" stand-in)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # room_id -> process_id -> handler
        self._subscribers: dict[str, dict[str, Handler]] = {}
        # room_id -> process_id -> (members, expires_at)
        self._presence: dict[str, dict[str, tuple[dict[str, str], float]]] = {}

    def subscribe(self, room_id: str, process_id: str, handler: Handler) -> None:
        self._subscribers.setdefault(room_id, {})[process_id] = handler

    def unsubscribe(self, room_id: str, process_id: str) -> None:
        room = self._subscribers.get(room_id)
        if room is not None:
            room.pop(process_id, None)
            if not room:
                del self._subscribers[room_id]

    def has_other_subscribers(self, room_id: str, process_id: str) -> bool:
        room = self._subscribers.get(room_id)
        return room is not None and any(other != process_id for other in room)

    def publish(self, message: BrokerMessage) -> None:
        # Copy: a handler may (indirectly) subscribe or unsubscribe while we iterate.
        for process_id, handler in list(self._subscribers.get(message.room_id, {}).items()):
            if process_id == message.origin:
                continue
            try:
                handler(message)
            except Exception:
                # One broken handler must not keep the message from the other processes.
                log.exception("broker handler failed", extra={"room_id": message.room_id})

    def set_presence(
        self, room_id: str, process_id: str, members: Mapping[str, str], ttl_s: int
    ) -> None:
        room = self._presence.setdefault(room_id, {})
        if members:
            room[process_id] = (dict(members), self._clock() + ttl_s)
        else:
            room.pop(process_id, None)
        if not room:
            del self._presence[room_id]

    def present_processes(self, room_id: str) -> set[str]:
        room = self._presence.get(room_id, {})
        now = self._clock()
        for process_id in [p for p, (_, expires) in room.items() if expires <= now]:
            del room[process_id]
        return set(room)

    def presence(self, room_id: str) -> dict[str, str]:
        room = self._presence.get(room_id, {})
        union: dict[str, str] = {}
        for process_id in sorted(self.present_processes(room_id)):
            union.update(room[process_id][0])
        return union


class InMemoryBroker:
    """A :class:`~server.broker.base.Broker` for one process (or one simulated process on a bus)."""

    def __init__(self, bus: InMemoryBus | None = None, *, process_id: str | None = None) -> None:
        self.process_id = check_process_id(process_id or uuid.uuid4().hex)
        self.on_reconnect: Callable[[], None] | None = None
        self._bus = bus if bus is not None else InMemoryBus()
        self._started = False
        self._rooms: set[str] = set()
        self._presence_rooms: set[str] = set()

    @property
    def healthy(self) -> bool:
        return self._started

    async def start(self) -> None:
        self._started = True

    async def close(self) -> None:
        if not self._started:
            return
        self._started = False
        for room_id in self._rooms:
            self._bus.unsubscribe(room_id, self.process_id)
        for room_id in self._presence_rooms:
            self._bus.set_presence(room_id, self.process_id, {}, 0)
        self._rooms.clear()
        self._presence_rooms.clear()

    async def subscribe(self, room_id: str, handler: Handler) -> None:
        self._require_started()
        self._bus.subscribe(check_room_id(room_id), self.process_id, handler)
        self._rooms.add(room_id)

    async def unsubscribe(self, room_id: str) -> None:
        self._require_started()
        self._bus.unsubscribe(room_id, self.process_id)
        self._rooms.discard(room_id)

    async def publish(self, room_id: str, kind: str, payload: bytes) -> None:
        self._require_started()
        message = BrokerMessage(
            room_id=check_room_id(room_id),
            kind=check_kind(kind),
            origin=self.process_id,
            payload=bytes(payload),
        )
        self._bus.publish(message)

    def others_may_listen(self, room_id: str) -> bool:
        return self._bus.has_other_subscribers(room_id, self.process_id)

    async def set_presence(self, room_id: str, member_ids: Mapping[str, str], ttl_s: int) -> None:
        self._require_started()
        check_ttl(ttl_s)
        self._bus.set_presence(check_room_id(room_id), self.process_id, member_ids, ttl_s)
        if member_ids:
            self._presence_rooms.add(room_id)
        else:
            self._presence_rooms.discard(room_id)

    async def presence(self, room_id: str) -> dict[str, str]:
        self._require_started()
        return self._bus.presence(check_room_id(room_id))

    async def present_processes(self, room_id: str) -> set[str]:
        self._require_started()
        return self._bus.present_processes(check_room_id(room_id))

    async def viewer_count(self, room_id: str) -> int:
        return len(await self.presence(room_id))

    def _require_started(self) -> None:
        if not self._started:
            raise BrokerClosed("the broker is not started")
