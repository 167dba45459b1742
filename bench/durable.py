"""Durable commands: acknowledged cart commands per second and ack latency, SQLite and PostgreSQL.

Group rooms are opened over REST; each room gets members whose tokens are minted from the
server's secret (they join on ``hello``). Every member adds one cart line and then changes its
quantity again and again. Two loads per configuration:

- **closed loop**: each member keeps a window of commands in flight → the most acks/s;
- **open loop**: a fixed total rate spread evenly over the members → latency at that rate,
  measured from each command's *scheduled* send time to its ``ack``.

An ack means the events are committed (docs/protocol.md), so this is the durable path end to end.
PostgreSQL runs get a fresh database, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from bench.loadgen import ClientPool, ConnSpec, Dialect
from bench.proc import ServerProc, mint, run_server
from bench.report import Table, percentile_ms

__all__ = ["DurableResult", "postgres_database", "run_durable"]

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
# A member's socket is limited to 20 commands/s by default; a benchmark member pipelines faster.
DURABLE_ENV = {"COSHOP_COMMANDS_PER_SECOND": "10000", "COSHOP_COMMAND_BURST": "10000"}


@dataclass
class DurableResult:
    store: str
    rooms: int
    members: int
    mode: str  # "closed w=N" or "open N/s"
    seconds: float
    acks: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None
    server_cpu_s: float

    @property
    def acks_per_s(self) -> float:
        return self.acks / self.seconds


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str | None]:
    """A fresh PostgreSQL database (SQLAlchemy URL), dropped afterwards; None if unreachable."""
    try:
        import asyncpg

        admin = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=3
        )
    except (TimeoutError, OSError, ImportError) as exc:
        print(f"  PostgreSQL unavailable ({type(exc).__name__}); skipping it", flush=True)
        yield None
        return
    name = f"coshop_bench_{uuid.uuid4().hex[:10]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _rooms(server: ServerProc, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        ids: list[str] = []
        for i in range(count):
            r = await http.post(
                "/api/v1/rooms", json={"kind": "group", "title": f"Cart {i}", "host_name": "Host"}
            )
            r.raise_for_status()
            ids.append(str(r.json()["room_id"]))
        return ids


def _specs(server: ServerProc, room_ids: list[str], per_room: int) -> list[ConnSpec]:
    specs = []
    for rid in room_ids:
        for j in range(per_room):
            member = f"c{j}"
            token = mint(rid, member, "member", f"Shopper {j}")
            hello = json.dumps({"t": "hello", "token": token, "last_seq": None}).encode()
            specs.append(
                ConnSpec(server.port, f"/ws/rooms/{rid}", Dialect.COSHOP, hello, member_id=member)
            )
    return specs


async def _one(
    store: str,
    db_url: str,
    rooms: int,
    per_room: int,
    loads: list[tuple[int, float]],
    seconds: float,
    workers: int,
) -> list[DurableResult]:
    env = dict(DURABLE_ENV)
    if db_url:
        env["COSHOP_DATABASE_URL"] = db_url
    out: list[DurableResult] = []
    pool = ClientPool(workers)
    try:
        async with run_server("coshop", env=env) as server:
            room_ids = await _rooms(server, rooms)
            opened, errors = await pool.open(_specs(server, room_ids, per_room), commanders=True)
            if errors:
                print(f"  {errors[:2]}", flush=True)
            # warm-up: a short closed-loop burst
            await pool.call("run_commanders", 1, 0.0, 1.0)
            await asyncio.sleep(0.5)
            for window, rate in loads:
                await pool.call("reset")
                cpu0 = server.cpu_ns()
                await pool.call("run_commanders", window, rate / len(pool.pipes), seconds)
                await asyncio.sleep(0.5)
                cpu1 = server.cpu_ns()
                await pool.call("pause_stats")
                stats = await pool.collect()
                p50, p99 = percentile_ms(stats["ack_latencies"], 0.5, 0.99)
                mode = f"closed, {window} in flight each" if window else f"open, {rate:g}/s total"
                out.append(
                    DurableResult(
                        store,
                        rooms,
                        opened,
                        mode,
                        seconds,
                        stats["acks"],
                        stats["errors"],
                        p50,
                        p99,
                        (cpu1 - cpu0) / 1e9,
                    )
                )
                await asyncio.sleep(1.0)  # let stragglers land before the next load
            await pool.call("close")
    finally:
        await pool.close()
    return out


async def run_durable(
    room_counts: list[int],
    seconds: float,
    workers: int,
    *,
    rate: float = 500.0,
    window: int = 2,
    postgres: bool = True,
) -> tuple[list[Table], list[DurableResult]]:
    results: list[DurableResult] = []
    stores: list[str] = ["sqlite"] + (["postgresql"] if postgres else [])
    for store in stores:
        for rooms in room_counts:
            per_room = 8 if rooms == 1 else 4
            loads = [(window, 0.0), (0, rate)]
            print(f"  durable: {store} rooms={rooms} …", flush=True)
            if store == "sqlite":
                results += await _one(store, "", rooms, per_room, loads, seconds, workers)
                continue
            async with postgres_database() as url:
                if url is None:
                    break
                results += await _one(store, url, rooms, per_room, loads, seconds, workers)
    table = Table(
        "Durable cart commands (SetQuantity; ack = committed)",
        [
            "store",
            "rooms",
            "members",
            "load",
            "acks/s",
            "p50 ack ms",
            "p99 ack ms",
            "errors",
            "server CPU µs/ack",
        ],
    )
    for r in results:
        table.add(
            r.store,
            r.rooms,
            r.members,
            r.mode,
            r.acks_per_s,
            r.p50_ms,
            r.p99_ms,
            r.errors,
            r.server_cpu_s * 1e6 / r.acks if r.acks else None,
        )
    table.notes += [
        f"{seconds:g} s per load; members per room: 8 (one room) or 4 (100 rooms), each owning one "
        "line; every event also fans out to the room's other members.",
        "Closed loop latency is from the real send; open loop latency from the scheduled send.",
        "COSHOP_COMMANDS_PER_SECOND is raised for this run (a member's default is 20/s).",
    ]
    return [table], results
