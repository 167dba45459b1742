"""PostgreSQL restarting mid-traffic (issue 17): clear errors while it is away, recovery without
restarting coshop, and nothing acknowledged lost.

The real server runs as a subprocess while three members post without pause. Two ways the
database goes away:

* a private PostgreSQL cluster (``initdb`` in a temp dir, a free loopback port) is stopped —
  once cleanly (``-m fast``), once as a crash (``-m immediate``, recovery from WAL) — and started
  again on the same port; the shared PostgreSQL other tests use is never touched;
* every backend connection of the test's own database is terminated (``pg_terminate_backend``)
  several times, so the server's pooled connections die under it.

While it is away every command is answered — acknowledged, or refused with
``storage_unavailable`` — never left hanging; afterwards the same process acknowledges again;
the log holds every acknowledged op exactly once, at the seq its ack named, with no gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.server.conftest import free_port, wait_ready
from tests.server.peers import Peer, create_room, join
from tests.server.test_scale_out import pg_database
from tests.services import in_ci

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres]

__all__ = ["pg_database"]  # the fixture is shared with the scale-out test

WRITERS = 3


# ---- a private PostgreSQL cluster ---------------------------------------------------------------


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of this test's own; root runs it as the ``postgres`` user."""

    bindir: Path
    workdir: Path
    port: int
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.workdir / "data"), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.workdir}"
        self._run("pg_ctl", "-D", str(self.workdir / "data"), "-l", str(self.workdir / "log"),
                  "-o", options, "-w", "-t", "30", "start")  # fmt: skip

    def stop(self, mode: str) -> None:
        self._run("pg_ctl", "-D", str(self.workdir / "data"), "-m", mode, "-w", "stop")


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    bindir = _bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        if in_ci():
            pytest.fail("initdb/pg_ctl are not installed; CI=true requires them", pytrace=False)
        pytest.skip("initdb/pg_ctl are not installed")
    as_user: list[str] = []
    # PostgreSQL refuses to run as root: run it as "postgres" in a directory that user owns
    # (outside pytest's tmp_path, whose parents only root may enter).
    workdir = Path(tempfile.mkdtemp(prefix="coshop-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        as_user = [runuser, "-u", "postgres", "--"]
        shutil.chown(workdir, user="postgres", group=None)
    cluster = PrivatePostgres(bindir, workdir, free_port(), as_user)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            cluster.stop("immediate")
        shutil.rmtree(workdir, ignore_errors=True)


# ---- the server and its members ---------------------------------------------------------------


@contextlib.contextmanager
def coshop_on(database_url: str, tmp: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "COSHOP_SECRET_KEY": "p" * 8 + "Q7r2W9x4L1m8K3z6" * 3,
        "COSHOP_DATA_DIR": str(tmp / "data"),
        "COSHOP_PORT": str(port),
        "COSHOP_DATABASE_URL": database_url,
        "COSHOP_DEMO": "true",
        "COSHOP_PUBLIC_ROOMS": "true",
        # writers post as fast as they are answered: keep the per-connection limit out of it
        "COSHOP_COMMANDS_PER_SECOND": "1000",
        "COSHOP_COMMAND_BURST": "1000",
    }
    with (tmp / "server.log").open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"], env=env, stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@dataclass
class Traffic:
    acked: dict[str, int] = field(default_factory=dict)  # op -> seq its ack named
    refused: list[str] = field(default_factory=list)  # error codes, in order
    answered: int = 0


async def _writer(peer: Peer, name: str, traffic: Traffic, stop: asyncio.Event) -> None:
    """Post one message after another; each must be answered (ack or err) within 20 s."""
    i = 0
    while not stop.is_set():
        op = f"{name}-{i}"
        i += 1
        await peer.send({"t": "cmd", "op": op, "name": "PostMessage", "args": {"text": op}})
        while True:
            msg = await peer.recv(timeout=20)
            if msg.get("op") != op or msg.get("t") not in ("ack", "err"):
                continue
            traffic.answered += 1
            if msg["t"] == "ack":
                traffic.acked[op] = msg["seq"][0]
            else:
                traffic.refused.append(msg["code"])
                await asyncio.sleep(0.05)
            break


async def _until(condition: Any, what: str, seconds: float = 40.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        await asyncio.sleep(0.02)


async def _more_acks(traffic: Traffic, n: int, what: str) -> None:
    target = len(traffic.acked) + n
    await _until(lambda: len(traffic.acked) >= target, what)


@contextlib.asynccontextmanager
async def _room_with_writers(
    base: str, traffic: Traffic
) -> AsyncIterator[tuple[dict[str, Any], list[asyncio.Task[None]]]]:
    async with httpx.AsyncClient(base_url=base) as http:
        room = await create_room(http)
        members = [await join(http, room, f"W{i}") for i in range(WRITERS)]
    ws = base.replace("http", "ws") + f"/ws/rooms/{room['room_id']}"
    peers = []
    for member in members:
        peer = await Peer.open(ws)
        await peer.hello(member["token"])
        peers.append(peer)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_writer(p, f"w{i}", traffic, stop)) for i, p in enumerate(peers)]
    try:
        yield room, tasks
    finally:
        stop.set()
        await asyncio.gather(*tasks)  # a writer that failed (no answer in time) fails the test
        for peer in peers:
            await peer.close()


async def _outage(traffic: Traffic, cause: Any, end: Any, probe: Any = None) -> None:
    """Wait for traffic, take the database away, see refusals, bring it back, see acks."""
    await _more_acks(traffic, 20, "acks before the outage")
    refused = len(traffic.refused)
    cause()
    await _until(lambda: len(traffic.refused) >= refused + 3 * WRITERS, "refusals in the outage")
    if probe is not None:
        await probe()
    end()
    await _more_acks(traffic, 20, "acks after the database came back")


async def _probe(base: str) -> None:
    """REST reads that need the database answer a clear 503 while it is away (one product's
    page reads it; a product search may answer from the catalogue's snapshot in memory)."""
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.get("/api/v1/merchants/demo/products/tent-2p")
    assert (r.status_code, r.json()["code"], r.headers["retry-after"]) == (
        503,
        "storage_unavailable",
        "1",
    )


async def _check_log(base: str, room: dict[str, Any], traffic: Traffic) -> None:
    reader = await Peer.open(base.replace("http", "ws") + f"/ws/rooms/{room['room_id']}")
    head = (await reader.hello(room["host"]["token"], last_seq=0))["seq"]
    events = await reader.events(head)
    await reader.close()
    assert [e["seq"] for e in events] == list(range(1, head + 1)), "a gap or a duplicate"
    by_seq = {e["seq"]: e["ev"] for e in events}
    for op, seq in traffic.acked.items():
        assert by_seq[seq].get("text") == op, f"acknowledged op {op} is not at seq {seq}"
    texts = [ev["text"] for ev in by_seq.values() if ev["type"] == "MessagePosted"]
    assert len(texts) == len(set(texts)), "an op was applied twice"


async def test_postgres_stopped_and_started_mid_traffic(tmp_path: Path) -> None:
    traffic = Traffic()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with private_postgres() as pg, coshop_on(pg.url, tmp_path, port) as proc:
        await wait_ready(base)
        async with _room_with_writers(base, traffic) as (room, _tasks):
            await _outage(traffic, lambda: pg.stop("fast"), pg.start, lambda: _probe(base))
            await _outage(traffic, lambda: pg.stop("immediate"), pg.start)  # a crash: WAL replay
        assert proc.poll() is None, "coshop exited"
        await _check_log(base, room, traffic)
        async with httpx.AsyncClient(base_url=base) as http:  # REST is back too
            assert (await http.get("/api/v1/merchants/demo/products")).status_code == 200
    assert set(traffic.refused) == {"storage_unavailable"}, traffic.refused


async def test_backend_connections_terminated_mid_traffic(tmp_path: Path, pg_database: str) -> None:
    traffic = Traffic()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    name = pg_database.rsplit("/", 1)[1]
    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database=name)

    async def terminate() -> int:
        killed = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return len(killed)

    try:
        with coshop_on(pg_database, tmp_path, port) as proc:
            await wait_ready(base)
            async with _room_with_writers(base, traffic) as (room, _tasks):
                for _ in range(5):
                    await _more_acks(traffic, 15, "acks between terminations")
                    assert await terminate() >= 1
            assert proc.poll() is None, "coshop exited"
            await _check_log(base, room, traffic)
    finally:
        await admin.close()
    assert set(traffic.refused) <= {"storage_unavailable"}, traffic.refused
    assert len(traffic.acked) >= 75
