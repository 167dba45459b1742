"""Idle connections: server memory per connected member at 10,000 connections.

coshop holds the members in live rooms of 250 (each member joins on ``hello``: the room's
member list, the session, its writer task and the socket all count); the baseline is the bare
``websockets`` server holding the same number of subscribers. Memory per member is the growth
of the server's RSS from before the first connection to a few seconds after the last, divided by
the number of connections.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from bench.fanout import receiver_specs
from bench.loadgen import ClientPool, ConnSpec
from bench.proc import run_server
from bench.report import Table

__all__ = ["IdleResult", "run_idle"]

ROOM_SIZE = 250  # reconnecting into bigger rooms is slow (docs/performance.md)


@dataclass
class IdleResult:
    server: str
    connections: int
    rss_before: int
    rss_after: int
    setup_s: float

    @property
    def kib_per_member(self) -> float:
        return (self.rss_after - self.rss_before) / 1024 / max(1, self.connections)


async def _coshop_specs(data_dir: Path, total: int, pool: ClientPool) -> list[ConnSpec]:
    """Open the rooms and let every member join once (in chunks), on a server we then stop."""
    async with run_server("coshop", data_dir=data_dir) as server:
        rooms = []
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
            for i in range(-(-total // ROOM_SIZE)):
                r = await http.post(
                    "/api/v1/rooms",
                    json={"kind": "live", "title": f"Idle {i}", "host_name": "Host"},
                )
                r.raise_for_status()
                rooms.append(r.json())
        per_room = [
            receiver_specs(server, room, min(ROOM_SIZE, total - i * ROOM_SIZE))
            for i, room in enumerate(rooms)
        ]
        # interleave rooms so their joins share group commits
        specs = [s for group in zip(*per_room, strict=False) for s in group]
        specs += [s for group in per_room for s in group[len(per_room[-1]) :]]
        for i in range(0, len(specs), 500):
            await pool.open(specs[i : i + 500])
            await pool.call("close")
    return specs


async def _one(server_kind: str, total: int, workers: int) -> IdleResult:
    pool = ClientPool(workers)
    try:
        with tempfile.TemporaryDirectory(prefix="coshop-bench-idle-") as tmp:
            data_dir = Path(tmp)
            specs: list[ConnSpec] = []
            if server_kind == "coshop":
                specs = await _coshop_specs(data_dir, total, pool)
            async with run_server(server_kind, data_dir=data_dir) as server:
                if server_kind != "coshop":
                    specs = receiver_specs(server, None, total)
                else:  # same members, same rooms, on the fresh process's port
                    specs = [replace(s, port=server.port) for s in specs]
                await asyncio.sleep(1.0)
                before = server.rss()
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                opened, errors = await pool.open(specs, concurrency=128)
                setup = loop.time() - t0
                if errors:
                    print(f"  {server_kind}: {len(specs) - opened} failed: {errors[0]}", flush=True)
                await asyncio.sleep(3.0)
                after = server.rss()
                await pool.call("close")
    finally:
        await pool.close()
    return IdleResult(server_kind, opened, before, after, setup)


async def run_idle(total: int, workers: int) -> tuple[list[Table], list[IdleResult]]:
    results = []
    for kind in ("coshop", "websockets"):
        print(f"  idle: {kind} {total} connections …", flush=True)
        results.append(await _one(kind, total, workers))
    table = Table(
        "Idle connections: server memory per connected member",
        ["server", "connections", "RSS before MiB", "RSS after MiB", "KiB/member", "connect s"],
    )
    for r in results:
        table.add(
            r.server,
            r.connections,
            r.rss_before / 2**20,
            r.rss_after / 2**20,
            r.kib_per_member,
            r.setup_s,
        )
    table.notes.append(
        f"coshop: live rooms of {ROOM_SIZE:,} members who joined earlier (on another process, "
        "same SQLite file); RSS is measured on a fresh process before the first connection and "
        "3 s after the last, so it includes loading the rooms, each session, its writer task and "
        "socket. RSS from /proc/<pid>/status."
    )
    return [table], results
