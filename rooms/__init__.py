"""coshop's pure room core: the rules of every room, with no I/O.

Commands go in, frozen past-tense events come out (:meth:`Room.decide`), and :meth:`Room.apply`
folds events into state, so :meth:`Room.replay` rebuilds a room from its stored log. Time and ids
come from the caller in a :class:`Context`. This package must never import asyncio, starlette,
sqlalchemy, redis, msgpack, httpx, os, socket, random, uuid, secrets or time, nor read a clock
(``tests/rooms/test_purity.py`` enforces it). See ``docs/rooms.md``.
"""

from __future__ import annotations

from rooms.audience import EVERYONE, STAFF_ONLY, Audience, audience
from rooms.cardgate import redact_card_numbers
from rooms.catalog import Catalog, ProductFacts, StaticCatalog
from rooms.codec import command_from_wire, event_from_wire, event_to_wire, signal_from_wire
from rooms.commands import CLIENT_COMMANDS, Command
from rooms.errors import InvalidCommand, LimitExceeded, NotAllowed, NotFound, PhaseError, RoomError
from rooms.events import Event
from rooms.model import SYSTEM_ACTOR, Context, Phase, Role, RoomKind, RoomLimits
from rooms.room import Room
from rooms.rules.membership import open_room
from rooms.signals import Signal

__all__ = [
    "CLIENT_COMMANDS",
    "EVERYONE",
    "STAFF_ONLY",
    "SYSTEM_ACTOR",
    "Audience",
    "Catalog",
    "Command",
    "Context",
    "Event",
    "InvalidCommand",
    "LimitExceeded",
    "NotAllowed",
    "NotFound",
    "Phase",
    "PhaseError",
    "ProductFacts",
    "Role",
    "Room",
    "RoomError",
    "RoomKind",
    "RoomLimits",
    "Signal",
    "StaticCatalog",
    "audience",
    "command_from_wire",
    "event_from_wire",
    "event_to_wire",
    "open_room",
    "redact_card_numbers",
    "signal_from_wire",
]
