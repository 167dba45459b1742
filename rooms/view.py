"""What one client sees of a room on (re)join: a JSON-safe, viewer-specific projection.

Group rooms show the whole roster and cart. Live rooms never ship a roster of thousands: they show
the staff, the viewer himself and ``member_count``; audience members see only their own cart
lines (staff see all), only their own checkout share, and neither the pricing nor the hand-off
of the whole cart (both name or sum other viewers' lines). Tallies are public; each viewer sees
only his own votes and ballots. :mod:`rooms.audience` sends each member only the events that
change what this view shows them.

``you.may`` tells the viewer what they may do now, one entry per row of the permission table
(:func:`rooms.permissions.action_name`) plus the refinements ``edit_any_line``,
``claim_any_line``, ``close_any_poll``, ``delete_any_message`` and ``ignore_slow_mode``: clients
show or hide controls by it and never guess from role names. ``you.may_if`` gives, for an
allowed action that only the phase or a mute holds back, what it waits for (``phases``,
``unmuted``), so a client can answer again after ``CartLocked`` or ``MemberUnmuted`` without a
fresh view; a new role comes with a fresh view. A timed mute counts as held (the view has no
clock): ``muted.until`` says when it lapses.

Staff (and ``as_staff`` readers) also get ``moderation``: the room's and the merchant's word
lists, who is muted until when, and the recent strike times of members whose messages were
blocked (:mod:`rooms.rules.chat`); everyone else gets ``None`` there.
This module only reads the room.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rooms.jsoncodec import to_json
from rooms.model import STAFF, SYSTEM_ACTOR, RoomKind
from rooms.permissions import (
    ANY_LINE_CLAIMERS,
    ANY_LINE_EDITORS,
    OTHERS_MODERATORS,
    PERMISSIONS,
    PHASES,
    REFUSED_WHILE_MUTED,
    REST_PERMISSIONS,
    SPLIT_BY_DEFAULT,
    RestAction,
    action_name,
    allowed,
)
from rooms.rules.chat import AUTO_MUTE_MS, STRIKE_WINDOW_MS, STRIKES_TO_MUTE
from rooms.rules.drops import taken_key
from rooms.state import Drop, Member

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = ["room_view"]


def _member(member: Member) -> dict[str, Any]:
    return {"member_id": member.member_id, "display_name": member.display_name, "role": member.role}


_BRIDGE = frozenset({SYSTEM_ACTOR})
_MEMBER_ROWS: tuple[type | RestAction, ...] = (
    *(
        kind
        for kind, grants in PERMISSIONS.items()
        if any(g - {SYSTEM_ACTOR} for g in grants.values())
    ),
    *REST_PERMISSIONS,
)
"""The rows of the permission tables that some member role holds (not the bridge's own)."""


def _you(room: Room, me: Member) -> dict[str, Any]:
    """The viewer's roster entry with what they may do now (``may``) and when (``may_if``)."""
    muted = me.member_id in room.muted
    may: dict[str, bool] = {}
    may_if: dict[str, dict[str, Any]] = {}
    for kind in _MEMBER_ROWS:
        name = action_name(kind)
        if not allowed(kind, room.kind, me.role):
            may[name] = False
            continue
        phases = PHASES.get(kind)
        quiet = kind in REFUSED_WHILE_MUTED
        if phases is not None:
            may_if[name] = {"phases": sorted(phase.value for phase in phases)}
        if quiet:
            may_if.setdefault(name, {})["unmuted"] = True
        may[name] = (phases is None or room.phase in phases) and not (quiet and muted)
    # refinements that need state or rank (see rooms.permissions): a viewer checks out once
    # they have a line of their own that no open order holds
    may["check_out_own"] = may["check_out_own"] and any(
        line.payer == me.member_id and line.line_id not in room.frozen
        for line in room.lines.values()
    )
    may["pay_share"] = may["pay_share"] and any(
        share.payer == me.member_id and share.status != "released"  # a holdout's, taken over
        for share in room.shares.values()
    )
    # the role-only refinements do not change with the phase: they qualify add_line & co.
    may["edit_any_line"] = me.role in ANY_LINE_EDITORS[room.kind]
    may["claim_any_line"] = me.role in ANY_LINE_CLAIMERS[room.kind]
    may["close_any_poll"] = may["close_poll"] and me.role in OTHERS_MODERATORS
    may["delete_any_message"] = may["delete_message"] and me.role in OTHERS_MODERATORS
    may["ignore_slow_mode"] = me.role in STAFF  # staff are exempt from slow mode (rules/chat.py)
    return {**_member(me), "may": may, "may_if": may_if}


def _moderation(room: Room) -> dict[str, Any]:
    """What staff see of the room's moderation: word lists, mutes, strikes, the strike rule."""
    return {
        "word_list": to_json(room.word_lists.room),
        "merchant_word_list": to_json(room.word_lists.merchant),
        "muted": [{"member_id": m, "until": until} for m, until in room.muted.items()],
        "strikes": to_json(room.strikes),
        "auto_mute": {
            "strikes": STRIKES_TO_MUTE,
            "window_ms": STRIKE_WINDOW_MS,
            "mute_ms": AUTO_MUTE_MS,
        },
    }


def _drop(drop: Drop) -> dict[str, Any]:
    """A drop's public terms and counts (``held`` and who claimed stay out)."""
    shown: dict[str, Any] = to_json(drop)
    del shown["held"]
    shown["remaining"] = drop.remaining
    return shown


def room_view(room: Room, viewer: str, *, as_staff: bool = False) -> dict[str, Any]:
    """The state ``viewer`` is shown; see the module docstring for what is left out.

    ``as_staff``: show what staff see although ``viewer`` is not staff (the merchant's own
    REST reads, which come with no member at all).
    """
    me = room.members.get(viewer)
    sees_everything = (
        room.kind is RoomKind.GROUP or as_staff or (me is not None and me.role in STAFF)
    )
    staff_view = as_staff or (me is not None and me.role in STAFF)
    if room.kind is RoomKind.GROUP:
        roster = [_member(m) for m in room.members.values()]
    else:  # the staff in join order, then the viewer: no scan of every other viewer per join
        roster = [_member(room.members[m]) for m in room.staff]
        if me is not None and me.role not in STAFF:
            roster.append(_member(me))
    lines = [
        to_json(line)
        for line in room.lines.values()
        if sees_everything or viewer in (line.added_by, line.payer)
    ]
    polls = []
    for poll in room.polls.values():
        ballots = room.ballots.get(poll.poll_id, {})
        counts = (
            list(poll.counts)
            if poll.closed
            else [sum(1 for sku in ballots.values() if sku == o) for o in poll.options]
        )
        polls.append(
            {
                "poll_id": poll.poll_id,
                "question": poll.question,
                "options": list(poll.options),
                "opened_by": poll.opened_by,
                "closed": poll.closed,
                "winner": poll.winner,
                "counts": counts,
                "mine": ballots.get(viewer),
            }
        )
    view: dict[str, Any] = {
        "room_id": room.room_id,
        "kind": room.kind.value,
        "title": room.title,
        "host_id": room.host_id,
        "phase": room.phase.value,
        "you": _you(room, me) if me else None,
        "muted": {"until": room.muted[viewer]} if viewer in room.muted else None,
        "member_count": room.member_count,
        "members": roster,
        "lines": lines,
        "votes": {
            "tallies": {sku: {"up": t.up, "down": t.down} for sku, t in room.tallies.items()},
            "mine": {sku: v[viewer] for sku, v in room.votes.items() if viewer in v},
        },
        "polls": polls,
        "chat": {"messages": to_json(room.messages), "slow_mode": room.slow_mode},
        "moderation": _moderation(room) if staff_view else None,
        "stage": {
            "pins": list(room.pins),
            "announcements": to_json(room.announcements),
            "stream": to_json(room.stream),
        },
        "follow": {"mode": room.follow_mode, "focus_sku": room.focus_sku},
        "checkout": {
            "phase": room.phase.value,
            "order_id": room.order_id,
            "snapshot_version": room.snapshot_version,
            "shares": to_json(
                [s for s in room.shares.values() if sees_everything or s.payer == viewer]
            ),
            "handoff_url": room.handoff_url if sees_everything else None,
            "pricing": to_json(room.pricing) if sees_everything else None,
            "last_order": None
            if room.last_settled is None
            else {"order_id": room.last_settled[0], "outcome": room.last_settled[1]},
            "orders": list(room.orders),
            # who an equal split bills unless the host picks (rules/checkout.split_default):
            # the host, and members of these roles who added or pay for a line — a client
            # follows it as lines change (live audiences never share a split)
            "split_roles": sorted(SPLIT_BY_DEFAULT) if room.kind is RoomKind.GROUP else [],
            # paid orders with their receipts, newest first (a live audience sees none: they
            # name other viewers' lines)
            "receipts": to_json(room.receipts[::-1]) if sees_everything else [],
            # how the group resolved payers who did not pay, in the order being paid
            "holdouts": to_json(room.holdouts) if sees_everything else [],
            # when the open cart closes by itself (ms since the epoch) and who set it
            "deadline": None
            if room.deadline is None
            else {"closes_at": room.deadline, "set_by": room.deadline_by},
            # reminders (rules/deadline.py): a member sees their own, staff see all they sent
            # live viewers' own orders (rules/viewer_orders.py): open ones (a viewer sees
            # theirs, staff all), the viewer's latest settled one and receipts
            "viewer_orders": to_json(
                [o for o in room.viewer_orders.values() if staff_view or o.payer == viewer]
            ),
            "my_last_order": to_json(room.viewer_last.get(viewer)),
            "my_receipts": to_json(room.viewer_receipts.get(viewer, [])[::-1]),
            # what viewers' own orders brought in (staff): count, revenue, the latest receipts
            "sales": {
                "orders": room.sales_count,
                "revenue_minor": room.sales_minor,
                "currency": room.sales_currency,
                "recent": to_json(room.recent_sales[::-1]),
            }
            if staff_view and room.kind is RoomKind.LIVE
            else None,
            "buy_ticker": room.buy_ticker,
            # the show ended (server/api/shows.py told the room): when, and if its replay is set
            # (under checkout, whose schema is open, until the published View's closed "stage"
            # object lists these two keys)
            "show": {"ended_at": room.show_ended_at, "replay": room.replay_ready},
            # drops (rules/drops.py): their public terms and counts, newest last (a client
            # counts down to ``ends_at``; ``ended_at`` is set when ended early); the viewer's
            # own won claims not yet paid or given back (staff: all of them)
            "drops": [_drop(drop) for drop in room.drops.values()],
            "drop_claims": to_json(
                [k for k in room.drop_claims.values() if staff_view or k.member_id == viewer]
            ),
            "drop_taken": {
                drop_id: room.drop_taken.get(taken_key(drop_id, viewer), 0)
                for drop_id in room.drops
            },
            "nudges": to_json(
                [n for n in room.nudges.values() if n.member_id == viewer or staff_view]
            ),
        },
    }
    result: dict[str, Any] = to_json(view)
    return result
