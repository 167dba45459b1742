"""Several coshop processes on one PostgreSQL and one Redis (issue 6, DESIGN.md §5).

Two real ``coshop serve`` processes on different ports share a fresh PostgreSQL database and a
Redis key prefix of their own. Clients on both sides converge to one order; killing one process
sends its clients to the other, where they resume with nothing lost and nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from tests.server.conftest import free_port, wait_ready
from tests.server.peers import Peer, create_room, join
from tests.services import (
    POSTGRES_HOST,
    POSTGRES_PORT,
    POSTGRES_USER,
    postgres_url,
    redis_url,
    unique_name,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    base = postgres_url()
    name = unique_name("coshop_e2e")
    admin = await asyncpg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user=POSTGRES_USER, database="postgres"
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[str, str]]:
    url, prefix = redis_url(), unique_name("coshop")
    yield url, prefix
    client = aioredis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@contextlib.contextmanager
def hub_process(
    tmp: Path, name: str, port: int, db: str, broker: str, prefix: str, *, ttl_s: int = 2
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "COSHOP_SECRET_KEY": "s" * 48,
        "COSHOP_DATA_DIR": str(tmp / name),
        "COSHOP_PORT": str(port),
        "COSHOP_DATABASE_URL": db,
        "COSHOP_BROKER_URL": broker,
        "COSHOP_BROKER_PREFIX": prefix,
        "COSHOP_PROCESS_ID": name,
        "COSHOP_PRESENCE_TTL_S": str(ttl_s),
        "COSHOP_DEMO": "true",
        "COSHOP_PUBLIC_ROOMS": "true",
    }
    with (tmp / f"{name}.log").open("ab") as out:
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
        # pytest shows a test's stderr only when it failed: what the process said, at the end
        tail = (tmp / f"{name}.log").read_bytes()[-4000:].decode(errors="replace")
        sys.stderr.write(f"--- {name} (exit {proc.returncode}), the end of its log:\n{tail}\n")


async def drain_events(peer: Peer, until_seq: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while not out or out[-1]["seq"] < until_seq:
        msg = await peer.recv(timeout=10)
        if msg.get("t") == "ev":
            out.append(msg)
        elif msg.get("t") == "batch":
            out.extend(msg["evs"])
    return out


async def test_two_processes_converge_and_survive_a_sigkill(
    tmp_path: Path, pg_database: str, redis_prefix: tuple[str, str]
) -> None:
    broker, prefix = redis_prefix
    port_a, port_b = free_port(), free_port()
    base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    with (
        hub_process(tmp_path, "hub-a", port_a, pg_database, broker, prefix) as proc_a,
        hub_process(tmp_path, "hub-b", port_b, pg_database, broker, prefix) as proc_b,
    ):
        await asyncio.gather(wait_ready(base_a, proc_a), wait_ready(base_b, proc_b))
        async with httpx.AsyncClient(base_url=base_a) as http:
            room = await create_room(http, title="Across processes")
            members = [await join(http, room, f"M{i}") for i in range(4)]
        rid = room["room_id"]
        # members 0 and 1 on A, 2 and 3 on B
        peers: list[Peer] = []
        for i, m in enumerate(members):
            base = base_a if i < 2 else base_b
            p = await Peer.open(base.replace("http", "ws") + f"/ws/rooms/{rid}")
            await p.hello(m["token"])
            peers.append(p)

        async def act(i: int, p: Peer) -> list[int]:
            seqs = []
            for j in range(8):
                op = f"p{i}-{j}"
                if j % 2:
                    cmd = {"name": "PostMessage", "args": {"text": op}}
                else:
                    cmd = {
                        "name": "AddLine",
                        "args": {"sku": "tent-2p", "variant": None, "quantity": 1, "note": op},
                    }
                await p.send({"t": "cmd", "op": op, **cmd})
                while True:
                    msg = await p.recv(timeout=10)
                    if msg.get("t") == "ack" and msg["op"] == op:
                        seqs.append(msg["seq"][0])
                        break
                    assert msg.get("t") != "err", msg
            return seqs

        acked = await asyncio.gather(*(act(i, p) for i, p in enumerate(peers)))
        all_acked = sorted(s for seqs in acked for s in seqs)
        assert len(all_acked) == len(set(all_acked)) == 32, "two ops got the same seq"
        head = all_acked[-1]

        # every client, on either process, sees the same events in the same order
        fresh = []
        for base, m in ((base_a, members[0]), (base_b, members[3])):
            p = await Peer.open(base.replace("http", "ws") + f"/ws/rooms/{rid}")
            await p.hello(m["token"], last_seq=0)
            fresh.append(await drain_events(p, head))
            await p.close()
        assert [(e["seq"], e["ev"]) for e in fresh[0]] == [(e["seq"], e["ev"]) for e in fresh[1]]
        assert [e["seq"] for e in fresh[0]] == list(range(1, len(fresh[0]) + 1))

        # the same state through either process's REST API
        views = []
        for base in (base_a, base_b):
            async with httpx.AsyncClient(base_url=base) as http:
                r = await http.get(
                    f"/api/v1/rooms/{rid}",
                    headers={"authorization": f"Bearer {room['host']['token']}"},
                )
                views.append(r.json())
        assert views[0]["seq"] == views[1]["seq"] >= head
        assert views[0]["view"]["lines"] == views[1]["view"]["lines"]
        assert len(views[0]["view"]["lines"]) == 16

        # SIGKILL A: no ghosts — B's clients see A's members leave once A's presence expires
        last_seen = head
        gone = {members[0]["member_id"], members[1]["member_id"]}
        proc_a.send_signal(signal.SIGKILL)
        proc_a.wait(10)

        async def presence_without_a() -> set[str]:
            while True:
                msg = await peers[3].recv(timeout=15)
                if msg.get("t") == "presence":
                    ids = {m["member_id"] for m in msg["members"]}
                    if not ids & gone:
                        return ids

        online = await asyncio.wait_for(presence_without_a(), 20)
        assert online == {members[2]["member_id"], members[3]["member_id"]}

        # ... and A's clients reconnect to B and resume from their last seq
        moved = []
        for m in members[:2]:
            p = await Peer.open(base_b.replace("http", "ws") + f"/ws/rooms/{rid}")
            welcome = await p.hello(m["token"], last_seq=last_seen)
            assert welcome["resumed"] is True
            moved.append(p)
        await moved[0].send(
            {"t": "cmd", "op": "after-kill", "name": "PostMessage", "args": {"text": "on B"}}
        )
        got = await drain_events(moved[1], head + 1)
        texts = [e["ev"].get("text") for e in got]
        assert texts.count("on B") == 1
        assert [e["seq"] for e in got] == list(range(last_seen + 1, got[-1]["seq"] + 1))
        for p in [*peers[2:], *moved]:
            await p.close()


async def test_live_room_counts_viewers_on_every_process(
    tmp_path: Path, pg_database: str, redis_prefix: tuple[str, str]
) -> None:
    broker, prefix = redis_prefix
    port_a, port_b = free_port(), free_port()
    base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    with (
        hub_process(tmp_path, "live-a", port_a, pg_database, broker, prefix) as proc_a,
        hub_process(tmp_path, "live-b", port_b, pg_database, broker, prefix) as proc_b,
    ):
        await asyncio.gather(wait_ready(base_a, proc_a), wait_ready(base_b, proc_b))
        async with httpx.AsyncClient(base_url=base_a) as http:
            room = await create_room(http, kind="live", title="Launch")
            viewers = [await join(http, room, f"V{i}") for i in range(5)]
        rid = room["room_id"]
        peers = []
        for i, v in enumerate(viewers):  # 3 on A, 2 on B, plus the host on A
            base = base_a if i < 3 else base_b
            p = await Peer.open(base.replace("http", "ws") + f"/ws/rooms/{rid}")
            await p.hello(v["token"])
            peers.append(p)
        host = await Peer.open(base_a.replace("http", "ws") + f"/ws/rooms/{rid}")
        await host.hello(room["host"]["token"])

        async def count_reaches(peer: Peer, wanted: int) -> None:
            while True:
                msg = await peer.recv(timeout=10)
                if msg.get("t") == "count" and msg["online"] == wanted:
                    return

        # a viewer on B and one on A both see all six people online
        await asyncio.wait_for(count_reaches(peers[4], 6), 15)
        await asyncio.wait_for(count_reaches(host, 6), 15)
        # B dies: A's count drops to its own four once B's presence expires
        proc_b.send_signal(signal.SIGKILL)
        proc_b.wait(10)
        await asyncio.wait_for(count_reaches(host, 4), 20)
        for p in [*peers[:3], host]:
            await p.close()
