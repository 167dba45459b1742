"""Drops (rooms/rules/drops.py): a live show's timed deals, decided in the room's total order."""

from __future__ import annotations

import pytest

from rooms import SYSTEM_ACTOR, ProductFacts, Role, Room, RoomKind, StaticCatalog, audience
from rooms import commands as c
from rooms import events as e
from rooms.rules.drops import CLAIM_HOLD_MS, MAX_DROPS
from rooms.state import OrderLine
from tests.rooms.support import Driver

CATALOG = StaticCatalog(
    [
        ProductFacts("tee", "T-shirt", 1500, "EUR", variants=("s", "m"), stock=40,
                     variant_facts=(("m", 1700, 5),)),
        ProductFacts("mug", "Mug", 900, "EUR", image="https://img.example/mug.png"),
        ProductFacts("cap", "Cap", 1200, "EUR", stock=3),
    ]
)  # fmt: skip


def live(*viewers: str) -> Driver:
    d = Driver(RoomKind.LIVE)
    d.catalog = CATALOG
    for viewer in viewers:
        d.join(viewer, Role.VIEWER)
    d.do("host", c.PinProduct("mug"))
    d.do("host", c.PinProduct("tee"))
    return d


def start(d: Driver, sku: str = "mug", quantity: int = 3, limit: int = 1, **kw: object) -> str:
    variant = kw.get("variant")
    assert variant is None or isinstance(variant, str)
    duration = kw.get("duration_s", 60)
    assert isinstance(duration, int)
    events = d.do("host", c.StartDrop(sku, variant, 500, quantity, limit, duration))
    started = events[-1]
    assert isinstance(started, e.DropStarted)
    return started.drop_id


def claim(d: Driver, who: str, drop_id: str, variant: str | None = None, n: int = 1) -> str:
    events = d.do(who, c.ClaimDrop(drop_id, variant, n))
    claimed = next(ev for ev in events if isinstance(ev, e.DropClaimed))
    return claimed.line_id


def open_order(d: Driver, who: str, line_id: str, order_id: str) -> None:
    line = d.room.lines[line_id]
    ordered = (OrderLine(line_id, line.quantity, line.price_minor),)
    d.do(SYSTEM_ACTOR, c.BeginViewerOrder(order_id, who, ordered, line.price_minor, "EUR"))


def test_first_committed_claims_win_until_the_units_run_out() -> None:
    d = live("a", "b", "c", "x")
    drop_id = start(d, quantity=3, limit=1)
    (started,) = [ev for ev in d.log if isinstance(ev, e.DropStarted)]
    assert (started.price_minor, started.regular_minor, started.currency) == (500, 900, "EUR")
    assert started.ends_at == started.at + 60_000
    assert started.image == "https://img.example/mug.png"
    for who in ("a", "b", "c"):
        line_id = claim(d, who, drop_id)
        line = d.room.lines[line_id]
        assert (line.price_minor, line.payer, line.quantity) == (500, who, 1)
    last = d.log[-1]
    assert isinstance(last, e.DropRemaining) and (last.remaining, last.sold) == (0, 0)
    d.refuse("x", c.ClaimDrop(drop_id), "drop_sold_out")
    assert d.room.drops[drop_id].remaining == 0
    assert d.replayed() == d.room


def test_per_buyer_limit_counts_every_claim_of_the_buyer() -> None:
    d = live("a")
    drop_id = start(d, quantity=10, limit=2)
    claim(d, "a", drop_id)
    d.refuse("a", c.ClaimDrop(drop_id, None, 2), "drop_limit_reached")
    claim(d, "a", drop_id)
    d.refuse("a", c.ClaimDrop(drop_id), "drop_limit_reached")
    d.refuse("a", c.ClaimDrop(drop_id, None, 0), "invalid_quantity")
    assert d.room.view("a")["checkout"]["drop_taken"] == {drop_id: 2}


def test_bad_terms_are_refused() -> None:
    d = live("v")
    d.refuse("host", c.StartDrop("mug", None, 0, 3, 1, 60), "invalid_price")
    d.refuse("host", c.StartDrop("mug", None, -5, 3, 1, 60), "invalid_price")
    d.refuse("host", c.StartDrop("mug", None, 500, 0, 1, 60), "invalid_quantity")
    d.refuse("host", c.StartDrop("mug", None, 500, 3, 0, 60), "invalid_limit")
    d.refuse("host", c.StartDrop("mug", None, 500, 3, 4, 60), "invalid_limit")
    d.refuse("host", c.StartDrop("mug", None, 500, 3, 1, 9), "invalid_duration")
    d.refuse("host", c.StartDrop("mug", None, 500, 3, 1, 1201), "invalid_duration")
    d.refuse("host", c.StartDrop("nope", None, 500, 3, 1, 60), "unknown_product")
    d.refuse("host", c.StartDrop("cap", None, 500, 3, 1, 60), "not_pinned")
    d.refuse("host", c.StartDrop("tee", "xl", 500, 3, 1, 60), "invalid_variant")
    d.refuse("host", c.StartDrop("tee", "m", 500, 6, 1, 60), "out_of_stock")
    d.refuse("v", c.StartDrop("mug", None, 500, 3, 1, 60), "forbidden")
    start(d, duration_s=10)
    d.refuse("host", c.StartDrop("tee", None, 500, 3, 1, 60), "drop_running")


def test_a_group_room_has_no_drops() -> None:
    d = Driver()
    d.join("bob")
    d.do("host", c.PinProduct("mug"))
    d.refuse("host", c.StartDrop("mug", None, 500, 3, 1, 60), "forbidden")


def test_the_countdown_ends_claims_and_the_next_drop_records_the_end() -> None:
    d = live("a")
    drop_id = start(d, duration_s=10)
    d.now += 10_000
    d.refuse("a", c.ClaimDrop(drop_id), "drop_ended")
    d.refuse("a", c.ClaimDrop("nope"), "no_active_drop")
    events = d.do("host", c.StartDrop("tee", "m", 700, 2, 1, 30))
    ended, started = events
    assert isinstance(ended, e.DropEnded) and ended.reason == "time"
    assert isinstance(started, e.DropStarted) and started.regular_minor == 1700
    assert d.room.drops[drop_id].ended_at == d.room.drops[drop_id].ends_at


def test_host_ends_a_drop_early_and_later_by_time() -> None:
    d = live("a")
    drop_id = start(d)
    claim(d, "a", drop_id)
    (ended,) = d.do("host", c.EndDrop(drop_id))
    assert isinstance(ended, e.DropEnded) and (ended.reason, ended.remaining) == ("host", 2)
    d.refuse("a", c.ClaimDrop(drop_id), "drop_ended")
    d.refuse("host", c.EndDrop(drop_id), "drop_ended")
    d.refuse("host", c.EndDrop("nope"), "no_active_drop")
    d.refuse("a", c.EndDrop(drop_id), "forbidden")
    other = start(d, "tee", variant="s", duration_s=10)
    d.now += 20_000
    (late,) = d.do("host", c.EndDrop(other))
    assert isinstance(late, e.DropEnded) and late.reason == "time"
    assert late.at == d.room.drops[other].ends_at
    # the claim won before the end stays held
    assert len(d.room.drop_claims) == 1


def test_variants_fixed_by_the_host_or_picked_by_the_viewer() -> None:
    d = live("a", "b")
    picked = start(d, "tee", quantity=4, limit=2)
    d.refuse("a", c.ClaimDrop(picked), "invalid_variant")
    d.refuse("a", c.ClaimDrop(picked, "xl"), "invalid_variant")
    line = claim(d, "a", picked, "s")
    assert d.room.lines[line].variant == "s"
    d.do("host", c.EndDrop(picked))
    fixed = start(d, "tee", quantity=2, limit=1, variant="m")
    d.refuse("b", c.ClaimDrop(fixed, "s"), "invalid_variant")
    assert d.room.lines[claim(d, "b", fixed)].variant == "m"
    d.do("host", c.EndDrop(fixed))
    plain = start(d, "mug")
    d.refuse("b", c.ClaimDrop(plain, "s"), "invalid_variant")


def test_a_drop_line_cannot_be_edited_merged_or_left_behind() -> None:
    d = live("a")
    drop_id = start(d, quantity=3, limit=1)
    line = claim(d, "a", drop_id)
    d.refuse("a", c.SetQuantity(line, 2), "drop_line")
    d.refuse("a", c.RemoveLine(line), "drop_line")
    (added,) = d.do("a", c.AddLine("mug", None, 1))
    assert isinstance(added, e.LineAdded) and added.line_id != line
    left = d.do("a", c.Leave())
    assert [type(ev) for ev in left] == [e.LineRemoved, e.MemberLeft]
    assert line in d.room.lines


def test_an_unpaid_order_returns_its_units_to_the_drop() -> None:
    d = live("a", "b")
    drop_id = start(d, quantity=1, limit=1)
    line = claim(d, "a", drop_id)
    open_order(d, "a", line, "o1")
    d.refuse("b", c.ClaimDrop(drop_id), "drop_sold_out")
    d.refuse(SYSTEM_ACTOR, c.ReleaseDropClaim(line, "x"), "line_in_checkout")
    events = d.do(SYSTEM_ACTOR, c.SettleOrder("o1", "void"))
    assert [type(ev) for ev in events] == [
        e.OrderSettled, e.LineRemoved, e.DropClaimReleased, e.DropRemaining,
    ]  # fmt: skip
    assert line not in d.room.lines and d.room.drops[drop_id].remaining == 1
    assert d.room.view("a")["checkout"]["drop_taken"] == {drop_id: 0}
    claim(d, "b", drop_id)  # the unit is back in the pool
    assert d.replayed() == d.room


def test_a_paid_order_sells_its_units() -> None:
    d = live("a")
    d.do("host", c.SetBuyTicker(True))
    drop_id = start(d, quantity=2, limit=1)
    line = claim(d, "a", drop_id)
    open_order(d, "a", line, "o1")
    events = d.do(SYSTEM_ACTOR, c.SettleOrder("o1", "paid"))
    remaining = next(ev for ev in events if isinstance(ev, e.DropRemaining))
    assert (remaining.remaining, remaining.sold) == (1, 1)
    drop = d.room.drops[drop_id]
    assert (drop.remaining, drop.sold, d.room.drop_claims) == (1, 1, {})
    d.refuse("a", c.ClaimDrop(drop_id), "drop_limit_reached")  # bought counts too
    assert d.replayed() == d.room


def test_the_bridge_gives_back_a_claim_it_could_not_order() -> None:
    d = live("a")
    drop_id = start(d, quantity=1, limit=1)
    line = claim(d, "a", drop_id)
    events = d.do(SYSTEM_ACTOR, c.ReleaseDropClaim(line, "out_of_stock"))
    assert [type(ev) for ev in events] == [e.LineRemoved, e.DropClaimReleased, e.DropRemaining]
    assert d.do(SYSTEM_ACTOR, c.ReleaseDropClaim(line, "out_of_stock")) == []
    d.refuse("a", c.ReleaseDropClaim(line, "x"), "forbidden")
    claim(d, "a", drop_id)


def test_a_hold_no_order_took_lapses_for_the_next_claimant() -> None:
    d = live("a", "b")
    drop_id = start(d, quantity=1, limit=1, duration_s=600)
    line = claim(d, "a", drop_id)
    d.refuse("b", c.ClaimDrop(drop_id), "drop_sold_out")
    d.now += CLAIM_HOLD_MS
    events = d.do("b", c.ClaimDrop(drop_id))
    assert [type(ev) for ev in events][:2] == [e.LineRemoved, e.DropClaimReleased]
    assert line not in d.room.lines and d.room.drops[drop_id].remaining == 0
    assert d.room.view("a")["checkout"]["drop_taken"] == {drop_id: 0}


def test_claim_lines_count_against_the_cart_limits() -> None:
    d = live("a", "b")
    limits = d.room.limits
    drop_id = start(d, quantity=50, limit=5)
    for _ in range(limits.max_lines_per_member):
        d.do("a", c.AddLine("mug", None, 1, f"n{_}"))
    d.refuse("a", c.ClaimDrop(drop_id), "too_many_lines")
    d.room.limits = type(limits)(max_members=20, max_lines=len(d.room.lines))
    d.refuse("b", c.ClaimDrop(drop_id), "too_many_lines")


def test_claims_are_private_and_counts_public() -> None:
    d = live("a", "b")
    drop_id = start(d)
    before = d.room.copy()
    events = d.do("a", c.ClaimDrop(drop_id))
    added, claimed, remaining = events
    seen = audience(before, claimed)
    assert not seen.everyone and seen.owners == {"a"}
    assert not audience(before, added).sees("b")
    assert audience(before, remaining).everyone
    b_view = d.room.view("b")["checkout"]
    assert b_view["drop_claims"] == [] and b_view["drops"][0]["remaining"] == 2
    assert "held" not in b_view["drops"][0]
    assert len(d.room.view("host")["checkout"]["drop_claims"]) == 1
    assert [k["member_id"] for k in d.room.view("a")["checkout"]["drop_claims"]] == ["a"]
    snapshot = Room.from_snapshot(d.room.to_snapshot())
    assert snapshot == d.room


def test_old_ended_drops_are_forgotten() -> None:
    d = live("a")
    first = start(d, quantity=5, limit=1)
    claim(d, "a", first)
    d.do("host", c.EndDrop(first))
    for _ in range(MAX_DROPS):
        d.do("host", c.EndDrop(start(d)))
    assert first not in d.room.drops and len(d.room.drops) == MAX_DROPS
    assert all(not key.startswith(first) for key in d.room.drop_taken)


@pytest.mark.parametrize(
    "event",
    [
        e.DropEnded("gone", "mug", "host", 0, "h", 1),
        e.DropClaimed("gone", "l9", "a", None, 1, 500, 9, 1),
        e.DropClaimReleased("gone", "l9", "a", "x", 1),
    ],
)
def test_events_about_unknown_drops_change_nothing(event: e.Event) -> None:
    d = live("a")
    before = d.room.to_snapshot()
    d.room.apply(event)
    assert d.room.to_snapshot() == before


def test_a_claim_whose_drop_is_gone_is_still_given_back() -> None:
    d = live("a")
    drop_id = start(d, quantity=2, limit=2)
    line = claim(d, "a", drop_id)
    claim(d, "a", drop_id)
    del d.room.drops[drop_id]
    del d.room.lines[line]
    assert d.do(SYSTEM_ACTOR, c.ReleaseDropClaim(line, "x"))[-1] == e.DropClaimReleased(
        drop_id, line, "a", "x", d.now
    )
    d.room.apply(e.DropClaimed(drop_id, line, "a", None, 1, 500, 9, 1))  # no such drop: nothing
    assert line not in d.room.drop_claims


def test_a_paid_claim_whose_drop_is_gone_still_leaves_the_cart() -> None:
    d = live("a")
    drop_id = start(d, quantity=2, limit=1)
    line = claim(d, "a", drop_id)
    open_order(d, "a", line, "o1")
    del d.room.drops[drop_id]
    events = d.do(SYSTEM_ACTOR, c.SettleOrder("o1", "paid"))
    assert not any(isinstance(ev, e.DropRemaining) for ev in events)
    assert line not in d.room.lines and line not in d.room.drop_claims


def test_a_drop_still_running_ends_with_the_show() -> None:
    d = live("a", "b")
    early = start(d, duration_s=10)
    d.now += 20_000  # its countdown ran out, nobody closed it: it ends "by time", at ends_at
    running = start(d, "tee", variant="s", duration_s=600)
    won = claim(d, "a", running)
    events = d.do(SYSTEM_ACTOR, c.SetShowEnded(d.now, False))
    assert [type(ev) for ev in events] == [e.DropEnded, e.ShowEnded]
    ended = events[0]
    assert isinstance(ended, e.DropEnded)
    assert (ended.drop_id, ended.reason, ended.at) == (running, "show", d.now)
    assert audience(d.room, ended).everyone
    assert d.room.drops[early].ended_at == d.room.drops[early].ends_at
    d.refuse("b", c.ClaimDrop(running, "s"), "drop_ended")
    assert won in d.room.drop_claims  # a claim won before the end can still be paid
    # a recording published later ends nothing more
    (published,) = d.do(SYSTEM_ACTOR, c.SetShowEnded(d.room.show_ended_at or 0, True))
    assert isinstance(published, e.ShowEnded)
    assert d.replayed() == d.room
    # after the show, no new drop: there is nobody watching to claim it
    d.refuse("host", c.StartDrop("mug", None, 500, 3, 1, 60), "show_ended")


def test_a_countdown_that_ran_out_before_the_show_ended_ends_at_its_time() -> None:
    d = live("a")
    drop_id = start(d, duration_s=10)
    d.now += 30_000
    ended, _show = d.do(SYSTEM_ACTOR, c.SetShowEnded(d.now, False))
    assert isinstance(ended, e.DropEnded) and ended.reason == "time"
    assert ended.at == d.room.drops[drop_id].ends_at
