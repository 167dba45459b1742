"""An equal split bills the people the host picks; by default the host and the members who added
or pay for lines — never the shop's staff, never someone who left."""

from __future__ import annotations

import pytest

from rooms import Role, RoomError, RoomKind
from rooms import commands as c
from rooms.rules.checkout import split_default, split_participants
from tests.rooms.support import Driver


def _room() -> Driver:
    d = Driver()
    d.join("bob")
    d.join("cat")
    d.join("sam", Role.ASSOCIATE)
    d.join("dan")  # in the room, but adds nothing
    d.add("bob", "mug")
    d.add("sam", "cap")  # the store associate helps by adding a line
    return d


def test_the_default_is_the_host_and_who_added_or_pays_never_staff() -> None:
    d = _room()
    assert split_default(d.room) == ("host", "bob")
    (line,) = [lid for lid, line in d.room.lines.items() if line.added_by == "sam"]
    d.do("cat", c.ClaimLine(line))  # Cat pays for the associate's line: she is in
    assert split_default(d.room) == ("host", "bob", "cat")
    assert d.room.view("bob")["checkout"]["split_roles"] == ["cohost", "host", "member"]


def test_a_member_who_left_is_not_in_the_default() -> None:
    d = _room()
    d.do("bob", c.Leave())
    assert "bob" not in split_default(d.room)


def test_the_host_picks_anyone_in_the_room_even_staff() -> None:
    d = _room()
    assert split_participants(d.room, None) == ("host", "bob")
    assert split_participants(d.room, ["dan", "sam", "dan"]) == ("dan", "sam")


@pytest.mark.parametrize("picked", [[], ["gone"], ["bob", "nobody"]])
def test_a_pick_of_nobody_or_of_someone_not_here_is_refused(picked: list[str]) -> None:
    d = _room()
    with pytest.raises(RoomError) as info:
        split_participants(d.room, picked)
    assert info.value.code == "invalid_participants"


def test_a_pick_larger_than_the_room_is_refused() -> None:
    d = _room()
    with pytest.raises(RoomError) as info:
        split_participants(d.room, [f"m{n}" for n in range(d.room.limits.max_members + 1)])
    assert info.value.code == "invalid_participants"


def test_a_live_audience_never_shares_a_split() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("vic", Role.VIEWER)
    d.add("vic", "mug")
    assert split_default(d.room) == ("host",)
    with pytest.raises(RoomError):
        split_participants(d.room, ["vic"])
    assert d.room.view("host")["checkout"]["split_roles"] == []
