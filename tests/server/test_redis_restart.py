"""Redis restarting mid-traffic (issue 6): coshop degrades clearly, loses no acknowledged event
(the log is in PostgreSQL), and its broker listener comes back without restarting coshop.

The test runs a private ``redis-server`` on a free loopback port so that it can really stop and
start it; the shared Redis other tests use is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import free_port, wait_ready
from tests.server.peers import Peer, create_room, join
from tests.server.test_scale_out import drain_events, hub_process, pg_database
from tests.services import in_ci

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

__all__ = ["pg_database"]  # the fixture is shared with the scale-out test


@contextlib.contextmanager
def private_redis(port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    exe = shutil.which("redis-server")
    if exe is None:
        if in_ci():
            pytest.fail("redis-server is not installed; CI=true requires it", pytrace=False)
        pytest.skip("redis-server is not installed")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


async def _wait_port(port: int) -> None:
    for _ in range(200):
        with contextlib.suppress(OSError):
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            await w.wait_closed()
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("redis did not start")


async def _health(base: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as http:
        data: dict[str, Any] = (await http.get("/healthz")).json()
        return data


@pytest.fixture
def redis_dir(tmp_path: Path) -> Path:
    d = tmp_path / "redis"
    d.mkdir()
    return d


async def test_redis_restart_mid_traffic(tmp_path: Path, pg_database: str, redis_dir: Path) -> None:
    rport = free_port()
    broker = f"redis://127.0.0.1:{rport}/0"
    port_a, port_b = free_port(), free_port()
    base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    redis_proc = None
    with contextlib.ExitStack() as stack:
        redis_proc = stack.enter_context(private_redis(rport, redis_dir))
        await _wait_port(rport)
        stack.enter_context(hub_process(tmp_path, "ra", port_a, pg_database, broker, "t"))
        stack.enter_context(hub_process(tmp_path, "rb", port_b, pg_database, broker, "t"))
        await asyncio.gather(wait_ready(base_a), wait_ready(base_b))
        async with httpx.AsyncClient(base_url=base_a) as http:
            room = await create_room(http)
            ma, mb = await join(http, room, "OnA"), await join(http, room, "OnB")
        rid = room["room_id"]
        a = await Peer.open(base_a.replace("http", "ws") + f"/ws/rooms/{rid}")
        await a.hello(ma["token"])
        b = await Peer.open(base_b.replace("http", "ws") + f"/ws/rooms/{rid}")
        await b.hello(mb["token"])

        async def say(p: Peer, op: str) -> int:
            await p.send({"t": "cmd", "op": op, "name": "PostMessage", "args": {"text": op}})
            while True:
                msg = await p.recv(timeout=10)
                if msg.get("t") == "ack" and msg["op"] == op:
                    return int(msg["seq"][0])

        before = [await say(a, "a-before"), await say(b, "b-before")]

        # Redis goes away: commands are still acknowledged (the log is PostgreSQL) and health
        # says "degraded" instead of pretending all is well.
        redis_proc.terminate()
        redis_proc.wait(10)
        during = [await say(a, f"a-during-{i}") for i in range(3)]
        for _ in range(100):
            if (await _health(base_a))["status"] == "degraded":
                break
            await asyncio.sleep(0.1)
        assert (await _health(base_a)) | {"rooms": 0} == {
            "status": "degraded",
            "rooms": 0,
            "broker": False,
        }

        # Redis comes back on the same port; coshop's listeners reconnect by themselves.
        redis_proc = stack.enter_context(private_redis(rport, redis_dir))
        await _wait_port(rport)
        for _ in range(200):
            if (await _health(base_a))["broker"] and (await _health(base_b))["broker"]:
                break
            await asyncio.sleep(0.1)
        assert (await _health(base_a))["status"] == "ok"
        assert (await _health(base_b))["status"] == "ok"
        after = await say(a, "a-after")

        # B's client gets everything: what A wrote while Redis was down is filled in from the log.
        seen = await drain_events(b, after)
        texts = [e["ev"].get("text") for e in seen if e["ev"]["type"] == "MessagePosted"]
        for op in ("a-during-0", "a-during-1", "a-during-2", "a-after"):
            assert texts.count(op) == 1, (op, texts)
        seqs = [e["seq"] for e in seen]
        assert seqs == sorted(set(seqs))
        assert max(before) < min(during)
        await a.close()
        await b.close()
