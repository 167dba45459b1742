"""The room aggregate: replay, snapshots, views, apply's tolerance, the permission table."""

from __future__ import annotations

import json

import pytest

from rooms import SYSTEM_ACTOR, ProductFacts, Role, Room, RoomKind
from rooms import commands as c
from rooms import events as e
from rooms.commands import BaseCommand
from rooms.permissions import PERMISSIONS
from rooms.signals import BaseSignal
from tests.rooms.support import Driver


def _busy_room(kind: RoomKind = RoomKind.GROUP) -> Driver:
    d = Driver(kind)
    d.join("co", Role.COHOST)
    d.join("bob", Role.MEMBER)
    d.join("mod", Role.MODERATOR)
    if kind is RoomKind.LIVE:
        d.join("v", Role.VIEWER)
    line = d.add("bob", "tee", 2, "blue please")
    d.add("co", "mug")
    d.do("bob", c.Vote("tee", 1))
    d.do("co", c.Vote("mug", -1))
    (poll,) = d.do("co", c.OpenPoll("which?", ("tee", "mug")))
    assert isinstance(poll, e.PollOpened)
    d.do("bob", c.CastPollVote(poll.poll_id, "mug"))
    d.do("host", c.PostMessage("hello"))
    d.do("mod", c.MuteMember("bob", d.now + 60_000))
    d.do("host", c.SetSlowMode(5))
    d.do("host", c.PinProduct("bag"))
    d.do("host", c.Announce("welcome"))
    d.do("host", c.SetStream("https://cdn.example/s.m3u8"))
    d.do("host", c.SetFollowMode("follow_host" if kind is RoomKind.GROUP else "free"))
    d.do("co", c.BringEveryoneHere("bag"))
    d.do("host", c.LockCart())
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 7))
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "pending", 3000))
    d.do(SYSTEM_ACTOR, c.RecordHandoff("https://shop.example/c"))
    assert line in d.room.lines
    return d


@pytest.mark.parametrize("kind", list(RoomKind))
def test_replay_and_snapshot_reproduce_the_room(kind: RoomKind) -> None:
    d = _busy_room(kind)
    assert d.replayed() == d.room
    snapshot = json.loads(json.dumps(d.room.to_snapshot()))
    restored = Room.from_snapshot(snapshot)
    assert restored == d.room
    assert restored.to_snapshot() == d.room.to_snapshot()
    assert restored.view("bob") == d.room.view("bob")


def test_malformed_snapshots_are_refused() -> None:
    good = _busy_room().room.to_snapshot()
    for broken in (
        {**good, "members": []},
        {**good, "votes": {"tee": {"bob": "up"}}},
        {**good, "phase": "closed"},
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "room_id"},
        {**good, "limits": "x"},
        {**good, "banned": {1: 2}},
    ):
        with pytest.raises(ValueError, match=r"."):
            Room.from_snapshot(broken)


def test_group_view_shows_roster_and_cart() -> None:
    view = _busy_room().room.view("bob")
    assert json.loads(json.dumps(view)) == view
    assert view["kind"] == "group"
    assert view["phase"] == "settling"
    assert [m["member_id"] for m in view["members"]] == ["host", "co", "bob", "mod"]
    you = {k: view["you"][k] for k in ("member_id", "display_name", "role")}
    assert you == {"member_id": "bob", "display_name": "Bob", "role": "member"}
    assert len(view["lines"]) == 2
    assert view["votes"]["mine"] == {"tee": 1}
    assert view["polls"][0]["mine"] == "mug"
    assert view["stage"]["stream"] == {"url": "https://cdn.example/s.m3u8", "kind": "hls"}
    assert view["follow"] == {"mode": "follow_host", "focus_sku": "bag"}


def test_live_view_hides_the_audience() -> None:
    d = _busy_room(RoomKind.LIVE)
    for i in range(5):
        d.join(f"fan{i}", Role.VIEWER)
    view = d.room.view("v")
    assert view["member_count"] == 10
    assert [m["member_id"] for m in view["members"]] == ["host", "co", "mod", "v"]
    assert view["lines"] == []  # an audience member sees only his own lines
    bob_view = d.room.view("bob")
    assert [line["added_by"] for line in bob_view["lines"]] == ["bob"]
    staff_view = d.room.view("mod")
    assert len(staff_view["lines"]) == 2
    outsider = d.room.view("nobody")
    assert outsider["you"] is None
    assert outsider["lines"] == []


def test_queries() -> None:
    d = _busy_room()
    assert d.room.role_of("co") is Role.COHOST
    assert d.room.role_of("nobody") is None
    assert d.room.is_member("bob")
    assert not d.room.is_member(SYSTEM_ACTOR)
    assert d.room.kind is RoomKind.GROUP
    assert d.room.room_id == "room-1"
    assert ProductFacts("x", "X", 1, "EUR").in_stock
    assert not ProductFacts("x", "X", 1, "EUR", stock=0).in_stock


def test_apply_never_raises_on_events_about_missing_things() -> None:
    d = Driver()
    before = d.room.to_snapshot()
    stale: list[e.Event] = [
        e.RoomOpened("other", RoomKind.LIVE, "t", "x", d.room.limits, False, 1),
        e.MemberLeft("ghost", 1),
        e.MemberPromoted("ghost", Role.COHOST, "host"),
        e.MemberUnbanned("ghost", "host"),
        e.PollVoteCast("nope", "host", "tee"),
        e.PollClosed("nope", None, (), "host", 1),
        e.QuantityChanged("nope", 2, "host"),
        e.PayerAssigned("nope", "host", "host"),
        e.LineRemoved("nope", "host"),
        e.MessageDeleted("nope", "host"),
        e.MemberUnmuted("ghost", "host"),
        e.ProductUnpinned("nope", "host"),
        e.ShareUpdated("nope", "bob", "paid", 1),
        e.OrderSettled("nope", "paid", 1),
        e.StreamSet("https://x", None, "host"),
    ]
    for event in stale:
        d.room.apply(event)
    assert d.room.to_snapshot() == before
    d.room.apply(e.ProductPinned("tee", "host"))
    d.room.apply(e.ProductPinned("tee", "host"))
    assert d.room.pins == ["tee"]


def test_permission_table_covers_every_command_and_signal() -> None:
    assert set(PERMISSIONS) | {c.Join} == set(BaseCommand.registry.values()) | set(
        BaseSignal.registry.values()
    )
    for grants in PERMISSIONS.values():
        assert set(grants) == set(RoomKind)


def test_system_actor_holds_only_bridge_commands() -> None:
    system = {cls.__name__ for cls, g in PERMISSIONS.items() if SYSTEM_ACTOR in g[RoomKind.GROUP]}
    assert system == {
        "BeginSettlement",
        "SettleOrder",
        "UpdateShare",
        "RecordHandoff",
        "ReportPricing",
        "SetMerchantWordList",
        "LockAtDeadline",  # the cart's deadline came (rules/deadline.py)
        "Nudge",  # the room may remind a member too
        "RecordHoldout",  # the bridge re-planned an order around a payer who did not pay
    }


def test_docs_show_the_permission_table_and_every_error_code() -> None:
    import re
    from pathlib import Path

    from rooms.audience import audience_table_markdown
    from rooms.permissions import permission_table_markdown

    docs = Path(__file__).resolve().parents[2] / "docs"
    assert permission_table_markdown() in (docs / "rooms.md").read_text(encoding="utf-8")
    assert audience_table_markdown() in (docs / "rooms.md").read_text(encoding="utf-8")
    documented = set(
        re.findall(r"^\| `([a-z_]+)` \|", (docs / "errors.md").read_text("utf-8"), re.M)
    )
    source = (Path(__file__).resolve().parents[2] / "rooms").rglob("*.py")
    used = {
        code
        for path in source
        for code in re.findall(
            r'(?:InvalidCommand|NotAllowed|NotFound|LimitExceeded|PhaseError)\(\s*"([a-z_]+)"',
            path.read_text(encoding="utf-8"),
        )
    }
    assert used
    assert used <= documented
