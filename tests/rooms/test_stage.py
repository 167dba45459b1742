"""Live stage (pins, announcements, stream), co-browse (follow mode, bring-here) and signals."""

from __future__ import annotations

import pytest

from rooms import SYSTEM_ACTOR, Context, Role, RoomError, RoomKind, RoomLimits, audience
from rooms import commands as c
from rooms import events as e
from rooms.cardgate import PLACEHOLDER
from rooms.signals import React, Signal, Typing, Viewing
from tests.rooms.support import CATALOG, Driver


def test_pins_are_bounded_and_idempotent() -> None:
    d = Driver(RoomKind.LIVE, RoomLimits.for_kind(RoomKind.LIVE).__class__(max_pins=2))
    d.join("co", Role.COHOST)
    d.join("v", Role.VIEWER)
    d.refuse("v", c.PinProduct("tee"), "forbidden")
    d.refuse("co", c.PinProduct("nope"), "unknown_product")
    d.do("co", c.PinProduct("tee"))
    assert d.do("co", c.PinProduct("tee")) == []
    d.do("host", c.PinProduct("mug"))
    d.refuse("host", c.PinProduct("bag"), "too_many_pins")
    d.do("host", c.UnpinProduct("tee"))
    d.refuse("host", c.UnpinProduct("tee"), "not_found")
    assert d.room.view("v")["stage"]["pins"] == ["mug"]


def test_pins_work_in_group_rooms() -> None:
    d = Driver()
    d.join("bob")
    d.do("host", c.PinProduct("tee"))
    d.refuse("bob", c.PinProduct("mug"), "forbidden")


def test_announcements() -> None:
    d = Driver(RoomKind.LIVE, RoomLimits(announcement_history=2))
    d.join("mod", Role.MODERATOR)
    d.join("a", Role.ASSOCIATE)
    d.refuse("a", c.Announce("hi"), "forbidden")
    d.refuse("mod", c.Announce("x" * 281), "invalid_text")
    (event,) = d.do("mod", c.Announce("50% off, card 4242424242424242"))
    assert event == e.Announced("id5", f"50% off, card {PLACEHOLDER}", True, "mod", d.now)
    d.do("mod", c.Announce("two"))
    d.do("mod", c.Announce("three"))
    assert [a["text"] for a in d.room.view("a")["stage"]["announcements"]] == ["two", "three"]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://cdn.example/live/index.m3u8", "hls"),
        ("https://cdn.example/live/INDEX.M3U8?token=1", "hls"),
        ("https://www.youtube.com/embed/abc", "embed"),
        ("http://localhost:8080/stream.m3u8", "hls"),
        ("http://127.0.0.1/x", "embed"),
    ],
)
def test_stream_urls(url: str, kind: str) -> None:
    d = Driver(RoomKind.LIVE)
    assert d.do("host", c.SetStream(url)) == [e.StreamSet(url, kind, "host")]  # type: ignore[arg-type]
    assert d.room.view("host")["stage"]["stream"] == {"url": url, "kind": kind}
    assert d.do("host", c.SetStream(url)) == []
    assert d.do("host", c.SetStream(None)) == [e.StreamSet(None, None, "host")]
    assert d.room.stream is None
    assert d.do("host", c.SetStream(None)) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.example/x.m3u8",
        "ftp://cdn.example/x",
        "javascript:alert(1)",
        "https://",
        "https://exa mple.com/",
        "https://example.com/\n",
        "https://[::1/x",
        "https://example.com/" + "x" * 2048,
    ],
)
def test_bad_stream_urls(url: str) -> None:
    d = Driver(RoomKind.LIVE)
    d.refuse("host", c.SetStream(url), "invalid_url")


def test_follow_mode_and_bring_everyone_here() -> None:
    d = Driver()
    d.join("bob")
    d.join("ann", Role.ASSOCIATE)
    assert d.room.follow_mode == "free"
    d.refuse("bob", c.SetFollowMode("follow_host"), "forbidden")
    d.refuse("host", c.SetFollowMode("chaos"), "bad_command")  # type: ignore[arg-type]
    assert d.do("host", c.SetFollowMode("follow_host")) == [e.FollowModeSet("follow_host", "host")]
    assert d.do("host", c.SetFollowMode("follow_host")) == []
    d.refuse("bob", c.BringEveryoneHere("tee"), "forbidden")
    d.refuse("ann", c.BringEveryoneHere("nope"), "unknown_product")
    assert d.do("ann", c.BringEveryoneHere("tee")) == [e.EveryoneBrought("tee", "ann", d.now)]
    assert d.room.view("bob")["follow"] == {"mode": "follow_host", "focus_sku": "tee"}


def _signal(d: Driver, actor: str, signal: Signal) -> Signal:
    return d.room.check_signal(signal, Context(actor, d.now, "sig", CATALOG))


def _refused(d: Driver, actor: str, signal: Signal) -> str:
    with pytest.raises(RoomError) as info:
        _signal(d, actor, signal)
    return info.value.code


def test_signals() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("v", Role.VIEWER)
    d.join("mod", Role.MODERATOR)
    before = d.room.to_snapshot()
    assert _signal(d, "v", Viewing("tee")) == Viewing("tee")
    assert _signal(d, "v", Viewing(None)) == Viewing(None)
    assert _refused(d, "v", Viewing("nope")) == "unknown_product"
    assert _signal(d, "v", Typing(True)) == Typing(True)
    assert _signal(d, "v", React("🔥")) == React("🔥")
    assert _signal(d, "v", React("❤")) == React("❤️")  # normalised to the listed form
    assert _signal(d, "v", React("👍\ufe0f")) == React("👍")
    assert _refused(d, "v", React("🍕")) == "bad_signal"
    assert _refused(d, "stranger", Typing(True)) == "not_member"
    assert _refused(d, SYSTEM_ACTOR, Typing(True)) == "forbidden"
    d.do("mod", c.MuteMember("v", None))
    assert _refused(d, "v", Typing(True)) == "muted"
    assert _refused(d, "v", React("🔥")) == "muted"
    assert _signal(d, "v", Typing(False)) == Typing(False)
    assert d.room.to_snapshot() != before


def test_the_show_api_tells_the_room_its_show_ended_then_that_its_replay_is_set() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("co", Role.COHOST)
    d.join("v", Role.VIEWER)
    assert d.room.view("v")["checkout"]["show"]["ended_at"] is None
    for who in ("host", "co", "v"):  # only the server says so, never a member
        d.refuse(who, c.SetShowEnded(5_000, False), "forbidden")
    assert d.do(SYSTEM_ACTOR, c.SetShowEnded(5_000, False)) == [e.ShowEnded(5_000, False)]
    assert d.do(SYSTEM_ACTOR, c.SetShowEnded(5_000, False)) == []  # told again: nothing new
    stage = d.room.view("v")["checkout"]["show"]
    assert (stage["ended_at"], stage["replay"]) == (5_000, False)
    (published,) = d.do(SYSTEM_ACTOR, c.SetShowEnded(5_000, True))
    assert audience(d.room, published).everyone
    assert d.room.view("v")["checkout"]["show"]["replay"] is True
    assert d.replayed() == d.room
    assert d.room.copy() == d.room
    group = Driver(RoomKind.GROUP)  # a group room has no show
    group.refuse(SYSTEM_ACTOR, c.SetShowEnded(5_000, False), "forbidden")
