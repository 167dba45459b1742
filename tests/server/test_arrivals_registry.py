"""Invite uses that arrive together share one SQLite transaction and stay exact.

``Registry.use_invite`` on a SQLite file group-commits (``server/storage/sqlite_registry.py``):
many joins, one fsync. These tests hold it to the guarantees of one transaction per use: a
``max_uses`` is never exceeded however many arrive at once, a refused use in a batch refuses
only itself, nobody is answered before their use is committed, and a batch that cannot be
committed counts none of its uses.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import server.db.engine as engine_module
from server.db.engine import create_engine, database_url_for_data_dir, upgrade_database
from server.storage import Invite, InviteError, Registry, RoomRecord, StorageUnavailable
from server.storage.sqlite_registry import SqliteRegistryPath

ROOM = "room1"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = database_url_for_data_dir(tmp_path / "data")
    await upgrade_database(url)
    engine = create_engine(url)
    yield engine
    await engine.dispose()


async def _registry(engine: AsyncEngine) -> Registry:
    registry = Registry(engine)
    await registry.create_merchant("m1", "Shop", ["https://shop.example"], "ck_" + "k" * 40, 10)
    await registry.create_room(RoomRecord(ROOM, "m1", "live", "Show", 20, False))
    return registry


def _invite(invite_id: str, **overrides: object) -> Invite:
    fields: dict[str, object] = {
        "invite_id": invite_id,
        "room_id": ROOM,
        "role": "viewer",
        "expires_at": None,
        "max_uses": None,
        "uses": 0,
        "created_at": 30,
    }
    fields.update(overrides)
    return Invite(**fields)  # type: ignore[arg-type]  # test helper: overrides typed loosely


async def _use_all(registry: Registry, ids: list[str], now: int = 100) -> list[object]:
    return await asyncio.gather(*(registry.use_invite(i, now) for i in ids), return_exceptions=True)


async def test_uses_arriving_together_never_exceed_max_uses(engine: AsyncEngine) -> None:
    registry = await _registry(engine)
    await registry.create_invite(_invite("limited", max_uses=25))
    results = await _use_all(registry, ["limited"] * 100)
    used = [r for r in results if isinstance(r, Invite)]
    refused = [r for r in results if isinstance(r, InviteError)]
    assert len(used) == 25 and len(refused) == 75
    assert sorted(r.uses for r in used) == list(range(1, 26))  # each saw its own count
    assert {r.code for r in refused} == {"invite_exhausted"}
    stored = await registry.get_invite("limited")
    assert stored is not None and stored.uses == 25


async def test_a_refused_use_in_a_batch_refuses_only_itself(engine: AsyncEngine) -> None:
    registry = await _registry(engine)
    await registry.create_invite(_invite("open"))
    await registry.create_invite(_invite("gone", revoked=True))
    await registry.create_invite(_invite("late", expires_at=50))
    await registry.create_invite(_invite("off", disabled=True))
    ids = ["open", "gone", "open", "late", "nope", "off", "open"]
    results = await _use_all(registry, ids)
    codes = [r.code if isinstance(r, InviteError) else "ok" for r in results]
    assert codes == [
        "ok",
        "invite_revoked",
        "ok",
        "invite_expired",
        "invite_unknown",
        "invite_disabled",
        "ok",
    ]
    stored = await registry.get_invite("open")
    assert stored is not None and stored.uses == 3


async def test_answers_come_after_the_commit(engine: AsyncEngine) -> None:
    """Each caller, once answered, finds its use in the database from any connection."""
    registry = await _registry(engine)
    await registry.create_invite(_invite("shared"))
    url_path = engine_module.sqlite_file(engine)
    assert url_path is not None

    async def use_and_look() -> int:
        mine = await registry.use_invite("shared", 100)
        with sqlite3.connect(url_path.path) as other:  # another process's view of the file
            (uses,) = other.execute(
                "SELECT uses FROM invites WHERE invite_id = 'shared'"
            ).fetchone()
        return int(uses) - mine.uses  # >= 0: at least my use is already durable

    assert all(d >= 0 for d in await asyncio.gather(*(use_and_look() for _ in range(20))))


async def test_a_batch_that_cannot_commit_counts_none(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "_SQLITE_BUSY_TIMEOUT_MS", 50)
    registry = await _registry(engine)
    await registry.create_invite(_invite("shared", max_uses=10))
    database = engine_module.sqlite_file(engine)
    assert database is not None
    other = sqlite3.connect(database.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock past our timeout
        results = await _use_all(registry, ["shared"] * 5)
        assert all(isinstance(r, StorageUnavailable) for r in results), results
    finally:
        other.execute("ROLLBACK")
        other.close()
    stored = await registry.get_invite("shared")
    assert stored is not None and stored.uses == 0
    # and the registry works again once the lock is gone
    assert (await registry.use_invite("shared", 100)).uses == 1


async def test_reads_see_what_the_engine_wrote(engine: AsyncEngine) -> None:
    registry = await _registry(engine)
    room = await registry.get_room(ROOM)
    assert room == RoomRecord(ROOM, "m1", "live", "Show", 20, False)
    await registry.set_join_policy(ROOM, "customers_only")
    await registry.close_room(ROOM)
    room = await registry.get_room(ROOM)
    assert room is not None and room.closed and room.join_policy == "customers_only"
    await registry.create_invite(_invite("i1", max_uses=3, name="Ada", kind="personal"))
    await registry.revoke_invite("i1")
    found = await registry.get_invite("i1")
    assert found is not None and found.revoked and found.name == "Ada" and found.max_uses == 3
    assert await registry.get_room("nope") is None
    assert await registry.get_invite("nope") is None


def _fast_path(registry: Registry) -> SqliteRegistryPath:
    fast = registry._fast
    assert fast is not None, "a SQLite registry reads through its own connections"
    return fast


def _inline(fast: SqliteRegistryPath) -> sqlite3.Connection | None:
    return fast._inline  # through a call: mypy would narrow the attribute across the test


async def test_join_time_reads_are_made_on_the_loop_without_a_thread(engine: AsyncEngine) -> None:
    """A read of one row by key costs less than a hop to a thread and back (and, on a busy
    loop, two of its turns): the reader's thread is not even started."""
    registry = await _registry(engine)
    await registry.create_invite(_invite("i1"))
    fast = _fast_path(registry)
    assert (await registry.get_room(ROOM)) is not None
    assert (await registry.get_invite("i1")) is not None
    assert fast._inline is not None
    assert fast._reader._conn is None
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        fast._inline.execute("DELETE FROM invites")  # the loop's connection only reads
    assert (await registry.get_invite("i1")) is not None


async def test_a_read_the_loop_cannot_make_at_once_is_made_on_the_thread(
    engine: AsyncEngine,
) -> None:
    """The loop's connection never waits (busy_timeout=0): a read SQLite refuses there —
    here interrupted, as a busy file would refuse it — goes to the reader's thread, which
    waits as every connection does; the next read opens a new connection on the loop."""
    registry = await _registry(engine)
    await registry.create_invite(_invite("i1", max_uses=3))
    fast = _fast_path(registry)
    await registry.get_room(ROOM)
    broken = fast._inline
    assert broken is not None
    broken.set_progress_handler(lambda: 1, 1)  # every statement is interrupted
    found = await registry.get_invite("i1")
    assert found is not None and found.max_uses == 3
    assert fast._reader._conn is not None, "the thread answered"
    assert _inline(fast) is None
    assert (await registry.get_room(ROOM)) is not None
    assert _inline(fast) not in (None, broken)


async def test_reads_from_another_thread_take_the_readers_thread(engine: AsyncEngine) -> None:
    registry = await _registry(engine)
    fast = _fast_path(registry)
    await registry.get_room(ROOM)  # the loop's connection belongs to this thread

    def elsewhere() -> RoomRecord | None:
        return asyncio.run(registry.get_room(ROOM))

    assert await asyncio.to_thread(elsewhere) == await registry.get_room(ROOM)
    assert fast._reader._conn is not None


async def test_the_loops_connection_is_closed_from_whichever_thread_drops_it(
    engine: AsyncEngine,
) -> None:
    """The registry may be collected on any thread (a worker's, under xdist): its finalizer
    closes the loop's connection there without an error."""
    registry = await _registry(engine)
    await registry.get_room(ROOM)
    fast = _fast_path(registry)
    conn, closer = fast._inline, fast._inline_closer
    assert conn is not None and closer is not None
    await asyncio.to_thread(closer)  # what the finalizer does on another thread
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        conn.execute("SELECT 1")
