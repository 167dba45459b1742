"""order.paid after holdout recovery: lines the group dropped were not bought, so the merchant's
order lists only the lines paid for, while every payment (a released share too) is listed."""

from __future__ import annotations

from checkout_bridge.orders import (
    OpenCheckout,
    Order,
    OrderOpened,
    OrderPaid,
    ResolveHoldout,
    SessionCompleted,
    ShareSpec,
)
from checkout_bridge.pricing import CartSnapshot, PricedLine
from server.webhooks.events import order_message

NOW = 1_000


def _line(n: int, payer: str, total: int) -> PricedLine:
    return PricedLine(f"l{n}", f"sku-{n}", None, f"Item {n}", 1, total, total, payer, payer)


def test_order_paid_leaves_out_the_lines_a_holdout_recovery_dropped() -> None:
    payers = (("host", 1000), ("bea", 2000), ("cal", 500))
    opened = OrderOpened(
        "o1", "r1", "digest", 1, "EUR", "own_lines", False, 5_000, NOW,
        tuple(
            ShareSpec(f"o1-{n}", payer, amount, (f"l{n}",))
            for n, (payer, amount) in enumerate(payers, 1)
        ),
    )  # fmt: skip
    order = Order.opened(opened)
    events = []
    for command in (
        OpenCheckout("o1-1", "a"),
        SessionCompleted("a", 1000, "EUR", "o1-1", "pi_a"),
        OpenCheckout("o1-3", "c"),
        SessionCompleted("c", 500, "EUR", "o1-3", "pi_c"),
        ResolveHoldout("o1-2", "drop_lines", "host"),
    ):
        for event in order.decide(command, now=NOW):
            order = order.apply(event)
            events.append(event)
    assert isinstance(events[-1], OrderPaid)
    snapshot = CartSnapshot(
        1, "EUR", tuple(_line(n, p, a) for n, (p, a) in enumerate(payers, 1)), (), 3500
    )
    message = order_message(
        events[-1], order, merchant_id="m1", at=NOW, snapshot=snapshot,
        names={"host": "Ann", "bea": "Bea", "cal": "Cal"}, providers={},
    )  # fmt: skip
    assert message is not None and message.type == "order.paid"
    data = message.data
    assert [line["line_id"] for line in data["lines"]] == ["l1", "l3"]
    assert sum(line["total_minor"] for line in data["lines"]) == data["total_minor"] == 1500
    statuses = {p["payer"]["member_id"]: p["status"] for p in data["payments"]}
    assert statuses == {"host": "paid", "bea": "released", "cal": "paid"}
