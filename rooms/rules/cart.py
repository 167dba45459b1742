"""Group cart rules: add, change quantity, remove, claim, assign a payer, decline paying.

Etiquette: only the line's adder, its payer and staff (``ANY_LINE_EDITORS``) change or remove a
line (``not_your_line``). Anyone in a group may offer to pay for a line (claim it); the host may
make someone the payer, who is told (``Line.assigned_by``) and may decline: the line goes back
to its adder (or the host, when the adder left).

Merging: adding a sku+variant that the same member already added (and pays for), with no note on
either side, raises that line's quantity instead of adding a second line. Stock: a line may not
ask for more than the catalogue's stock of its variant (``ProductFacts.stock_of``; lines are not
summed; the bridge re-checks at checkout). Prices, the variant's (``ProductFacts.unit_price``),
are copied from the catalogue for display only; a client never sends one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rooms import commands as c
from rooms import events as e
from rooms.catalog import ProductFacts
from rooms.errors import InvalidCommand, LimitExceeded, NotAllowed
from rooms.model import Context
from rooms.permissions import ANY_LINE_CLAIMERS, ANY_LINE_EDITORS
from rooms.rules.common import clean_text, find_line, find_member, product, require_open_cart
from rooms.rules.viewer_orders import require_not_frozen
from rooms.state import Line

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = [
    "MAX_NOTE",
    "MAX_QUANTITY",
    "add_line",
    "assign_payer",
    "claim_line",
    "decline_payment",
    "line_events",
    "remove_line",
    "set_quantity",
]

MAX_QUANTITY = 99
MAX_NOTE = 140


def _check_quantity(facts: ProductFacts, variant: str | None, quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidCommand("invalid_quantity", f"quantity must be 1-{MAX_QUANTITY}")
    stock = facts.stock_of(variant)
    if stock is not None and quantity > stock:
        what = facts.sku if variant is None else f"{facts.sku} ({variant})"
        raise LimitExceeded("out_of_stock", f"only {stock} of {what} in stock")


def _may_edit(room: Room, actor: str, line: Line) -> None:
    if actor in (line.added_by, line.payer):
        return
    if room.members[actor].role not in ANY_LINE_EDITORS[room.kind]:
        raise NotAllowed(
            "not_your_line", "only who added this line, who pays for it, or staff change it"
        )


def _may_claim(room: Room, actor: str, line: Line) -> None:
    if line.added_by != actor and room.members[actor].role not in ANY_LINE_CLAIMERS[room.kind]:
        raise NotAllowed("not_your_line", "you may only pay for the lines you added")


def line_events(
    room: Room, ctx: Context, sku: str, variant: str | None, quantity: int, raw_note: str
) -> list[e.Event]:
    """Events for adding ``quantity`` of ``sku`` for ``ctx.actor`` (also used by vote-to-cart)."""
    require_open_cart(room)
    facts = product(ctx, sku)
    if variant not in (facts.variants or (None,)):
        raise InvalidCommand("invalid_variant", f"{variant!r} is not a variant of {sku}")
    note, redacted = ("", False) if not raw_note.strip() else clean_text(raw_note, "note", MAX_NOTE)
    if not note:
        for line in room.lines.values():
            if (line.sku, line.variant, line.added_by, line.payer, line.note) == (
                sku,
                variant,
                ctx.actor,
                ctx.actor,
                "",
            ) and not (line.line_id in room.frozen or line.line_id in room.drop_claims):
                # a line being paid for stays as bought; a drop's keeps the drop's price
                _check_quantity(facts, variant, line.quantity + quantity)
                return [
                    e.QuantityChanged(
                        line_id=line.line_id, quantity=line.quantity + quantity, by=ctx.actor
                    )
                ]
    _check_quantity(facts, variant, quantity)
    if len(room.lines) >= room.limits.max_lines:
        raise LimitExceeded("too_many_lines", f"the cart holds at most {room.limits.max_lines}")
    own = sum(1 for line in room.lines.values() if line.added_by == ctx.actor)
    if own >= room.limits.max_lines_per_member:
        raise LimitExceeded(
            "too_many_lines", f"you may add at most {room.limits.max_lines_per_member} lines"
        )
    return [
        e.LineAdded(
            line_id=ctx.new_id,
            sku=sku,
            variant=variant,
            quantity=quantity,
            note=note,
            redacted=redacted,
            added_by=ctx.actor,
            payer=ctx.actor,
            title=facts.title,
            price_minor=facts.unit_price(variant),
            currency=facts.currency,
            at=ctx.now,
        )
    ]


def add_line(room: Room, command: c.AddLine, ctx: Context) -> list[e.Event]:
    return line_events(room, ctx, command.sku, command.variant, command.quantity, command.note)


def set_quantity(room: Room, command: c.SetQuantity, ctx: Context) -> list[e.Event]:
    require_open_cart(room)
    line = find_line(room, command.line_id)
    _may_edit(room, ctx.actor, line)
    require_not_frozen(room, line)
    if command.quantity == line.quantity:
        return []
    if command.quantity > line.quantity:
        _check_quantity(product(ctx, line.sku), line.variant, command.quantity)
    elif command.quantity < 1:
        raise InvalidCommand("invalid_quantity", "quantity must be at least 1; use RemoveLine")
    return [e.QuantityChanged(line_id=line.line_id, quantity=command.quantity, by=ctx.actor)]


def remove_line(room: Room, command: c.RemoveLine, ctx: Context) -> list[e.Event]:
    require_open_cart(room)
    line = find_line(room, command.line_id)
    _may_edit(room, ctx.actor, line)
    require_not_frozen(room, line)
    return [e.LineRemoved(line_id=line.line_id, by=ctx.actor)]


def claim_line(room: Room, command: c.ClaimLine, ctx: Context) -> list[e.Event]:
    require_open_cart(room)
    line = find_line(room, command.line_id)
    _may_claim(room, ctx.actor, line)
    require_not_frozen(room, line)
    if line.payer == ctx.actor:
        return []
    return [e.PayerAssigned(line_id=line.line_id, payer=ctx.actor, by=ctx.actor)]


def assign_payer(room: Room, command: c.AssignPayer, ctx: Context) -> list[e.Event]:
    require_open_cart(room)
    line = find_line(room, command.line_id)
    require_not_frozen(room, line)
    payer = find_member(room, command.member_id)
    if line.payer == payer.member_id:
        return []
    return [e.PayerAssigned(line_id=line.line_id, payer=payer.member_id, by=ctx.actor)]


def decline_payment(room: Room, command: c.DeclinePayment, ctx: Context) -> list[e.Event]:
    """The payer gives a line back: to whoever added it, or the host when they left."""
    require_open_cart(room)
    line = find_line(room, command.line_id)
    if line.payer != ctx.actor:
        raise NotAllowed("not_your_line", "only the line's payer may decline paying for it")
    require_not_frozen(room, line)
    back_to = line.added_by if line.added_by in room.members else room.host_id
    if back_to == ctx.actor:
        raise InvalidCommand("nothing_to_decline", "you added this line: remove it instead")
    return [e.PayerAssigned(line_id=line.line_id, payer=back_to, by=ctx.actor)]
