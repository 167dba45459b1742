"""Group-commit isolation (issue 11, item 3; DESIGN.md §11): one room the database refuses
fails alone.

The fault is real: a trigger in the database refuses one room's events
(tests/server/storage/faults.py), on SQLite and on PostgreSQL. Nothing is mocked; where a test
needs one batch to hold several rooms, it holds the committer's first transaction back until the
others are queued (the rows still go to the real database).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import server.db.engine as engine_module
from server.db.engine import create_engine, sqlite_file
from server.hub.committer import Committer
from server.metrics import Metrics
from server.storage import (
    Append,
    EventStore,
    InvalidBatch,
    NewEvent,
    OpKey,
    SeqConflict,
    StorageUnavailable,
    StoredEvent,
    WriteRefused,
)
from tests.server.conftest import LiveServer, run_server, server_settings
from tests.server.peers import Peer, create_room, join
from tests.server.storage import conftest as storage_fixtures
from tests.server.storage.conftest import Backend
from tests.server.storage.faults import cure, poison_events, poison_room
from tests.services import POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, postgres_url, unique_name

# The storage suite's fixture: a migrated database of this test's own, SQLite and PostgreSQL.
backend = storage_fixtures.backend


def ev(n: int, kind: str = "note") -> NewEvent:
    return NewEvent(type=kind, data={"n": n}, at=1_700_000_000_000 + n, actor="ann")


class RecordingStore(EventStore):
    """A real EventStore that remembers the rooms of every batch it was asked to commit."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.batches: list[list[str]] = []

    async def append_batch(self, batch: Sequence[Append]) -> list[tuple[StoredEvent, ...]]:
        self.batches.append([append.room_id for append in batch])
        return await super().append_batch(batch)


async def one_group(
    store: EventStore, appends: list[Append]
) -> list[tuple[StoredEvent, ...] | BaseException]:
    """Submit every append before the committer runs, so they start as one batch."""
    committer = Committer(store, Metrics())
    futures = [committer.submit(append) for append in appends]
    committer.start()
    try:
        return list(await asyncio.gather(*futures, return_exceptions=True))
    finally:
        await committer.close()


# -- the committer on a real store ------------------------------------------------------------


async def test_a_refused_op_fails_alone_and_its_room_is_split_per_op(backend: Backend) -> None:
    store = RecordingStore(backend.engine())
    rooms = ["g0", "bad", "g1", "g2", "g3"]
    # every room has a head this store knows: the split's appends take the SQLite fast path too
    await store.append_batch([Append(room, 0, (ev(0),)) for room in rooms])
    await poison_events(backend.engine(), "type", "poison")
    store.batches.clear()

    def op(room: str, n: int) -> OpKey:
        return OpKey(room, "ann", f"{room}-{n}")

    appends = [
        Append("g0", 1, (ev(1),), op("g0", 1)),
        Append("bad", 1, (ev(1),), op("bad", 1)),  # fine on its own
        Append("g1", 1, (ev(1),), op("g1", 1)),
        Append("bad", 2, (ev(2, "poison"),), op("bad", 2)),  # the database refuses this one
        Append("g2", 1, (ev(1), ev(2)), op("g2", 1)),
        Append("bad", 3, (ev(3),), op("bad", 3)),  # decided on top of the refused one
        Append("g3", 1, (ev(1),), op("g3", 1)),
        Append("g3", 2, (ev(2),), op("g3", 2)),
    ]
    results = await one_group(store, appends)

    refused, conflict = results[3], results[5]
    assert isinstance(refused, WriteRefused)
    assert refused.code == "write_refused"
    assert isinstance(conflict, SeqConflict)  # the actor decides it again against the log
    assert conflict.rooms == {"bad": 2}
    committed = [r for i, r in enumerate(results) if i not in (3, 5)]
    assert all(isinstance(r, tuple) for r in committed), committed
    assert [[e.seq for e in r] for r in committed if isinstance(r, tuple)] == [
        [2],
        [2],
        [2],
        [2, 3],
        [2],
        [3],
    ]
    # one try together, then one per room; only the refused room op by op, and nothing after
    # its refused op is tried
    assert store.batches == [
        ["g0", "bad", "g1", "bad", "g2", "bad", "g3", "g3"],
        ["g0"],
        ["bad", "bad", "bad"],
        ["bad"],
        ["bad"],
        ["g1"],
        ["g2"],
        ["g3", "g3"],
    ]
    for room, head in {"g0": 2, "g1": 2, "g2": 3, "g3": 3, "bad": 2}.items():
        assert await store.last_seq(room) == head
    assert await store.find_op(op("bad", 2)) is None
    await store.close()


async def test_a_refused_room_alone_in_its_batch_is_not_retried_whole(backend: Backend) -> None:
    store = RecordingStore(backend.engine())
    await poison_room(backend.engine(), "bad")
    results = await one_group(store, [Append("bad", 0, (ev(1),)), Append("bad", 1, (ev(2),))])
    assert isinstance(results[0], WriteRefused)
    assert isinstance(results[1], SeqConflict)
    assert store.batches == [["bad", "bad"], ["bad"]]
    await store.close()


async def test_an_event_the_store_cannot_encode_fails_alone(backend: Backend) -> None:
    """Refused before the database (not JSON): the same isolation, with the store's code."""
    store = RecordingStore(backend.engine())
    results = await one_group(
        store,
        [
            Append("r1", 0, (ev(1),)),
            Append("r2", 0, (NewEvent("x", {"bad": {1, 2}}, 1, "ann"),)),
            Append("r3", 0, (ev(1),)),
        ],
    )
    assert isinstance(results[1], InvalidBatch)
    assert [type(results[0]), type(results[2])] == [tuple, tuple]
    assert store.batches == [["r1", "r2", "r3"], ["r1"], ["r2"], ["r3"]]
    await store.close()


@contextlib.asynccontextmanager
async def another_writer_holds_the_log(backend: Backend) -> AsyncIterator[None]:
    """Another connection holds the log's write lock (past every timeout of ours) meanwhile."""
    engine = backend.engine()
    database = sqlite_file(engine)
    if database is not None:
        other = sqlite3.connect(database.path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    async with engine.begin() as conn:
        await conn.execute(text("LOCK TABLE room_events IN EXCLUSIVE MODE"))
        yield
        await conn.rollback()


async def test_an_unavailable_database_costs_one_retry_not_one_per_room(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not the data's fault: the split tries the first room; when it fails the same way, every
    other room fails at once with storage_unavailable."""
    monkeypatch.setattr(engine_module, "_SQLITE_BUSY_TIMEOUT_MS", 50)
    # PostgreSQL: give up waiting for a lock after 100 ms (SQLSTATE 55P03)
    connect_args = dict(backend.connect_args)
    if backend.name == "postgres":
        settings = {**connect_args.get("server_settings", {}), "lock_timeout": "100"}
        connect_args["server_settings"] = settings
    engine = create_engine(backend.url, connect_args=connect_args)
    store = RecordingStore(engine)
    rooms = [f"r{i}" for i in range(5)]
    await store.append_batch([Append(room, 0, (ev(0),)) for room in rooms])
    store.batches.clear()

    async with another_writer_holds_the_log(backend):
        results = await one_group(store, [Append(room, 1, (ev(1),)) for room in rooms])

    assert all(isinstance(r, StorageUnavailable) for r in results), results
    assert {r.code for r in results if isinstance(r, StorageUnavailable)} == {"storage_unavailable"}
    assert store.batches == [rooms, ["r0"]]
    # the lock is gone: the same appends commit
    results = await one_group(store, [Append(room, 1, (ev(1),)) for room in rooms])
    assert all(isinstance(r, tuple) for r in results), results
    await store.close()
    await engine.dispose()


# -- end to end: five rooms on one server, one of them refused --------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The server's database: its default SQLite file (no URL), or a PostgreSQL database of this
    test's own."""
    if request.param == "sqlite":
        yield ""
        return
    base = postgres_url()
    name = unique_name("coshop_iso")
    admin = await asyncpg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user=POSTGRES_USER, database="postgres"
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(1_000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


class Member:
    """One connected member: what was answered to their ops, the chat texts they saw."""

    def __init__(self, room_id: str, name: str, token: str, peer: Peer) -> None:
        self.room_id = room_id
        self.name = name
        self.token = token
        self.peer = peer
        self.answers: dict[str, dict[str, Any]] = {}
        self.texts: list[str] = []

    def text(self, op: str) -> str:
        return f"{self.name} {op}"

    async def post(self, op: str) -> None:
        await self.peer.send(
            {"t": "cmd", "op": op, "name": "PostMessage", "args": {"text": self.text(op)}}
        )

    async def answers_to(self, ops: Sequence[str]) -> list[dict[str, Any]]:
        """Read until every op in ``ops`` is acked or refused (keeping the texts seen meanwhile)."""
        while not set(ops) <= self.answers.keys():
            self._note(await self.peer.recv(timeout=15))
        return [self.answers[op] for op in ops]

    async def read_texts(self, count: int) -> list[str]:
        while len(self.texts) < count:
            self._note(await self.peer.recv(timeout=15))
        return self.texts

    def _note(self, msg: dict[str, Any]) -> None:
        if msg.get("t") in ("ack", "err") and msg.get("op") is not None:
            self.answers[msg["op"]] = msg
        if msg.get("t") in ("ev", "batch"):
            for event in msg["evs"] if msg["t"] == "batch" else [msg]:
                if event["ev"]["type"] == "MessagePosted":
                    self.texts.append(event["ev"]["text"])


async def open_room(srv: LiveServer, http: httpx.AsyncClient, label: str) -> tuple[Member, Member]:
    """A group room with its host and a second member, both connected."""
    room = await create_room(http, title=label)
    room_id = room["room_id"]
    url = srv.ws_url(room_id)
    host = Member(room_id, f"{label}-host", room["host"]["token"], await Peer.open(url))
    await host.peer.hello(host.token)
    token = (await join(http, room, "Guest"))["token"]
    guest = Member(room_id, f"{label}-guest", token, await Peer.open(url))
    await guest.peer.hello(token)
    # The welcome comes before the newcomer's own MemberJoined is committed: wait for that
    # event, or a test could poison the room while the join's commit is still in flight (a
    # loaded CI machine did: the join was refused and the guest closed with 4403).
    joined = False
    while not joined:
        msg = await guest.peer.recv(timeout=15)
        guest._note(msg)
        evs = msg["evs"] if msg.get("t") == "batch" else [msg] if msg.get("t") == "ev" else []
        joined = any(event["ev"]["type"] == "MemberJoined" for event in evs)
    return host, guest


async def chat(http: httpx.AsyncClient, member: Member) -> list[str]:
    r = await http.get(
        f"/api/v1/rooms/{member.room_id}", headers={"authorization": f"Bearer {member.token}"}
    )
    assert r.status_code == 200, r.text
    return [m["text"] for m in r.json()["view"]["chat"]["messages"]]


async def test_a_room_the_database_refuses_fails_alone_while_four_others_post(
    tmp_path: Path, database_url: str
) -> None:
    settings = server_settings(
        tmp_path, database_url=database_url, commands_per_second=1_000.0, command_burst=1_000
    )
    async with (
        run_server(settings) as srv,
        httpx.AsyncClient(base_url=srv.base_url, timeout=15) as http,
    ):
        good = [await open_room(srv, http, f"g{i}") for i in range(4)]
        bad = await open_room(srv, http, "bad")
        faults = create_engine(settings.effective_database_url)
        try:
            await poison_room(faults, bad[0].room_id)
            await _one_batch_with_every_room(srv, good, bad)
            await _everyone_posting_at_once(good, bad)
            for host, guest in good:
                posted = [host.text(op) for op in ("p1", *OPS)]
                assert await chat(http, guest) == posted
            assert await chat(http, bad[0]) == []  # nothing of the refused room stuck
            # once the database takes its rows again, the room serves again
            await cure(faults)
            await bad[1].post("cured")
            [answer] = await bad[1].answers_to(["cured"])
            assert answer["t"] == "ack", answer
            assert await chat(http, bad[0]) == [bad[1].text("cured")]
        finally:
            await faults.dispose()
            for member in [m for pair in [*good, bad] for m in pair]:
                await member.peer.close()


OPS = [f"q{n}" for n in range(8)]


async def _one_batch_with_every_room(
    srv: LiveServer, good: list[tuple[Member, Member]], bad: tuple[Member, Member]
) -> None:
    """Hold the committer's first transaction (one good room's command) until the poisoned
    room's and the three other good rooms' commands wait behind it: those are one batch.
    Only the timing is held: the rows go to the real database, which refuses the bad room's."""
    hub = srv.app_state.hub
    store = hub.store
    real: Callable[[Sequence[Append]], Awaitable[list[tuple[StoredEvent, ...]]]]
    real = store.append_batch
    gate = asyncio.Event()
    batches: list[list[str]] = []

    async def held_back(batch: Sequence[Append]) -> list[tuple[StoredEvent, ...]]:
        batches.append([append.room_id for append in batch])
        await gate.wait()
        return await real(batch)

    store.append_batch = held_back
    try:
        await good[0][0].post("p1")
        await wait_for(lambda: len(batches) == 1, "the first commit started")
        for member in bad:
            await member.post("p1")
        for host, _guest in good[1:]:
            await host.post("p1")
        behind = {bad[0].room_id} | {host.room_id for host, _guest in good[1:]}
        await wait_for(
            lambda: behind <= {p.append.room_id for p in hub.committer._queue},
            "the other rooms' commands wait for the next commit",
        )
        gate.set()
        for host, guest in good:
            [answer] = await host.answers_to(["p1"])
            assert answer["t"] == "ack", answer
            assert await guest.read_texts(1) == [host.text("p1")]
        for member in bad:
            [answer] = await member.answers_to(["p1"])
            assert (answer["t"], answer["code"]) == ("err", "write_refused"), answer
    finally:
        store.append_batch = real
    assert set(batches[1]) == behind  # the refused room shared its batch with three others


async def _everyone_posting_at_once(
    good: list[tuple[Member, Member]], bad: tuple[Member, Member]
) -> None:
    """Four rooms post eight commands each while both members of the refused room post too."""

    async def post_all(member: Member, ops: Sequence[str]) -> list[dict[str, Any]]:
        for op in ops:
            await member.post(op)
        return await member.answers_to(ops)

    writers = [post_all(host, OPS) for host, _guest in good]
    writers += [post_all(member, OPS[:4]) for member in bad]
    answers = await asyncio.gather(*writers)
    for host_answers in answers[: len(good)]:
        assert [a["t"] for a in host_answers] == ["ack"] * len(OPS), host_answers
    for member_answers in answers[len(good) :]:
        assert {(a["t"], a["code"]) for a in member_answers} == {("err", "write_refused")}
    for host, guest in good:
        texts = await guest.read_texts(1 + len(OPS))
        assert texts == [host.text(op) for op in ("p1", *OPS)]  # fanned out, in order
