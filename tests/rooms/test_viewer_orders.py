"""A live viewer's own orders (rooms/rules/viewer_orders.py): each viewer checks out their own
lines while the show goes on; only those lines freeze; paid lines become the viewer's receipt.

The property test at the end plays viewers' orders among cart edits, chat and the ticker and
checks that each member's stream, folded as a client folds it, rebuilds exactly their view: a
viewer never receives another viewer's order, lines or receipt (DESIGN §11).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms import SYSTEM_ACTOR, Command, Event, Phase, Role, RoomError, RoomKind, audience
from rooms import commands as c
from rooms import events as e
from rooms.jsoncodec import to_json
from rooms.room import MAX_RECEIPTS, Room
from rooms.rules.viewer_orders import SOMEONE, buyer_name
from rooms.state import OrderLine
from tests.rooms.support import Driver


def _live() -> Driver:
    d = Driver(RoomKind.LIVE)
    d.join("assoc", Role.ASSOCIATE)
    d.join("bea", Role.VIEWER, "Bea Lopez")
    d.join("cal", Role.VIEWER, "Cal")
    return d


def _order(d: Driver, order_id: str, payer: str, *line_ids: str) -> list[Event]:
    lines = tuple(OrderLine(i, d.room.lines[i].quantity, 900) for i in line_ids)
    total = sum(ol.quantity * ol.unit_minor for ol in lines)
    return d.do(SYSTEM_ACTOR, c.BeginViewerOrder(order_id, payer, lines, total, "EUR"))


def test_a_viewers_order_freezes_only_their_lines_and_the_room_stays_open() -> None:
    d = _live()
    mine, other = d.add("bea", "mug", 2), d.add("cal", "mug")
    (began,) = _order(d, "v1", "bea", mine)
    assert began == e.ViewerOrderBegan("v1", "bea", (OrderLine(mine, 2, 900),), 1800, "EUR", d.now)
    assert d.room.phase is Phase.OPEN and d.room.frozen == {mine: "v1"}
    for command in (c.SetQuantity(mine, 3), c.RemoveLine(mine)):
        d.refuse("bea", command, "line_in_checkout")
    d.refuse("host", c.AssignPayer(mine, "cal"), "line_in_checkout")
    d.refuse("host", c.ClaimLine(mine), "line_in_checkout")
    d.refuse("bea", c.DeclinePayment(mine), "line_in_checkout")
    d.do("cal", c.SetQuantity(other, 2))  # the other viewer is unaffected
    (added,) = d.do("bea", c.AddLine("mug", None, 1, ""))  # a new line, not a merge
    assert isinstance(added, e.LineAdded) and added.line_id != mine
    d.do("bea", c.PostMessage("still watching"))  # the show goes on
    assert d.room.view("bea")["you"]["may"]["check_out_own"] is True  # the new line
    d.refuse("host", c.LockCart(), "viewer_checkouts_open")
    assert d.replayed() == d.room


def test_paid_lines_leave_the_cart_as_the_viewers_receipt_and_count_in_the_hosts_sales() -> None:
    d = _live()
    mine = d.add("bea", "mug", 2)
    _order(d, "v1", "bea", mine)
    (share,) = d.do(SYSTEM_ACTOR, c.UpdateShare("v1", "bea", "checkout_open", 1800))
    assert audience(d.room, share).owners == {"bea"}
    assert d.do(SYSTEM_ACTOR, c.UpdateShare("v1", "bea", "checkout_open", 1800)) == []
    d.do(SYSTEM_ACTOR, c.UpdateShare("v1", "bea", "paid", 1800))
    assert d.do(SYSTEM_ACTOR, c.UpdateShare("v1", "bea", "processing", 1800)) == []
    (settled,) = d.room.decide(c.SettleOrder("v1", "paid"), d.ctx(SYSTEM_ACTOR))
    assert audience(d.room, settled).owners == {"bea"}
    d.room.apply(settled)
    d.log.append(settled)
    assert mine not in d.room.lines and d.room.frozen == {} and d.room.viewer_orders == {}
    view = d.room.view("bea")["checkout"]
    assert view["my_last_order"]["status"] == "paid"
    (receipt,) = view["my_receipts"]
    assert (receipt["number"], receipt["total_minor"], receipt["lines"][0]["quantity"]) == (
        1,
        1800,
        2,
    )
    assert view["sales"] is None and d.room.view("cal")["checkout"]["my_receipts"] == []
    sales = d.room.view("host")["checkout"]["sales"]
    assert (sales["orders"], sales["revenue_minor"], sales["currency"]) == (1, 1800, "EUR")
    assert sales["recent"][0]["order_id"] == "v1"
    assert d.room.orders == []  # the room-wide order history is the host's checkouts
    # told twice (an outbox retry): the room is past it
    d.refuse(SYSTEM_ACTOR, c.SettleOrder("v1", "paid"), "bad_phase")
    assert d.replayed() == d.room


def test_a_void_order_thaws_its_lines() -> None:
    d = _live()
    mine = d.add("bea")
    _order(d, "v1", "bea", mine)
    d.refuse(SYSTEM_ACTOR, c.SettleOrder("v1", "maybe"), "bad_command")  # type: ignore[arg-type]
    d.do(SYSTEM_ACTOR, c.SettleOrder("v1", "void"))
    assert d.room.lines[mine].quantity == 1 and d.room.frozen == {}
    assert d.room.view("bea")["checkout"]["my_last_order"]["status"] == "void"
    d.do("bea", c.SetQuantity(mine, 2))
    assert d.room.sales_count == 0


def test_the_room_refuses_an_order_that_does_not_fit() -> None:
    d = _live()
    mine, other = d.add("bea"), d.add("cal")
    ok = (OrderLine(mine, 1, 900),)
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("", "bea", ok, 900, "EUR"), "bad_command")
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", ok, 900, ""), "bad_command")
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", (), 0, "EUR"), "bad_command")
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", ok, -1, "EUR"), "bad_command")
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "zed", ok, 900, "EUR"), "not_found")
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", (OrderLine("x", 1, 9),), 9, "EUR"),
             "not_found")  # fmt: skip
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", (OrderLine(other, 1, 9),), 9, "EUR"),
             "not_your_line")  # fmt: skip
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", ok * 2, 1800, "EUR"), "not_your_line")
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", (OrderLine(mine, 2, 9),), 9, "EUR"),
             "cart_changed")  # fmt: skip
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", (OrderLine(mine, 1, -1),), 9, "EUR"),
             "cart_changed")  # fmt: skip
    d.refuse("bea", c.BeginViewerOrder("v1", "bea", ok, 900, "EUR"), "forbidden")
    d.do(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", ok, 900, "EUR"))
    assert d.do(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", ok, 900, "EUR")) == []  # twice
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "cal", ok, 900, "EUR"), "bad_command")
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v2", "bea", ok, 900, "EUR"), "line_in_checkout")
    d.refuse(SYSTEM_ACTOR, c.UpdateShare("v1", "cal", "paid", 900), "bad_command")
    d.refuse(SYSTEM_ACTOR, c.UpdateShare("v1", "bea", "Paid!", 900), "bad_command")


def test_a_locked_cart_takes_no_viewer_order() -> None:
    d = _live()
    line = d.add("bea")
    d.do("host", c.LockCart())
    bad = (OrderLine(line, 1, 900),)
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", bad, 900, "EUR"), "cart_locked")


def test_the_room_wide_orders_end_stays_public_in_a_live_room() -> None:
    d = _live()
    d.add("bea")
    d.do("host", c.LockCart())
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 1))
    (settled,) = d.room.decide(c.SettleOrder("o1", "void"), d.ctx(SYSTEM_ACTOR))
    assert audience(d.room, settled).everyone


def test_a_viewer_who_leaves_keeps_the_lines_of_their_open_order() -> None:
    d = _live()
    frozen, loose = d.add("bea", "mug"), d.add("bea", "pen")
    _order(d, "v1", "bea", frozen)
    d.do("bea", c.Leave())
    assert frozen in d.room.lines and loose not in d.room.lines
    assert d.do("host", c.SetBuyTicker(True)) == [e.BuyTickerSet(True, "host")]
    events = d.do(SYSTEM_ACTOR, c.SettleOrder("v1", "paid"))
    assert events[1] == e.PurchaseShown(SOMEONE, "Mug", 0, d.now)
    assert audience(d.room, events[1]).everyone


def test_the_ticker_shows_a_first_name_and_a_title_never_an_amount() -> None:
    d = _live()
    a, b = d.add("bea", "mug"), d.add("bea", "pen")
    d.refuse("bea", c.SetBuyTicker(True), "forbidden")
    assert d.do("host", c.SetBuyTicker(False)) == []
    d.do("host", c.SetBuyTicker(True))
    assert d.room.view("cal")["checkout"]["buy_ticker"] is True
    _order(d, "v1", "bea", a, b)
    events = d.do(SYSTEM_ACTOR, c.SettleOrder("v1", "paid"))
    assert events[1] == e.PurchaseShown("Bea", "Mug", 1, d.now)
    assert set(to_json(events[1])) == {"buyer", "title", "more", "at"}
    c2 = d.add("cal", "mug")
    d.do("host", c.SetBuyTicker(False))
    _order(d, "v2", "cal", c2)
    assert len(d.do(SYSTEM_ACTOR, c.SettleOrder("v2", "paid"))) == 1  # ticker off
    assert buyer_name(d.room, "nobody") == SOMEONE


def test_sales_keep_the_first_currency_and_receipts_are_capped() -> None:
    d = _live()
    for n in range(MAX_RECEIPTS + 2):
        line = d.add("bea", "mug" if n % 2 else "pen")
        currency = "EUR" if n else "USD"
        d.do(SYSTEM_ACTOR, c.BeginViewerOrder(f"v{n}", "bea", (OrderLine(line, 1, 100),), 100,
                                              currency))  # fmt: skip
        d.do(SYSTEM_ACTOR, c.SettleOrder(f"v{n}", "paid"))
    assert d.room.sales_count == MAX_RECEIPTS + 2
    assert (d.room.sales_minor, d.room.sales_currency) == (100, "USD")
    assert len(d.room.viewer_receipts["bea"]) == MAX_RECEIPTS == len(d.room.recent_sales)
    snapshot = d.room.to_snapshot()
    assert Room.from_snapshot(snapshot) == d.room
    copy = d.room.copy()
    copy.viewer_receipts["bea"].clear()
    assert d.room.viewer_receipts["bea"]


def test_apply_never_fails_on_a_receipt_whose_line_is_gone() -> None:
    d = _live()
    line = d.add("bea")
    _order(d, "v1", "bea", line)
    d.room.apply(e.LineRemoved(line, "host"))  # cannot be decided; apply still never raises
    d.room.apply(e.ViewerOrderBegan("v1", "bea", (), 0, "EUR", 1))  # a repeat changes nothing
    d.room.apply(e.OrderSettled("v1", "paid", 5))
    (receipt,) = d.room.viewer_receipts["bea"]
    assert receipt.lines[0].sku == "" and receipt.lines[0].quantity == 1
    d.room.apply(e.PurchaseShown("Bea", "Mug", 0, 6))


def test_groups_have_no_viewer_orders() -> None:
    d = Driver(RoomKind.GROUP)
    d.join("bea")
    line = d.add("bea")
    ok = (OrderLine(line, 1, 900),)
    d.refuse(SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", ok, 900, "EUR"), "forbidden")
    d.refuse("host", c.SetBuyTicker(True), "forbidden")
    view = d.room.view("bea")
    assert view["checkout"]["sales"] is None and view["you"]["may"]["check_out_own"] is False


# --- the property: each member's stream rebuilds exactly their view ------------------------

MEMBERS = ("host", "assoc", "bea", "cal")


def _seen(view: dict[str, Any]) -> dict[str, Any]:
    co = view["checkout"]
    return {
        "lines": {line["line_id"]: line for line in view["lines"]},
        "orders": {o["order_id"]: o for o in co["viewer_orders"]},
        "last": co["my_last_order"],
        "receipts": [r["order_id"] for r in co["my_receipts"]],
        "sales": co["sales"] and (co["sales"]["orders"], co["sales"]["revenue_minor"]),
        "ticker": co["buy_ticker"],
    }  # fmt: skip


def _fold(copy: dict[str, Any], ev: Event, me: str) -> None:
    """A client's fold of the events this test plays (static/js/state.js does the same)."""
    lines, orders = copy["lines"], copy["orders"]
    match ev:
        case e.LineAdded():
            lines[ev.line_id] = {**to_json(ev), "added_at": ev.at, "assigned_by": ""}
            for key in ("at", "redacted"):
                lines[ev.line_id].pop(key)
        case e.QuantityChanged() if ev.line_id in lines:
            lines[ev.line_id] = {**lines[ev.line_id], "quantity": ev.quantity}
        case e.LineRemoved():
            lines.pop(ev.line_id, None)
        case e.ViewerOrderBegan():
            orders[ev.order_id] = {**to_json(ev), "status": "pending"}
        case e.ShareUpdated() if ev.order_id in orders:
            orders[ev.order_id] |= {"status": ev.status, "total_minor": ev.amount_minor}
        case e.OrderSettled() if ev.order_id in orders:
            order = orders.pop(ev.order_id)
            if order["payer"] == me:
                copy["last"] = {**order, "status": ev.outcome}
            if ev.outcome == "paid":
                for ordered in order["lines"]:
                    lines.pop(ordered["line_id"], None)
                if order["payer"] == me:
                    copy["receipts"].insert(0, ev.order_id)
                if copy["sales"] is not None:
                    count, revenue = copy["sales"]
                    copy["sales"] = (count + 1, revenue + order["total_minor"])
        case e.BuyTickerSet():
            copy["ticker"] = ev.on
        case _:
            pass


viewers = st.sampled_from(["bea", "cal"])
steps = st.one_of(
    st.tuples(st.just("add"), viewers, st.sampled_from(["mug", "pen"])),
    st.tuples(st.just("qty"), viewers, st.integers(0, 5), st.integers(1, 3)),
    st.tuples(st.just("remove"), viewers, st.integers(0, 5)),
    st.tuples(st.just("buy"), viewers),
    st.tuples(st.just("share"), st.integers(0, 3), st.sampled_from(["checkout_open", "failed"])),
    st.tuples(st.just("settle"), st.integers(0, 3), st.sampled_from(["paid", "void"])),
    st.tuples(st.just("ticker"), st.booleans()),
)


def _command(d: Driver, step: tuple[Any, ...]) -> tuple[str, Command]:
    open_orders = list(d.room.viewer_orders.values())
    match step:
        case ("add", who, sku):
            return who, c.AddLine(sku, None, 1, "")
        case ("qty" | "remove", who, k, *rest):
            own = [i for i, line in d.room.lines.items() if line.payer == who] or ["none"]
            line_id = own[k % len(own)]
            return who, (c.SetQuantity(line_id, rest[0]) if rest else c.RemoveLine(line_id))
        case ("buy", who):
            lines = tuple(
                OrderLine(line.line_id, line.quantity, 500)
                for line in d.room.lines.values()
                if line.payer == who and line.line_id not in d.room.frozen
            )
            total = sum(ol.quantity * 500 for ol in lines)
            return SYSTEM_ACTOR, c.BeginViewerOrder(f"v{len(d.log)}", who, lines, total, "EUR")
        case ("share", k, status) if open_orders:
            order = open_orders[k % len(open_orders)]
            return SYSTEM_ACTOR, c.UpdateShare(order.order_id, order.payer, status, 700)
        case ("settle", k, outcome) if open_orders:
            return SYSTEM_ACTOR, c.SettleOrder(open_orders[k % len(open_orders)].order_id, outcome)
        case ("ticker", on):
            return "host", c.SetBuyTicker(on)
        case _:
            return "cal", c.PostMessage("hi")


@settings(max_examples=200, deadline=None)
@given(script=st.lists(steps, max_size=40))
def test_each_members_stream_rebuilds_exactly_their_view(script: list[tuple[Any, ...]]) -> None:
    d = _live()
    copies = {m: _seen(d.room.view(m)) for m in MEMBERS}
    for step in script:
        actor, command = _command(d, step)
        try:
            events = d.room.decide(command, d.ctx(actor))
        except RoomError:
            continue
        for ev in events:
            who = audience(d.room, ev)
            d.room.apply(ev)
            d.log.append(ev)
            for member in MEMBERS:
                staff = member in ("host", "assoc")
                got = ev if staff else who.shown_to(member, ev)
                if got is None:
                    continue
                if not staff and isinstance(got, e.ViewerOrderBegan | e.ShareUpdated):
                    assert got.payer == member  # never another viewer's order
                _fold(copies[member], got, member)
        for member in MEMBERS:
            assert copies[member] == _seen(d.room.view(member)), (member, step)
    assert d.replayed() == d.room


@pytest.mark.parametrize("member", ["bea", "cal"])
def test_a_viewer_never_sees_another_viewers_order_in_a_view(member: str) -> None:
    d = _live()
    _order(d, "v1", "bea", d.add("bea"))
    other = "cal" if member == "bea" else "bea"
    co = d.room.view(member)["checkout"]
    assert all(o["payer"] == member for o in co["viewer_orders"])
    assert other not in str(co["viewer_orders"])


def test_a_viewers_order_carries_its_payment_deadline_into_the_view() -> None:
    d = _live()
    mine = d.add("bea", "mug")
    lines = (OrderLine(mine, 1, 900),)
    deadline = d.now + 30 * 60_000
    (began,) = d.do(
        SYSTEM_ACTOR, c.BeginViewerOrder("v1", "bea", lines, 900, "EUR", deadline_at=deadline)
    )
    assert isinstance(began, e.ViewerOrderBegan) and began.deadline_at == deadline
    # a reload reads it from the view: "pay within N min" counts down to it
    (order,) = d.room.view("bea")["checkout"]["viewer_orders"]
    assert order["deadline_at"] == deadline
    assert d.replayed() == d.room
