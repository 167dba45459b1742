"""Records that make up a room's state (members, lines, polls, messages, stage, shares).

Frozen, slotted dataclasses; the room replaces a record instead of mutating it. Containers that
grow with the audience (poll ballots, votes) live in the room itself so that one vote costs O(1).
No rules here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rooms._fields import Id, Name, Sku
from rooms.model import Role, StreamKind

__all__ = [
    "Announcement",
    "Drop",
    "DropClaim",
    "Holdout",
    "Line",
    "Member",
    "Message",
    "Nudge",
    "OrderLine",
    "Poll",
    "Pricing",
    "PricingIssue",
    "ProductRef",
    "Receipt",
    "ReceiptLine",
    "ReceiptStep",
    "Share",
    "SharedProduct",
    "Stream",
    "Tally",
    "ViewerOrder",
    "WordAction",
    "WordEntry",
    "WordLists",
]


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    display_name: str
    role: Role
    joined_at: int


@dataclass(frozen=True, slots=True)
class Line:
    line_id: str
    sku: str
    variant: str | None
    quantity: int
    note: str
    added_by: str
    payer: str
    title: str
    price_minor: int
    currency: str
    added_at: int
    # who made ``payer`` the payer, when someone else did (the host assigning, a leaver giving a
    # line back): the payer is told and may decline; "" when they chose it (added or claimed it)
    assigned_by: str = ""


@dataclass(frozen=True, slots=True)
class Tally:
    up: int = 0
    down: int = 0


@dataclass(frozen=True, slots=True)
class Poll:
    poll_id: str
    question: str
    options: tuple[str, ...]
    opened_by: str
    opened_at: int
    closed: bool = False
    winner: str | None = None
    counts: tuple[int, ...] = ()  # final counts once closed


@dataclass(frozen=True, slots=True)
class ProductRef:
    """A catalogue product a member points at (``PostMessage.product``): a sku, maybe a variant."""

    sku: Sku
    variant: Id | None = None


@dataclass(frozen=True, slots=True)
class SharedProduct:
    """A product shared in chat as the catalogue had it when shared (a card in the chat).

    The title, price and image are a snapshot: the history keeps reading well after the product
    changed or left the catalogue. Clients that can read the catalogue show its current price.
    """

    sku: str
    variant: str | None
    title: str
    price_minor: int
    currency: str
    image: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    message_id: str
    author: str
    text: str  # "" for a bare product card
    at: int
    author_name: str = ""
    author_role: str = ""  # the role the room gave the author (a verified badge, not typed text)
    product: SharedProduct | None = None  # a product shared with the message (a card)


@dataclass(frozen=True, slots=True)
class Announcement:
    announcement_id: str
    text: str
    by: str
    at: int


@dataclass(frozen=True, slots=True)
class Stream:
    url: str
    kind: StreamKind


@dataclass(frozen=True, slots=True)
class PricingIssue:
    """One line the server could not price as the room saw it (see ``PRICING_ISSUES``)."""

    line_id: str
    kind: str
    shown_minor: int | None = None  # the price the room saw
    price_minor: int | None = None  # the catalogue's price now
    available: int | None = None  # stock left, for insufficient_stock


@dataclass(frozen=True, slots=True)
class Pricing:
    """The server's pricing of the locked cart: totals and what blocks or changed."""

    snapshot_version: int
    currency: str
    total_minor: int
    ready: bool
    issues: tuple[PricingIssue, ...]
    at: int


@dataclass(frozen=True, slots=True)
class Share:
    payer: str
    status: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Holdout:
    """How the group resolved a payer who did not pay, in the order being paid
    (rooms/rules/checkout.py ``record_holdout``)."""

    payer: str
    choice: str
    covered_by: tuple[str, ...]
    dropped_line_ids: tuple[str, ...]
    at: int


@dataclass(frozen=True, slots=True)
class Nudge:
    """A reminder to one member (rooms/rules/deadline.py): ``reason`` "add" — they have added
    or claimed nothing yet — or "pay" — their share is not paid; ``by`` the host or "system"."""

    member_id: str
    reason: str
    by: str
    at: int


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One line of a paid order as it was bought (the shop's unit price at checkout)."""

    sku: str
    variant: str | None
    title: str
    quantity: int
    unit_minor: int
    added_by: str
    payer: str


@dataclass(frozen=True, slots=True)
class ReceiptStep:
    """One step of an order's status history: ``what`` (checkout_started, a share's status,
    paid) for ``who`` (a payer, or "" for the order), at ``at`` when the room knows the time."""

    what: str
    who: str = ""
    at: int | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """A paid order the room keeps: its number in the room, what was bought, who paid what and
    how it got there. Built from the room's own log (no other storage)."""

    order_id: str
    number: int
    currency: str
    total_minor: int
    lines: tuple[ReceiptLine, ...]
    shares: tuple[Share, ...]
    history: tuple[ReceiptStep, ...]
    paid_at: int


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One cart line in a live viewer's own order, as the bridge priced it at checkout."""

    line_id: str
    quantity: int
    unit_minor: int


@dataclass(frozen=True, slots=True)
class ViewerOrder:
    """A live viewer's own order (rooms/rules/viewer_orders.py): it freezes ``lines`` while it
    is open; ``status`` is the payer's share status ("pending", "checkout_open", "processing",
    "failed", …) while open, then "paid" or "void"."""

    order_id: str
    payer: str
    lines: tuple[OrderLine, ...]
    total_minor: int
    currency: str
    status: str
    at: int
    deadline_at: int | None = None  # ms since the epoch: the end of its payment window


WordAction = Literal["block", "mask"]
"""What a listed word does to a message: refuse it (and tell the author) or hide the word."""


@dataclass(frozen=True, slots=True)
class WordEntry:
    """One entry of a word list (rooms/wordlist.py): a word or short phrase and its action."""

    word: Name
    action: WordAction = "block"


@dataclass(frozen=True, slots=True)
class WordLists:
    """The words a room keeps out of chat and announcements: its own and its merchant's."""

    room: tuple[WordEntry, ...] = ()
    merchant: tuple[WordEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Drop:
    """A timed deal on a pinned product (rooms/rules/drops.py): ``quantity`` units at
    ``price_minor`` until ``ends_at`` (ms since the epoch), at most ``per_buyer_limit`` per
    viewer. ``held`` counts the units claimed and not given back (paid ones included), ``sold``
    the paid ones; ``ended_at`` is set when the host ended it (or it was closed after its time).
    ``variant`` is the host's fixed variant, or None: a viewer picks one when the product has
    variants."""

    drop_id: str
    sku: str
    variant: str | None
    title: str
    price_minor: int
    regular_minor: int
    currency: str
    quantity: int
    per_buyer_limit: int
    started_at: int
    ends_at: int
    by: str
    image: str | None = None
    held: int = 0
    sold: int = 0
    ended_at: int | None = None

    @property
    def remaining(self) -> int:
        return self.quantity - self.held


@dataclass(frozen=True, slots=True)
class DropClaim:
    """A won claim: ``quantity`` units of a drop held for ``member_id`` as the cart line
    ``line_id`` (its id is the claim's) at the drop's price. Until an order holds the line it is
    held until ``hold_until``; then the order's payment window rules it."""

    line_id: str
    drop_id: str
    member_id: str
    variant: str | None
    quantity: int
    at: int
    hold_until: int
