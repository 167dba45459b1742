"""Roles shown as verified badges come from the room, never from what someone typed.

A chat message carries its author's role as the room knew it (``author_role``), so a live
audience without a roster still sees who is staff; a name like "Alex (store)" earns nothing.
Events and snapshots logged before the field existed still decode.
"""

from __future__ import annotations

from rooms import Role, Room, RoomKind, event_from_wire, event_to_wire
from rooms import commands as c
from rooms import events as e
from tests.rooms.support import Driver


def test_a_message_carries_the_role_the_room_gave_its_author() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("assoc", Role.ASSOCIATE, name="Sam")
    d.join("fan", Role.VIEWER, name="Alex (store staff)")
    (staff,) = d.do("assoc", c.PostMessage("New colours are in"))
    (fan,) = d.do("fan", c.PostMessage("I work here, trust me"))
    assert isinstance(staff, e.MessagePosted) and isinstance(fan, e.MessagePosted)
    assert staff.author_role == "associate"
    assert fan.author_role == "viewer"  # the typed "(store staff)" is only a name
    assert fan.author_name == "Alex (store staff)"  # and the name rule leaves it alone
    view = d.room.view("fan")
    assert [m["author_role"] for m in view["chat"]["messages"]] == ["associate", "viewer"]
    assert d.replayed() == d.room


def test_a_promotion_changes_the_badge_of_later_messages_only() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("v", Role.VIEWER)
    d.do("v", c.PostMessage("before"))
    d.do("host", c.PromoteMember("v", Role.MODERATOR))
    d.do("v", c.PostMessage("after"))
    assert [m.author_role for m in d.room.messages] == ["viewer", "moderator"]


def test_messages_logged_before_author_role_existed_still_decode() -> None:
    d = Driver()
    d.join("bea")
    (posted,) = d.do("bea", c.PostMessage("hi"))
    old = event_to_wire(posted)
    del old["author_role"]
    decoded = event_from_wire(old)
    assert isinstance(decoded, e.MessagePosted)
    assert decoded.author_role == ""
    snapshot = d.room.to_snapshot()
    for message in snapshot["messages"]:
        del message["author_role"]
    assert Room.from_snapshot(snapshot).messages[0].author_role == ""
