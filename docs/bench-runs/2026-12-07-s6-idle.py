"""CPU a fresh, idle coshop uses per second (4 s after start, then 20 s measured).

usage: PYTHONPATH=<tree> python 2026-12-07-s6-idle.py LABEL
"""

import asyncio
import sys

from bench.fanout import COSHOP_FANOUT_ENV
from bench.proc import run_server


async def main() -> None:
    async with run_server("coshop", env={**COSHOP_FANOUT_ENV}) as server:
        await asyncio.sleep(4)
        c0 = server.cpu_ns()
        await asyncio.sleep(20)
        c1 = server.cpu_ns()
        print(f"{sys.argv[1]:12} idle {(c1 - c0) / 20e6:.2f} ms CPU per second", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
