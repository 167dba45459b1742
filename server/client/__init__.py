"""coshop's async Python client: one room over WebSockets, plus the REST calls to get there.

Used by the tests, the benchmarks and bots. The protocol it speaks is ``docs/protocol.md``::

    room = await create_room(base, "group", "Weekend", "Ana")
    async with CoshopClient(room["links"]["ws"], room["host"]["token"]) as client:
        ack = await client.command("PostMessage", {"text": "hi"})
        event = await client.next_event("MessagePosted")

It imports nothing from the server's hub, storage or rooms: only the wire codecs and the
protocol's constants (:mod:`server.protocol`, pure modules).
"""

from __future__ import annotations

from server.client.connection import CLOSE_ACTIONS, CoshopClient, State
from server.client.errors import (
    ApiError,
    ClientError,
    CommandRefused,
    CommandTimeout,
    ConnectionFailed,
    ProtocolViolation,
    ServerClosed,
)
from server.client.frames import Ack, Event, Notice, ServerError, Welcome
from server.client.rest import create_invite, create_room, join_room, room_snapshot
from server.protocol.close import CloseAction, CloseCode

__all__ = [
    "CLOSE_ACTIONS",
    "Ack",
    "ApiError",
    "ClientError",
    "CloseAction",
    "CloseCode",
    "CommandRefused",
    "CommandTimeout",
    "ConnectionFailed",
    "CoshopClient",
    "Event",
    "Notice",
    "ProtocolViolation",
    "ServerClosed",
    "ServerError",
    "State",
    "Welcome",
    "create_invite",
    "create_room",
    "join_room",
    "room_snapshot",
]
