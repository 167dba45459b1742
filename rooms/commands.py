"""Commands: what someone asks a room to do (imperative names).

Commands are frozen, slotted dataclasses with JSON-friendly fields. Every class registers itself in
``BaseCommand.registry`` under its wire name (the class name) so the codec is table-driven. Classes
with ``client = False`` are built by the hub (``Join``: the role comes from the signed token) or
the checkout bridge (``SYSTEM_ACTOR``), and never decode from a client frame.
This module holds no rules: validation happens in :meth:`rooms.room.Room.decide`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rooms._fields import Id, Name, Note, Sku, Text, Url
from rooms.model import FollowMode, Role, SettleOutcome
from rooms.state import OrderLine, PricingIssue, ProductRef, WordEntry

__all__ = [
    "CLIENT_COMMANDS",
    "AddLine",
    "Announce",
    "AssignPayer",
    "Ban",
    "BaseCommand",
    "BeginSettlement",
    "BeginViewerOrder",
    "BringEveryoneHere",
    "CastPollVote",
    "ClaimDrop",
    "ClaimLine",
    "ClosePoll",
    "Command",
    "DeclinePayment",
    "DeleteMessage",
    "EndDrop",
    "Join",
    "Kick",
    "Leave",
    "LockAtDeadline",
    "LockCart",
    "MuteMember",
    "Nudge",
    "OpenPoll",
    "PinProduct",
    "PostMessage",
    "PromoteMember",
    "RecordHandoff",
    "RecordHoldout",
    "ReleaseDropClaim",
    "RemoveLine",
    "ReportPricing",
    "SetBuyTicker",
    "SetDeadline",
    "SetFollowMode",
    "SetMerchantWordList",
    "SetQuantity",
    "SetRoomWordList",
    "SetShowEnded",
    "SetSlowMode",
    "SetStream",
    "SettleOrder",
    "StartDrop",
    "Unban",
    "UnlockCart",
    "UnmuteMember",
    "UnpinProduct",
    "UpdateShare",
    "Vote",
]


class BaseCommand:
    """Base of every command: keeps the name registry."""

    __slots__ = ()
    registry: ClassVar[dict[str, type[BaseCommand]]] = {}
    client: ClassVar[bool] = True

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        BaseCommand.registry[cls.__name__] = cls


# --- membership -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Join(BaseCommand):
    client: ClassVar[bool] = False
    display_name: Name
    role: Role


@dataclass(frozen=True, slots=True)
class Leave(BaseCommand):
    pass


@dataclass(frozen=True, slots=True)
class Kick(BaseCommand):
    member_id: Id


@dataclass(frozen=True, slots=True)
class Ban(BaseCommand):
    member_id: Id


@dataclass(frozen=True, slots=True)
class Unban(BaseCommand):
    member_id: Id


@dataclass(frozen=True, slots=True)
class PromoteMember(BaseCommand):
    member_id: Id
    role: Role


# --- co-browse --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SetFollowMode(BaseCommand):
    mode: FollowMode


@dataclass(frozen=True, slots=True)
class BringEveryoneHere(BaseCommand):
    sku: Sku


# --- votes and polls --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Vote(BaseCommand):
    sku: Sku
    value: int  # -1, 0 (withdraw) or 1


@dataclass(frozen=True, slots=True)
class OpenPoll(BaseCommand):
    question: Note
    skus: tuple[Sku, ...]


@dataclass(frozen=True, slots=True)
class CastPollVote(BaseCommand):
    poll_id: Id
    sku: Sku


@dataclass(frozen=True, slots=True)
class ClosePoll(BaseCommand):
    poll_id: Id
    add_winner_to_cart: bool
    # the winner's variant to add, when it has variants (the client asks the host); without a
    # valid one such a winner is not added — a guess would put the wrong size in the cart
    variant: Sku | None = None


# --- cart -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AddLine(BaseCommand):
    sku: Sku
    variant: Id | None
    quantity: int
    note: Note = ""


@dataclass(frozen=True, slots=True)
class SetQuantity(BaseCommand):
    line_id: Id
    quantity: int


@dataclass(frozen=True, slots=True)
class RemoveLine(BaseCommand):
    line_id: Id


@dataclass(frozen=True, slots=True)
class ClaimLine(BaseCommand):
    line_id: Id


@dataclass(frozen=True, slots=True)
class AssignPayer(BaseCommand):
    line_id: Id
    member_id: Id


@dataclass(frozen=True, slots=True)
class DeclinePayment(BaseCommand):
    """The line's payer, made payer by someone else, gives it back (to the line's adder)."""

    line_id: Id


# --- chat and moderation ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PostMessage(BaseCommand):
    """Say something in chat; with ``product``, share a catalogue product as a card.

    ``text`` may be empty only when a product is shared. ``product`` is optional on the wire, so
    clients that never send it keep working.
    """

    text: Text = ""
    product: ProductRef | None = None


@dataclass(frozen=True, slots=True)
class DeleteMessage(BaseCommand):
    message_id: Id


@dataclass(frozen=True, slots=True)
class MuteMember(BaseCommand):
    member_id: Id
    until: int | None  # ms since the epoch; None: until unmuted


@dataclass(frozen=True, slots=True)
class UnmuteMember(BaseCommand):
    member_id: Id


@dataclass(frozen=True, slots=True)
class SetSlowMode(BaseCommand):
    seconds: int  # 0 turns slow mode off


@dataclass(frozen=True, slots=True)
class SetRoomWordList(BaseCommand):
    """Replace the room's own word list (rooms/wordlist.py); an empty tuple clears it."""

    entries: tuple[WordEntry, ...]


@dataclass(frozen=True, slots=True)
class SetMerchantWordList(BaseCommand):
    """The server feeds in the merchant's word list (set over REST with the API key)."""

    client: ClassVar[bool] = False
    entries: tuple[WordEntry, ...]


# --- stage ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PinProduct(BaseCommand):
    sku: Sku


@dataclass(frozen=True, slots=True)
class UnpinProduct(BaseCommand):
    sku: Sku


@dataclass(frozen=True, slots=True)
class Announce(BaseCommand):
    text: Text


@dataclass(frozen=True, slots=True)
class SetStream(BaseCommand):
    url: Url | None


@dataclass(frozen=True, slots=True)
class SetShowEnded(BaseCommand):
    """The show API tells the room that its show ended (``POST …/show/end``, or a recording
    published, which ends it too): ``ended_at`` ms since the epoch, ``replay`` whether the
    recording is set (``/r/{room}/replay`` plays it). The room's open pages switch to "The show
    has ended" and link the replay."""

    client: ClassVar[bool] = False
    ended_at: int
    replay: bool


# --- checkout ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LockCart(BaseCommand):
    pass


@dataclass(frozen=True, slots=True)
class UnlockCart(BaseCommand):
    pass


@dataclass(frozen=True, slots=True)
class SetDeadline(BaseCommand):
    """The host sets when the cart closes (ms since the epoch), or clears it (None)."""

    closes_at: int | None


@dataclass(frozen=True, slots=True)
class LockAtDeadline(BaseCommand):
    """The server locks the cart because its deadline came (rooms/rules/deadline.py)."""

    client: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Nudge(BaseCommand):
    """Remind one member who has added nothing yet (open cart) or not paid (settling)."""

    member_id: Id


@dataclass(frozen=True, slots=True)
class BeginSettlement(BaseCommand):
    client: ClassVar[bool] = False
    order_id: Id
    snapshot_version: int


@dataclass(frozen=True, slots=True)
class SettleOrder(BaseCommand):
    client: ClassVar[bool] = False
    order_id: Id
    outcome: SettleOutcome


@dataclass(frozen=True, slots=True)
class UpdateShare(BaseCommand):
    client: ClassVar[bool] = False
    order_id: Id
    payer: Id
    status: Id
    amount_minor: int


@dataclass(frozen=True, slots=True)
class ReportPricing(BaseCommand):
    """The checkout bridge's pricing of the locked cart, shown to everyone before anyone pays."""

    client: ClassVar[bool] = False
    snapshot_version: int
    currency: Id
    total_minor: int
    ready: bool
    issues: tuple[PricingIssue, ...]


@dataclass(frozen=True, slots=True)
class RecordHoldout(BaseCommand):
    """The group's choice for a payer who did not pay (the checkout bridge re-planned the
    order): ``choice`` "host_covers", "split_others" or "drop_lines"; ``covered_by`` who takes
    the share over; ``dropped_line_ids`` the lines left out of the order."""

    client: ClassVar[bool] = False
    order_id: Id
    payer: Id
    choice: Id
    covered_by: tuple[Id, ...]
    dropped_line_ids: tuple[Id, ...]


@dataclass(frozen=True, slots=True)
class BeginViewerOrder(BaseCommand):
    """A live viewer checks out their own lines (the bridge opened ``order_id`` for them):
    those lines freeze while the show goes on (rooms/rules/viewer_orders.py)."""

    client: ClassVar[bool] = False
    order_id: Id
    payer: Id
    lines: tuple[OrderLine, ...]
    total_minor: int
    currency: Id
    deadline_at: int | None = None  # ms since the epoch: the end of its payment window


@dataclass(frozen=True, slots=True)
class SetBuyTicker(BaseCommand):
    """The host switches the "someone just bought …" ticker for the audience on or off."""

    on: bool


@dataclass(frozen=True, slots=True)
class RecordHandoff(BaseCommand):
    client: ClassVar[bool] = False
    url: Url


# --- drops (a live show's timed deals: rooms/rules/drops.py) -----------------------------------
@dataclass(frozen=True, slots=True)
class StartDrop(BaseCommand):
    """The host starts a timed deal on a pinned product: ``quantity`` units at ``price_minor``
    (the merchant's currency), at most ``per_buyer_limit`` per viewer, for ``duration_s``
    seconds (10 s to 20 min). ``variant`` fixes the variant; None lets each viewer pick."""

    sku: Sku
    variant: Id | None
    price_minor: int
    quantity: int
    per_buyer_limit: int
    duration_s: int


@dataclass(frozen=True, slots=True)
class EndDrop(BaseCommand):
    """The host ends a drop before its time (no new claims; held ones stay held)."""

    drop_id: Id


@dataclass(frozen=True, slots=True)
class ClaimDrop(BaseCommand):
    """A viewer claims ``quantity`` units of the running drop (``variant``: their pick when the
    host did not fix one). The first claims committed win; the rest are refused."""

    drop_id: Id
    variant: Id | None = None
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class ReleaseDropClaim(BaseCommand):
    """The checkout bridge gives a won claim back (its order could not be opened, or its hold
    lapsed before any order held it): the units return to the drop while it runs."""

    client: ClassVar[bool] = False
    line_id: Id
    reason: Id


Command = (
    Join
    | Leave
    | Kick
    | Ban
    | Unban
    | PromoteMember
    | SetFollowMode
    | BringEveryoneHere
    | Vote
    | OpenPoll
    | CastPollVote
    | ClosePoll
    | AddLine
    | SetQuantity
    | RemoveLine
    | ClaimLine
    | AssignPayer
    | DeclinePayment
    | PostMessage
    | DeleteMessage
    | MuteMember
    | UnmuteMember
    | SetSlowMode
    | SetRoomWordList
    | SetMerchantWordList
    | PinProduct
    | UnpinProduct
    | Announce
    | SetStream
    | SetShowEnded
    | LockCart
    | UnlockCart
    | SetDeadline
    | LockAtDeadline
    | Nudge
    | BeginSettlement
    | SettleOrder
    | UpdateShare
    | ReportPricing
    | RecordHandoff
    | RecordHoldout
    | BeginViewerOrder
    | SetBuyTicker
    | StartDrop
    | EndDrop
    | ClaimDrop
    | ReleaseDropClaim
)

CLIENT_COMMANDS: frozenset[str] = frozenset(
    name for name, cls in BaseCommand.registry.items() if cls.client
)
