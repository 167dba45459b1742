"""Contract tests of the room event log, run on SQLite and PostgreSQL (see conftest.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engine import create_engine
from server.storage import (
    Append,
    DuplicateOp,
    EventStore,
    InvalidBatch,
    NewEvent,
    OpKey,
    OpOutcome,
    SeqConflict,
    StorageUnavailable,
    StoredEvent,
)

from .conftest import Backend


def ev(kind: str, n: int = 0, actor: str = "ann", **data: Any) -> NewEvent:
    return NewEvent(type=kind, data={"n": n, **data}, at=1_700_000_000_000 + n, actor=actor)


def append(room: str, after: int, *events: NewEvent, op: OpKey | None = None) -> Append:
    return Append(room_id=room, after_seq=after, events=tuple(events), op=op)


async def test_append_numbers_events_and_read_returns_them_in_order(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    [first] = await store.append_batch([append("r1", 0, ev("a", 1), ev("b", 2), ev("c", 3))])
    assert [e.seq for e in first] == [1, 2, 3]
    [second] = await store.append_batch([append("r1", 3, ev("d", 4), ev("e", 5))])
    assert [e.seq for e in second] == [4, 5]

    events = await store.read("r1")
    assert [(e.seq, e.type) for e in events] == [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]
    assert events[0] == StoredEvent("r1", 1, "a", {"n": 1}, 1_700_000_000_001, "ann")
    assert [e.seq for e in await store.read("r1", after_seq=2)] == [3, 4, 5]
    assert [e.seq for e in await store.read("r1", after_seq=1, limit=2)] == [2, 3]
    assert await store.read("r1", after_seq=5) == []
    assert await store.last_seq("r1") == 5
    assert await store.last_seq("nobody") == 0
    assert await store.read("nobody") == []


async def test_event_data_round_trips_as_json(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    data = {"text": 'héllo 👋 "quoted"', "nested": {"list": [1, 2.5, None, True]}, "n": 0}
    await store.append_batch([append("r1", 0, NewEvent("chat", data, 5, "bob"))])
    [stored] = await store.read("r1")
    assert stored.data == data


async def test_non_json_data_is_refused_before_anything_is_written(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    with pytest.raises(InvalidBatch):
        await store.append_batch([append("r1", 0, NewEvent("x", {"bad": {1, 2}}, 1, "a"))])
    with pytest.raises(InvalidBatch):
        await store.append_batch([append("r1", 0, NewEvent("x", {"nan": float("nan")}, 1, "a"))])
    assert await store.last_seq("r1") == 0


async def test_one_batch_writes_many_rooms_and_chained_appends(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    await store.append_batch([append("r2", 0, ev("x"))])
    results = await store.append_batch(
        [
            append("r1", 0, ev("a", 1)),
            append("r2", 1, ev("b", 2), ev("c", 3)),
            append("r1", 1, ev("d", 4), op=OpKey("r1", "ann", "op-1")),
            append("r1", 2),  # an op that decided nothing still chains
        ]
    )
    assert [[e.seq for e in events] for events in results] == [[1], [2, 3], [2], []]
    assert [e.type for e in await store.read("r1")] == ["a", "d"]
    assert [e.type for e in await store.read("r2")] == ["x", "b", "c"]
    assert await store.find_op(OpKey("r1", "ann", "op-1")) == OpOutcome(2, 2)
    assert await store.append_batch([]) == []


async def test_a_stale_room_fails_the_whole_batch(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    await store.append_batch([append("busy", 0, ev("a"), ev("b"))])

    with pytest.raises(SeqConflict) as caught:
        await store.append_batch(
            [
                append("fresh", 0, ev("x"), op=OpKey("fresh", "ann", "o1")),
                append("busy", 1, ev("c")),  # the log is at 2, not 1
            ]
        )
    assert caught.value.rooms == {"busy": 2}
    assert caught.value.code == "seq_conflict"
    assert await store.read("fresh") == []
    assert await store.find_op(OpKey("fresh", "ann", "o1")) is None
    assert await store.last_seq("busy") == 2


async def test_after_seq_beyond_the_log_is_a_conflict_too(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    with pytest.raises(SeqConflict) as caught:
        await store.append_batch([append("r1", 4, ev("a"))])
    assert caught.value.rooms == {"r1": 0}


async def test_a_chain_that_skips_inside_the_batch_conflicts(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    with pytest.raises(SeqConflict) as caught:
        await store.append_batch([append("r1", 0, ev("a")), append("r1", 0, ev("b"))])
    assert caught.value.rooms == {"r1": 0}
    assert await store.last_seq("r1") == 0


async def test_two_processes_racing_on_one_room_exactly_one_wins(backend: Backend) -> None:
    stores = [EventStore(backend.engine()), EventStore(backend.engine())]
    for round_ in range(5):
        after = await stores[0].last_seq("race")
        outcomes = await asyncio.gather(
            stores[0].append_batch([append("race", after, ev("p0", round_), ev("p0", round_))]),
            stores[1].append_batch([append("race", after, ev("p1", round_))]),
            return_exceptions=True,
        )
        wins = [o for o in outcomes if isinstance(o, list)]
        losses = [o for o in outcomes if isinstance(o, SeqConflict)]
        assert len(wins) == 1, outcomes
        assert len(losses) == 1, outcomes
        [[won]] = wins
        assert losses[0].rooms == {"race": won[-1].seq}
        log = await stores[1].read("race", after_seq=after)
        assert log == list(won)

    seqs = [e.seq for e in await stores[0].read("race")]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_a_known_head_skips_the_read_but_never_a_conflict(backend: Backend) -> None:
    """A store that wrote a room's head appends without reading it first (the hot path); when
    another process wrote meanwhile, the primary key still refuses it and the refusal is the
    usual SeqConflict or DuplicateOp with nothing committed."""
    mine, theirs = EventStore(backend.engine()), EventStore(backend.engine())
    key = OpKey("hot", "ann", "op-1")
    await mine.append_batch([append("hot", 0, ev("a"), op=key)])
    await mine.append_batch([append("hot", 1, ev("b"))])  # continues its own head: no read
    await theirs.append_batch([append("hot", 2, ev("c"), ev("d"))])

    with pytest.raises(SeqConflict) as caught:
        await mine.append_batch([append("hot", 2, ev("stale"), op=OpKey("hot", "ann", "op-2"))])
    assert caught.value.rooms == {"hot": 4}
    assert await mine.find_op(OpKey("hot", "ann", "op-2")) is None
    # after a refusal the store reads again, and appends from the real head
    [stored] = await mine.append_batch([append("hot", 4, ev("e"))])
    assert [e.seq for e in stored] == [5]
    with pytest.raises(DuplicateOp) as dup:
        await mine.append_batch([append("hot", 5, ev("again"), op=key)])
    assert dup.value.outcome == OpOutcome(1, 1)
    assert [e.type for e in await theirs.read("hot")] == ["a", "b", "c", "d", "e"]


async def test_a_retried_op_is_refused_with_its_original_outcome(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    key = OpKey("r1", "ann", "op-7")
    await store.append_batch([append("r1", 0, ev("a"), ev("b"), op=key)])
    assert await store.find_op(key) == OpOutcome(1, 2)

    with pytest.raises(DuplicateOp) as caught:
        await store.append_batch(
            [append("r2", 0, ev("other")), append("r1", 2, ev("a-again"), op=key)]
        )
    assert caught.value.key == key
    assert caught.value.outcome == OpOutcome(1, 2)
    assert caught.value.duplicates == {key: OpOutcome(1, 2)}
    assert caught.value.code == "duplicate_op"
    assert await store.last_seq("r1") == 2
    assert await store.read("r2") == []


async def test_ops_are_keyed_by_room_actor_and_op_id(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    await store.append_batch(
        [
            append("r1", 0, op=OpKey("r1", "ann", "1")),
            append("r1", 0, ev("a"), op=OpKey("r1", "bob", "1")),
            append("r2", 0, ev("b"), op=OpKey("r2", "ann", "1")),
        ]
    )
    assert await store.find_op(OpKey("r1", "ann", "1")) == OpOutcome(0, 0)
    assert await store.find_op(OpKey("r1", "bob", "1")) == OpOutcome(1, 1)
    assert await store.find_op(OpKey("r2", "ann", "1")) == OpOutcome(1, 1)
    assert await store.find_op(OpKey("r2", "bob", "1")) is None


async def test_a_batch_that_repeats_an_op_or_misroutes_it_is_invalid(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    key = OpKey("r1", "ann", "x")
    with pytest.raises(InvalidBatch):
        await store.append_batch([append("r1", 0, ev("a"), op=key), append("r1", 1, op=key)])
    with pytest.raises(InvalidBatch):
        await store.append_batch([append("r2", 0, ev("a"), op=key)])
    assert await store.last_seq("r1") == 0
    assert await store.find_op(key) is None


async def test_snapshots_upsert_and_never_go_back(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    assert await store.load_snapshot("r1") is None
    await store.save_snapshot("r1", 5, {"cart": [{"sku": "A", "qty": 1}]})
    assert await store.load_snapshot("r1") == (5, {"cart": [{"sku": "A", "qty": 1}]})
    await store.save_snapshot("r1", 9, {"cart": []})
    assert await store.load_snapshot("r1") == (9, {"cart": []})
    await store.save_snapshot("r1", 7, {"stale": True})  # a slower process must not regress it
    assert await store.load_snapshot("r1") == (9, {"cart": []})
    await store.save_snapshot("r1", 9, {"cart": ["same seq, newer write"]})
    assert await store.load_snapshot("r1") == (9, {"cart": ["same seq, newer write"]})
    assert await store.load_snapshot("r2") is None


async def test_prune_ops_forgets_only_old_ops(engine: AsyncEngine) -> None:
    now = [1_000]
    store = EventStore(engine, clock=lambda: now[0])
    await store.append_batch([append("r1", 0, ev("a"), op=OpKey("r1", "ann", "old"))])
    now[0] = 5_000
    await store.append_batch([append("r1", 1, ev("b"), op=OpKey("r1", "ann", "new"))])

    assert await store.prune_ops(older_than_ms=5_000) == 1
    assert await store.find_op(OpKey("r1", "ann", "old")) is None
    assert await store.find_op(OpKey("r1", "ann", "new")) == OpOutcome(2, 2)
    assert await store.prune_ops(older_than_ms=5_000) == 0
    assert await store.last_seq("r1") == 2  # the log itself is untouched


async def test_negative_after_seq_is_invalid(engine: AsyncEngine) -> None:
    with pytest.raises(InvalidBatch):
        await EventStore(engine).append_batch([append("r1", -1, ev("a"))])


async def test_an_unreachable_database_is_reported_as_unavailable() -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    try:
        with pytest.raises(StorageUnavailable) as caught:
            await EventStore(engine).last_seq("r1")
    finally:
        await engine.dispose()
    assert caught.value.code == "storage_unavailable"


DIGEST_A = "a" * 64
DIGEST_B = "b" * 64


async def test_an_ops_arguments_digest_is_recorded_and_read_back(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    with_digest, without = OpKey("r1", "ann", "d1"), OpKey("r1", "ann", "d2")
    await store.append_batch(
        [
            Append("r1", 0, (ev("a"),), with_digest, op_digest=DIGEST_A),
            Append("r1", 1, (ev("b"),), without),
        ]
    )
    await store.append_batch([Append("r1", 2, (ev("c"),), OpKey("r1", "ann", "d3"), DIGEST_B)])
    assert await store.find_op(with_digest) == OpOutcome(1, 1, DIGEST_A)
    assert await store.find_op(without) == OpOutcome(2, 2, None)
    # the second batch continued a known head (on a SQLite file: the store's own connection)
    assert await store.find_op(OpKey("r1", "ann", "d3")) == OpOutcome(3, 3, DIGEST_B)
    # a digest without an op has nowhere to go and is simply not recorded
    await store.append_batch([Append("r1", 3, (ev("d"),), None, op_digest=DIGEST_A)])
    assert await store.last_seq("r1") == 4


async def test_a_duplicate_op_carries_the_digest_recorded_with_it(backend: Backend) -> None:
    mine, theirs = EventStore(backend.engine()), EventStore(backend.engine())
    key = OpKey("r1", "ann", "op-1")
    await mine.append_batch([Append("r1", 0, (ev("a"),), key, op_digest=DIGEST_A)])
    # the same op id with other arguments, through a known head and through the check
    for store, after in ((mine, 1), (theirs, 1)):
        with pytest.raises(DuplicateOp) as caught:
            await store.append_batch([Append("r1", after, (ev("x"),), key, op_digest=DIGEST_B)])
        assert caught.value.existing_digest == DIGEST_A
        assert caught.value.outcome == OpOutcome(1, 1, DIGEST_A)
        assert caught.value.duplicates == {key: OpOutcome(1, 1, DIGEST_A)}
    # recorded without a digest: the duplicate says so
    old = OpKey("r1", "ann", "op-0")
    await mine.append_batch([Append("r1", 1, (ev("b"),), old)])
    with pytest.raises(DuplicateOp) as caught:
        await mine.append_batch([Append("r1", 2, (ev("y"),), old, op_digest=DIGEST_B)])
    assert caught.value.existing_digest is None
    assert await mine.last_seq("r1") == 2
