"""The room's record of a holdout the group resolved (rooms/rules/checkout.py record_holdout)."""

from __future__ import annotations

from rooms import SYSTEM_ACTOR, Role, Room, RoomKind, audience
from rooms import commands as c
from rooms import events as e
from tests.rooms.support import Driver


def _settling(kind: RoomKind = RoomKind.GROUP) -> tuple[Driver, str, str]:
    d = Driver(kind)
    role = Role.VIEWER if kind is RoomKind.LIVE else Role.MEMBER
    d.join("bea", role)
    d.join("cal", role)
    mine = d.add("host")
    beas = d.add("bea", "bag")
    d.do("host", c.LockCart())
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 1))
    for payer, amount in (("host", 900), ("bea", 3000)):
        d.do(SYSTEM_ACTOR, c.UpdateShare("o1", payer, "pending", amount))
    return d, mine, beas


def test_everyone_sees_the_choice_and_dropped_lines_leave_the_cart() -> None:
    d, mine, beas = _settling()
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bea", "failed", 3000))
    (ev,) = d.do(SYSTEM_ACTOR, c.RecordHoldout("o1", "bea", "drop_lines", (), (beas,)))
    assert ev == e.HoldoutResolved("o1", "bea", "drop_lines", (), (beas,), d.now)
    assert audience(d.room, ev).everyone
    assert list(d.room.lines) == [mine]
    view = d.room.view("cal")["checkout"]
    assert view["holdouts"] == [
        {
            "payer": "bea",
            "choice": "drop_lines",
            "covered_by": [],
            "dropped_line_ids": [beas],
            "at": d.now,
        }
    ]
    # told twice (an outbox retry): nothing new
    assert d.do(SYSTEM_ACTOR, c.RecordHoldout("o1", "bea", "drop_lines", (), (beas,))) == []
    assert d.room.view("bea")["you"]["may"]["pay_share"]
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bea", "released", 0))
    assert not d.room.view("bea")["you"]["may"]["pay_share"]  # nothing left to pay
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "host", "paid", 900))
    # a late "processing" report never takes a released share back
    assert d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bea", "processing", 0)) == []
    d.do(SYSTEM_ACTOR, c.SettleOrder("o1", "paid"))
    (receipt,) = d.room.receipts
    assert [line.sku for line in receipt.lines] == ["mug"]  # only what was bought
    assert receipt.total_minor == 900
    assert [(step.what, step.who) for step in receipt.history][-4:] == [
        ("drop_lines", "bea"),
        ("released", "bea"),
        ("paid", "host"),
        ("paid", ""),
    ]
    assert d.room.holdouts == []
    assert Room.from_snapshot(d.room.to_snapshot()) == d.room
    assert d.replayed() == d.room


def test_a_cover_or_re_split_names_who_takes_the_share_over() -> None:
    d, _mine, _beas = _settling()
    d.do(SYSTEM_ACTOR, c.RecordHoldout("o1", "bea", "split_others", ("host", "cal"), ()))
    d.do(SYSTEM_ACTOR, c.RecordHoldout("o1", "cal", "host_covers", ("host",), ()))
    assert [(h.payer, h.choice, h.covered_by) for h in d.room.holdouts] == [
        ("bea", "split_others", ("host", "cal")),
        ("cal", "host_covers", ("host",)),
    ]
    assert len(d.room.lines) == 2
    d.do(SYSTEM_ACTOR, c.SettleOrder("o1", "void"))
    assert d.room.holdouts == [] and len(d.room.lines) == 2
    assert d.replayed() == d.room
    # a record for an order the room no longer settles changes nothing (apply never fails)
    before = d.room.to_snapshot()
    d.room.apply(e.HoldoutResolved("o1", "bea", "drop_lines", (), tuple(d.room.lines), d.now))
    assert d.room.to_snapshot() == before


def test_only_the_bridge_records_and_only_for_the_order_being_paid() -> None:
    d, _mine, beas = _settling()
    d.refuse("host", c.RecordHoldout("o1", "bea", "host_covers", ("host",), ()), "forbidden")
    d.refuse(SYSTEM_ACTOR, c.RecordHoldout("o2", "bea", "host_covers", ("host",), ()), "not_found")
    d.refuse(SYSTEM_ACTOR, c.RecordHoldout("o1", "bea", "shrug", (), ()), "bad_command")
    d.refuse(SYSTEM_ACTOR, c.RecordHoldout("o1", "", "host_covers", ("host",), ()), "bad_command")
    many = tuple(f"m{n}" for n in range(d.room.limits.max_members + 1))
    d.refuse(SYSTEM_ACTOR, c.RecordHoldout("o1", "bea", "split_others", many, ()), "bad_command")
    lines = tuple(f"l{n}" for n in range(d.room.limits.max_lines + 1))
    d.refuse(SYSTEM_ACTOR, c.RecordHoldout("o1", "bea", "drop_lines", (), lines), "bad_command")
    d.do(SYSTEM_ACTOR, c.SettleOrder("o1", "void"))
    d.refuse(SYSTEM_ACTOR, c.RecordHoldout("o1", "bea", "drop_lines", (), (beas,)), "bad_phase")


def test_a_live_room_has_no_group_to_decide_for_a_viewer() -> None:
    d, _mine, _beas = _settling(RoomKind.LIVE)
    d.refuse(SYSTEM_ACTOR, c.RecordHoldout("o1", "bea", "host_covers", ("host",), ()), "forbidden")
    assert not d.room.view("host")["you"]["may"]["resolve_holdout"]


def test_the_host_may_resolve_holdouts_only_while_an_order_is_paid() -> None:
    d, _mine, _beas = _settling()
    host = d.room.view("host")["you"]
    assert host["may"]["resolve_holdout"] and host["may_if"]["resolve_holdout"] == {
        "phases": ["settling"]
    }
    assert not d.room.view("bea")["you"]["may"]["resolve_holdout"]
