"""Presence across processes (issue 17): rosters and counts converge as fast as the broker.

Two real ``coshop serve`` processes share a fresh PostgreSQL database and a Redis key prefix
(tests/server/test_scale_out.py). Who is connected travels as peer messages
(server/hub/peers.py); the presence keys' TTL only cleans up after a process that died.

Waits are deadlines for a property, not timing assertions: "within a second" is checked as
"converged before a 1.5 s deadline", and a killed process's members must be gone before the
TTL (plus slack for a busy machine) runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from websockets.exceptions import ConnectionClosed

from server.waiting import wait_event
from tests.server.conftest import free_port, wait_ready
from tests.server.peers import Peer, create_room, join
from tests.server.test_scale_out import hub_process
from tests.services import (
    POSTGRES_HOST,
    POSTGRES_PORT,
    POSTGRES_USER,
    postgres_url,
    redis_url,
    unique_name,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

TTL_S = 3  # COSHOP_PRESENCE_TTL_S of both processes: a refresh every second
CONVERGE_S = 1.5  # "within a second", with room for a busy machine
# count frames go out at most once a second (server/hub/pacing.py): one interval more
COUNT_CONVERGE_S = CONVERGE_S + 1.0
GONE_S = TTL_S + 1.5  # a killed process's members: within the TTL, with the same slack


@contextlib.asynccontextmanager
async def two_processes(tmp: Path, ttl_s: int = TTL_S) -> AsyncIterator[tuple[str, str, Any]]:
    """Processes A and B on one fresh database and one Redis prefix: their base URLs and B."""
    base_url, prefix = postgres_url(), unique_name("coshop")
    broker = redis_url()
    name = unique_name("coshop_presence")
    admin = await asyncpg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user=POSTGRES_USER, database="postgres"
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        db = base_url.rsplit("/", 1)[0] + "/" + name
        port_a, port_b = free_port(), free_port()
        with (
            hub_process(tmp, "pres-a", port_a, db, broker, prefix, ttl_s=ttl_s) as proc_a,
            hub_process(tmp, "pres-b", port_b, db, broker, prefix, ttl_s=ttl_s) as proc_b,
        ):
            base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
            await asyncio.gather(wait_ready(base_a, proc_a), wait_ready(base_b, proc_b))
            yield base_a, base_b, proc_b
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        client = aioredis.from_url(broker)
        try:
            keys = [k async for k in client.scan_iter(f"{prefix}:*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


async def connect(base: str, room_id: str, member: dict[str, Any]) -> Peer:
    peer = await Peer.open(base.replace("http", "ws") + f"/ws/rooms/{room_id}")
    await peer.hello(member["token"])
    return peer


class Watch:
    """Every presence roster and count one peer receives, read in the background."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.rosters: list[set[str]] = []
        self.counts: list[int] = []
        self.changed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while True:
            try:
                msg = await self.peer.recv(timeout=60)
            except ConnectionClosed:
                return  # its process stopped or died
            if msg.get("t") == "presence":
                self.rosters.append({m["member_id"] for m in msg["members"]})
            elif msg.get("t") == "count":
                self.counts.append(msg["online"])
            else:
                continue
            self.changed.set()

    async def until(self, ok: Callable[[], bool], deadline_s: float, what: str) -> float:
        """Wait until ``ok()``; fail after ``deadline_s``. Returns the seconds it took."""
        started = time.monotonic()
        while not ok():
            left = started + deadline_s - time.monotonic()
            if left <= 0:
                pytest.fail(f"{what}: not within {deadline_s} s; saw {self.rosters or self.counts}")
            self.changed.clear()
            await wait_event(self.changed, left)
        return time.monotonic() - started

    def roster(self) -> set[str]:
        return self.rosters[-1] if self.rosters else set()

    def sees(self, ids: set[str]) -> Callable[[], bool]:
        return lambda: self.roster() == ids

    def counts_to(self, online: int) -> Callable[[], bool]:
        return lambda: bool(self.counts) and self.counts[-1] == online

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        await self.peer.close()


async def test_members_on_two_processes_see_each_other_at_once_and_keep_seeing_each_other(
    tmp_path: Path,
) -> None:
    async with two_processes(tmp_path) as (base_a, base_b, proc_b):
        async with httpx.AsyncClient(base_url=base_a) as http:
            room = await create_room(http, title="Across processes")
            ann, bo, cy = [await join(http, room, n) for n in ("Ann", "Bo", "Cy")]
        rid = room["room_id"]
        ids = {m["member_id"] for m in (ann, bo, cy)}
        on_a = Watch(await connect(base_a, rid, ann))
        on_b = Watch(await connect(base_b, rid, bo))
        both = {ann["member_id"], bo["member_id"]}
        await on_a.until(on_a.sees(both), CONVERGE_S, "A sees B's member")
        await on_b.until(on_b.sees(both), CONVERGE_S, "B sees A's member")
        converged = {id(w): len(w.rosters) for w in (on_a, on_b)}

        # over several refreshes (TTL_S / 3 each) nobody who is connected drops out
        await asyncio.sleep(TTL_S * 2)
        for watch in (on_a, on_b):
            since = watch.rosters[converged[id(watch)] :]
            assert all(seen == both for seen in since), since
            assert watch.roster() == both

        # a third member on A: both processes agree on all three, at once
        on_a2 = Watch(await connect(base_a, rid, cy))
        for watch in (on_a, on_b, on_a2):
            await watch.until(watch.sees(ids), CONVERGE_S, "all three")

        # B stops cleanly: it says goodbye, so A does not wait for the TTL
        proc_b.send_signal(signal.SIGTERM)
        await on_a.until(
            lambda: on_a.roster() == ids - {bo["member_id"]}, CONVERGE_S, "B's member leaves"
        )
        for watch in (on_a, on_a2, on_b):
            await watch.stop()


async def test_a_killed_processs_members_disappear_within_the_ttl(tmp_path: Path) -> None:
    async with two_processes(tmp_path) as (base_a, base_b, proc_b):
        async with httpx.AsyncClient(base_url=base_a) as http:
            room = await create_room(http, title="Crash")
            ann, bo = await join(http, room, "Ann"), await join(http, room, "Bo")
        rid = room["room_id"]
        on_a = Watch(await connect(base_a, rid, ann))
        on_b = Watch(await connect(base_b, rid, bo))
        both = {ann["member_id"], bo["member_id"]}
        await on_a.until(lambda: on_a.roster() == both, CONVERGE_S, "A sees B's member")

        proc_b.send_signal(signal.SIGKILL)  # no goodbye: only B's expiring key tells
        proc_b.wait(10)
        await on_a.until(
            lambda: on_a.roster() == {ann["member_id"]}, GONE_S, "the killed process's member"
        )
        await on_a.stop()
        await on_b.stop()


async def test_live_counts_on_two_processes_converge(tmp_path: Path) -> None:
    # the default TTL: a refresh every 10 s, so only the peer messages can be this quick
    async with two_processes(tmp_path, ttl_s=30) as (base_a, base_b, _):
        async with httpx.AsyncClient(base_url=base_a) as http:
            room = await create_room(http, kind="live", title="Launch")
            viewers = [await join(http, room, f"V{i}") for i in range(4)]
        rid = room["room_id"]
        host = Watch(await connect(base_a, rid, room["host"]))
        on_a = [Watch(await connect(base_a, rid, v)) for v in viewers[:2]]
        on_b = [Watch(await connect(base_b, rid, v)) for v in viewers[2:]]
        # five people: the host and two viewers on A, two viewers on B
        for watch in (host, on_b[-1]):
            await watch.until(watch.counts_to(5), COUNT_CONVERGE_S, "five online")
        # a viewer on B leaves, then one on A: both processes follow
        await on_b[0].stop()
        await host.until(host.counts_to(4), COUNT_CONVERGE_S, "4 after a leave on B")
        await on_a[0].stop()
        await on_b[1].until(on_b[1].counts_to(3), COUNT_CONVERGE_S, "3 after a leave on A")
        for watch in (host, on_a[1], on_b[1]):
            await watch.stop()
