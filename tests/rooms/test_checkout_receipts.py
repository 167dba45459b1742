"""After payment the room keeps the order: a number, a receipt (lines at the shop's price, who
paid what) and its status history; the cart is open again for another round."""

from __future__ import annotations

from rooms import SYSTEM_ACTOR, Phase, Role, Room, RoomKind
from rooms import commands as c
from rooms.room import MAX_RECEIPTS
from rooms.state import PricingIssue
from tests.rooms.support import Driver


def _pay(d: Driver, order: str, *, changed: str | None = None) -> None:
    d.do("host", c.LockCart())
    issues = (PricingIssue(changed, "price_changed", 900, 1000),) if changed else ()
    d.do(SYSTEM_ACTOR, c.ReportPricing(1, "EUR", 4000, True, issues))
    d.do(SYSTEM_ACTOR, c.BeginSettlement(order, 1))
    d.do(SYSTEM_ACTOR, c.UpdateShare(order, "host", "pending", 2000))
    d.do(SYSTEM_ACTOR, c.UpdateShare(order, "bob", "pending", 2000))
    d.do(SYSTEM_ACTOR, c.UpdateShare(order, "bob", "processing", 2000))
    d.do(SYSTEM_ACTOR, c.UpdateShare(order, "host", "paid", 2000))
    d.do(SYSTEM_ACTOR, c.UpdateShare(order, "bob", "paid", 2000))
    d.do(SYSTEM_ACTOR, c.SettleOrder(order, "paid"))


def test_a_paid_order_keeps_its_receipt_and_the_cart_opens_again() -> None:
    d = Driver()
    d.join("bob")
    mug = d.add("bob", "mug", 2)
    d.add("host", "tee", 1)
    began = d.now
    _pay(d, "o1", changed=mug)
    paid_at = d.now
    assert d.room.phase is Phase.OPEN and d.room.lines == {}
    (receipt,) = d.room.view("bob")["checkout"]["receipts"]
    assert receipt["order_id"] == "o1" and receipt["number"] == 1
    assert (receipt["currency"], receipt["total_minor"], receipt["paid_at"]) == (
        "EUR",
        4000,
        paid_at,
    )
    assert [
        (li["title"], li["variant"], li["quantity"], li["unit_minor"]) for li in receipt["lines"]
    ] == [
        ("Mug", None, 2, 1000),  # the shop's price at checkout, not the one shown when added
        ("T-shirt", "m", 1, 1500),
    ]
    assert [(s["payer"], s["status"], s["amount_minor"]) for s in receipt["shares"]] == [
        ("host", "paid", 2000),
        ("bob", "paid", 2000),
    ]
    assert [(h["what"], h["who"]) for h in receipt["history"]] == [
        ("checkout_started", ""),
        ("processing", "bob"),
        ("paid", "host"),
        ("paid", "bob"),
        ("paid", ""),
    ]
    assert receipt["history"][0]["at"] == began + 3 and receipt["history"][-1]["at"] == paid_at
    assert d.room.order_steps == []
    # shop again: the next round is a new order with the next number, newest first
    d.add("bob", "pen")
    _pay(d, "o2")
    numbers = [r["number"] for r in d.room.view("host")["checkout"]["receipts"]]
    assert numbers == [2, 1]
    assert Room.from_snapshot(d.room.to_snapshot()) == d.room


def test_a_void_order_keeps_no_receipt_and_the_history_is_capped() -> None:
    d = Driver()
    d.join("bob")
    d.add("bob", "mug")
    d.do("host", c.LockCart())
    d.do(SYSTEM_ACTOR, c.BeginSettlement("v1", 1))
    d.do(SYSTEM_ACTOR, c.SettleOrder("v1", "void"))
    assert d.room.receipts == [] and d.room.order_steps == []
    for n in range(MAX_RECEIPTS + 1):
        d.add("bob", "pen")
        _pay(d, f"o{n}")
    receipts = d.room.view("bob")["checkout"]["receipts"]
    assert len(receipts) == MAX_RECEIPTS and receipts[0]["number"] == MAX_RECEIPTS + 1


def test_an_order_without_pricing_takes_the_lines_currency_and_live_viewers_see_no_receipts() -> (
    None
):
    d = Driver(RoomKind.LIVE)
    d.join("v1", Role.VIEWER)
    d.add("v1", "mug")
    d.do("host", c.LockCart())
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 1))
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "v1", "paid", 900))
    d.do(SYSTEM_ACTOR, c.SettleOrder("o1", "paid"))
    assert d.room.receipts[0].currency == "EUR"
    assert d.room.view("v1")["checkout"]["receipts"] == []
    assert d.room.view("host")["checkout"]["receipts"][0]["total_minor"] == 900
