"""``Room.copy`` (the server's per-turn checkpoint) shares no container with the room it copies."""

from __future__ import annotations

from dataclasses import fields

from rooms import commands as c
from rooms import events as e
from rooms.room import Room
from tests.rooms.support import Driver


def _busy_room() -> Driver:
    d = Driver()
    for name in ("ann", "bob", "cy"):
        d.join(name)
    d.do("ann", c.Vote("tee", 1))
    d.do("bob", c.Vote("tee", -1))
    (opened,) = d.do("host", c.OpenPoll("Which one?", ("tee", "mug")))
    assert isinstance(opened, e.PollOpened)
    poll_id = opened.poll_id
    d.do("ann", c.CastPollVote(poll_id, "mug"))
    d.add("bob", "mug", 2)
    d.do("cy", c.PostMessage("hello"))
    d.do("host", c.MuteMember("cy", None))
    return d


def test_a_copy_shares_no_container_and_later_changes_do_not_reach_it() -> None:
    d = _busy_room()
    room = d.room
    before = room.to_snapshot()
    copy = room.copy()
    assert copy == room
    for f in fields(Room):
        value = getattr(room, f.name)
        if isinstance(value, dict | list):
            assert getattr(copy, f.name) is not value, f.name
            if isinstance(value, dict):
                for key, inner in value.items():
                    if isinstance(inner, dict):
                        assert getattr(copy, f.name)[key] is not inner, (f.name, key)

    # change every kind of container on the original; the copy stays as it was
    d.join("dee")
    d.do("dee", c.Vote("tee", 1))
    d.do("cy", c.Vote("tee", 1))
    poll_id = next(iter(room.polls))
    d.do("bob", c.CastPollVote(poll_id, "tee"))
    d.add("dee", "tee", 1)
    d.do("ann", c.PostMessage("more"))
    d.do("host", c.Kick("bob"))
    assert copy.to_snapshot() == before
    assert copy != room


def test_copy_names_every_field() -> None:
    # a field added to Room but not to Room.copy would silently take its default in the copy
    read = set(Room.copy.__code__.co_names)
    assert {f.name for f in fields(Room)} <= read
