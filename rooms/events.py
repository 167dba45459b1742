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
from rooms.state import OrderLine, PricingIssue, SharedProduct, WordEntry

__all__ = [
    "Announced",
    "BaseEvent",
    "BuyTickerSet",
    "CartLocked",
    "CartUnlocked",
    "DeadlineSet",
    "DropClaimReleased",
    "DropClaimed",
    "DropEnded",
    "DropRemaining",
    "DropStarted",
    "Event",
    "EveryoneBrought",
    "FollowModeSet",
    "HandoffRecorded",
    "HoldoutResolved",
    "LineAdded",
    "LineRemoved",
    "MemberBanned",
    "MemberJoined",
    "MemberKicked",
    "MemberLeft",
    "MemberMuted",
    "MemberNudged",
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
    "PurchaseShown",
    "QuantityChanged",
    "RoomOpened",
    "SettlementBegan",
    "ShareUpdated",
    "ShowEnded",
    "SlowModeSet",
    "StreamSet",
    "ViewerOrderBegan",
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
    # A catalogue product shared with the message, as it was then (a card in chat); None for
    # plain text and in events logged before it existed.
    product: SharedProduct | None = None


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


@dataclass(frozen=True, slots=True)
class ShowEnded(BaseEvent):
    """The room's show ended at ``ended_at`` (public); ``replay``: its recording is set."""

    ended_at: int
    replay: bool


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
class DeadlineSet(BaseEvent):
    """When the cart closes (ms since the epoch); None: no deadline. ``by`` "system" clears a
    deadline that came while the cart was empty (nothing to lock)."""

    closes_at: int | None
    by: str
    at: int


@dataclass(frozen=True, slots=True)
class MemberNudged(BaseEvent):
    """A reminder for one member: "add" (nothing added or claimed yet) or "pay" (share unpaid)."""

    member_id: str
    reason: str
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
class HoldoutResolved(BaseEvent):
    """The group's choice for a payer who did not pay: the host covers their share, the other
    payers split it, or their lines are dropped from the order (and the cart)."""

    order_id: str
    payer: str
    choice: str
    covered_by: tuple[str, ...]
    dropped_line_ids: tuple[str, ...]
    at: int


@dataclass(frozen=True, slots=True)
class ViewerOrderBegan(BaseEvent):
    """A live viewer's own order opened: ``lines`` (theirs) are frozen until it is paid (they
    leave the cart) or void (they thaw). Its share updates and settlement come as
    ``ShareUpdated`` and ``OrderSettled`` with this ``order_id``."""

    order_id: str
    payer: str
    lines: tuple[OrderLine, ...]
    total_minor: int
    currency: str
    at: int
    deadline_at: int | None = None  # ms since the epoch: pay by then (None: logs before it)


@dataclass(frozen=True, slots=True)
class BuyTickerSet(BaseEvent):
    """The host switched the audience's "someone just bought …" ticker on or off."""

    on: bool
    by: str


@dataclass(frozen=True, slots=True)
class PurchaseShown(BaseEvent):
    """For the ticker: a viewer's order was paid. ``buyer`` is their first name or "Someone";
    ``title`` the first product's title. Never an amount, never an id."""

    buyer: str
    title: str
    more: int  # other products in the same order
    at: int


@dataclass(frozen=True, slots=True)
class HandoffRecorded(BaseEvent):
    url: str
    at: int


# --- drops (rooms/rules/drops.py) --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DropStarted(BaseEvent):
    """A timed deal began (public): its terms, and ``ends_at`` (ms since the epoch) that every
    client counts down to. ``regular_minor`` is the product's own price, shown struck through."""

    drop_id: str
    sku: str
    variant: str | None
    title: str
    price_minor: int
    regular_minor: int
    currency: str
    quantity: int
    per_buyer_limit: int
    duration_s: int
    ends_at: int
    image: str | None
    by: str
    at: int


@dataclass(frozen=True, slots=True)
class DropEnded(BaseEvent):
    """A drop ended (public): ``reason`` "host" (ended early) or "time" (closed after its
    time, when the next drop starts or the host closes it)."""

    drop_id: str
    sku: str
    reason: str
    remaining: int
    by: str
    at: int


@dataclass(frozen=True, slots=True)
class DropClaimed(BaseEvent):
    """A viewer's claim won (to that viewer and staff only): ``quantity`` units held for them
    as the cart line ``line_id`` at the drop price, until ``hold_until`` unless an order holds
    it by then. Other viewers learn only the count (``DropRemaining``)."""

    drop_id: str
    line_id: str
    member_id: str
    variant: str | None
    quantity: int
    price_minor: int
    hold_until: int
    at: int


@dataclass(frozen=True, slots=True)
class DropClaimReleased(BaseEvent):
    """A claim was given back (to its viewer and staff): ``reason`` "not_paid" (its order went
    void), "expired" (no order held it in time) or the bridge's reason."""

    drop_id: str
    line_id: str
    member_id: str
    reason: str
    at: int


@dataclass(frozen=True, slots=True)
class DropRemaining(BaseEvent):
    """A drop's counts changed (public): units ``remaining`` to claim, and units ``sold``
    (paid). Names nobody."""

    drop_id: str
    remaining: int
    sold: int
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
    | ShowEnded
    | CartLocked
    | CartUnlocked
    | DeadlineSet
    | MemberNudged
    | SettlementBegan
    | ShareUpdated
    | OrderSettled
    | PricingReported
    | HandoffRecorded
    | HoldoutResolved
    | ViewerOrderBegan
    | BuyTickerSet
    | PurchaseShown
    | DropStarted
    | DropEnded
    | DropClaimed
    | DropClaimReleased
    | DropRemaining
)
