"""Checkout phase: open -> locked -> open | settling -> paid | void; cart edits need open."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rooms import SYSTEM_ACTOR, Command, Phase
from rooms import commands as c
from rooms import events as e
from rooms.state import PricingIssue
from tests.rooms.support import Driver


def _locked() -> tuple[Driver, str]:
    d = Driver()
    d.join("bob")
    line = d.add("bob", "mug", 2)
    d.do("host", c.LockCart())
    return d, line


EDITS: list[Callable[[str], Command]] = [
    lambda line: c.AddLine("mug", None, 1),
    lambda line: c.SetQuantity(line, 3),
    lambda line: c.RemoveLine(line),
    lambda line: c.ClaimLine(line),
    lambda line: c.AssignPayer(line, "bob"),
]


@pytest.mark.parametrize("edit", EDITS)
def test_every_cart_edit_is_refused_while_not_open(edit: Callable[[str], Command]) -> None:
    d, line = _locked()
    d.refuse("host", edit(line), "cart_locked")
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 1))
    d.refuse("host", edit(line), "cart_locked")


def test_lock_and_unlock() -> None:
    d = Driver()
    d.join("bob")
    d.refuse("host", c.LockCart(), "cart_empty")
    d.add("bob")
    d.refuse("bob", c.LockCart(), "forbidden")
    assert d.do("host", c.LockCart()) == [e.CartLocked("host", d.now)]
    d.refuse("host", c.LockCart(), "bad_phase")
    assert d.room.view("bob")["phase"] == "locked"
    d.do("host", c.UnlockCart())
    d.refuse("host", c.UnlockCart(), "bad_phase")
    d.add("bob", "bag")


def test_settlement_paid_archives_lines() -> None:
    d, _ = _locked()
    d.refuse("host", c.BeginSettlement("o1", 1), "forbidden")
    d.refuse(SYSTEM_ACTOR, c.SettleOrder("o1", "paid"), "bad_phase")
    d.refuse(SYSTEM_ACTOR, c.BeginSettlement("", 1), "bad_command")
    d.refuse(SYSTEM_ACTOR, c.BeginSettlement("o1", -1), "bad_command")
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 3))
    assert d.room.view("bob")["phase"] == "settling"
    d.refuse("host", c.UnlockCart(), "bad_phase")
    d.refuse(SYSTEM_ACTOR, c.BeginSettlement("o2", 1), "bad_phase")
    d.refuse(SYSTEM_ACTOR, c.UpdateShare("o2", "bob", "paid", 1800), "not_found")
    d.refuse(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "Paid!", 1800), "bad_command")
    d.refuse(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "paid", -1), "bad_command")
    d.refuse(SYSTEM_ACTOR, c.UpdateShare("o1", "", "paid", 1), "bad_command")
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "authorized", 1800))
    d.do(SYSTEM_ACTOR, c.RecordHandoff("https://shop.example/cart/1:2"))
    d.refuse(SYSTEM_ACTOR, c.RecordHandoff("javascript:x"), "invalid_url")
    checkout = d.room.view("bob")["checkout"]
    assert checkout == {
        "phase": "settling",
        "order_id": "o1",
        "snapshot_version": 3,
        "shares": [{"payer": "bob", "status": "authorized", "amount_minor": 1800}],
        "handoff_url": "https://shop.example/cart/1:2",
        "orders": [],
        "pricing": None,
        "last_order": None,
        "split_roles": ["cohost", "host", "member"],
        "receipts": [],
        "holdouts": [],
        "deadline": None,
        "nudges": [],
        "viewer_orders": [],
        "my_last_order": None,
        "my_receipts": [],
        "sales": None,
        "buy_ticker": False,
        "show": {"ended_at": None, "replay": False},
        "drops": [],
        "drop_claims": [],
        "drop_taken": {},
    }
    d.refuse(SYSTEM_ACTOR, c.SettleOrder("o2", "paid"), "not_found")
    d.refuse(SYSTEM_ACTOR, c.SettleOrder("o1", "maybe"), "bad_command")  # type: ignore[arg-type]
    assert d.do(SYSTEM_ACTOR, c.SettleOrder("o1", "paid")) == [e.OrderSettled("o1", "paid", d.now)]
    assert d.room.phase is Phase.OPEN
    assert d.room.lines == {}
    assert d.room.orders == ["o1"]
    assert d.room.view("bob")["checkout"]["shares"] == []
    assert d.room.view("bob")["checkout"]["last_order"] == {"order_id": "o1", "outcome": "paid"}
    d.add("bob", "bag")


def test_settlement_void_keeps_lines() -> None:
    d, line = _locked()
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 1))
    d.do(SYSTEM_ACTOR, c.SettleOrder("o1", "void"))
    assert d.room.phase is Phase.OPEN
    assert list(d.room.lines) == [line]
    assert d.room.orders == []
    d.do("bob", c.SetQuantity(line, 3))


def test_clients_cannot_act_as_system() -> None:
    d, _ = _locked()
    d.refuse("bob", c.SettleOrder("o1", "paid"), "forbidden")
    d.refuse(SYSTEM_ACTOR, c.PostMessage("hi"), "forbidden")


def test_pricing_is_shown_to_the_room_while_locked() -> None:
    d, line = _locked()
    changed = PricingIssue(line, "price_changed", shown_minor=1800, price_minor=1900)
    report = c.ReportPricing(2, "USD", 3800, True, (changed,))
    d.refuse("host", report, "forbidden")
    d.refuse(SYSTEM_ACTOR, c.ReportPricing(-1, "USD", 0, True, ()), "bad_command")
    d.refuse(SYSTEM_ACTOR, c.ReportPricing(1, "", 0, True, ()), "bad_command")
    d.refuse(SYSTEM_ACTOR, c.ReportPricing(1, "USD", 0, True, (changed,) * 3), "bad_command")
    bad = PricingIssue(line, "cheaper_elsewhere")
    d.refuse(SYSTEM_ACTOR, c.ReportPricing(1, "USD", 0, True, (bad,)), "bad_command")
    ghost = PricingIssue("no-such-line", "out_of_stock", available=0)
    d.refuse(SYSTEM_ACTOR, c.ReportPricing(1, "USD", 0, False, (ghost,)), "bad_command")
    d.do(SYSTEM_ACTOR, report)
    pricing = d.room.view("bob")["checkout"]["pricing"]
    assert pricing == {
        "snapshot_version": 2,
        "currency": "USD",
        "total_minor": 3800,
        "ready": True,
        "issues": [
            {
                "line_id": line,
                "kind": "price_changed",
                "shown_minor": 1800,
                "price_minor": 1900,
                "available": None,
            }
        ],
        "at": d.now,
    }
    # unlocking makes the pricing stale; settling clears it too
    d.do("host", c.UnlockCart())
    assert _pricing(d) is None
    d.refuse(SYSTEM_ACTOR, report, "bad_phase")
    d.do("host", c.LockCart())
    d.do(SYSTEM_ACTOR, report)
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o9", 2))
    assert _pricing(d) is not None
    d.do(SYSTEM_ACTOR, c.SettleOrder("o9", "void"))
    assert _pricing(d) is None


def _pricing(d: Driver) -> object:
    return d.room.pricing
