"""Chat and moderation: post, card gate, delete, mute, slow mode, bounded history."""

from __future__ import annotations

from rooms import Role, RoomKind, RoomLimits
from rooms import commands as c
from rooms import events as e
from rooms.cardgate import PLACEHOLDER
from tests.rooms.support import Driver


def test_post_trims_and_redacts() -> None:
    d = Driver()
    assert d.do("host", c.PostMessage("  hello\nworld  ")) == [
        e.MessagePosted("id1", "host", "hello\nworld", False, d.now, "Hannah", "host")
    ]
    (posted,) = d.do("host", c.PostMessage("use 4242-4242-4242-4242 pls"))
    redacted = f"use {PLACEHOLDER} pls"
    assert posted == e.MessagePosted("id2", "host", redacted, True, d.now, "Hannah", "host")
    d.refuse("host", c.PostMessage("   "), "invalid_text")
    d.refuse("host", c.PostMessage("x" * 501), "invalid_text")
    d.refuse("host", c.PostMessage("bell\x07"), "invalid_text")
    assert [m["text"] for m in d.room.view("host")["chat"]["messages"]] == [
        "hello\nworld",
        f"use {PLACEHOLDER} pls",
    ]


def test_history_is_bounded() -> None:
    d = Driver(limits=RoomLimits(chat_history=3))
    for i in range(5):
        d.do("host", c.PostMessage(f"m{i}"))
    assert [m.text for m in d.room.messages] == ["m2", "m3", "m4"]
    d.refuse("host", c.DeleteMessage("id1"), "not_found")  # aged out of the history


def test_delete_by_author_or_moderator() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("v1", Role.VIEWER)
    d.join("v2", Role.VIEWER)
    d.join("mod", Role.MODERATOR)
    (a,) = d.do("v1", c.PostMessage("one"))
    (b,) = d.do("v1", c.PostMessage("two"))
    assert isinstance(a, e.MessagePosted)
    assert isinstance(b, e.MessagePosted)
    d.refuse("v2", c.DeleteMessage(a.message_id), "forbidden")
    d.do("v1", c.DeleteMessage(a.message_id))
    d.do("mod", c.DeleteMessage(b.message_id))
    assert d.room.messages == []


def test_mute_until_and_unmute() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("v", Role.VIEWER)
    d.join("mod", Role.MODERATOR)
    d.refuse("mod", c.MuteMember("v", d.now), "bad_command")
    d.refuse("mod", c.MuteMember("host", None), "outranked")
    d.refuse("v", c.MuteMember("mod", None), "forbidden")
    d.do("mod", c.MuteMember("v", d.now + 5_000))
    error = d.refuse("v", c.PostMessage("hi"), "muted")
    assert "5 s" in error.message
    assert d.room.view("v")["muted"] == {"until": d.room.muted["v"]}
    d.now += 10_000  # the mute lapses on its own
    d.do("v", c.PostMessage("back"))
    d.do("mod", c.MuteMember("v", None))
    d.do("v", c.Leave())
    d.join("v", Role.VIEWER)
    d.refuse("v", c.PostMessage("hi"), "muted")  # leaving does not clear a mute
    d.do("mod", c.UnmuteMember("v"))
    d.refuse("mod", c.UnmuteMember("v"), "not_found")
    d.do("v", c.PostMessage("free"))
    assert d.room.view("v")["muted"] is None


def test_slow_mode() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("v", Role.VIEWER)
    d.join("a", Role.ASSOCIATE)
    d.refuse("v", c.SetSlowMode(10), "forbidden")
    d.refuse("host", c.SetSlowMode(301), "bad_command")
    d.refuse("host", c.SetSlowMode(-1), "bad_command")
    d.do("host", c.SetSlowMode(10))
    assert d.do("host", c.SetSlowMode(10)) == []
    d.do("v", c.PostMessage("one"))
    error = d.refuse("v", c.PostMessage("two"), "slow_mode")
    assert "wait 10 s" in error.message
    d.do("a", c.PostMessage("staff one"))
    d.do("a", c.PostMessage("staff two"))  # staff are exempt
    d.now += 10_000
    d.do("v", c.PostMessage("two"))
    d.do("host", c.SetSlowMode(0))
    d.do("v", c.PostMessage("three"))
    assert d.room.view("v")["chat"]["slow_mode"] == 0
