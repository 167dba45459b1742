"""The checkout outbox on SQLite and PostgreSQL: schema, claims, back-off, dead rows, restarts.

Every test migrates a real database with the server's own migrations. "Another process" is
another engine onto the same database. The effects delivered here are plain functions that
record what they were given (the flow tests deliver to a real room and the sandbox provider).
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

import server.db.engine as engine_module
import server.db.tables  # noqa: F401  # registers every table on the shared metadata
from server.checkout.effects import Effect
from server.checkout.outbox import EffectFailed, OutboxWorker
from server.checkout.outbox_store import ENQUEUE_ATTEMPTS, OutboxRow, OutboxStore
from server.checkout.tables import outbox
from server.db.base import metadata
from server.db.engine import create_engine, database_url_for_data_dir, upgrade_database
from server.metrics import Metrics
from server.storage import StorageUnavailable
from tests.services import postgres_url, unique_name


class Databases:
    """A migrated database; ``engine()`` opens another "process" onto it."""

    def __init__(self, url: str, connect_args: dict[str, Any]) -> None:
        self.url, self.connect_args = url, connect_args
        self.engines: list[AsyncEngine] = []

    def engine(self) -> AsyncEngine:
        engine = create_engine(self.url, connect_args=self.connect_args)
        self.engines.append(engine)
        return engine

    async def close(self) -> None:
        for engine in self.engines:
            await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Databases]:
    if request.param == "sqlite":
        url = database_url_for_data_dir(tmp_path / "data")
        await upgrade_database(url)
        dbs = Databases(url, {})
        yield dbs
        await dbs.close()
        return
    url = postgres_url()
    schema = unique_name("t")
    admin = create_engine(url)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        args = {"server_settings": {"search_path": schema}}
        await upgrade_database(url, connect_args=args)
        dbs = Databases(url, args)
        try:
            yield dbs
        finally:
            await dbs.close()
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


class Clock:
    """Seconds, moved by the test."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _checkout_diff(conn: Connection) -> list[Any]:
    own = MetaData(naming_convention=metadata.naming_convention)
    names = {t.name for t in metadata.sorted_tables if t.name.startswith("checkout_")}
    for table in metadata.sorted_tables:
        if table.name in names:
            table.to_metadata(own)

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name in names

    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_name": include_name}
    )
    return list(compare_metadata(context, own))


async def test_migrations_produce_exactly_the_declared_checkout_tables(db: Databases) -> None:
    async with db.engine().connect() as conn:
        diff = await conn.run_sync(_checkout_diff)
        columns = await conn.run_sync(
            lambda sync: [column["name"] for column in inspect(sync).get_columns(outbox.name)]
        )
    assert diff == []
    assert "claimed_until" in columns and "done_at" in columns


ROOM = Effect("room_command", {"name": "SettleOrder", "outcome": "paid"})


async def test_a_row_is_claimed_by_one_process_only_until_its_lease_runs_out(
    db: Databases,
) -> None:
    one, two = OutboxStore(db.engine()), OutboxStore(db.engine())
    (row_id,) = await one.enqueue("o1", "r1", 2, [ROOM], 1_000)
    assert [r.id for r in await two.due(1_000, 10)] == [row_id]
    results = await asyncio.gather(*(s.claim(row_id, 1_000, 5_000) for s in (one, two)))
    assert sorted(results) == [False, True]
    assert await one.due(5_999, 10) == []  # leased: nobody else sees it as due
    assert not await two.claim(row_id, 5_999, 5_000)
    assert [r.id for r in await two.due(6_001, 10)] == [row_id]  # the lease ran out
    assert await two.claim(row_id, 6_001, 5_000)
    (row,) = await one.rows("o1")
    assert row.attempts == 2  # every claim counts a run
    await two.finish(row_id, 6_002)
    assert await one.due(10_000, 10) == []
    assert not await one.claim(row_id, 10_000, 5_000)  # done rows are never run again


async def test_room_rows_of_one_room_go_first_in_first_out(db: Databases) -> None:
    store = OutboxStore(db.engine())
    share = Effect("room_command", {"name": "UpdateShare", "payer": "p", "status": "x"})
    first = await store.enqueue("o1", "r1", 2, [share, Effect("capture", {"n": 1})], 1_000)
    later = await store.enqueue("o1", "r1", 3, [share], 1_000)
    other_room = await store.enqueue("o2", "r2", 2, [share], 1_000)
    due = [r.id for r in await store.due(1_000, 10)]
    # The capture runs beside the room's first row; the room's later row waits behind it.
    assert due == [first[0], first[1], other_room[0]]
    await store.retry(first[0], 2_000, "storage_unavailable")
    assert later[0] not in [r.id for r in await store.due(1_500, 10)]  # still blocked
    await store.finish(first[0], 2_000)
    assert later[0] in [r.id for r in await store.due(2_000, 10)]


async def test_failures_back_off_exponentially_with_jitter_up_to_the_cap_then_deliver(
    db: Databases,
) -> None:
    clock = Clock()
    store = OutboxStore(db.engine())
    runs: list[tuple[str, float]] = []

    async def flaky(row: OutboxRow) -> None:
        runs.append((row.id, clock.now))
        if len(runs) <= 6:
            raise EffectFailed("provider_unavailable")

    jitters = itertools.cycle([0.0, 1.0])
    worker = OutboxWorker(
        store, flaky, base_s=1.0, max_s=8.0, clock=clock, jitter=lambda: next(jitters)
    )
    # half fixed, half random: [c/2, c] with c = min(max, base * 2^(n-1))
    assert [worker.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 2.0, 2.0, 8.0, 4.0, 8.0]
    (row_id,) = await store.enqueue("o1", "r1", 2, [Effect("capture", {})], int(clock.now * 1000))
    waits = []
    while True:
        assert await worker.drain() == 1
        (row,) = await store.rows("o1")
        if row.done_at is not None:
            break
        before = clock.now
        assert await worker.drain() == 0  # not due before its back-off ran out
        due_in = (await store.stats()).next_due_at
        assert due_in is not None
        clock.now = due_in / 1000
        waits.append(round(clock.now - before, 3))
    assert waits == [0.5, 2.0, 2.0, 8.0, 4.0, 8.0]
    assert (row.attempts, row.dead, row.last_error) == (7, False, None)
    assert len(runs) == 7 and all(r == row_id for r, _ in runs)


async def test_a_permanent_failure_is_dead_counted_and_never_retried(db: Databases) -> None:
    clock = Clock()
    metrics = Metrics()
    store = OutboxStore(db.engine())
    calls = []

    async def refused(row: OutboxRow) -> None:
        calls.append(row.id)
        raise EffectFailed("provider_rejected", permanent=True)

    worker = OutboxWorker(store, refused, clock=clock, metrics=metrics)
    await store.enqueue("o1", "r1", 2, [Effect("refund", {})], int(clock.now * 1000))
    assert await worker.drain() == 1
    clock.now += 3600
    assert await worker.drain() == 0
    (row,) = await store.rows("o1")
    assert (row.dead, row.last_error, row.attempts) == (True, "provider_rejected", 1)
    assert row.done_at is not None and len(calls) == 1
    assert b"coshop_checkout_outbox_dead_total 1.0" in metrics.render()


async def test_rows_not_done_are_resumed_by_the_next_process(
    db: Databases,
) -> None:
    clock = Clock()
    first = OutboxStore(db.engine())
    ids = await first.enqueue("o1", "r1", 2, [ROOM, Effect("void", {})], int(clock.now * 1000))
    clock.now += 12.5  # "the first process died" before running them

    delivered: list[str] = []

    async def deliver(row: OutboxRow) -> None:
        delivered.append(row.id)

    worker = OutboxWorker(OutboxStore(db.engine()), deliver, clock=clock, poll_s=0.01)
    stats = await first.stats()
    assert (stats.depth, stats.oldest_at) == (2, 1_000_000)
    await worker.start()
    try:
        async with asyncio.timeout(10):
            while (await first.stats()).depth:
                await asyncio.sleep(0.01)
    finally:
        await worker.close()
    assert sorted(delivered) == sorted(ids)  # each once


async def test_the_gauges_show_depth_and_the_oldest_age(db: Databases) -> None:
    clock = Clock()
    store = OutboxStore(db.engine())
    await store.enqueue("o1", "r1", 2, [ROOM], int(clock.now * 1000))
    clock.now += 42

    async def down(row: OutboxRow) -> None:
        raise RuntimeError("storage down")

    metrics = Metrics()
    worker = OutboxWorker(store, down, clock=clock, metrics=metrics, poll_s=0.01)
    await worker.start()
    try:
        async with asyncio.timeout(10):
            while b"coshop_checkout_outbox_depth 1.0" not in metrics.render():
                await asyncio.sleep(0.01)
    finally:
        await worker.close()
    text_ = metrics.render().decode()
    assert "coshop_checkout_outbox_oldest_age_seconds 42.0" in text_
    (row,) = await store.rows("o1")
    assert row.last_error == "RuntimeError" and row.done_at is None


async def test_delivered_rows_are_pruned_after_a_while_and_dead_ones_stay(db: Databases) -> None:
    clock = Clock()
    store = OutboxStore(db.engine())
    kept, delivered, dead, waiting = [
        await store.enqueue(f"o{n}", "r1", 2, [Effect("refund", {})], 1_000_000) for n in range(4)
    ]
    await store.finish(delivered[0], 1_000_000)
    await store.finish(dead[0], 1_000_000, error="provider_rejected", dead=True)
    await store.finish(kept[0], 1_000_000 + 3_600_000)
    assert await store.prune(1_000_000 + 1) == 1
    left = [r.id for n in range(4) for r in await store.rows(f"o{n}")]
    assert left == [kept[0], dead[0], waiting[0]]

    async def nothing(row: OutboxRow) -> None:
        raise AssertionError("no row is due")

    worker = OutboxWorker(store, nothing, clock=clock, keep_s=1.0, poll_s=0.01)
    clock.now = 1_000.0 + 3_600 + 2  # the kept row is older than keep_s now
    await store.retry(waiting[0], 10**12, "later")
    await worker.start()
    try:
        async with asyncio.timeout(10):
            while len([r for n in range(4) for r in await store.rows(f"o{n}")]) > 2:
                await asyncio.sleep(0.01)
    finally:
        await worker.close()
    assert [r.id for n in range(4) for r in await store.rows(f"o{n}")] == [dead[0], waiting[0]]


async def test_a_worker_woken_as_it_closes_still_stops(db: Databases) -> None:
    """Woken and closed in one loop turn (a request's rows written as the server stops): the
    close cancels the worker's wait and the worker stops. With ``asyncio.wait_for`` the wait
    swallowed that cancellation on Python 3.11 and the close waited for ever (server/waiting.py).
    """
    delivered: list[str] = []

    async def deliver(row: OutboxRow) -> None:
        delivered.append(row.id)

    for _ in range(3):  # idle in its wait each time: nothing due, a long poll
        worker = OutboxWorker(OutboxStore(db.engine()), deliver, clock=Clock(), poll_s=60)
        await worker.start()
        async with asyncio.timeout(10):  # its first pass done, it waits to be woken
            while not worker._wake._waiters:
                await asyncio.sleep(0.01)
        worker.wake()
        closing = asyncio.ensure_future(worker.close())
        done, _ = await asyncio.wait({closing}, timeout=5)
        assert done == {closing}, "the worker went on after its close cancelled it"
        closing.result()
    assert delivered == []


async def test_effects_written_while_sqlite_stays_locked_are_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The room took the order: its effects must not be lost to a write lock held past the
    busy timeout. Tried again while the lock is held; written once it is released; a lock
    that never goes is a StorageUnavailable (503) after ENQUEUE_ATTEMPTS, nothing written."""
    monkeypatch.setattr(engine_module, "_SQLITE_BUSY_TIMEOUT_MS", 50)
    url = database_url_for_data_dir(tmp_path / "data")
    await upgrade_database(url)
    engine = create_engine(url)
    store = OutboxStore(engine)
    other = sqlite3.connect(tmp_path / "data" / "coshop.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the timeout
        writing = asyncio.create_task(store.enqueue("o1", "r1", 1, [ROOM], 1_000))
        async with asyncio.timeout(10):
            while "trying again" not in caplog.text:
                await asyncio.sleep(0.01)
        other.execute("ROLLBACK")  # released: the next attempt gets it
        ids = await writing
        assert len(ids) == 1 and (await store.stats()).depth == 1

        other.execute("BEGIN IMMEDIATE")  # held for good
        with pytest.raises(StorageUnavailable):
            await store.enqueue("o2", "r1", 1, [ROOM], 1_000)
        assert caplog.text.count("trying again") == 1 + ENQUEUE_ATTEMPTS - 1
        other.execute("ROLLBACK")
        assert (await store.stats()).depth == 1  # nothing of o2
    finally:
        other.close()
        await engine.dispose()


class _CountingStore(OutboxStore):
    """Counts the worker's ``due`` queries."""

    dues = 0

    async def due(
        self, now_ms: int, limit: int, ids: Sequence[str] | None = None
    ) -> list[OutboxRow]:
        self.dues += 1
        return await super().due(now_ms, limit, ids)


async def test_an_idle_pass_is_one_query_and_a_row_from_elsewhere_still_runs(
    db: Databases,
) -> None:
    """An empty outbox costs each pass one ``stats`` query, not a ``due`` query as well (an
    idle server polls every second); a row another process wrote, without waking this worker,
    still runs on the next pass."""
    clock = Clock()
    delivered: list[str] = []

    async def deliver(row: OutboxRow) -> None:
        delivered.append(row.id)

    store = _CountingStore(db.engine())
    worker = OutboxWorker(store, deliver, clock=clock, poll_s=0.01)
    await worker.start()
    try:
        await asyncio.sleep(0.3)  # many idle passes
        assert store.dues == 0
        elsewhere = OutboxStore(db.engine())
        ids = await elsewhere.enqueue("o1", "r1", 2, [ROOM], int(clock.now * 1000))
        async with asyncio.timeout(10):
            while delivered != ids:
                await asyncio.sleep(0.01)
        assert store.dues >= 1
    finally:
        await worker.close()
