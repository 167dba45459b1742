"""Who receives each event (rooms/audience.py), and that it agrees with what each view shows.

The property test plays random cart, checkout and moderation commands in a room with staff and
three audience members. Each member folds only the events they receive (as they are shown to
them) into their copy of the view, starting from their view; after every event that copy must
equal ``room.view(member)`` — so no line of another viewer ever reaches a viewer, by event or by
view, and every line a viewer's view shows reached them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms import (
    EVERYONE,
    STAFF_ONLY,
    SYSTEM_ACTOR,
    Audience,
    Command,
    Event,
    Role,
    RoomError,
    RoomKind,
    audience,
)
from rooms import commands as c
from rooms import events as e
from rooms.audience import AUDIENCES, _owners, _roster, audience_table_markdown
from rooms.jsoncodec import to_json
from rooms.rules.deadline import PAID_SHARES
from rooms.state import PricingIssue
from tests.rooms.support import Driver

MEMBERS = ("host", "assoc", "a", "b", "c")
STAFF_ROLES = frozenset({Role.HOST, Role.COHOST, Role.MODERATOR, Role.ASSOCIATE})


def _cast(kind: RoomKind) -> Driver:
    room = Driver(kind)
    room.join("assoc", Role.ASSOCIATE)
    for m in ("a", "b", "c"):
        room.join(m, Role.VIEWER if kind is RoomKind.LIVE else Role.MEMBER)
    return room


def test_every_event_type_has_an_audience_in_every_room_kind() -> None:
    assert set(AUDIENCES) == set(e.BaseEvent.registry.values())
    for rules in AUDIENCES.values():
        assert set(rules) == set(RoomKind)
    table = audience_table_markdown()
    assert "| `LineAdded` | everyone | owner + staff |" in table
    assert "| `PricingReported` | everyone | staff |" in table
    assert "| `MessagePosted` | everyone | everyone |" in table


def test_group_rooms_send_everything_to_everyone() -> None:
    room = _cast(RoomKind.GROUP)
    (added,) = room.do("a", c.AddLine("mug", None, 1, "secret"))
    assert audience(room.room, added) is EVERYONE
    (muted,) = room.do("host", c.MuteMember("b", None))
    assert audience(room.room, muted) is EVERYONE


def test_a_live_viewers_line_goes_to_its_owner_and_staff() -> None:
    room = _cast(RoomKind.LIVE)
    line = room.add("a", note="secret")
    added = room.log[-1]
    who = audience(room.room, added)
    assert not who.everyone and who.owners == {"a"} and who.shown_as == ()
    assert who.sees("a") and not who.sees("b")
    for command in (c.SetQuantity(line, 2), c.RemoveLine(line)):
        (event,) = room.room.decide(command, room.ctx("a"))
        assert audience(room.room, event).owners == {"a"}


def test_a_line_of_staff_is_for_staff_only() -> None:
    room = _cast(RoomKind.LIVE)
    room.add("assoc")
    assert audience(room.room, room.log[-1]) == STAFF_ONLY


def test_a_line_that_is_gone_is_for_staff_only() -> None:
    room = _cast(RoomKind.LIVE)
    for event in (
        e.QuantityChanged("gone", 2, "host"),
        e.LineRemoved("gone", "host"),
        e.PayerAssigned("gone", "a", "host"),
    ):
        assert audience(room.room, event) == STAFF_ONLY


def test_a_payer_change_shows_the_line_to_the_new_payer_and_takes_it_from_the_old() -> None:
    room = _cast(RoomKind.LIVE)
    line = room.add("assoc", note="picked for a")
    (to_a,) = room.room.decide(c.AssignPayer(line, "a"), room.ctx("host"))
    who = audience(room.room, to_a)
    assert who.owners == {"a"}
    ((member, shown),) = who.shown_as
    assert member == "a" and isinstance(shown, e.LineAdded)
    assert who.shown_to("a", to_a) is shown and who.shown_to("b", to_a) is None
    assert (shown.line_id, shown.payer, shown.added_by, shown.note) == (
        line,
        "a",
        "assoc",
        "picked for a",
    )
    room.room.apply(to_a)
    (to_b,) = room.room.decide(c.AssignPayer(line, "b"), room.ctx("host"))
    who = audience(room.room, to_b)
    assert who.owners == {"a", "b"}
    shown_as = dict(who.shown_as)
    assert shown_as["a"] == e.LineRemoved(line, "host")  # a neither added nor pays for it now
    assert shown_as["b"] == dataclasses.replace(shown, payer="b")


def test_the_adder_keeps_the_line_when_someone_else_pays() -> None:
    room = _cast(RoomKind.LIVE)
    line = room.add("a")
    (event,) = room.room.decide(c.AssignPayer(line, "b"), room.ctx("host"))
    who = audience(room.room, event)
    assert who.owners == {"a", "b"}
    assert [m for m, _ in who.shown_as] == ["b"]  # a still added it: a keeps it as it is
    assert who.shown_to("a", event) is event
    room.room.apply(event)
    (back,) = room.room.decide(c.AssignPayer(line, "a"), room.ctx("host"))
    who = audience(room.room, back)
    assert who.owners == {"a", "b"}
    assert who.shown_as == ((("b", e.LineRemoved(line, "host"))),)  # a sees the change itself


def test_shares_and_mutes_are_their_members_and_pricing_is_staffs() -> None:
    room = _cast(RoomKind.LIVE)
    room.add("a")
    room.do("host", c.LockCart())
    (priced,) = room.do(SYSTEM_ACTOR, c.ReportPricing(1, "EUR", 900, True, ()))
    assert audience(room.room, priced) == STAFF_ONLY
    (handoff,) = room.do(SYSTEM_ACTOR, c.RecordHandoff("https://shop.example/cart/1"))
    assert audience(room.room, handoff) == STAFF_ONLY
    room.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 1))
    (share,) = room.do(SYSTEM_ACTOR, c.UpdateShare("o1", "a", "pending", 900))
    assert audience(room.room, share).owners == {"a"}
    (muted,) = room.do("host", c.MuteMember("b", None))
    assert audience(room.room, muted).owners == {"b"}
    (unmuted,) = room.do("host", c.UnmuteMember("b"))
    assert audience(room.room, unmuted).owners == {"b"}


def test_an_event_without_owners_has_none() -> None:
    room = _cast(RoomKind.LIVE)
    assert _owners(room.room, e.SlowModeSet(5, "host")) == (frozenset(), ())
    assert _roster(room.room, e.SlowModeSet(5, "host")) == STAFF_ONLY


def test_the_audiences_joins_and_departures_are_theirs_and_the_stages_are_public() -> None:
    room = _cast(RoomKind.LIVE)
    (joined,) = room.room.decide(c.Join("Dee", Role.VIEWER), room.ctx("d"))
    who = audience(room.room, joined)
    assert who.owners == {"d"} and who.shown_to("d", joined) is joined
    assert not who.sees("a") and who.shown_to("a", joined) is None
    (mod,) = room.room.decide(c.Join("Mo", Role.MODERATOR), room.ctx("mo"))
    assert audience(room.room, mod) is EVERYONE
    (left,) = room.room.decide(c.Leave(), room.ctx("a"))
    assert audience(room.room, left).owners == {"a"}
    (kicked,) = room.room.decide(c.Kick("assoc"), room.ctx("host"))
    assert audience(room.room, kicked) is EVERYONE  # staff leave the stage in public
    (unbanned,) = [e.MemberUnbanned("x", "host")]
    assert audience(room.room, unbanned) == STAFF_ONLY
    (member,) = room.room.decide(c.PromoteMember("a", Role.MEMBER), room.ctx("host"))
    assert audience(room.room, member).owners == {"a"}  # still in the audience


def test_a_member_promoted_onto_the_stage_joins_the_audiences_roster() -> None:
    room = _cast(RoomKind.LIVE)
    (up,) = room.room.decide(c.PromoteMember("a", Role.MODERATOR), room.ctx("host"))
    who = audience(room.room, up)
    assert who.owners == {"a"} and who.sees("b")
    assert who.shown_to("a", up) is up
    assert who.shown_to("b", up) == e.MemberJoined("a", "A", Role.MODERATOR, False, 1_002)
    room.room.apply(up)
    (down,) = room.room.decide(c.PromoteMember("a", Role.VIEWER), room.ctx("host"))
    assert audience(room.room, down).shown_to("b", down) == e.MemberLeft("a", 1_002)
    (gone,) = [e.MemberPromoted("nobody", Role.MODERATOR, "host")]
    assert audience(room.room, gone).owners == {"nobody"}  # not in the room: nothing to show


# --- the property: each member's stream rebuilds exactly their view ------------------------


def _line(ev: e.LineAdded) -> dict[str, Any]:
    return {
        "line_id": ev.line_id,
        "sku": ev.sku,
        "variant": ev.variant,
        "quantity": ev.quantity,
        "note": ev.note,
        "added_by": ev.added_by,
        "payer": ev.payer,
        "title": ev.title,
        "price_minor": ev.price_minor,
        "currency": ev.currency,
        "added_at": ev.at,
        "assigned_by": "",
    }


def _seen(view: dict[str, Any]) -> dict[str, Any]:
    """The parts of a view that private events change."""
    co = view["checkout"]
    return {
        "members": {m["member_id"]: m for m in view["members"]},
        "lines": {line["line_id"]: line for line in view["lines"]},
        "shares": {s["payer"]: s for s in co["shares"]},
        "pricing": co["pricing"],
        "handoff_url": co["handoff_url"],
        "order_id": co["order_id"],
        "muted": view["muted"],
        "kind": view["kind"],
        "deadline": co["deadline"],
        "nudges": {n["member_id"]: n for n in co["nudges"]},
    }


def _fold(copy: dict[str, Any], ev: Event, me: str) -> None:
    """A client's fold of one received event (as static/js/state.js does it)."""
    lines, members, nudges = copy["lines"], copy["members"], copy["nudges"]

    def drop_nudge(member: str, reason: str) -> None:
        if member in nudges and nudges[member]["reason"] == reason:
            del nudges[member]

    match ev:
        case e.MemberJoined():
            members[ev.member_id] = {
                "member_id": ev.member_id,
                "display_name": ev.display_name,
                "role": ev.role,
            }
        case e.MemberLeft() | e.MemberKicked() | e.MemberBanned():
            members.pop(ev.member_id, None)
            nudges.pop(ev.member_id, None)
        case e.MemberPromoted() if ev.member_id in members:
            members[ev.member_id] = {**members[ev.member_id], "role": ev.role}
        case e.LineAdded():
            drop_nudge(ev.added_by, "add")
            lines[ev.line_id] = _line(ev)
        case e.QuantityChanged() if ev.line_id in lines:
            lines[ev.line_id] = {**lines[ev.line_id], "quantity": ev.quantity}
        case e.LineRemoved():
            lines.pop(ev.line_id, None)
        case e.PayerAssigned() if ev.line_id in lines:
            drop_nudge(ev.payer, "add")
            told = copy["kind"] == "group" and ev.by != ev.payer  # the payer is told who
            lines[ev.line_id] = {
                **lines[ev.line_id],
                "payer": ev.payer,
                "assigned_by": ev.by if told else "",
            }
        case e.CartUnlocked():
            copy["pricing"] = None
        case e.CartLocked():
            copy["deadline"] = None
            nudges.clear()
        case e.DeadlineSet():
            copy["deadline"] = (
                None if ev.closes_at is None else {"closes_at": ev.closes_at, "set_by": ev.by}
            )
        case e.MemberNudged():
            nudges[ev.member_id] = {
                "member_id": ev.member_id,
                "reason": ev.reason,
                "by": ev.by,
                "at": ev.at,
            }
        case e.PricingReported():
            copy["pricing"] = {
                "snapshot_version": ev.snapshot_version,
                "currency": ev.currency,
                "total_minor": ev.total_minor,
                "ready": ev.ready,
                "issues": to_json(list(ev.issues)),
                "at": ev.at,
            }
        case e.HandoffRecorded():
            copy["handoff_url"] = ev.url
        case e.SettlementBegan():
            copy["order_id"], copy["shares"] = ev.order_id, {}
        case e.ShareUpdated() if ev.order_id == copy["order_id"]:
            if ev.status in PAID_SHARES:
                drop_nudge(ev.payer, "pay")
            copy["shares"][ev.payer] = {
                "payer": ev.payer,
                "status": ev.status,
                "amount_minor": ev.amount_minor,
            }
        case e.OrderSettled() if ev.order_id == copy["order_id"]:
            if ev.outcome == "paid":
                lines.clear()
            copy.update(order_id=None, shares={}, pricing=None, handoff_url=None)
            nudges.clear()
        case e.MemberMuted() if ev.member_id == me:
            copy["muted"] = {"until": ev.until}
        case e.MemberUnmuted() if ev.member_id == me:
            copy["muted"] = None
        case _:
            pass


def _staff(room: Driver, member: str) -> bool:
    role = room.room.role_of(member)
    return role is not None and role in STAFF_ROLES


def _received(who: Audience, ev: Event, member: str, staff: bool) -> Event | None:
    return ev if staff else who.shown_to(member, ev)


adders = st.sampled_from(["a", "a", "b", "c", "assoc", "host"])
members = st.sampled_from(MEMBERS)
refs = st.integers(min_value=0, max_value=4)
notes = st.sampled_from(["", "secret", "gift"])
steps = st.one_of(
    st.tuples(st.just("add"), adders, st.sampled_from(["mug", "bag", "pen"]), notes),
    st.tuples(st.just("qty"), adders, refs, st.integers(min_value=1, max_value=3)),
    st.tuples(st.just("remove"), adders, refs),
    st.tuples(st.just("claim"), adders, refs),
    st.tuples(st.just("assign"), st.sampled_from(["host", "host", "a"]), refs, members),
    st.tuples(st.just("lock"), st.just("host")),
    st.tuples(st.just("unlock"), st.just("host")),
    st.tuples(st.just("price"), st.just(SYSTEM_ACTOR), refs),
    st.tuples(st.just("handoff"), st.just(SYSTEM_ACTOR)),
    st.tuples(st.just("begin"), st.just(SYSTEM_ACTOR)),
    st.tuples(st.just("share"), st.just(SYSTEM_ACTOR), members),
    st.tuples(st.just("settle"), st.just(SYSTEM_ACTOR), st.sampled_from(["paid", "void"])),
    st.tuples(st.just("mute"), st.just("host"), members),
    st.tuples(st.just("unmute"), st.just("host"), members),
    st.tuples(st.just("say"), members),
    st.tuples(st.just("checkout"), st.just("host"), members, members),
    st.tuples(st.just("leave"), members),
    st.tuples(st.just("join"), members),
    st.tuples(st.just("kick"), st.just("host"), members),
    st.tuples(st.just("promote"), st.just("host"), members, st.sampled_from(list(Role))),
    st.tuples(st.just("nudge"), st.sampled_from(["host", SYSTEM_ACTOR]), members),
    st.tuples(st.just("deadline"), st.just("host"), st.sampled_from([None, 60_000])),
    st.tuples(st.just("close"), st.just(SYSTEM_ACTOR)),
)  # fmt: skip


def _commands(room: Driver, step: tuple[Any, ...]) -> list[tuple[str, Command]]:
    """The commands of one step; ``checkout`` runs the host's lock through two shares."""
    if step[0] != "checkout":
        return [(step[1], _command(room, step))]
    order = f"o{len(room.log)}"
    return [
        ("host", c.LockCart()),
        (SYSTEM_ACTOR, c.ReportPricing(1, "EUR", 1000, True, ())),
        (SYSTEM_ACTOR, c.BeginSettlement(order, 1)),
        (SYSTEM_ACTOR, c.UpdateShare(order, step[2], "pending", 500)),
        (SYSTEM_ACTOR, c.UpdateShare(order, step[3], "paid", 700)),
    ]


def _command(room: Driver, step: tuple[Any, ...]) -> Command:
    line_ids = list(room.room.lines)

    def ref(k: int) -> str:
        return line_ids[k % len(line_ids)] if line_ids else "none"

    order = room.room.order_id or "o1"
    match step:
        case ("add", _, sku, note):
            return c.AddLine(sku, None, 1, note)
        case ("qty", _, k, q):
            return c.SetQuantity(ref(k), q)
        case ("remove", _, k):
            return c.RemoveLine(ref(k))
        case ("claim", _, k):
            return c.ClaimLine(ref(k))
        case ("assign", _, k, member):
            return c.AssignPayer(ref(k), member)
        case ("lock", _):
            return c.LockCart()
        case ("unlock", _):
            return c.UnlockCart()
        case ("price", _, k):
            issues = (PricingIssue(ref(k), "price_changed", 900, 1000),) if line_ids else ()
            return c.ReportPricing(1, "EUR", 1000, True, issues)
        case ("handoff", _):
            return c.RecordHandoff("https://shop.example/cart/1")
        case ("begin", _):
            return c.BeginSettlement(f"o{len(room.log)}", 1)
        case ("share", _, payer):
            return c.UpdateShare(order, payer, "pending", 500)
        case ("settle", _, outcome):
            return c.SettleOrder(order, outcome)
        case ("mute", _, member):
            return c.MuteMember(member, None)
        case ("unmute", _, member):
            return c.UnmuteMember(member)
        case ("leave", _):
            return c.Leave()
        case ("join", member):
            return c.Join(
                member.title(), Role.VIEWER if room.room.kind is RoomKind.LIVE else Role.MEMBER
            )
        case ("kick", _, member):
            return c.Kick(member)
        case ("promote", _, member, role):
            return c.PromoteMember(member, role)
        case ("nudge", _, member):
            return c.Nudge(member)
        case ("deadline", _, ahead):
            return c.SetDeadline(None if ahead is None else room.now + ahead)
        case ("close", _):
            room.now = max(room.now, room.room.deadline or 0)  # the deadline came
            return c.LockAtDeadline()
        case _:
            return c.PostMessage("hello")


@pytest.mark.parametrize("kind", list(RoomKind))
@settings(max_examples=300, deadline=None)
@given(script=st.lists(steps, max_size=40))
def test_each_members_stream_rebuilds_exactly_their_view(
    kind: RoomKind, script: list[tuple[Any, ...]]
) -> None:
    room = _cast(kind)
    copies = {m: _seen(room.room.view(m)) for m in MEMBERS}
    for step in script:
        for actor, command in _commands(room, step):
            try:
                events = room.room.decide(command, room.ctx(actor))
            except RoomError:
                continue
            for ev in events:
                _deliver(room, ev, copies, kind)
        for member in MEMBERS:
            if not room.room.is_member(member):
                continue  # gone: they receive nothing, and get a fresh view if they come back
            want, have = _seen(room.room.view(member)), dict(copies[member])
            if kind is RoomKind.LIVE and _staff(room, member):
                # staff receive every join, but a live view lists only the stage
                del want["members"], have["members"]
            assert have == want, (member, step)


def _deliver(room: Driver, ev: Event, copies: dict[str, dict[str, Any]], kind: RoomKind) -> None:
    """Apply one event and fold it into the copy of each member who receives it."""
    who = audience(room.room, ev)  # on the state before the event
    staff_before = {m: _staff(room, m) for m in MEMBERS}
    if isinstance(ev, e.MemberJoined):  # a newcomer's welcome comes before their join
        copies[ev.member_id] = _seen(room.room.view(ev.member_id))
    room.room.apply(ev)
    room.log.append(ev)
    for member in MEMBERS:
        if _staff(room, member) != staff_before[member]:
            # joining or leaving staff: the hub sends a fresh view (a new welcome)
            copies[member] = _seen(room.room.view(member))
            continue
        got = _received(who, ev, member, staff_before[member])
        if got is None:
            continue
        if kind is RoomKind.LIVE and not staff_before[member]:
            if isinstance(got, e.MemberJoined) and got.member_id != member:
                assert got.role in STAFF_ROLES  # the audience sees only the stage join
            if isinstance(got, e.LineAdded):  # never another viewer's line
                assert member in (got.added_by, got.payer)
            if isinstance(got, e.ShareUpdated):
                assert got.payer == member
        _fold(copies[member], got, member)


def test_a_view_as_staff_shows_a_live_room_whole() -> None:
    room = _cast(RoomKind.LIVE)
    room.add("a", note="secret")
    assert room.room.view("")["lines"] == []
    assert [line["note"] for line in room.room.view("", as_staff=True)["lines"]] == ["secret"]
