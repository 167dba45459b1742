"""Property tests over random command sequences: replay equality, atomic refusals, invariants."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from rooms import (
    SYSTEM_ACTOR,
    Command,
    Context,
    Role,
    Room,
    RoomError,
    RoomKind,
    RoomLimits,
    event_from_wire,
    event_to_wire,
    open_room,
)
from rooms import commands as c
from tests.rooms.support import CATALOG, SKUS

LIMITS = RoomLimits(
    max_members=4,
    max_lines=5,
    max_lines_per_member=3,
    max_open_polls=2,
    max_closed_polls=2,
    max_pins=2,
    chat_history=3,
    announcement_history=2,
)
# Weighted samples: mostly members and valid values, so that most commands are accepted.
ACTORS = ("host", "host", "a", "a", "b", "b", "c", "d", SYSTEM_ACTOR, "stranger")
skus = st.sampled_from((*SKUS, *SKUS, "nope"))
# "@k" stands for the k-th existing line / poll / message id, resolved when the step runs.
ids = st.sampled_from(["@0", "@1", "@2", "@3", "nope"])
actors = st.sampled_from(ACTORS)
roles = st.sampled_from(list(Role))
setup_roles = st.sampled_from(
    [Role.COHOST, Role.MODERATOR, Role.ASSOCIATE, Role.MEMBER, Role.VIEWER]
)
quantities = st.sampled_from([1, 1, 2, 3, 0, 100])
texts = st.sampled_from(["hi", "hi", "ok\nthere", "4242 4242 4242 4242", "  ", "x" * 600])

good_lines = st.sampled_from(
    [
        c.AddLine("mug", None, 1),
        c.AddLine("bag", None, 2),
        c.AddLine("tee", "m", 1),
        c.AddLine("cap", None, 1),
        c.AddLine("pen", None, 1, "gift"),
        c.AddLine("ink", None, 3),
    ]
)
good_polls = st.builds(
    c.OpenPoll, st.just("which?"), st.sampled_from([("tee", "mug"), ("bag", "cap", "pen")])
)
SYSTEM_COMMANDS: list[Command] = [
    c.BeginSettlement("o1", 1),
    c.SettleOrder("o1", "paid"),
    c.SettleOrder("o1", "void"),
]
system = st.sampled_from(SYSTEM_COMMANDS)
# The everyday commands come several times so that sequences reach deep states.
everyday: list[st.SearchStrategy[Command]] = [
    good_lines,
    good_polls,
    system,
    st.builds(c.SetQuantity, ids, st.sampled_from([1, 2, 5])),
    st.builds(c.Vote, skus, st.sampled_from([-1, 0, 1])),
    st.builds(c.CastPollVote, ids, st.sampled_from(["tee", "mug", "bag", "cap"])),
    st.builds(c.ClosePoll, ids, st.booleans()),
    st.builds(c.PostMessage, st.just("hello")),
    st.sampled_from([c.LockCart(), c.UnlockCart()]),
]
rare: list[st.SearchStrategy[Command]] = [
    st.builds(c.Join, st.sampled_from(["Al", "", "B\x07"]), roles),
    st.just(c.Leave()),
    st.builds(c.Kick, actors),
    st.builds(c.Ban, actors),
    st.builds(c.Unban, actors),
    st.builds(c.PromoteMember, actors, roles),
    st.builds(c.SetFollowMode, st.sampled_from(["follow_host", "free"])),
    st.builds(c.BringEveryoneHere, skus),
    st.builds(c.Vote, skus, st.integers(-2, 2)),
    st.builds(c.OpenPoll, texts, st.lists(skus, max_size=7).map(tuple)),
    st.builds(c.CastPollVote, ids, st.sampled_from(["tee", "mug", "bag", "cap"])),
    st.builds(c.ClosePoll, ids, st.booleans()),
    st.builds(c.AddLine, skus, st.sampled_from([None, None, "m", "xl"]), quantities, texts),
    st.builds(c.AddLine, skus, st.sampled_from([None, None, "m"]), quantities, st.just("")),
    st.builds(c.SetQuantity, ids, quantities),
    st.builds(c.RemoveLine, ids),
    st.builds(c.ClaimLine, ids),
    st.builds(c.AssignPayer, ids, actors),
    st.builds(c.PostMessage, texts),
    st.builds(c.DeleteMessage, ids),
    st.builds(c.MuteMember, actors, st.sampled_from([None, 0, 10**15])),
    st.builds(c.UnmuteMember, actors),
    st.builds(c.SetSlowMode, st.sampled_from([0, 5, 400])),
    st.builds(c.PinProduct, skus),
    st.builds(c.UnpinProduct, skus),
    st.builds(c.Announce, texts),
    st.builds(c.SetStream, st.sampled_from([None, "https://x.example/a.m3u8", "ftp://x"])),
    st.just(c.LockCart()),
    st.just(c.UnlockCart()),
    st.builds(c.BeginSettlement, st.just("o1"), st.integers(-1, 3)),
    st.builds(c.SettleOrder, st.sampled_from(["o1", "o2"]), st.sampled_from(["paid", "void"])),
    st.builds(
        c.UpdateShare, st.just("o1"), actors, st.sampled_from(["paid", "X"]), st.integers(-1, 9)
    ),
    st.builds(c.RecordHandoff, st.sampled_from(["https://shop.example/c", "nope"])),
]
commands: st.SearchStrategy[Command] = st.sampled_from(everyday * 4 + rare).flatmap(lambda x: x)
times = st.integers(0, 10_000)
steps = st.lists(
    st.sampled_from(
        [st.tuples(actors, commands, times)] * 8
        + [st.tuples(st.just(SYSTEM_ACTOR), system, times)]
        + [st.tuples(st.just("host"), st.sampled_from([c.LockCart(), c.UnlockCart()]), times)]
    ).flatmap(lambda x: x),
    min_size=10,
    max_size=50,
)


def _resolve(command: Command, room: Room) -> Command:
    """Replace "@k" references by the k-th existing id of the right kind."""
    pools = {
        "line_id": list(room.lines),
        "poll_id": list(room.polls),
        "message_id": [m.message_id for m in room.messages],
    }
    for name, pool in pools.items():
        value = getattr(command, name, None)
        if isinstance(value, str) and value.startswith("@"):
            chosen = pool[int(value[1:]) % len(pool)] if pool else "nope"
            changes: dict[str, Any] = {name: chosen}
            return cast(Command, dataclasses.replace(cast(Any, command), **changes))
    return command


def _check_invariants(room: Room) -> None:
    assert room.member_count <= room.limits.max_members
    assert not set(room.banned) & set(room.members)
    hosts = [m.member_id for m in room.members.values() if m.role is Role.HOST]
    assert hosts == [room.host_id]
    assert SYSTEM_ACTOR not in room.members
    assert all(1 <= line.quantity <= 99 for line in room.lines.values())
    assert len(room.lines) <= room.limits.max_lines
    per_member = Counter(line.added_by for line in room.lines.values())
    assert all(n <= room.limits.max_lines_per_member for n in per_member.values())
    assert len(room.pins) == len(set(room.pins)) <= room.limits.max_pins
    assert sum(not p.closed for p in room.polls.values()) <= room.limits.max_open_polls
    assert len(room.messages) <= room.limits.chat_history
    for sku, tally in room.tallies.items():
        values = list(room.votes.get(sku, {}).values())
        assert (tally.up, tally.down) == (values.count(1), values.count(-1))
        assert tally.up or tally.down
    assert set(room.votes) == set(room.tallies)
    assert all(v in (-1, 1) for votes in room.votes.values() for v in votes.values())
    assert (room.phase.value == "settling") == (room.order_id is not None)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(list(RoomKind)),
    cast=st.lists(setup_roles, min_size=3, max_size=3),
    plan=steps,
)
def test_random_sequences_keep_the_rules(
    kind: RoomKind, cast: list[Role], plan: list[tuple[str, Command, int]]
) -> None:
    log = open_room("r", kind, "Room", "host", "Hannah", 0, LIMITS)
    room = Room.replay(log)
    now = 0
    setup = [
        (actor, c.Join(actor.upper(), role), 0) for actor, role in zip("abc", cast, strict=True)
    ]
    plan = setup + plan
    for number, (actor, command, advance) in enumerate(plan):
        now += advance
        ctx = Context(actor=actor, now=now, new_id=f"id{number + 1}", catalog=CATALOG)
        before = room.to_snapshot()
        command = _resolve(command, room)
        try:
            events = room.decide(command, ctx)
        except RoomError:
            events = None
        if events is None:
            assert room.to_snapshot() == before  # a refused command changes nothing
            continue
        assert room.to_snapshot() == before  # decide never mutates
        for event in events:
            assert event_from_wire(event_to_wire(event)) == event
            room.apply(event)
            log.append(event)
        _check_invariants(room)
    assert Room.replay(log) == room
    assert Room.from_snapshot(room.to_snapshot()) == room
