"""Drops: a live show's timed deals (issue 15 item 3; docs/live.md "Drops").

The host starts a drop on a pinned product (``StartDrop``): a price in the merchant's currency,
a quantity, a per-buyer limit and a countdown from 10 s to 20 min. ``DropStarted`` carries
``ends_at`` (ms since the epoch): every client counts down from it, and a claim whose command
time is at or after it is refused (``drop_ended``), so the end needs no timer. One drop runs at
a time; the host may end it early (``EndDrop``).

Claims (``ClaimDrop``) are commands, decided in the room's one total order: the first committed
win while units remain; the rest are refused (``drop_sold_out``) and change nothing — a lost claim
makes no line, no order and no charge. A won claim holds its units for the viewer as a cart line
at the drop price (``LineAdded`` + ``DropClaimed``, the viewer's and staff's only) and tells
everyone the new count (``DropRemaining``, which names nobody). The checkout bridge then opens
the viewer's order for that line (``BeginViewerOrder``, rules/viewer_orders.py) with the usual
payment window. Its units come back to the drop (``DropClaimReleased``, the line removed, a new
``DropRemaining``) when the order goes void — unpaid at the window's end, cancelled, payment
failed — or when the bridge gives the claim back (``ReleaseDropClaim``: no order could be
opened), or when no order held it by ``hold_until`` (released by the next claim that needs the
units). Paid units are sold. A drop line cannot be edited, re-assigned or merged: its price is
the drop's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rooms import commands as c
from rooms import events as e
from rooms.errors import InvalidCommand, LimitExceeded, PhaseError
from rooms.model import SYSTEM_ACTOR, Context
from rooms.rules.common import product, require_open_cart
from rooms.state import Drop, DropClaim

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = [
    "CLAIM_HOLD_MS",
    "MAX_DROPS",
    "MAX_DROP_QUANTITY",
    "MAX_DURATION_S",
    "MAX_PER_BUYER",
    "MIN_DURATION_S",
    "claim_drop",
    "drop_is_running",
    "end_drop",
    "release_claim",
    "released_by_order",
    "running_drop",
    "sold_by_order",
    "start_drop",
    "taken_key",
]

MIN_DURATION_S = 10
MAX_DURATION_S = 20 * 60
MAX_DROP_QUANTITY = 10_000
MAX_PER_BUYER = 99
MAX_DROPS = 20
"""Drops a room keeps (running and ended, newest last); older ended ones are forgotten."""
CLAIM_HOLD_MS = 120_000
"""How long a won claim is held for its order to be opened (the bridge does it at once)."""


def taken_key(drop_id: str, member_id: str) -> str:
    """The key of ``Room.drop_taken``: units of one drop a member holds or bought."""
    return f"{drop_id}|{member_id}"


def drop_is_running(drop: Drop, now: int) -> bool:
    return drop.ended_at is None and now < drop.ends_at


def running_drop(room: Room, now: int) -> Drop | None:
    """The drop running at ``now``, if any (one at a time)."""
    for drop in reversed(room.drops.values()):
        if drop_is_running(drop, now):
            return drop
    return None


def _closed_by_time(room: Room, now: int) -> list[e.Event]:
    """``DropEnded`` (reason "time") for drops whose time passed and that nobody closed."""
    return [
        e.DropEnded(
            drop_id=drop.drop_id,
            sku=drop.sku,
            reason="time",
            remaining=drop.remaining,
            by=SYSTEM_ACTOR,
            at=drop.ends_at,
        )
        for drop in room.drops.values()
        if drop.ended_at is None and now >= drop.ends_at
    ]


def closed_by_show_end(room: Room, now: int) -> list[e.Event]:
    """``DropEnded`` for every drop still open when the show ends: reason "show" (at ``now``),
    or "time" (at its ``ends_at``) for one whose countdown had run out. Claims already won stay
    won and can still be paid, as after the host's "End drop"."""
    return [
        e.DropEnded(
            drop_id=drop.drop_id,
            sku=drop.sku,
            reason="time" if now >= drop.ends_at else "show",
            remaining=drop.remaining,
            by=SYSTEM_ACTOR,
            at=min(now, drop.ends_at),
        )
        for drop in room.drops.values()
        if drop.ended_at is None
    ]


def start_drop(room: Room, command: c.StartDrop, ctx: Context) -> list[e.Event]:
    require_open_cart(room)
    if room.show_ended_at is not None:
        raise PhaseError("show_ended", "the show has ended: a drop needs the show to be on")
    if command.price_minor <= 0:
        raise InvalidCommand("invalid_price", "a drop's price must be more than zero")
    if not 1 <= command.quantity <= MAX_DROP_QUANTITY:
        raise InvalidCommand("invalid_quantity", f"a drop has 1-{MAX_DROP_QUANTITY} units")
    if not 1 <= command.per_buyer_limit <= min(command.quantity, MAX_PER_BUYER):
        raise InvalidCommand(
            "invalid_limit",
            f"the per-buyer limit is 1-{min(command.quantity, MAX_PER_BUYER)} (at most the units)",
        )
    if not MIN_DURATION_S <= command.duration_s <= MAX_DURATION_S:
        raise InvalidCommand("invalid_duration", "a drop lasts from 10 seconds to 20 minutes")
    facts = product(ctx, command.sku)
    if command.sku not in room.pins:
        raise PhaseError("not_pinned", "pin the product before you start a drop on it")
    if command.variant is not None and command.variant not in facts.variants:
        raise InvalidCommand(
            "invalid_variant", f"{command.variant!r} is not a variant of {command.sku}"
        )
    stock = facts.stock_of(command.variant)
    if stock is not None and command.quantity > stock:
        what = command.sku if command.variant is None else f"{command.sku} ({command.variant})"
        raise LimitExceeded("out_of_stock", f"only {stock} of {what} in stock")
    running = running_drop(room, ctx.now)
    if running is not None:
        raise PhaseError("drop_running", "a drop is running; end it before starting another")
    return [
        *_closed_by_time(room, ctx.now),
        e.DropStarted(
            drop_id=ctx.new_id,
            sku=command.sku,
            variant=command.variant,
            title=facts.title,
            price_minor=command.price_minor,
            regular_minor=facts.unit_price(command.variant),
            currency=facts.currency,
            quantity=command.quantity,
            per_buyer_limit=command.per_buyer_limit,
            duration_s=command.duration_s,
            ends_at=ctx.now + command.duration_s * 1000,
            image=facts.image,
            by=ctx.actor,
            at=ctx.now,
        ),
    ]


def _drop(room: Room, drop_id: str) -> Drop:
    drop = room.drops.get(drop_id)
    if drop is None:
        raise PhaseError("no_active_drop", "there is no such drop in this show")
    return drop


def end_drop(room: Room, command: c.EndDrop, ctx: Context) -> list[e.Event]:
    drop = _drop(room, command.drop_id)
    if drop.ended_at is not None:
        raise PhaseError("drop_ended", "this drop has ended already")
    timed_out = ctx.now >= drop.ends_at
    return [
        e.DropEnded(
            drop_id=drop.drop_id,
            sku=drop.sku,
            reason="time" if timed_out else "host",
            remaining=drop.remaining,
            by=ctx.actor,
            at=drop.ends_at if timed_out else ctx.now,
        )
    ]


def _lapsed(room: Room, drop: Drop, now: int) -> list[DropClaim]:
    """The drop's claims that no order held by their ``hold_until``."""
    return [
        claim
        for claim in room.drop_claims.values()
        if claim.drop_id == drop.drop_id
        and claim.line_id not in room.frozen
        and claim.hold_until <= now
    ]


def _released(room: Room, claim: DropClaim, reason: str, now: int) -> list[e.Event]:
    events: list[e.Event] = []
    if claim.line_id in room.lines:
        events.append(e.LineRemoved(line_id=claim.line_id, by=SYSTEM_ACTOR))
    events.append(
        e.DropClaimReleased(
            drop_id=claim.drop_id,
            line_id=claim.line_id,
            member_id=claim.member_id,
            reason=reason,
            at=now,
        )
    )
    return events


def claim_drop(room: Room, command: c.ClaimDrop, ctx: Context) -> list[e.Event]:
    require_open_cart(room)
    drop = _drop(room, command.drop_id)
    if not drop_is_running(drop, ctx.now):
        raise PhaseError("drop_ended", "this drop has ended")
    if command.quantity < 1:
        raise InvalidCommand("invalid_quantity", "claim at least one")
    taken = room.drop_taken.get(taken_key(drop.drop_id, ctx.actor), 0)
    if taken + command.quantity > drop.per_buyer_limit:
        raise LimitExceeded(
            "drop_limit_reached",
            f"at most {drop.per_buyer_limit} per buyer in this drop; you have {taken}",
        )
    facts = product(ctx, drop.sku)
    variant = command.variant if drop.variant is None else drop.variant
    if command.variant not in (None, variant) or variant not in (facts.variants or (None,)):
        raise InvalidCommand("invalid_variant", f"pick one of the variants of {drop.title}")
    lapsed: list[DropClaim] = []
    if drop.remaining < command.quantity:  # sold out, unless some holds lapsed
        lapsed = _lapsed(room, drop, ctx.now)
        free = drop.remaining + sum(claim.quantity for claim in lapsed)
        if free < command.quantity:
            left = f"only {free} left" if free else "all claimed"
            raise LimitExceeded("drop_sold_out", f"sold out: {left}")
    if len(room.lines) - len(lapsed) >= room.limits.max_lines:
        raise LimitExceeded("too_many_lines", f"the cart holds at most {room.limits.max_lines}")
    own = sum(1 for line in room.lines.values() if line.added_by == ctx.actor)
    if own >= room.limits.max_lines_per_member:
        raise LimitExceeded(
            "too_many_lines", f"you may add at most {room.limits.max_lines_per_member} lines"
        )
    events: list[e.Event] = []
    for claim in lapsed:
        events += _released(room, claim, "expired", ctx.now)
    held = drop.held - sum(claim.quantity for claim in lapsed) + command.quantity
    return [
        *events,
        e.LineAdded(
            line_id=ctx.new_id,
            sku=drop.sku,
            variant=variant,
            quantity=command.quantity,
            note="",
            redacted=False,
            added_by=ctx.actor,
            payer=ctx.actor,
            title=drop.title,
            price_minor=drop.price_minor,
            currency=drop.currency,
            at=ctx.now,
        ),
        e.DropClaimed(
            drop_id=drop.drop_id,
            line_id=ctx.new_id,
            member_id=ctx.actor,
            variant=variant,
            quantity=command.quantity,
            price_minor=drop.price_minor,
            hold_until=ctx.now + CLAIM_HOLD_MS,
            at=ctx.now,
        ),
        e.DropRemaining(
            drop_id=drop.drop_id, remaining=drop.quantity - held, sold=drop.sold, at=ctx.now
        ),
    ]


def _remaining_after(room: Room, drop_id: str, back: int, sold: int, now: int) -> list[e.Event]:
    drop = room.drops.get(drop_id)
    if drop is None:
        return []
    return [
        e.DropRemaining(
            drop_id=drop_id,
            remaining=drop.remaining + back,
            sold=drop.sold + sold,
            at=now,
        )
    ]


def release_claim(room: Room, command: c.ReleaseDropClaim, ctx: Context) -> list[e.Event]:
    """The bridge gives a claim back (no order could be opened for it)."""
    claim = room.drop_claims.get(command.line_id)
    if claim is None:
        return []  # given back already (told twice, or its order went void)
    if claim.line_id in room.frozen:
        raise PhaseError("line_in_checkout", "an order holds this claim; it ends with the order")
    return [
        *_released(room, claim, command.reason, ctx.now),
        *_remaining_after(room, claim.drop_id, claim.quantity, 0, ctx.now),
    ]


def released_by_order(room: Room, line_ids: list[str], now: int) -> list[e.Event]:
    """A viewer's order went void: its drop lines leave the cart and their units go back."""
    events: list[e.Event] = []
    back: dict[str, int] = {}
    for line_id in line_ids:
        claim = room.drop_claims.get(line_id)
        if claim is not None:
            events += _released(room, claim, "not_paid", now)
            back[claim.drop_id] = back.get(claim.drop_id, 0) + claim.quantity
    for drop_id, units in back.items():
        events += _remaining_after(room, drop_id, units, 0, now)
    return events


def sold_by_order(room: Room, line_ids: list[str], now: int) -> list[e.Event]:
    """A viewer's order was paid: its drop units are sold (the count everyone sees)."""
    sold: dict[str, int] = {}
    for line_id in line_ids:
        claim = room.drop_claims.get(line_id)
        if claim is not None:
            sold[claim.drop_id] = sold.get(claim.drop_id, 0) + claim.quantity
    events: list[e.Event] = []
    for drop_id, units in sold.items():
        events += _remaining_after(room, drop_id, 0, units, now)
    return events
