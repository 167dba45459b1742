"""The cart deadline and nudges: "cart closes at", locked by the room itself, and reminders.

The host sets when the cart closes (``SetDeadline``: in the future, at most
``MAX_DEADLINE_AHEAD_MS`` ahead; None clears it) while the cart is open. The deadline is a fact
in the room's log (``DeadlineSet``), so a restart keeps it. When it comes, the server submits
``LockAtDeadline`` as the system: the room checks the deadline really passed (a timer armed for
an older deadline, or one that fires early, is refused with ``close_time_not_reached``) and locks
the cart as ``CartLocked(by="system")``; with an empty cart there is nothing to lock, so it only
clears the deadline (``DeadlineSet(None, by="system")``). Locking the cart, by hand or at the
deadline, ends the deadline.

A nudge (``Nudge``) reminds one member: while the cart is open, one who has neither added nor
claimed a line ("add"); while an order is being paid, one whose share is not paid ("pay").
Only that member (and staff) receive it (rooms/audience.py). One nudge per member and reason
per ``NUDGE_GAP_MS``; a nudge ends when its member adds, claims or pays, or the phase moves on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rooms import commands as c
from rooms import events as e
from rooms.errors import InvalidCommand, NotAllowed, PhaseError
from rooms.model import SYSTEM_ACTOR, Context, Phase
from rooms.rules.common import find_member

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = [
    "MAX_DEADLINE_AHEAD_MS",
    "NUDGE_GAP_MS",
    "PAID_SHARES",
    "lock_at_deadline",
    "nudge",
    "nudge_reason",
    "set_deadline",
]

MAX_DEADLINE_AHEAD_MS = 7 * 24 * 3600 * 1000
"""A cart closes at most a week ahead (a group order, not a wish list)."""

NUDGE_GAP_MS = 60_000
"""A member is reminded of the same thing at most once a minute."""

PAID_SHARES = frozenset(
    {"paid", "authorized", "processing", "refunded", "partially_refunded", "released"}
)
"""Share states that need nothing more from their payer (a "pay" nudge has nothing to say)."""


def set_deadline(room: Room, command: c.SetDeadline, ctx: Context) -> list[e.Event]:
    if room.phase is not Phase.OPEN:
        raise PhaseError("cart_locked", "the cart is already closed; unlock it first")
    closes_at = command.closes_at
    if closes_at is None:
        if room.deadline is None:
            return []
        return [e.DeadlineSet(closes_at=None, by=ctx.actor, at=ctx.now)]
    if closes_at <= ctx.now:
        raise InvalidCommand("close_time_past", "the cart's closing time must be in the future")
    if closes_at - ctx.now > MAX_DEADLINE_AHEAD_MS:
        raise InvalidCommand("close_time_too_far", "the cart closes at most 7 days from now")
    if closes_at == room.deadline:
        return []
    return [e.DeadlineSet(closes_at=closes_at, by=ctx.actor, at=ctx.now)]


def lock_at_deadline(room: Room, command: c.LockAtDeadline, ctx: Context) -> list[e.Event]:
    if room.phase is not Phase.OPEN:
        raise PhaseError("bad_phase", f"the cart is {room.phase.value}, not open")
    if room.deadline is None:
        raise PhaseError("no_close_time", "the cart has no deadline")
    if ctx.now < room.deadline:
        raise PhaseError("close_time_not_reached", "the cart's deadline has not come yet")
    if not room.lines:
        return [e.DeadlineSet(closes_at=None, by=SYSTEM_ACTOR, at=ctx.now)]
    return [e.CartLocked(by=SYSTEM_ACTOR, at=ctx.now)]


def nudge_reason(room: Room, member_id: str) -> str | None:
    """What ``member_id`` could be reminded of now: "add", "pay" or nothing."""
    if room.phase is Phase.OPEN:
        for line in room.lines.values():
            if member_id in (line.added_by, line.payer):
                return None
        return "add"
    share = room.shares.get(member_id)  # settling (a locked cart has no shares)
    if share is not None and share.status not in PAID_SHARES:
        return "pay"
    return None


def nudge(room: Room, command: c.Nudge, ctx: Context) -> list[e.Event]:
    target = find_member(room, command.member_id)
    if target.member_id == ctx.actor:
        raise InvalidCommand("nothing_to_nudge", "you cannot remind yourself")
    if room.phase is Phase.LOCKED:
        raise PhaseError("bad_phase", "the cart is locked: nobody has anything to do now")
    reason = nudge_reason(room, target.member_id)
    if reason is None:
        what = "has added to the cart" if room.phase is Phase.OPEN else "has nothing left to pay"
        raise InvalidCommand("nothing_to_nudge", f"{target.display_name} {what}")
    last = room.nudges.get(target.member_id)
    if last is not None and last.reason == reason and ctx.now - last.at < NUDGE_GAP_MS:
        raise NotAllowed("nudged_recently", f"{target.display_name} was reminded a moment ago")
    return [e.MemberNudged(member_id=target.member_id, reason=reason, by=ctx.actor, at=ctx.now)]
