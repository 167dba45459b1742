"""The event log's own SQLite append path (server/storage/sqlite_append.py).

The contract suite (test_storage_events.py) runs every append on both paths already; these
tests pin what is particular to this one: that it is really taken, that a locked or failing
database is reported as unavailable with nothing written, and its life cycle.
"""

from __future__ import annotations

import gc
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

import server.db.engine as engine_module
from server.db.engine import create_engine, database_url_for_data_dir, sqlite_file, upgrade_engine
from server.storage import (
    Append,
    EventStore,
    NewEvent,
    OpKey,
    OpOutcome,
    StorageUnavailable,
    WriteRefused,
)
from server.storage.sqlite_append import insert_sql
from server.storage.tables import room_events

from .faults import poison_room


def ev(n: int) -> NewEvent:
    return NewEvent(type="note", data={"n": n}, at=1_700_000_000_000 + n, actor="ann")


@pytest.fixture
async def engine(tmp_path: Path) -> Any:
    engine = create_engine(database_url_for_data_dir(tmp_path))
    await upgrade_engine(engine)
    yield engine
    await engine.dispose()


def statements_through(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    return seen


def appender_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("coshop-log-append")]


async def test_a_batch_continuing_a_known_head_bypasses_the_engine(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    seen = statements_through(engine)
    await store.append_batch([Append("r1", 0, (ev(1),), OpKey("r1", "ann", "a"))])
    assert any(s.startswith("INSERT INTO room_events") for s in seen)  # first: checked, engine

    seen.clear()
    [stored] = await store.append_batch([Append("r1", 1, (ev(2), ev(3)), OpKey("r1", "ann", "b"))])
    assert seen == []  # the store's own connection wrote it
    assert [e.seq for e in stored] == [2, 3]
    assert [e.data for e in await store.read("r1")] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert await store.find_op(OpKey("r1", "ann", "b")) == OpOutcome(2, 3)
    await store.close()


async def test_a_locked_database_is_unavailable_and_nothing_is_half_written(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "_SQLITE_BUSY_TIMEOUT_MS", 50)
    store = EventStore(engine)
    await store.append_batch([Append("r1", 0, (ev(1),))])
    database = sqlite_file(engine)
    assert database is not None
    other = sqlite3.connect(database.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the busy timeout
        with pytest.raises(StorageUnavailable):
            await store.append_batch([Append("r1", 1, (ev(2),), OpKey("r1", "ann", "x"))])
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await store.last_seq("r1") == 1
    assert await store.find_op(OpKey("r1", "ann", "x")) is None
    # the same connection carries on once the lock is free
    [stored] = await store.append_batch([Append("r1", 1, (ev(2),), OpKey("r1", "ann", "x"))])
    assert [e.seq for e in stored] == [2]
    await store.close()


async def store_using_its_thread(engine: AsyncEngine) -> EventStore:
    """A store that has written twice: the second append went through its own thread."""
    before = len(appender_threads())
    store = EventStore(engine)
    await store.append_batch([Append("r1", 0, (ev(1),))])
    await store.append_batch([Append("r1", 1, (ev(2),))])
    assert len(appender_threads()) == before + 1
    return store


async def test_close_ends_the_thread_and_a_closed_store_still_appends(engine: AsyncEngine) -> None:
    before = len(appender_threads())
    store = await store_using_its_thread(engine)
    await store.close()
    await store.close()  # twice is fine
    for thread in appender_threads():
        thread.join(timeout=5)
    assert len(appender_threads()) == before
    await store.append_batch([Append("r1", 2, (ev(3),))])  # through the engine now
    assert await store.last_seq("r1") == 3


async def test_a_store_dropped_without_close_lets_its_thread_go(engine: AsyncEngine) -> None:
    before = len(appender_threads())
    store = await store_using_its_thread(engine)
    del store
    gc.collect()
    for thread in appender_threads():
        thread.join(timeout=5)
    assert len(appender_threads()) == before


async def test_only_file_databases_get_their_own_connection(tmp_path: Path) -> None:
    memory = create_engine("sqlite+aiosqlite://")
    uri = create_engine(f"sqlite+aiosqlite:///file:{tmp_path / 'x.db'}?mode=rwc&uri=true")
    postgres = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    try:
        assert sqlite_file(memory) is None
        assert sqlite_file(uri) is None
        assert sqlite_file(postgres) is None
    finally:
        for engine in (memory, uri, postgres):
            await engine.dispose()


def test_insert_sql_binds_every_column_in_table_order() -> None:
    assert insert_sql(room_events) == (
        "INSERT INTO room_events (room_id, seq, type, data, at, actor) VALUES (?, ?, ?, ?, ?, ?)"
    )


async def test_a_refused_batch_keeps_the_known_heads(engine: AsyncEngine) -> None:
    """A trigger refusing one room's rows is not another writer: the store still knows every
    head afterwards, and the next batch continuing them bypasses the engine again."""
    store = EventStore(engine)
    await store.append_batch([Append("good", 0, (ev(1),)), Append("bad", 0, (ev(1),))])
    await poison_room(engine, "bad")
    seen = statements_through(engine)
    with pytest.raises(WriteRefused):
        await store.append_batch([Append("good", 1, (ev(2),)), Append("bad", 1, (ev(2),))])
    assert not any(s.startswith("INSERT") for s in seen)  # refused on the store's own connection
    seen.clear()
    [stored] = await store.append_batch([Append("good", 1, (ev(2),))])
    assert seen == []
    assert [e.seq for e in stored] == [2]
    await store.close()
