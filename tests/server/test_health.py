"""Health that tells the truth (issue 17): ``/livez``, ``/readyz`` and the broker gauge.

Real failures only: another SQLite connection holding the write lock, a private
``redis-server`` stopped and started again, PostgreSQL cut off behind a loopback TCP relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

import server.db.engine as engine_module
from server.broker import create_broker
from server.db.engine import create_engine, database_url_for_data_dir
from server.health import PROBE_ABANDON_S, Health
from tests.server.conftest import LiveServer, free_port, run_server, server_settings
from tests.server.peers import Peer, create_room
from tests.server.test_redis_restart import _wait_port, private_redis
from tests.server.test_scale_out import pg_database
from tests.services import POSTGRES_HOST, POSTGRES_PORT

__all__ = ["pg_database"]  # the fixture is shared with the scale-out test

# Every wait below is a bounded poll: the state must change within it, or the test fails.
POLL_S = 0.05


async def _ready(http: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    r = await http.get("/readyz")
    assert r.headers["cache-control"] == "no-store"
    return r.status_code, r.json()


async def _gauge(http: httpx.AsyncClient) -> float:
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith("coshop_broker_healthy "):
            return float(line.split()[1])
    raise AssertionError("coshop_broker_healthy is not in /metrics")


async def _poll(check: Callable[[], Awaitable[bool]], what: str, limit_s: float) -> None:
    for _ in range(int(limit_s / POLL_S)):
        if await check():
            return
        await asyncio.sleep(POLL_S)
    pytest.fail(f"not within {limit_s} s: {what}")


async def test_live_and_ready_when_all_is_well(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    r = await http.get("/livez")
    assert (r.status_code, r.text) == (200, "alive")
    assert await _ready(http) == (200, {"status": "ready", "reasons": []})
    assert (await http.get("/healthz")).json() == {"status": "ok", "rooms": 0, "broker": True}
    assert await _gauge(http) == 1.0


async def test_one_slow_probe_is_not_an_outage_two_in_a_row_are(tmp_path: Path) -> None:
    """A database that accepts the connection and never answers: the first probe that runs out
    of time leaves readiness alone (a busy machine), the second in a row makes it
    ``database``. The unanswered query is not cancelled: both probes wait for the same one."""
    silent: list[asyncio.StreamWriter] = []

    async def never_answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)

    port = free_port()
    server = await asyncio.start_server(never_answer, "127.0.0.1", port)
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test")
    broker = create_broker(None)
    await broker.start()
    now = [1_000.0]
    health = Health(engine, broker, clock=lambda: now[0], probe_timeout_s=0.2, probe_timeouts=2)
    try:
        assert await health.probe() is True  # ran out of time once: still reachable
        assert health.reasons() == []
        assert await health.probe() is False  # twice in a row
        assert health.reasons() == ["database"]
        assert len(silent) == 1  # one connection attempt, waited for twice
        now[0] += PROBE_ABANDON_S + 1  # unanswered for too long: given up, a new one sent
        assert await health.probe() is False
        async with asyncio.timeout(5):
            while len(silent) < 2:
                await asyncio.sleep(0.01)
    finally:
        await health.close()  # ends the query still waiting
        await engine.dispose()
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()

    sqlite = create_engine(database_url_for_data_dir(tmp_path))
    answered = Health(sqlite, broker, probe_timeout_s=5, probe_timeouts=1)
    try:
        assert await answered.probe() is True
        assert answered.reasons() == []
    finally:
        await answered.close()
        await sqlite.dispose()
        await broker.close()


async def test_on_sqlite_the_probe_reads_the_file_and_recovers_with_it(tmp_path: Path) -> None:
    """On SQLite the probe reads the file's header on a connection of its own: a file that is
    not a database any more makes readiness ``database``; once the file is whole again the
    next probe opens it afresh and readiness comes back."""
    engine = create_engine(database_url_for_data_dir(tmp_path))
    broker = create_broker(None)
    await broker.start()
    async with engine.begin() as conn:  # the file exists, in WAL mode
        await conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    async with engine.connect() as conn:  # and its first page is in the file, not the WAL
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    await engine.dispose()
    path = tmp_path / "coshop.db"
    header = path.read_bytes()[:100]
    health = Health(engine, broker, probe_timeout_s=5, probe_timeouts=1)
    checkouts: list[object] = []
    event.listen(engine.sync_engine, "checkout", lambda *args: checkouts.append(args))
    try:
        with path.open("r+b") as f:  # what a bad restore or a stray write would leave
            f.write(b"not a database at all, " * 4 + b"....")
        assert await health.probe() is False
        assert health.reasons() == ["database"]
        with path.open("r+b") as f:
            f.write(header)
        assert await health.probe() is True
        assert health.reasons() == []
        assert checkouts == []  # its own connection: never one of the engine's pool
    finally:
        await health.close()
        await engine.dispose()
        await broker.close()


async def _say(peer: Peer, op: str) -> dict[str, object]:
    """Send a chat command; the server's answer to it (ack or err)."""
    await peer.send({"t": "cmd", "op": op, "name": "PostMessage", "args": {"text": op}})
    while True:
        msg = await peer.recv(timeout=10)
        if msg.get("t") in {"ack", "err"} and msg.get("op") == op:
            return msg


async def test_a_failed_commit_turns_readiness_degraded_until_one_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "_SQLITE_BUSY_TIMEOUT_MS", 50)
    settings = server_settings(tmp_path)
    async with (
        run_server(settings) as srv,
        httpx.AsyncClient(base_url=srv.base_url, timeout=10) as http,
    ):
        room = await create_room(http)
        peer = await Peer.open(srv.ws_url(room["room_id"]))
        await peer.hello(room["host"]["token"])
        assert (await _say(peer, "before"))["t"] == "ack"
        assert (await _ready(http))[0] == 200

        other = sqlite3.connect(settings.data_dir / "coshop.db", isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another writer holds the lock past our timeout
            answer = await _say(peer, "locked")
            assert (answer["t"], answer["code"]) == ("err", "storage_unavailable")
            # the commit failed before its answer was sent: readiness already says so
            status, body = await _ready(http)
            assert (status, body) == (503, {"status": "degraded", "reasons": ["commits"]})
            health = (await http.get("/healthz")).json()
            assert (health["status"], health["broker"]) == ("degraded", True)
            assert (await http.get("/livez")).status_code == 200  # alive all the same
        finally:
            other.execute("ROLLBACK")
            other.close()

        assert (await _say(peer, "after"))["t"] == "ack"
        assert await _ready(http) == (200, {"status": "ready", "reasons": []})
        await peer.close()


@pytest.mark.slow
@pytest.mark.redis
async def test_a_stopped_redis_turns_readiness_and_the_gauge_down_and_back(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "redis"
    workdir.mkdir()
    rport = free_port()
    settings = server_settings(tmp_path, broker_url=f"redis://127.0.0.1:{rport}/0")
    with private_redis(rport, workdir) as redis_proc:
        await _wait_port(rport)
        async with (
            run_server(settings) as srv,
            httpx.AsyncClient(base_url=srv.base_url, timeout=10) as http,
        ):
            assert await _ready(http) == (200, {"status": "ready", "reasons": []})
            assert await _gauge(http) == 1.0

            redis_proc.terminate()
            redis_proc.wait(10)

            async def down() -> bool:
                status, body = await _ready(http)
                return status == 503 and body["reasons"] == ["broker"]

            await _poll(down, "readiness degraded by the broker", 1.0)
            assert await _gauge(http) == 0.0
            assert (await http.get("/healthz")).json()["broker"] is False

            with private_redis(rport, workdir):
                await _wait_port(rport)

                async def up() -> bool:
                    return (await _ready(http))[0] == 200

                # the listener reconnects with capped back-off (5 s at most between attempts)
                await _poll(up, "readiness back once Redis is", 20.0)
                assert await _gauge(http) == 1.0


@contextlib.asynccontextmanager
async def tcp_relay(port: int, target: tuple[str, int]) -> AsyncIterator[None]:
    """Forward 127.0.0.1:``port`` to ``target`` until the block ends; then every relayed
    connection is cut and the port refuses connections (the database is unreachable)."""
    writers: set[asyncio.StreamWriter] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        writers.update((writer, up_writer))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        for w in writers:
            w.transport.abort()
        await server.wait_closed()


@pytest.mark.slow
@pytest.mark.postgres
async def test_an_unreachable_database_turns_readiness_degraded_and_back(
    tmp_path: Path, pg_database: str
) -> None:
    relay = free_port()
    url = pg_database.replace(f"@{POSTGRES_HOST}:{POSTGRES_PORT}/", f"@127.0.0.1:{relay}/")
    settings = server_settings(tmp_path, database_url=url)
    async with tcp_relay(relay, (POSTGRES_HOST, POSTGRES_PORT)):
        srv_cm = run_server(settings)
        srv = await srv_cm.__aenter__()
    try:
        async with httpx.AsyncClient(base_url=srv.base_url, timeout=10) as http:

            async def down() -> bool:
                status, body = await _ready(http)
                return status == 503 and "database" in body["reasons"]

            # the relay is gone: PostgreSQL cannot be reached
            await _poll(down, "readiness degraded by the database", 1.0)
            assert (await http.get("/livez")).status_code == 200

            async with tcp_relay(relay, (POSTGRES_HOST, POSTGRES_PORT)):

                async def up() -> bool:
                    return await _ready(http) == (200, {"status": "ready", "reasons": []})

                await _poll(up, "readiness back once the database is", 10.0)
    finally:
        async with tcp_relay(relay, (POSTGRES_HOST, POSTGRES_PORT)):
            await srv_cm.__aexit__(None, None, None)
