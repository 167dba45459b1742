"""Membership: open, join, rejoin, caps, leave, kick, ban, unban, promote, rank."""

from __future__ import annotations

import pytest

from rooms import SYSTEM_ACTOR, Role, Room, RoomError, RoomKind, RoomLimits, open_room
from rooms import commands as c
from rooms import events as e
from rooms.cardgate import PLACEHOLDER
from tests.rooms.support import Driver


def test_open_room_emits_room_opened_and_host_join() -> None:
    opened, joined = open_room("r", RoomKind.LIVE, "  Drop  ", "h", "Hannah", 5)
    assert opened == e.RoomOpened(
        "r", RoomKind.LIVE, "Drop", "h", RoomLimits.for_kind(RoomKind.LIVE), False, 5
    )
    assert joined == e.MemberJoined("h", "Hannah", Role.HOST, False, 5)
    room = Room.replay([opened, joined])
    assert room.role_of("h") is Role.HOST
    assert room.follow_mode == "follow_host"
    assert room.member_count == 1


def test_open_room_card_gates_title_and_name() -> None:
    opened, joined = open_room(
        "r", RoomKind.GROUP, "pay 4242424242424242", "h", "4242 4242 4242 4242", 5
    )
    assert isinstance(opened, e.RoomOpened)
    assert isinstance(joined, e.MemberJoined)
    assert opened.title == f"pay {PLACEHOLDER}"
    assert opened.redacted
    assert joined.display_name == PLACEHOLDER
    assert joined.redacted


@pytest.mark.parametrize(
    ("room_id", "title", "host_id", "name", "code"),
    [
        ("", "t", "h", "n", "bad_command"),
        ("r", "t", SYSTEM_ACTOR, "n", "bad_command"),
        ("r", "t", "", "n", "bad_command"),
        ("r", "   ", "h", "n", "invalid_text"),
        ("r", "t" * 81, "h", "n", "invalid_text"),
        ("r", "t", "h", "n" * 41, "invalid_text"),
        ("r", "t", "h", "bad\x07name", "invalid_text"),
    ],
)
def test_open_room_validates(room_id: str, title: str, host_id: str, name: str, code: str) -> None:
    with pytest.raises(RoomError) as info:
        open_room(room_id, RoomKind.GROUP, title, host_id, name, 1)
    assert info.value.code == code


def test_replay_needs_room_opened_first() -> None:
    with pytest.raises(ValueError, match="RoomOpened"):
        Room.replay([])
    with pytest.raises(ValueError, match="RoomOpened"):
        Room.replay([e.MemberLeft("m", 1)])


def test_join_and_idempotent_rejoin() -> None:
    d = Driver()
    assert d.do("bob", c.Join("  Bob ", Role.MEMBER)) == [
        e.MemberJoined("bob", "Bob", Role.MEMBER, False, d.now)
    ]
    assert d.room.is_member("bob")
    assert d.do("bob", c.Join("Robert", Role.MEMBER)) == []
    assert d.do("host", c.Join("Hannah", Role.HOST)) == []
    assert d.room.members["bob"].display_name == "Bob"


def test_join_refusals() -> None:
    d = Driver()
    d.refuse("eve", c.Join("Eve", Role.HOST), "bad_role")
    d.refuse("eve", c.Join("Eve", Role.VIEWER), "bad_role")  # no viewers in a group room
    d.refuse(SYSTEM_ACTOR, c.Join("Sys", Role.MEMBER), "bad_command")
    d.refuse("x" * 65, c.Join("X", Role.MEMBER), "bad_command")
    d.refuse("eve", c.Join("", Role.MEMBER), "invalid_text")
    live = Driver(RoomKind.LIVE)
    live.join("v", Role.VIEWER)
    assert live.room.role_of("v") is Role.VIEWER


def test_member_cap() -> None:
    d = Driver(limits=RoomLimits(max_members=3))
    d.join("a")
    d.join("b")
    d.refuse("c", c.Join("C", Role.MEMBER), "room_full")
    d.do("a", c.Leave())
    d.join("c")
    assert d.room.member_count == 3


def test_leave_and_host_cannot_leave() -> None:
    d = Driver()
    d.join("bob")
    d.refuse("host", c.Leave(), "host_cannot_leave")
    assert d.do("bob", c.Leave()) == [e.MemberLeft("bob", d.now)]
    assert not d.room.is_member("bob")
    assert d.room.role_of("bob") is None
    d.refuse("bob", c.Leave(), "not_member")


def test_kick_needs_a_new_invite_ban_blocks_until_unbanned() -> None:
    d = Driver()
    d.join("bob")
    d.join("eve")
    d.do("host", c.Kick("bob"))
    assert not d.room.is_member("bob")
    # the same identity (token) cannot walk back in; a new invite gives a new member id
    d.refuse("bob", c.Join("Bob", Role.MEMBER), "kicked")
    d.join("bob2")
    d.do("host", c.Ban("eve"))
    assert not d.room.is_member("eve")
    d.refuse("eve", c.Join("Eve", Role.MEMBER), "banned")
    d.refuse("eve", c.PostMessage("hi"), "banned")
    d.refuse("host", c.Unban("bob"), "not_found")
    d.do("host", c.Unban("eve"))
    d.join("eve")


def test_moderation_needs_rank_and_membership() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("co", Role.COHOST)
    d.join("mod", Role.MODERATOR)
    d.join("mod2", Role.MODERATOR)
    d.join("v", Role.VIEWER)
    d.refuse("v", c.Kick("mod"), "forbidden")
    d.refuse("mod", c.Kick("mod2"), "outranked")
    d.refuse("mod", c.Ban("co"), "outranked")
    d.refuse("co", c.Kick("host"), "outranked")
    d.refuse("mod", c.Kick("ghost"), "not_found")
    d.refuse("stranger", c.Kick("v"), "not_member")
    d.do("mod", c.Kick("v"))
    d.refuse(SYSTEM_ACTOR, c.Kick("mod"), "forbidden")


def test_promote() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("v", Role.VIEWER)
    d.join("co", Role.COHOST)
    d.refuse("co", c.PromoteMember("v", Role.MODERATOR), "forbidden")
    d.refuse("host", c.PromoteMember("v", Role.HOST), "bad_role")
    d.refuse("host", c.PromoteMember("nobody", Role.MEMBER), "not_found")
    assert d.do("host", c.PromoteMember("v", Role.VIEWER)) == []
    d.do("host", c.PromoteMember("v", Role.MODERATOR))
    assert d.room.role_of("v") is Role.MODERATOR
    d.refuse("v", c.Kick("co"), "outranked")


def test_open_room_refuses_zero_limits() -> None:
    with pytest.raises(RoomError) as info:
        open_room("r", RoomKind.GROUP, "t", "h", "n", 1, RoomLimits(max_pins=0))
    assert info.value.code == "bad_command"


def test_a_rejoin_cannot_bring_back_a_role_the_member_lost() -> None:
    d = Driver()
    d.join("co", Role.COHOST)
    d.do("host", c.PromoteMember("co", Role.MEMBER))
    d.do("co", c.Leave())
    # the old token still says cohost; the room remembers the demotion
    assert d.do("co", c.Join("Co", Role.COHOST)) == [
        e.MemberJoined("co", "Co", Role.MEMBER, False, d.now)
    ]
    d.refuse("co", c.SetSlowMode(5), "forbidden")
    assert d.room.to_snapshot()["former_roles"] == {"co": "member"}
