"""Checkout phase rules: open -> locked -> open | settling -> paid | void.

The host locks and unlocks; the checkout bridge (``SYSTEM_ACTOR``) begins settlement from a
locked cart, reports share status and hand-offs, and settles: ``paid`` records the order and
starts a fresh, empty, open cart; ``void`` reopens the cart with its lines intact. A transition
from the wrong phase is ``bad_phase``; a cart edit outside ``open`` is ``cart_locked``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rooms import commands as c
from rooms import events as e
from rooms.errors import InvalidCommand, NotFound, PhaseError
from rooms.model import Context, Phase
from rooms.permissions import SPLIT_BY_DEFAULT, SPLIT_PICKABLE
from rooms.rules.common import MAX_ID
from rooms.rules.stage import check_url

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = [
    "HOLDOUT_CHOICES",
    "SETTLED_SHARES",
    "begin_settlement",
    "check_share_update",
    "lock_cart",
    "record_handoff",
    "record_holdout",
    "report_pricing",
    "settle_order",
    "split_default",
    "split_participants",
    "unlock_cart",
    "update_share",
]

_STATUS = re.compile(r"[a-z][a-z_]{0,31}")


def _require(room: Room, phase: Phase) -> None:
    if room.phase is not phase:
        raise PhaseError("bad_phase", f"the cart is {room.phase.value}, not {phase.value}")


def _check_order(room: Room, order_id: str) -> None:
    _require(room, Phase.SETTLING)
    if order_id != room.order_id:
        raise NotFound("not_found", f"order {order_id!r} is not the one being settled")


def lock_cart(room: Room, command: c.LockCart, ctx: Context) -> list[e.Event]:
    _require(room, Phase.OPEN)
    if not room.lines:
        raise PhaseError("cart_empty", "there is nothing in the cart to check out")
    if room.viewer_orders:
        raise PhaseError(
            "viewer_checkouts_open", "viewers are paying for their own items; wait for them"
        )
    return [e.CartLocked(by=ctx.actor, at=ctx.now)]


def unlock_cart(room: Room, command: c.UnlockCart, ctx: Context) -> list[e.Event]:
    _require(room, Phase.LOCKED)
    return [e.CartUnlocked(by=ctx.actor, at=ctx.now)]


def begin_settlement(room: Room, command: c.BeginSettlement, ctx: Context) -> list[e.Event]:
    _require(room, Phase.LOCKED)
    if not 1 <= len(command.order_id) <= MAX_ID or command.snapshot_version < 0:
        raise InvalidCommand("bad_command", "order_id must be 1-64 characters, version >= 0")
    return [
        e.SettlementBegan(
            order_id=command.order_id, snapshot_version=command.snapshot_version, at=ctx.now
        )
    ]


def settle_order(room: Room, command: c.SettleOrder, ctx: Context) -> list[e.Event]:
    _check_order(room, command.order_id)
    if command.outcome not in ("paid", "void"):
        raise InvalidCommand("bad_command", "outcome must be 'paid' or 'void'")
    return [e.OrderSettled(order_id=command.order_id, outcome=command.outcome, at=ctx.now)]


def check_share_update(command: c.UpdateShare) -> None:
    """Refuse a malformed share report (``bad_command``)."""
    if not _STATUS.fullmatch(command.status) or command.amount_minor < 0:
        raise InvalidCommand("bad_command", "status must be a short lower-case word, amount >= 0")
    if not 1 <= len(command.payer) <= MAX_ID:
        raise InvalidCommand("bad_command", "payer must be 1-64 characters")


def update_share(room: Room, command: c.UpdateShare, ctx: Context) -> list[e.Event]:
    _check_order(room, command.order_id)
    check_share_update(command)
    now = room.shares.get(command.payer)
    if now is not None and (now.status, now.amount_minor) == (command.status, command.amount_minor):
        return []  # told twice (an outbox retry, a repeated provider report): nothing new
    if command.status == "processing" and now is not None and now.status in SETTLED_SHARES:
        return []  # a late "processing" report never takes back a payment already in
    return [
        e.ShareUpdated(
            order_id=command.order_id,
            payer=command.payer,
            status=command.status,
            amount_minor=command.amount_minor,
        )
    ]


SETTLED_SHARES = frozenset({"paid", "authorized", "refunded", "partially_refunded", "released"})
"""Share states whose money moved (or is held), or that the group released (a holdout's):
a later "processing" report is out of date."""

HOLDOUT_CHOICES = ("host_covers", "split_others", "drop_lines")
"""What a group may do about a payer who did not pay (checkout_bridge.orders.ResolveHoldout)."""


def record_holdout(room: Room, command: c.RecordHoldout, ctx: Context) -> list[e.Event]:
    """The bridge re-planned the order around a holdout: show everyone the group's choice.

    Dropped lines leave the cart (they are not bought); the order's history keeps the step.
    """
    _check_order(room, command.order_id)
    if command.choice not in HOLDOUT_CHOICES or not 1 <= len(command.payer) <= MAX_ID:
        raise InvalidCommand("bad_command", f"choice must be one of {', '.join(HOLDOUT_CHOICES)}")
    if (
        len(command.covered_by) > room.limits.max_members
        or len(command.dropped_line_ids) > room.limits.max_lines
    ):
        raise InvalidCommand("bad_command", "more payers or lines than the room holds")
    for holdout in room.holdouts:
        if (holdout.payer, holdout.choice, holdout.covered_by, holdout.dropped_line_ids) == (
            command.payer,
            command.choice,
            command.covered_by,
            command.dropped_line_ids,
        ):
            return []  # told twice (an outbox retry): nothing new
    return [
        e.HoldoutResolved(
            order_id=command.order_id,
            payer=command.payer,
            choice=command.choice,
            covered_by=command.covered_by,
            dropped_line_ids=command.dropped_line_ids,
            at=ctx.now,
        )
    ]


PRICING_ISSUES = frozenset(
    {"price_changed", "unknown_product", "unknown_variant", "out_of_stock", "insufficient_stock"}
)
"""Kinds of pricing issue the checkout bridge reports (checkout_bridge.pricing.LineIssue)."""


def split_default(room: Room) -> tuple[str, ...]:
    """Who an equal split bills unless the host picks: the host, and the members present who
    added or pay for a line (roles in ``SPLIT_BY_DEFAULT``: never the shop's staff), in the
    order they joined. A member who left is not in the room, so never billed."""
    involved = {line.added_by for line in room.lines.values()}
    involved |= {line.payer for line in room.lines.values()}
    return tuple(
        member.member_id
        for member in room.members.values()
        if member.role in SPLIT_BY_DEFAULT
        and (member.member_id == room.host_id or member.member_id in involved)
    )


def split_participants(room: Room, picked: Sequence[str] | None) -> tuple[str, ...]:
    """The people an equal split bills: ``picked`` (by the host) checked, or the default.

    Raises ``invalid_participants`` for an empty pick, or one naming somebody who is not in the
    room now (left, removed, never joined) or may not share a bill (a live audience member).
    """
    if picked is None:
        return split_default(room)
    unique = tuple(dict.fromkeys(picked))
    if not unique:
        raise InvalidCommand("invalid_participants", "pick at least one person to split with")
    if len(unique) > room.limits.max_members:
        raise InvalidCommand("invalid_participants", "more people than the room holds")
    for member_id in unique:
        member = room.members.get(member_id)
        if member is None or member.role not in SPLIT_PICKABLE:
            raise InvalidCommand(
                "invalid_participants", f"{member_id[:MAX_ID]!r} is not in the room to share"
            )
    return unique


def report_pricing(room: Room, command: c.ReportPricing, ctx: Context) -> list[e.Event]:
    """Show the server's pricing of the locked cart to the room before anyone pays."""
    _require(room, Phase.LOCKED)
    if command.snapshot_version < 0 or command.total_minor < 0:
        raise InvalidCommand("bad_command", "version and total must be >= 0")
    if not 1 <= len(command.currency) <= 8:
        raise InvalidCommand("bad_command", "currency must be an ISO 4217 code")
    if len(command.issues) > 2 * len(room.lines):  # a line can have a price and a stock issue
        raise InvalidCommand("bad_command", "more issues than the cart's lines can have")
    for issue in command.issues:
        if issue.kind not in PRICING_ISSUES or issue.line_id not in room.lines:
            raise InvalidCommand("bad_command", f"unknown issue {issue.kind!r} or line")
    return [
        e.PricingReported(
            snapshot_version=command.snapshot_version,
            currency=command.currency,
            total_minor=command.total_minor,
            ready=command.ready,
            issues=command.issues,
            at=ctx.now,
        )
    ]


def record_handoff(room: Room, command: c.RecordHandoff, ctx: Context) -> list[e.Event]:
    check_url(command.url)
    return [e.HandoffRecorded(url=command.url, at=ctx.now)]
