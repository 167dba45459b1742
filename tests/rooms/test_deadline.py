"""The cart deadline and nudges (rooms/rules/deadline.py)."""

from __future__ import annotations

from rooms import SYSTEM_ACTOR, Phase, Role, Room, RoomKind, audience
from rooms import commands as c
from rooms import events as e
from rooms.rules.deadline import MAX_DEADLINE_AHEAD_MS, NUDGE_GAP_MS
from tests.rooms.support import Driver

MINUTE = 60_000


def _group() -> Driver:
    d = Driver()
    d.join("bob")
    d.join("cat")
    return d


def test_the_host_sets_changes_and_clears_the_deadline() -> None:
    d = _group()
    (ev,) = d.do("host", c.SetDeadline(d.now + 30 * MINUTE))
    assert isinstance(ev, e.DeadlineSet) and ev.by == "host"
    assert d.room.deadline == ev.closes_at and d.room.deadline_by == "host"
    view = d.room.view("bob")["checkout"]["deadline"]
    assert view == {"closes_at": ev.closes_at, "set_by": "host"}
    assert d.do("host", c.SetDeadline(ev.closes_at)) == []  # the same time: nothing new
    (moved,) = d.do("host", c.SetDeadline(d.now + 5 * MINUTE))
    assert isinstance(moved, e.DeadlineSet) and d.room.deadline == moved.closes_at
    (cleared,) = d.do("host", c.SetDeadline(None))
    assert cleared == e.DeadlineSet(None, "host", d.now)
    assert d.room.deadline is None and d.room.view("bob")["checkout"]["deadline"] is None
    assert d.do("host", c.SetDeadline(None)) == []  # nothing to clear
    assert d.replayed() == d.room


def test_the_deadline_is_bounded_and_the_hosts() -> None:
    d = _group()
    d.refuse("host", c.SetDeadline(d.now), "close_time_past")
    d.refuse("host", c.SetDeadline(-1), "close_time_past")
    d.refuse("host", c.SetDeadline(d.now + MAX_DEADLINE_AHEAD_MS + 10), "close_time_too_far")
    d.refuse("bob", c.SetDeadline(d.now + MINUTE), "forbidden")
    d.refuse(SYSTEM_ACTOR, c.SetDeadline(d.now + MINUTE), "forbidden")
    assert d.do("host", c.SetDeadline(d.now + 1 + MAX_DEADLINE_AHEAD_MS))  # a week is fine
    d.add("bob")
    d.do("host", c.LockCart())
    d.refuse("host", c.SetDeadline(d.now + MINUTE), "cart_locked")
    live = Driver(RoomKind.LIVE)
    live.refuse("host", c.SetDeadline(live.now + MINUTE), "forbidden")


def test_the_room_locks_the_cart_when_the_deadline_comes() -> None:
    d = _group()
    d.add("bob")
    (ev,) = d.do("host", c.SetDeadline(d.now + MINUTE))
    assert isinstance(ev, e.DeadlineSet) and ev.closes_at is not None
    d.refuse(SYSTEM_ACTOR, c.LockAtDeadline(), "close_time_not_reached")
    d.refuse("host", c.LockAtDeadline(), "forbidden")  # only the server says the time came
    d.now = ev.closes_at - 1  # the next context is exactly at the deadline
    (locked,) = d.do(SYSTEM_ACTOR, c.LockAtDeadline())
    assert locked == e.CartLocked(SYSTEM_ACTOR, ev.closes_at)
    assert d.room.phase is Phase.LOCKED and d.room.deadline is None
    d.refuse(SYSTEM_ACTOR, c.LockAtDeadline(), "bad_phase")  # a second timer: nothing to do
    assert audience(d.room, locked).everyone
    assert d.replayed() == d.room


def test_a_deadline_over_an_empty_cart_only_ends() -> None:
    d = _group()
    d.refuse(SYSTEM_ACTOR, c.LockAtDeadline(), "no_close_time")
    (ev,) = d.do("host", c.SetDeadline(d.now + MINUTE))
    assert isinstance(ev, e.DeadlineSet) and ev.closes_at is not None
    d.now = ev.closes_at + 5
    (ended,) = d.do(SYSTEM_ACTOR, c.LockAtDeadline())
    assert ended == e.DeadlineSet(None, SYSTEM_ACTOR, d.now)
    assert d.room.phase is Phase.OPEN and d.room.deadline is None and d.room.deadline_by == ""


def test_locking_by_hand_ends_the_deadline() -> None:
    d = _group()
    d.add("bob")
    d.do("host", c.SetDeadline(d.now + MINUTE))
    d.do("host", c.LockCart())
    assert d.room.deadline is None
    d.do("host", c.UnlockCart())
    assert d.room.deadline is None  # it does not come back with the unlock
    d.refuse(SYSTEM_ACTOR, c.LockAtDeadline(), "no_close_time")


def test_a_nudge_reminds_a_member_who_added_nothing_and_only_them() -> None:
    d = _group()
    d.add("cat")
    (ev,) = d.do("host", c.Nudge("bob"))
    assert ev == e.MemberNudged("bob", "add", "host", d.now)
    who = audience(d.room, ev)
    assert not who.everyone and who.owners == {"bob"}
    assert who.sees("bob") and not who.sees("cat")
    assert d.room.view("bob")["checkout"]["nudges"] == [
        {"member_id": "bob", "reason": "add", "by": "host", "at": d.now}
    ]
    assert d.room.view("cat")["checkout"]["nudges"] == []
    assert len(d.room.view("host")["checkout"]["nudges"]) == 1  # staff see what they sent
    d.refuse("host", c.Nudge("bob"), "nudged_recently")
    d.refuse("host", c.Nudge("cat"), "nothing_to_nudge")  # cat added a line
    d.refuse("host", c.Nudge("host"), "nothing_to_nudge")  # nobody reminds themselves
    d.refuse("host", c.Nudge("zed"), "not_found")
    d.refuse("cat", c.Nudge("bob"), "forbidden")
    d.now += NUDGE_GAP_MS
    assert d.do("host", c.Nudge("bob"))  # a minute later, again
    d.add("bob")
    assert d.room.nudges == {}  # bob did it
    assert d.replayed() == d.room


def test_a_claim_answers_a_nudge_and_leaving_forgets_it() -> None:
    d = _group()
    line = d.add("cat")
    d.do("host", c.Nudge("bob"))
    d.do("bob", c.ClaimLine(line))
    assert d.room.nudges == {}
    d.join("dan")
    d.do(SYSTEM_ACTOR, c.Nudge("dan"))
    assert d.room.nudges["dan"].by == SYSTEM_ACTOR
    d.do("dan", c.Leave())
    assert d.room.nudges == {}


def test_a_nudge_to_pay_while_settling() -> None:
    d = _group()
    d.add("bob")
    d.do("host", c.Nudge("cat"))
    d.do("host", c.LockCart())
    assert d.room.nudges == {}  # "add" means nothing once the cart is locked
    d.refuse("host", c.Nudge("bob"), "bad_phase")
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 1))
    d.refuse("host", c.Nudge("bob"), "nothing_to_nudge")  # no share yet
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "pending", 900))
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "cat", "processing", 900))
    (ev,) = d.do("host", c.Nudge("bob"))
    assert ev == e.MemberNudged("bob", "pay", "host", d.now)
    d.refuse("host", c.Nudge("cat"), "nothing_to_nudge")  # cat's payment is on its way
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "failed", 900))
    assert "bob" in d.room.nudges  # still to pay
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "paid", 900))
    assert d.room.nudges == {}
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "cat", "failed", 900))
    d.do("host", c.Nudge("cat"))
    d.do(SYSTEM_ACTOR, c.SettleOrder("o1", "void"))
    assert d.room.nudges == {}
    assert Room.from_snapshot(d.room.to_snapshot()) == d.room
    assert d.replayed() == d.room


def test_live_rooms_have_no_deadline_or_nudges() -> None:
    live = Driver(RoomKind.LIVE)
    live.join("vic", Role.VIEWER)
    live.refuse("host", c.Nudge("vic"), "forbidden")
    live.refuse(SYSTEM_ACTOR, c.LockAtDeadline(), "no_close_time")
