"""Events: facts a room has accepted (past-tense names), the durable log of a room.

Events are frozen, slotted dataclasses with JSON-friendly fields; each registers itself in
``BaseEvent.registry`` under its wire name (the class name). The hub numbers and stores them;
:meth:`rooms.room.Room.apply` folds them into state and never fails. Events carry everything
``apply`` needs (ids, actors, times), so replaying the log needs no catalogue and no clock.
This module holds no rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from rooms.model import FollowMode, Role, RoomKind, RoomLimits, SettleOutcome, StreamKind
from rooms.state import PricingIssue, WordEntry

__all__ = [
    "Announced",
    "BaseEvent",
    "CartLocked",
    "CartUnlocked",
    "Event",
    "EveryoneBrought",
    "FollowModeSet",
    "HandoffRecorded",
    "LineAdded",
    "LineRemoved",
    "MemberBanned",
    "MemberJoined",
    "MemberKicked",
    "MemberLeft",
    "MemberMuted",
    "MemberPromoted",
    "MemberUnbanned",
    "MemberUnmuted",
    "MessageBlocked",
    "MessageDeleted",
    "MessagePosted",
    "OrderSettled",
    "PayerAssigned",
    "PollClosed",
    "PollOpened",
    "PollVoteCast",
    "PricingReported",
    "ProductPinned",
    "ProductUnpinned",
    "QuantityChanged",
    "RoomOpened",
    "SettlementBegan",
    "ShareUpdated",
    "SlowModeSet",
    "StreamSet",
    "VoteCast",
    "WordListSet",
]


class BaseEvent:
    """Base of every event: keeps the name registry."""

    __slots__ = ()
    registry: ClassVar[dict[str, type[BaseEvent]]] = {}

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        BaseEvent.registry[cls.__name__] = cls


# --- membership -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RoomOpened(BaseEvent):
    room_id: str
    kind: RoomKind
    title: str
    host_id: str
    limits: RoomLimits
    redacted: bool
    at: int


@dataclass(frozen=True, slots=True)
class MemberJoined(BaseEvent):
    member_id: str
    display_name: str
    role: Role
    redacted: bool
    at: int


@dataclass(frozen=True, slots=True)
class MemberLeft(BaseEvent):
    member_id: str
    at: int


@dataclass(frozen=True, slots=True)
class MemberKicked(BaseEvent):
    member_id: str
    by: str
    at: int


@dataclass(frozen=True, slots=True)
class MemberBanned(BaseEvent):
    member_id: str
    by: str
    at: int


@dataclass(frozen=True, slots=True)
class MemberUnbanned(BaseEvent):
    member_id: str
    by: str


@dataclass(frozen=True, slots=True)
class MemberPromoted(BaseEvent):
    member_id: str
    role: Role
    by: str


# --- co-browse --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FollowModeSet(BaseEvent):
    mode: FollowMode
    by: str


@dataclass(frozen=True, slots=True)
class EveryoneBrought(BaseEvent):
    sku: str
    by: str
    at: int


# --- votes and polls --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VoteCast(BaseEvent):
    sku: str
    member_id: str
    value: int  # 0: the vote was withdrawn


@dataclass(frozen=True, slots=True)
class PollOpened(BaseEvent):
    poll_id: str
    question: str
    options: tuple[str, ...]
    opened_by: str
    redacted: bool
    at: int


@dataclass(frozen=True, slots=True)
class PollVoteCast(BaseEvent):
    poll_id: str
    member_id: str
    sku: str


@dataclass(frozen=True, slots=True)
class PollClosed(BaseEvent):
    poll_id: str
    winner: str | None  # None when nobody voted
    counts: tuple[int, ...]  # per option, in option order
    by: str
    at: int


# --- cart -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LineAdded(BaseEvent):
    line_id: str
    sku: str
    variant: str | None
    quantity: int
    note: str
    redacted: bool
    added_by: str
    payer: str
    title: str  # catalogue facts as shown, for display only
    price_minor: int
    currency: str
    at: int


@dataclass(frozen=True, slots=True)
class QuantityChanged(BaseEvent):
    line_id: str
    quantity: int
    by: str


@dataclass(frozen=True, slots=True)
class LineRemoved(BaseEvent):
    line_id: str
    by: str


@dataclass(frozen=True, slots=True)
class PayerAssigned(BaseEvent):
    line_id: str
    payer: str
    by: str


# --- chat and moderation ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MessagePosted(BaseEvent):
    message_id: str
    author: str
    text: str
    redacted: bool
    at: int
    author_name: str = ""  # the author's display name when posted (live audiences have no roster)
    # The author's role when posted, from the room (never from the typed name): clients show
    # staff badges from it. "" in events logged before it existed.
    author_role: str = ""


@dataclass(frozen=True, slots=True)
class MessageDeleted(BaseEvent):
    message_id: str
    by: str


@dataclass(frozen=True, slots=True)
class MemberMuted(BaseEvent):
    member_id: str
    until: int | None
    by: str
    # "" when a moderator muted them; "blocked_words" when the room did, after repeated
    # messages refused for a listed word (rooms/rules/chat.py)
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MemberUnmuted(BaseEvent):
    member_id: str
    by: str


@dataclass(frozen=True, slots=True)
class SlowModeSet(BaseEvent):
    seconds: int
    by: str


@dataclass(frozen=True, slots=True)
class MessageBlocked(BaseEvent):
    """A message refused for a listed word: told to its author and staff, never posted.

    It holds the listed words it matched, not the text. ``strikes`` counts the author's blocked
    messages within the strike window, this one included (rooms/rules/chat.py).
    """

    author: str
    author_name: str
    words: tuple[str, ...]
    strikes: int
    at: int


@dataclass(frozen=True, slots=True)
class WordListSet(BaseEvent):
    """A word list replaced: the room's own (by a moderator) or its merchant's (by the server)."""

    scope: Literal["room", "merchant"]
    entries: tuple[WordEntry, ...]
    by: str


# --- stage ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ProductPinned(BaseEvent):
    sku: str
    by: str


@dataclass(frozen=True, slots=True)
class ProductUnpinned(BaseEvent):
    sku: str
    by: str


@dataclass(frozen=True, slots=True)
class Announced(BaseEvent):
    announcement_id: str
    text: str
    redacted: bool
    by: str
    at: int


@dataclass(frozen=True, slots=True)
class StreamSet(BaseEvent):
    url: str | None
    stream_kind: StreamKind | None
    by: str


# --- checkout ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CartLocked(BaseEvent):
    by: str
    at: int


@dataclass(frozen=True, slots=True)
class CartUnlocked(BaseEvent):
    by: str
    at: int


@dataclass(frozen=True, slots=True)
class SettlementBegan(BaseEvent):
    order_id: str
    snapshot_version: int
    at: int


@dataclass(frozen=True, slots=True)
class ShareUpdated(BaseEvent):
    order_id: str
    payer: str
    status: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class OrderSettled(BaseEvent):
    order_id: str
    outcome: SettleOutcome
    at: int


@dataclass(frozen=True, slots=True)
class PricingReported(BaseEvent):
    snapshot_version: int
    currency: str
    total_minor: int
    ready: bool
    issues: tuple[PricingIssue, ...]
    at: int


@dataclass(frozen=True, slots=True)
class HandoffRecorded(BaseEvent):
    url: str
    at: int


Event = (
    RoomOpened
    | MemberJoined
    | MemberLeft
    | MemberKicked
    | MemberBanned
    | MemberUnbanned
    | MemberPromoted
    | FollowModeSet
    | EveryoneBrought
    | VoteCast
    | PollOpened
    | PollVoteCast
    | PollClosed
    | LineAdded
    | QuantityChanged
    | LineRemoved
    | PayerAssigned
    | MessagePosted
    | MessageDeleted
    | MemberMuted
    | MemberUnmuted
    | SlowModeSet
    | MessageBlocked
    | WordListSet
    | ProductPinned
    | ProductUnpinned
    | Announced
    | StreamSet
    | CartLocked
    | CartUnlocked
    | SettlementBegan
    | ShareUpdated
    | OrderSettled
    | PricingReported
    | HandoffRecorded
)
