"""Who receives each event (DESIGN.md §11): everyone, staff only, or its owners plus staff.

One table, :data:`AUDIENCES`, gives every event type a rule per room kind; :func:`audience`
resolves the rule against the room *before* the event is applied (a ``QuantityChanged`` names
only its line; the room knows whose line it is). The rules follow :func:`rooms.view.room_view`,
so what a member's stream reveals is what their view shows (``tests/rooms/test_audience.py``):

- group rooms: every event goes to everyone (every member sees the whole room);
- live rooms: a cart line, and every event about it, goes to the line's owners — who added it
  and who pays for it — plus staff; a checkout share goes to its payer plus staff; a mute to
  the muted member plus staff; the pricing and the hand-off of the whole cart (which name or
  sum other viewers' lines) to staff only; the rest to everyone.

When staff assign a line's payer, the line enters the new payer's view and may leave the old
payer's: those two are shown the change as ``LineAdded`` (the line as it now is) and
``LineRemoved`` instead (:attr:`Audience.shown_as`), so their view and their stream agree.

Staff always receive every event as it is. This module only reads the room.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rooms import events as e
from rooms.model import STAFF, RoomKind

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = [
    "AUDIENCES",
    "EVERYONE",
    "STAFF_ONLY",
    "Audience",
    "Rule",
    "audience",
    "audience_table_markdown",
]

Rule = Literal["everyone", "staff", "owner"]


@dataclass(frozen=True, slots=True)
class Audience:
    """Who receives one event besides staff (who receive every event as it is).

    ``everyone``: every member. Otherwise only the members in ``owners`` (none: staff only);
    ``shown_as`` maps some owners to the event they are shown instead of this one.
    """

    everyone: bool
    owners: frozenset[str] = frozenset()
    shown_as: tuple[tuple[str, e.Event], ...] = ()

    def sees(self, member_id: str) -> bool:
        """True when a member who is not staff receives the event (as itself or shown as)."""
        return self.everyone or member_id in self.owners


EVERYONE = Audience(everyone=True)
STAFF_ONLY = Audience(everyone=False)


def _both(rule: Rule) -> Mapping[RoomKind, Rule]:
    return {RoomKind.GROUP: rule, RoomKind.LIVE: rule}


def _live(rule: Rule) -> Mapping[RoomKind, Rule]:
    return {RoomKind.GROUP: "everyone", RoomKind.LIVE: rule}


AUDIENCES: Mapping[type, Mapping[RoomKind, Rule]] = {
    # membership: live rooms show staff on stage and count the audience, whose joins the
    # clients count (member_count); names of viewers are not in the view's roster
    e.RoomOpened: _both("everyone"),
    e.MemberJoined: _both("everyone"),
    e.MemberLeft: _both("everyone"),
    e.MemberKicked: _both("everyone"),
    e.MemberBanned: _both("everyone"),
    e.MemberUnbanned: _both("everyone"),
    e.MemberPromoted: _both("everyone"),
    # co-browse
    e.FollowModeSet: _both("everyone"),
    e.EveryoneBrought: _both("everyone"),
    # votes and polls: tallies and counts are public and built from these
    e.VoteCast: _both("everyone"),
    e.PollOpened: _both("everyone"),
    e.PollVoteCast: _both("everyone"),
    e.PollClosed: _both("everyone"),
    # cart: a live viewer sees only the lines they added or pay for
    e.LineAdded: _live("owner"),
    e.QuantityChanged: _live("owner"),
    e.LineRemoved: _live("owner"),
    e.PayerAssigned: _live("owner"),
    # chat and moderation: a mute is shown only to the muted member
    e.MessagePosted: _both("everyone"),
    e.MessageDeleted: _both("everyone"),
    e.MemberMuted: _live("owner"),
    e.MemberUnmuted: _live("owner"),
    e.SlowModeSet: _both("everyone"),
    # stage
    e.ProductPinned: _both("everyone"),
    e.ProductUnpinned: _both("everyone"),
    e.Announced: _both("everyone"),
    e.StreamSet: _both("everyone"),
    # checkout: the phase is public; a share is its payer's; the whole cart's pricing and
    # hand-off name other viewers' lines
    e.CartLocked: _both("everyone"),
    e.CartUnlocked: _both("everyone"),
    e.SettlementBegan: _both("everyone"),
    e.ShareUpdated: _live("owner"),
    e.OrderSettled: _both("everyone"),
    e.PricingReported: _live("staff"),
    e.HandoffRecorded: _live("staff"),
}
"""Event class -> room kind -> who receives it (``owner``: its owners plus staff)."""


def audience(room: Room, event: e.Event) -> Audience:
    """Who receives ``event``; ``room`` is the state before the event is applied."""
    rule = AUDIENCES[type(event)][room.kind]
    if rule == "everyone":
        return EVERYONE
    if rule == "staff":
        return STAFF_ONLY
    owners, shown_as = _owners(room, event)
    owners = frozenset(m for m in owners if not _is_staff(room, m))
    shown = tuple((m, ev) for m, ev in shown_as if m in owners)
    return Audience(everyone=False, owners=owners, shown_as=shown)


def _is_staff(room: Room, member_id: str) -> bool:
    member = room.members.get(member_id)
    return member is not None and member.role in STAFF


def _owners(room: Room, event: e.Event) -> tuple[frozenset[str], tuple[tuple[str, e.Event], ...]]:
    """The members an ``owner`` event belongs to, and what some of them are shown instead."""
    match event:
        case e.LineAdded():
            return frozenset({event.added_by, event.payer}), ()
        case e.QuantityChanged() | e.LineRemoved():
            line = room.lines.get(event.line_id)
            return (frozenset() if line is None else frozenset({line.added_by, line.payer})), ()
        case e.PayerAssigned():
            line = room.lines.get(event.line_id)
            if line is None:
                return frozenset(), ()
            before = {line.added_by, line.payer}
            after = {line.added_by, event.payer}
            shown: list[tuple[str, e.Event]] = []
            if event.payer not in before:  # the line enters the new payer's view
                shown.append(
                    (
                        event.payer,
                        e.LineAdded(
                            line_id=line.line_id,
                            sku=line.sku,
                            variant=line.variant,
                            quantity=line.quantity,
                            note=line.note,
                            redacted=False,
                            added_by=line.added_by,
                            payer=event.payer,
                            title=line.title,
                            price_minor=line.price_minor,
                            currency=line.currency,
                            at=line.added_at,
                        ),
                    )
                )
            if line.payer not in after:  # and leaves the old payer's
                shown.append((line.payer, e.LineRemoved(line_id=line.line_id, by=event.by)))
            return frozenset(before | after), tuple(shown)
        case e.ShareUpdated():
            return frozenset({event.payer}), ()
        case e.MemberMuted() | e.MemberUnmuted():
            return frozenset({event.member_id}), ()
        case _:
            return frozenset(), ()  # an event with no owner: staff only


def audience_table_markdown() -> str:
    """The audience table as Markdown (for ``docs/rooms.md`` / ``docs/protocol.md``)."""
    words = {"everyone": "everyone", "staff": "staff", "owner": "owner + staff"}
    rows = ["| event | group room | live room |", "|---|---|---|"]
    for cls, rules in AUDIENCES.items():
        group, live = words[rules[RoomKind.GROUP]], words[rules[RoomKind.LIVE]]
        rows.append(f"| `{cls.__name__}` | {group} | {live} |")
    return "\n".join(rows)
