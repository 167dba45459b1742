"""Who receives each event (DESIGN.md §11): everyone, staff only, or its owners plus staff.

One table, :data:`AUDIENCES`, gives every event type a rule per room kind; :func:`audience`
resolves the rule against the room *before* the event is applied (a ``QuantityChanged`` names
only its line; the room knows whose line it is). The rules follow :func:`rooms.view.room_view`,
so what a member's stream reveals is what their view shows (``tests/rooms/test_audience.py``):

- group rooms: every event goes to everyone (every member sees the whole room), except a
  message refused for a listed word and a reminder (``MemberNudged``: its member plus staff)
  and the word lists (staff);
- live rooms: a cart line, and every event about it, goes to the line's owners — who added it
  and who pays for it — plus staff; a checkout share goes to its payer plus staff; a mute to
  the muted member plus staff; the joins, departures and promotions of the audience (whom the
  view's roster leaves out) to that member plus staff, those of staff (on stage) to everyone;
  unbans, the pricing and the hand-off of the whole cart (which name or sum other viewers'
  lines) to staff only; a viewer's own order (``ViewerOrderBegan``, its ``ShareUpdated`` and
  ``OrderSettled``) to that viewer plus staff; a drop's claim (``DropClaimed``,
  ``DropClaimReleased``) to its viewer plus staff while its terms and counts are public; the rest
  to everyone.

When staff assign a line's payer, the line enters the new payer's view and may leave the old
payer's: those two are shown the change as ``LineAdded`` (the line as it now is) and
``LineRemoved`` instead (:attr:`Audience.shown_as`), so their view and their stream agree.
Likewise a member promoted onto a live room's stage enters the audience's roster (they are
shown ``MemberJoined``) and one demoted from it leaves it (``MemberLeft``):
:attr:`Audience.others_as`.

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

Rule = Literal["everyone", "staff", "owner", "roster", "order"]


@dataclass(frozen=True, slots=True)
class Audience:
    """Who receives one event besides staff (who receive every event as it is).

    ``everyone``: every member. Otherwise only the members in ``owners`` (none: staff only);
    ``shown_as`` maps some owners to the event they are shown instead of this one, and the other
    members (neither staff nor owners) are shown ``others_as`` instead, if it is set.
    """

    everyone: bool
    owners: frozenset[str] = frozenset()
    shown_as: tuple[tuple[str, e.Event], ...] = ()
    others_as: e.Event | None = None

    def sees(self, member_id: str) -> bool:
        """True when a member who is not staff receives the event (as itself or shown as)."""
        return self.everyone or member_id in self.owners or self.others_as is not None

    def shown_to(self, member_id: str, event: e.Event) -> e.Event | None:
        """What a member who is not staff is shown of ``event`` (None: nothing)."""
        if self.everyone:
            return event
        if member_id in self.owners:
            for owner, shown in self.shown_as:
                if owner == member_id:
                    return shown
            return event
        return self.others_as


EVERYONE = Audience(everyone=True)
STAFF_ONLY = Audience(everyone=False)


def _both(rule: Rule) -> Mapping[RoomKind, Rule]:
    return {RoomKind.GROUP: rule, RoomKind.LIVE: rule}


def _live(rule: Rule) -> Mapping[RoomKind, Rule]:
    return {RoomKind.GROUP: "everyone", RoomKind.LIVE: rule}


AUDIENCES: Mapping[type, Mapping[RoomKind, Rule]] = {
    # membership: a live room's roster shows staff (on stage) and the viewer himself
    e.RoomOpened: _both("everyone"),
    e.MemberJoined: _live("roster"),
    e.MemberLeft: _live("roster"),
    e.MemberKicked: _live("roster"),
    e.MemberBanned: _live("roster"),
    e.MemberUnbanned: _live("staff"),
    e.MemberPromoted: _live("roster"),
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
    # word lists (rooms/wordlist.py): a blocked message is its author's and staff's, in both
    # kinds; the lists themselves are staff's
    e.MessageBlocked: _both("owner"),
    e.WordListSet: _both("staff"),
    # stage
    e.ProductPinned: _both("everyone"),
    e.ProductUnpinned: _both("everyone"),
    e.Announced: _both("everyone"),
    e.StreamSet: _both("everyone"),
    e.ShowEnded: _both("everyone"),
    # checkout: the phase is public; a share is its payer's; the whole cart's pricing and
    # hand-off name other viewers' lines
    e.CartLocked: _both("everyone"),
    e.CartUnlocked: _both("everyone"),
    # the deadline is the room's; a reminder is its member's (and staff's, who sent it)
    e.DeadlineSet: _both("everyone"),
    e.MemberNudged: _both("owner"),
    e.SettlementBegan: _both("everyone"),
    e.ShareUpdated: _live("owner"),
    e.OrderSettled: _live("order"),
    e.PricingReported: _live("staff"),
    e.HandoffRecorded: _live("staff"),
    e.HoldoutResolved: _live("staff"),
    # a live viewer's own order is theirs (and staff's); the ticker is the audience's
    e.ViewerOrderBegan: _live("owner"),
    e.BuyTickerSet: _both("everyone"),
    e.PurchaseShown: _both("everyone"),
    # drops: the terms and the counts are public; a claim names its viewer (theirs and staff's)
    e.DropStarted: _both("everyone"),
    e.DropEnded: _both("everyone"),
    e.DropRemaining: _both("everyone"),
    e.DropClaimed: _live("owner"),
    e.DropClaimReleased: _live("owner"),
}
"""Event class -> room kind -> who receives it.

``owner``: its owners plus staff. ``roster``: everyone when the member it is about is staff
(before or after it), else that member plus staff. ``order``: a live viewer's own order's
payer plus staff; the room-wide order's, everyone.
"""


def audience(room: Room, event: e.Event) -> Audience:
    """Who receives ``event``; ``room`` is the state before the event is applied."""
    rule = AUDIENCES[type(event)][room.kind]
    if rule == "everyone":
        return EVERYONE
    if rule == "staff":
        return STAFF_ONLY
    if rule == "roster":
        return _roster(room, event)
    if rule == "order" and getattr(event, "order_id", "") not in room.viewer_orders:
        return EVERYONE  # the room-wide order's end is public
    owners, shown_as = _owners(room, event)
    owners = frozenset(m for m in owners if not _is_staff(room, m))
    shown = tuple((m, ev) for m, ev in shown_as if m in owners)
    return Audience(everyone=False, owners=owners, shown_as=shown)


def _is_staff(room: Room, member_id: str) -> bool:
    member = room.members.get(member_id)
    return member is not None and member.role in STAFF


def _roster(room: Room, event: e.Event) -> Audience:
    """A change of who is in the room: public when it concerns staff, else its member's."""
    match event:
        case e.MemberJoined():
            member_id, on_stage = event.member_id, event.role in STAFF
        case e.MemberPromoted():
            member_id, was = event.member_id, _is_staff(room, event.member_id)
            member = room.members.get(member_id)
            if member is not None and was != (event.role in STAFF):
                # onto or off the stage: the rest of the audience sees them arrive or go
                others: e.Event = (
                    e.MemberLeft(member_id=member_id, at=member.joined_at)
                    if was
                    else e.MemberJoined(
                        member_id=member_id,
                        display_name=member.display_name,
                        role=event.role,
                        redacted=False,
                        at=member.joined_at,
                    )
                )
                return Audience(everyone=False, owners=frozenset({member_id}), others_as=others)
            on_stage = was
        case e.MemberLeft() | e.MemberKicked() | e.MemberBanned():
            member_id, on_stage = event.member_id, _is_staff(room, event.member_id)
        case _:
            return STAFF_ONLY  # not a change of the roster
    return EVERYONE if on_stage else Audience(everyone=False, owners=frozenset({member_id}))


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
        case e.ShareUpdated() | e.ViewerOrderBegan():
            return frozenset({event.payer}), ()
        case e.OrderSettled():  # a viewer's own order (rule "order")
            return frozenset({room.viewer_orders[event.order_id].payer}), ()
        case e.MemberMuted() | e.MemberUnmuted() | e.MemberNudged():
            return frozenset({event.member_id}), ()
        case e.DropClaimed() | e.DropClaimReleased():
            return frozenset({event.member_id}), ()
        case e.MessageBlocked():
            return frozenset({event.author}), ()
        case _:
            return frozenset(), ()  # an event with no owner: staff only


def audience_table_markdown() -> str:
    """The audience table as Markdown (for ``docs/rooms.md`` / ``docs/protocol.md``)."""
    words = {
        "everyone": "everyone",
        "staff": "staff",
        "owner": "owner + staff",
        "roster": "everyone if about staff, else its member + staff",
        "order": "a viewer's own order: its payer + staff; else everyone",
    }
    rows = ["| event | group room | live room |", "|---|---|---|"]
    for cls, rules in AUDIENCES.items():
        group, live = words[rules[RoomKind.GROUP]], words[rules[RoomKind.LIVE]]
        rows.append(f"| `{cls.__name__}` | {group} | {live} |")
    return "\n".join(rows)
