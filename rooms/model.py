"""Vocabulary of the room core: kinds, roles, phases, limits and the caller-supplied context.

Nothing here decides anything; the rules live in :mod:`rooms.permissions` and :mod:`rooms.rules`.
The caller (the hub) supplies time and fresh ids through :class:`Context`: this package never
reads a clock and never draws random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from rooms.catalog import Catalog

__all__ = [
    "RANK",
    "STAFF",
    "SYSTEM_ACTOR",
    "Context",
    "FollowMode",
    "Phase",
    "Role",
    "RoomKind",
    "RoomLimits",
    "SettleOutcome",
    "StreamKind",
]

SYSTEM_ACTOR: Final = "system"
"""The server itself (checkout bridge, hub): never a member, never a client."""


class RoomKind(StrEnum):
    GROUP = "group"  # a few friends, everyone edits one cart
    LIVE = "live"  # a host on stage and an audience of thousands


class Role(StrEnum):
    HOST = "host"
    COHOST = "cohost"
    MODERATOR = "moderator"
    ASSOCIATE = "associate"  # store staff
    MEMBER = "member"
    VIEWER = "viewer"


class Phase(StrEnum):
    OPEN = "open"
    LOCKED = "locked"
    SETTLING = "settling"


FollowMode = Literal["follow_host", "free"]
SettleOutcome = Literal["paid", "void"]
StreamKind = Literal["hls", "embed"]

RANK: dict[Role, int] = {
    Role.HOST: 5,
    Role.COHOST: 4,
    Role.MODERATOR: 3,
    Role.ASSOCIATE: 2,
    Role.MEMBER: 1,
    Role.VIEWER: 0,
}
"""Nobody may kick, ban, mute or promote someone of equal or higher rank."""

STAFF: frozenset[Role] = frozenset({Role.HOST, Role.COHOST, Role.MODERATOR, Role.ASSOCIATE})
"""Roles shown on stage in live rooms and exempt from slow mode."""


@dataclass(frozen=True, slots=True)
class RoomLimits:
    """Caps of one room, fixed when it opens and carried in ``RoomOpened``."""

    max_members: int = 12
    max_lines: int = 50
    max_lines_per_member: int = 50
    max_open_polls: int = 3
    max_closed_polls: int = 10
    max_pins: int = 6
    chat_history: int = 200
    announcement_history: int = 20

    @classmethod
    def for_kind(cls, kind: RoomKind) -> RoomLimits:
        """The default limits of a room kind."""
        if kind is RoomKind.LIVE:
            return cls(max_members=10_000, max_lines=5_000, max_lines_per_member=10)
        return cls()


@dataclass(frozen=True, slots=True)
class Context:
    """Who issues a command, when, and what the caller knows (catalogue, a fresh id)."""

    actor: str  # member id (from the signed token) or SYSTEM_ACTOR
    now: int  # milliseconds since the epoch, from the caller's clock
    new_id: str  # fresh unique id; events derive their ids from it
    catalog: Catalog
