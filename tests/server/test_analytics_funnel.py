"""The analytics fold (server/analytics/funnel.py): the funnel, revenue, and what led to each
paid line, from events shaped like the room log's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.analytics.funnel import WINDOW_MS, RoomFold


@dataclass(frozen=True)
class Ev:
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    at: int = 0


def opened(host: str = "h") -> Ev:
    return Ev("RoomOpened", {"host_id": host})


def joined(member: str, role: str = "member") -> Ev:
    return Ev("MemberJoined", {"member_id": member, "role": role})


def added(
    line: str, sku: str, by: str, payer: str | None = None, *, at: int = 0, qty: int = 1
) -> Ev:
    data = {
        "line_id": line,
        "sku": sku,
        "title": sku.replace("-", " ").title(),
        "quantity": qty,
        "added_by": by,
        "payer": payer or by,
        "price_minor": 1000,
        "currency": "USD",
    }
    return Ev("LineAdded", data, at)


def order(order_id: str, *shares: tuple[str, str, int], outcome: str | None = "paid") -> list[Ev]:
    events = [Ev("SettlementBegan", {"order_id": order_id})]
    events += [
        Ev("ShareUpdated", {"order_id": order_id, "payer": p, "status": s, "amount_minor": m})
        for p, s, m in shares
    ]
    if outcome is not None:
        events.append(Ev("OrderSettled", {"order_id": order_id, "outcome": outcome}))
    return events


def test_a_group_funnel_and_its_revenue() -> None:
    fold = RoomFold()
    fold.feed(
        [
            opened("h"),
            joined("h", "host"),  # the host's own join does not count twice
            joined("a"),
            joined("b"),
            joined("s", "associate"),
            added("l1", "tent", "h", qty=2),
            added("l2", "lamp", "a"),
            added("l3", "mug", "s", payer="b"),  # the associate adds for b
            added("l4", "stove", "a", payer="b"),  # a friend adds for b
            Ev("QuantityChanged", {"line_id": "l2", "quantity": 3}),
            Ev("QuantityChanged", {"line_id": "gone", "quantity": 3}),
            added("l5", "cup", "b"),
            Ev("LineRemoved", {"line_id": "l5"}),
            Ev("PayerAssigned", {"line_id": "l1", "payer": "a"}),  # a now pays for the tent
            Ev("PayerAssigned", {"line_id": "gone", "payer": "a"}),
            Ev("Unknown", {"whatever": 1}),
            *order("o1", ("a", "paid", 5000), ("b", "failed", 2000), ("b", "paid", 2000)),
            Ev("OrderSettled", {"order_id": "o1", "outcome": "paid"}),  # twice: counted once
        ]
    )
    result = fold.result()
    assert (result.joined, result.added, result.checked_out, result.paid) == (4, 4, 2, 2)
    assert (result.lines_added, result.orders, result.paid_orders) == (5, 1, 1)
    assert result.revenue == {"USD": 7000}
    causes = {cause: (a.lines, a.units, a.value) for cause, a in result.attribution.items()}
    assert causes == {
        "associate": (1, 1, {"USD": 1000}),
        "friend": (1, 1, {"USD": 1000}),
        "self": (2, 5, {"USD": 5000}),  # the tent (2, added by h for h) and the lamp (3)
    }
    assert list(result.attribution) == ["associate", "friend", "self"]  # in CAUSES order


def test_stage_moments_lead_to_sales_within_their_window() -> None:
    fold = RoomFold()
    fold.feed(
        [
            opened("h"),
            Ev("MemberPromoted", {"member_id": "ghost", "role": "moderator"}),  # not joined
            joined("v", "viewer"),
            Ev("MemberPromoted", {"member_id": "v", "role": "associate"}),
            Ev("ProductPinned", {"sku": "jacket"}),
            added("l1", "jacket", "v"),
            Ev("ProductUnpinned", {"sku": "jacket"}),
            added("l2", "jacket", "v", at=1),
            Ev("PollClosed", {"winner": "boots"}, at=100),
            Ev("PollClosed", {"winner": None}, at=100),
            added("l3", "boots", "v", at=100 + WINDOW_MS),
            added("l4", "boots", "v", at=101 + WINDOW_MS),  # too late for the poll
            Ev("EveryoneBrought", {"sku": "tent"}, at=200),
            added("l5", "tent", "v", at=300),
            Ev("Announced", {"text": "The TRAIL MUG is back!"}, at=400),
            Ev("Announced", {"text": "hello everyone"}, at=401),
            added("l6", "trail-mug", "v", at=500),
            added("l7", "trail-mug", "v", at=402 + WINDOW_MS),  # the window has passed
            added("l8", "sock", "h", payer="v", at=600),  # staff adding for a viewer
            *order("o1", ("v", "paid", 8000)),
            *order("o2", ("v", "pending", 1000), outcome="void"),
            *order("o3", outcome=None),
        ]
    )
    result = fold.result()
    causes = {cause: a.lines for cause, a in result.attribution.items()}
    assert causes == {"poll": 1, "pin": 1, "bring": 1, "announcement": 1, "associate": 1, "self": 3}
    assert (result.orders, result.paid_orders) == (3, 1)
    assert result.revenue == {"USD": 8000}


def test_a_share_of_an_order_with_no_lines_adds_no_revenue() -> None:
    fold = RoomFold()
    fold.feed(order("o1", ("a", "paid", 500)))
    result = fold.result()
    assert result.revenue == {} and result.paid == 1 and result.attribution == {}
