"""A live viewer's own orders: check out one's own lines while the show goes on (DESIGN §10).

The checkout bridge (``SYSTEM_ACTOR``) opens an order for one viewer's lines and tells the room
(``BeginViewerOrder``): those lines freeze — nobody changes, removes, claims or reassigns them
(``line_in_checkout``) — while the rest of the room, and the viewer's new lines, carry on. The
room is never locked for it. The order's share updates (``UpdateShare``) and its end
(``SettleOrder``) name its ``order_id``: paid, the lines leave the cart and become the viewer's
receipt; void (expired, cancelled, payment failed), they thaw. Several viewers' orders, and
several of one viewer's, are open at once; the host cannot lock the whole cart meanwhile
(``viewer_checkouts_open``, rooms/rules/checkout.py).

The host may switch on a ticker for the audience: a paid viewer order is then shown to everyone
as ``PurchaseShown`` — a first name (or "Someone") and a product title, never an amount.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rooms import commands as c
from rooms import events as e
from rooms.errors import InvalidCommand, NotAllowed, PhaseError
from rooms.model import Context
from rooms.rules.checkout import SETTLED_SHARES, check_share_update
from rooms.rules.common import MAX_ID, find_line, find_member, require_open_cart
from rooms.rules.drops import released_by_order, sold_by_order
from rooms.state import Line

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = [
    "SOMEONE",
    "begin_viewer_order",
    "buyer_name",
    "require_not_frozen",
    "set_buy_ticker",
    "settle_viewer_order",
    "update_viewer_share",
]

SOMEONE = "Someone"
"""What the ticker calls a buyer who is no longer in the room."""

_MAX_TICKER_NAME = 40


def require_not_frozen(room: Room, line: Line) -> None:
    """Refuse with ``line_in_checkout`` a change to a line in a viewer's open order."""
    if line.line_id in room.frozen:
        raise PhaseError(
            "line_in_checkout", "this item is being paid for; it changes once the order ends"
        )
    if line.line_id in room.drop_claims:
        raise PhaseError(
            "drop_line", "this drop item is held for you at the drop price; pay for it or let go"
        )


def begin_viewer_order(room: Room, command: c.BeginViewerOrder, ctx: Context) -> list[e.Event]:
    require_open_cart(room)
    if not 1 <= len(command.order_id) <= MAX_ID or not 1 <= len(command.currency) <= 8:
        raise InvalidCommand("bad_command", "order_id must be 1-64 characters, currency a code")
    if command.total_minor < 0 or not 1 <= len(command.lines) <= room.limits.max_lines:
        raise InvalidCommand("bad_command", "an order has 1 to max_lines lines, total >= 0")
    known = room.viewer_orders.get(command.order_id)
    if known is not None and known.payer == command.payer:
        return []  # told twice: nothing new
    if known is not None:
        raise InvalidCommand("bad_command", "that order id is taken")
    find_member(room, command.payer)
    seen: set[str] = set()
    for wanted in command.lines:
        line = find_line(room, wanted.line_id)
        if line.payer != command.payer or wanted.line_id in seen:
            raise NotAllowed("not_your_line", "a viewer checks out only their own lines, once")
        if line.line_id in room.frozen:
            require_not_frozen(room, line)
        if wanted.quantity != line.quantity or wanted.unit_minor < 0:
            raise PhaseError("cart_changed", "the line changed while it was priced; try again")
        seen.add(wanted.line_id)
    return [
        e.ViewerOrderBegan(
            order_id=command.order_id,
            payer=command.payer,
            lines=command.lines,
            total_minor=command.total_minor,
            currency=command.currency,
            at=ctx.now,
            deadline_at=command.deadline_at,
        )
    ]


def update_viewer_share(room: Room, command: c.UpdateShare, ctx: Context) -> list[e.Event]:
    """A viewer order's one share moved (its status is the order's status in the room)."""
    order = room.viewer_orders[command.order_id]
    check_share_update(command)
    if command.payer != order.payer:
        raise InvalidCommand("bad_command", "a viewer's order has one payer: the viewer")
    if (order.status, order.total_minor) == (command.status, command.amount_minor):
        return []  # told twice
    if command.status == "processing" and order.status in SETTLED_SHARES:
        return []  # a late "processing" report never takes back a payment already in
    return [
        e.ShareUpdated(
            order_id=command.order_id,
            payer=command.payer,
            status=command.status,
            amount_minor=command.amount_minor,
        )
    ]


def buyer_name(room: Room, member_id: str) -> str:
    """How the ticker names a buyer: their first name as the room knows it, or "Someone"."""
    member = room.members.get(member_id)
    words = member.display_name.split() if member is not None else []
    return words[0][:_MAX_TICKER_NAME] if words else SOMEONE


def settle_viewer_order(room: Room, command: c.SettleOrder, ctx: Context) -> list[e.Event]:
    order = room.viewer_orders[command.order_id]
    if command.outcome not in ("paid", "void"):
        raise InvalidCommand("bad_command", "outcome must be 'paid' or 'void'")
    events: list[e.Event] = [
        e.OrderSettled(order_id=command.order_id, outcome=command.outcome, at=ctx.now)
    ]
    line_ids = [ordered.line_id for ordered in order.lines]
    if command.outcome == "void":
        events += released_by_order(room, line_ids, ctx.now)
    else:
        events += sold_by_order(room, line_ids, ctx.now)
    titles = [room.lines[ol.line_id].title for ol in order.lines if ol.line_id in room.lines]
    if command.outcome == "paid" and room.buy_ticker and titles:
        events.append(
            e.PurchaseShown(
                buyer=buyer_name(room, order.payer),
                title=titles[0],
                more=len(titles) - 1,
                at=ctx.now,
            )
        )
    return events


def set_buy_ticker(room: Room, command: c.SetBuyTicker, ctx: Context) -> list[e.Event]:
    if room.buy_ticker == command.on:
        return []
    return [e.BuyTickerSet(on=command.on, by=ctx.actor)]
