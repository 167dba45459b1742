"""Rows the database refuses are reported as WriteRefused, on both backends and both append paths.

A real fault: a trigger refuses one room's events (tests/server/storage/faults.py). The store
must tell it apart from a conflict (another writer) and from an outage (StorageUnavailable),
write nothing of the batch, and keep serving every other room.
"""

from __future__ import annotations

import pytest

from server.storage import Append, EventStore, NewEvent, OpKey, WriteRefused

from .conftest import Backend
from .faults import poison_room


def ev(n: int) -> NewEvent:
    return NewEvent(type="note", data={"n": n}, at=1_700_000_000_000 + n, actor="ann")


async def test_a_trigger_refusing_a_rooms_rows_is_write_refused(backend: Backend) -> None:
    store = EventStore(backend.engine())
    # both rooms have a known head: the next batch takes the fast path where there is one
    await store.append_batch([Append("good", 0, (ev(1),)), Append("bad", 0, (ev(1),))])
    await poison_room(backend.engine(), "bad")

    # from known heads (on a SQLite file: the store's own connection), then through the engine
    # by a store that checks the heads first
    for attempt, writer in enumerate((store, EventStore(backend.engine()))):
        with pytest.raises(WriteRefused) as caught:
            await writer.append_batch(
                [
                    Append("good", 1, (ev(2),), OpKey("good", "ann", "g")),
                    Append("bad", 1, (ev(2),), OpKey("bad", "ann", f"b{attempt}")),
                ]
            )
        assert caught.value.code == "write_refused"
        assert await store.last_seq("good") == 1  # nothing of the batch was written
        assert await store.find_op(OpKey("good", "ann", "g")) is None
        if writer is not store:
            await writer.close()

    [stored] = await store.append_batch([Append("good", 1, (ev(2),), OpKey("good", "ann", "g"))])
    assert [e.seq for e in stored] == [2]
    with pytest.raises(WriteRefused):
        await store.append_batch([Append("bad", 1, (ev(2),))])
    assert await store.last_seq("bad") == 1
    await store.close()


async def test_a_value_the_database_cannot_store_is_write_refused(backend: Backend) -> None:
    store = EventStore(backend.engine())
    await store.append_batch([Append("r1", 0, (ev(1),))])
    # a lone surrogate cannot be encoded as UTF-8 by either driver; from a known head (on a
    # SQLite file: the store's own connection), then through the engine by a store that checks
    for writer in (store, EventStore(backend.engine())):
        with pytest.raises(WriteRefused):
            await writer.append_batch([Append("r1", 1, (ev(2),), OpKey("r1", "ann", "x\ud800"))])
        await writer.close()
    assert await store.last_seq("r1") == 1
    [stored] = await store.append_batch([Append("r1", 1, (ev(2),), OpKey("r1", "ann", "x"))])
    assert [e.seq for e in stored] == [2]
    await store.close()
