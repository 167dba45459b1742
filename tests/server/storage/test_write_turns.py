"""One SQLite writer at a time per process, in arrival order (server/db/engine.py).

SQLite's busy handler is not a queue: writers poll with growing sleeps and one can starve past
the busy timeout while others keep winning. CI saw it as 503s when 200 live viewers bought at
once. These tests pin the fix with a busy timeout far below the time the writers take together:
without the write turn, some of them would fail with "database is locked".
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import server.db.engine as engine_module
from server.db.engine import (
    begin_write,
    create_engine,
    database_url_for_data_dir,
    sqlite_file,
    sqlite_write_turn,
    upgrade_engine,
)
from server.storage import Append, EventStore, NewEvent, StorageUnavailable, translate_unavailable


@pytest.fixture
async def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url_for_data_dir(tmp_path))
    await upgrade_engine(engine)
    await engine.dispose()  # connections opened from here on get the short busy timeout
    monkeypatch.setattr(engine_module, "_SQLITE_BUSY_TIMEOUT_MS", 20)
    yield engine
    await engine.dispose()


async def _slow_write(engine: AsyncEngine, n: int, done: list[int]) -> None:
    async with begin_write(engine) as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
        await conn.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
        await asyncio.sleep(0.01)  # the write lock is held across an await, as real writers do
        done.append(n)


async def test_writers_far_past_the_busy_timeout_all_commit_in_arrival_order(
    engine: AsyncEngine,
) -> None:
    done: list[int] = []
    # 40 writers of 10 ms each: 400 ms of writing against a 20 ms busy timeout
    await asyncio.gather(*(_slow_write(engine, n, done) for n in range(40)))
    assert done == list(range(40))
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM t")) == 40


async def test_the_event_log_appender_waits_for_its_turn_behind_an_engine_writer(
    engine: AsyncEngine,
) -> None:
    store = EventStore(engine)
    event = NewEvent(type="note", data={}, at=1_700_000_000_000, actor="ann")
    await store.append_batch([Append("r1", 0, (event,))])
    await store.append_batch([Append("r1", 1, (event,))])  # the appender's own connection now
    holding, released = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with begin_write(engine) as conn:
            await conn.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
            holding.set()
            await asyncio.sleep(0.2)  # ten busy timeouts
            released.set()

    holder = asyncio.create_task(hold())
    await holding.wait()  # the engine writer has the turn and SQLite's write lock
    [stored] = await store.append_batch([Append("r1", 2, (event,))])
    assert released.is_set()  # it waited for the writer instead of failing
    assert [e.seq for e in stored] == [3]
    await holder
    await store.close()


async def test_a_writer_that_gets_no_turn_in_time_is_told_storage_is_unavailable(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "WRITE_TURN_WAIT_S", 0.05)
    database = sqlite_file(engine)
    async with sqlite_write_turn(database):
        with pytest.raises(sqlite3.OperationalError, match="no turn to write"):
            async with sqlite_write_turn(database):
                pass  # pragma: no cover - never reached
        with pytest.raises(StorageUnavailable), translate_unavailable():
            async with begin_write(engine):
                pass  # pragma: no cover - never reached
    async with begin_write(engine) as conn:  # the turn was handed back: writing works again
        await conn.execute(text("CREATE TABLE u (n INTEGER)"))


async def test_a_writer_cancelled_while_waiting_does_not_keep_the_turn(engine: AsyncEngine) -> None:
    database = sqlite_file(engine)
    async with sqlite_write_turn(database):
        waiting = asyncio.create_task(_slow_write(engine, 1, []))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    done: list[int] = []
    await _slow_write(engine, 2, done)
    assert done == [2]


async def test_databases_without_a_file_have_no_turns() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        assert sqlite_file(engine) is None
        async with sqlite_write_turn(None), sqlite_write_turn(None):  # nothing to wait for
            pass
    finally:
        await engine.dispose()
