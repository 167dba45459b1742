"""Scratch (session 8): one arrivals case of ``bench/arrivals.py`` with its REST and hello times.

usage (from a checkout, PYTHONPATH=.): ``python arr.py [rest|hello|bare] [members] [profile]``;
``CONC`` sets the arrivals in flight per load-client process (100, as the benchmark). With a
third argument, py-spy (on PATH as ``py-spy``) records the server while the viewers arrive.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import bench.arrivals as arrivals
from bench.loadgen import ClientPool

KIND = sys.argv[1] if len(sys.argv) > 1 else "rest"
MEMBERS = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
PROFILE = sys.argv[3] if len(sys.argv) > 3 else None
CONCURRENCY = int(os.environ.get("CONC", "100"))

_run_server = arrivals.run_server
_admit = arrivals._admit
_pids: list[int] = []


@asynccontextmanager
async def run_server(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
    async with _run_server(*args, **kwargs) as server:
        _pids.append(server.pid)
        yield server


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))]


async def admit(pool: ClientPool, items: list[Any], concurrency: int) -> Any:
    spy = None
    if PROFILE:
        argv = ["py-spy", "record", "-p", str(_pids[-1]), "-d", "60", "-r", "300"]
        spy = subprocess.Popen(  # noqa: ASYNC220, S603  # a scratch tool: our own arguments
            [*argv, "-f", "raw", "-o", PROFILE, "--nonblocking"]
        )
        await asyncio.sleep(0.5)
    call_each = pool.call_each

    async def timed(cmd: str, args: list[Any]) -> list[Any]:
        replies = await call_each(cmd, args)
        if cmd == "viewers.arrive":
            times = [t for r in replies for t in r[0]]
            rest = sorted((t[1] - t[0]) / 1e6 for t in times)
            hello = sorted((t[2] - t[1]) / 1e6 for t in times)
            print(
                f"  REST p50 {_pct(rest, 0.5):.0f} p99 {_pct(rest, 0.99):.0f} ms;"
                f" hello p50 {_pct(hello, 0.5):.0f} p99 {_pct(hello, 0.99):.0f} ms"
            )
        return replies

    pool.call_each = timed  # type: ignore[method-assign]
    try:
        return await _admit(pool, items, concurrency)
    finally:
        pool.call_each = call_each  # type: ignore[method-assign]
        if spy is not None:
            spy.send_signal(2)
            spy.wait()


arrivals._admit = admit
arrivals.run_server = run_server


async def main() -> None:
    pool = ClientPool(2)
    try:
        kind = "starlette" if KIND == "bare" else "coshop"
        r = await arrivals._arrivals_case(kind, MEMBERS, pool, CONCURRENCY, rest=KIND != "hello")
        print(
            f"{KIND}: {r.per_s:.0f}/s  {r.cpu_us_per_member:.0f} us/member"
            f"  client {r.client_cpu_pct:.0f}%  errors {len(r.errors)}"
        )
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
