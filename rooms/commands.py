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
from rooms.state import PricingIssue, WordEntry

__all__ = [
    "CLIENT_COMMANDS",
    "AddLine",
    "Announce",
    "AssignPayer",
    "Ban",
    "BaseCommand",
    "BeginSettlement",
    "BringEveryoneHere",
    "CastPollVote",
    "ClaimLine",
    "ClosePoll",
    "Command",
    "DeclinePayment",
    "DeleteMessage",
    "Join",
    "Kick",
    "Leave",
    "LockCart",
    "MuteMember",
    "OpenPoll",
    "PinProduct",
    "PostMessage",
    "PromoteMember",
    "RecordHandoff",
    "RemoveLine",
    "ReportPricing",
    "SetFollowMode",
    "SetMerchantWordList",
    "SetQuantity",
    "SetRoomWordList",
    "SetSlowMode",
    "SetStream",
    "SettleOrder",
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
    text: Text


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


# --- checkout ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LockCart(BaseCommand):
    pass


@dataclass(frozen=True, slots=True)
class UnlockCart(BaseCommand):
    pass


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
class RecordHandoff(BaseCommand):
    client: ClassVar[bool] = False
    url: Url


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
    | LockCart
    | UnlockCart
    | BeginSettlement
    | SettleOrder
    | UpdateShare
    | ReportPricing
    | RecordHandoff
)

CLIENT_COMMANDS: frozenset[str] = frozenset(
    name for name, cls in BaseCommand.registry.items() if cls.client
)
