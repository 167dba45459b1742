"""Across processes: delivery latency between two coshop processes through Redis.

Two ``coshop serve`` processes share a fresh PostgreSQL database and a Redis key prefix of their
own. The host publishes in a live room on process A; receivers sit on A (same process) and on B
(the events cross Redis). Latency is from the scheduled send time to the receiving client.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bench.durable import postgres_database
from bench.fanout import Publisher, _create_live_room, receiver_specs
from bench.loadgen import ClientPool, Dialect
from bench.proc import run_server
from bench.report import Table, percentile_ms

__all__ = ["CrossResult", "run_cross"]

REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class CrossResult:
    side: str
    receivers: int
    events: int
    deliveries: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None


@contextlib.asynccontextmanager
async def redis_prefix() -> AsyncIterator[str | None]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:  # any failure means: no Redis here
        print(f"  Redis unavailable ({type(exc).__name__}); skipping", flush=True)
        await client.aclose()
        yield None
        return
    prefix = f"coshop_bench_{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def run_cross(
    receivers: int, rate: float, seconds: float
) -> tuple[list[Table], list[CrossResult]]:
    results: list[CrossResult] = []
    async with postgres_database() as db, redis_prefix() as prefix:
        if db is None or prefix is None:
            return [], []
        env = {
            "COSHOP_DATABASE_URL": db,
            "COSHOP_BROKER_URL": REDIS_URL,
            "COSHOP_BROKER_PREFIX": prefix,
            "COSHOP_COMMANDS_PER_SECOND": "1000",
            "COSHOP_COMMAND_BURST": "1000",
        }
        local, remote = ClientPool(1), ClientPool(1)
        try:
            async with (
                run_server("coshop", env={**env, "COSHOP_PROCESS_ID": "a"}) as a,
                run_server("coshop", env={**env, "COSHOP_PROCESS_ID": "b"}) as b,
            ):
                room = await _create_live_room(a)
                await local.open(receiver_specs(a, room, receivers, prefix="a"))
                await remote.open(receiver_specs(b, room, receivers, prefix="b"))
                publisher = await Publisher.open(a, Dialect.COSHOP, room)
                await asyncio.sleep(1.0)
                await publisher.run(rate, 1.0, kind="W")
                await asyncio.sleep(0.5)
                await local.call("reset")
                await remote.call("reset")
                events = await publisher.run(rate, seconds)
                await asyncio.sleep(1.0)
                for side, pool in (("same process (A→A)", local), ("across Redis (A→B)", remote)):
                    stats = await pool.collect()
                    p50, p99, pmax = percentile_ms(stats["latencies"], 0.5, 0.99, 1.0)
                    results.append(
                        CrossResult(side, receivers, events, stats["deliveries"], p50, p99, pmax)
                    )
                await local.call("close")
                await remote.call("close")
                publisher.conn.close()
        finally:
            await local.close()
            await remote.close()
    table = Table(
        "Across processes (PostgreSQL log, Redis broker)",
        ["receivers on", "receivers", "events", "missing", "p50 ms", "p99 ms", "max ms"],
    )
    for r in results:
        table.add(
            r.side,
            r.receivers,
            r.events,
            max(0, r.events * r.receivers - r.deliveries),
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
        )
    table.notes.append(
        f"A live room; the host publishes {rate:g} chat messages/s on process A for {seconds:g} s. "
        "Both processes coalesce into 50 ms ticks, so about 25 ms of each figure is the tick."
    )
    return [table], results
