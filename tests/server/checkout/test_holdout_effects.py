"""What a re-planned order tells the room and the provider (server/checkout/effects.py)."""

from __future__ import annotations

from checkout_bridge.orders import (
    Authorized,
    OpenCheckout,
    Order,
    OrderEvent,
    OrderInput,
    OrderOpened,
    ResolveHoldout,
    SessionCompleted,
    ShareSpec,
)
from rooms.commands import RecordHoldout
from server.checkout.effects import effects_for, payer_share, room_command, share_update


def _order(aon: bool = False) -> Order:
    return Order.opened(
        OrderOpened(
            "o1", "r1", "digest", 1, "EUR", "own_lines", aon, 5_000, 1_000,
            (ShareSpec("o1-1", "ada", 1000, ("l1",)), ShareSpec("o1-2", "bea", 2000, ("l2",))),
        )
    )  # fmt: skip


def _do(order: Order, command: OrderInput) -> tuple[Order, list[OrderEvent]]:
    events = order.decide(command, now=1_000)
    for event in events:
        order = order.apply(event)
    return order, events


def test_the_room_hears_the_choice_then_each_payers_part_then_the_page_expires() -> None:
    order, _ = _do(_order(), OpenCheckout("o1-2", "b"))
    order, events = _do(order, ResolveHoldout("o1-2", "host_covers", "ada"))
    effects = effects_for(order, events)
    assert [(e.kind, e.payload.get("name")) for e in effects] == [
        ("room_command", "RecordHoldout"),
        ("room_command", "UpdateShare"),
        ("room_command", "UpdateShare"),
        ("expire", None),
    ]
    assert room_command("o1", effects[0].payload) == RecordHoldout(
        "o1", "bea", "host_covers", ("ada",), ()
    )
    assert [dict(e.payload) for e in effects[1:3]] == [
        {"name": "UpdateShare", "payer": "bea", "status": "released", "amount_minor": 0},
        # Ada's own share comes first: her Pay button pays it, then the one she covers
        {"name": "UpdateShare", "payer": "ada", "status": "pending", "amount_minor": 1000},
    ]
    assert effects[3].payload == {"session_id": "b"}
    assert share_update(order, "o1-3").payload["amount_minor"] == 1000


def test_one_share_per_payer_for_the_room() -> None:
    order, _ = _do(_order(aon=True), ResolveHoldout("o1-2", "host_covers", "ada"))
    for share, session in (("o1-1", "a"), ("o1-3", "c")):
        order, _ = _do(order, OpenCheckout(share, session))
    order, _ = _do(order, Authorized("a", 1000, "EUR", "o1-1", "pi_a"))
    assert payer_share(order, "ada") == ("checkout_open", 2000)  # the covered one, to pay now
    order, _ = _do(order, Authorized("c", 2000, "EUR", "o1-3", "pi_c"))
    assert payer_share(order, "ada") == ("authorized", 3000)  # all held: the sum
    order, _ = _do(order, SessionCompleted("a", 1000, "EUR", "o1-1", "pi_a"))
    assert payer_share(order, "ada") == ("authorized", 3000)  # some still held
    order, _ = _do(order, SessionCompleted("c", 2000, "EUR", "o1-3", "pi_c"))
    assert payer_share(order, "ada") == ("paid", 3000)
    assert order.status == "paid"
    assert payer_share(order, "bea") == ("released", 0)
    assert payer_share(order, "zed") == ("released", 0)  # no share at all: nothing to pay
