"""The broker interface: what the hub may ask of whatever carries messages between processes.

The broker only *notifies*. Committed events live in the SQL room log; a ``"events"`` message
tells other processes that a room's log grew (the payload is the hub's encoded batch, so they
usually need not read it back). Losing a broker message is therefore never fatal: when the hub
sees a seq gap, or when :attr:`Broker.on_reconnect` fires, it re-reads the log by seq.
``"signal"`` messages (typing, viewing, reactions, viewer counts) are ephemeral and may be lost.

Implementations: :class:`~server.broker.memory.InMemoryBroker` (one process) and
:class:`~server.broker.redis_broker.RedisBroker` (several processes). Both pass
``tests/server/broker/test_contract.py``. This module does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Broker", "BrokerMessage", "Handler"]


@dataclass(frozen=True, slots=True)
class BrokerMessage:
    """One message another process published to a room."""

    room_id: str
    kind: str  # "events" or "signal"
    origin: str  # process_id of the publisher; never our own
    payload: bytes


Handler = Callable[[BrokerMessage], None]
"""Called in the broker's listener; must not block or await (the hub enqueues and returns)."""


class Broker(Protocol):
    """Carries committed-event notifications, ephemeral signals and presence between processes."""

    process_id: str
    on_reconnect: Callable[[], None] | None
    """Called after the listener lost its connection, reconnected and re-subscribed every room;
    messages published in between were lost, so the hub re-reads each room's log."""

    async def start(self) -> None:
        """Connect and start the supervised listener."""

    async def close(self) -> None:
        """Stop the listener, withdraw this process's presence, release connections."""

    async def subscribe(self, room_id: str, handler: Handler) -> None:
        """Deliver the room's messages from other processes to ``handler``.

        The hub subscribes when a room gets its first local member and unsubscribes when the
        last one leaves. When this returns the subscription is active (or, if the shared broker
        is down, will be restored before :attr:`on_reconnect` fires). Subscribing again replaces
        the handler."""

    async def unsubscribe(self, room_id: str) -> None:
        """Stop delivering the room's messages; unknown rooms are ignored."""

    async def publish(self, room_id: str, kind: str, payload: bytes) -> None:
        """Send to every *other* process subscribed to the room; raises ``BrokerUnavailable``."""

    def others_may_listen(self, room_id: str) -> bool:
        """False only when no other process can be subscribed to the room right now.

        Lets a process skip encoding and publishing what nobody would receive (one process on
        the in-memory broker: the default deployment). A broker that cannot tell cheaply
        says True."""

    async def set_presence(self, room_id: str, member_ids: Mapping[str, str], ttl_s: int) -> None:
        """Replace this process's present members of a room (member_id -> display name).

        The entry expires after ``ttl_s`` seconds unless set again (the hub refreshes it
        regularly), so members of a process that died vanish by themselves. An empty mapping
        withdraws the entry at once."""

    async def presence(self, room_id: str) -> dict[str, str]:
        """Union of the present members of a room across all live processes."""

    async def present_processes(self, room_id: str) -> set[str]:
        """Ids of the processes (this one included) whose presence entry for the room is alive.

        Cheap whatever the audience (no names are read): the hub asks it to forget the members
        of processes that died without saying goodbye."""

    async def viewer_count(self, room_id: str) -> int:
        """Number of distinct present members of a room across all live processes."""

    @property
    def healthy(self) -> bool:
        """False while the shared broker is unreachable (always True in memory once started)."""
