"""coshop vs websockets.broadcast() at N members x R ev/s, from the tree on PYTHONPATH.

usage: python pair.py MEMBERS RATE [ROUNDS]
"""

import asyncio
import os
import sys

from bench.fanout import FanoutCase, run_case
from bench.loadgen import ClientPool


async def main() -> None:
    members, rate = int(sys.argv[1]), float(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    pool = ClientPool(2)
    try:
        for _ in range(rounds):
            rows = {}
            for server in ("websockets", "coshop"):
                r = await run_case(FanoutCase(server, members, rate, 8.0), pool)
                rows[server] = r
                print(
                    f"{server:10} N={members} rate={rate:g} deliveries={r.deliveries} "
                    f"frames={r.frames} missing={r.missing} cpu_s={r.server_cpu_s:.3f} "
                    f"us/delivery={r.us_per_delivery:.2f} us/frame={r.us_per_frame:.2f} "
                    f"p50={r.p50_ms:.1f} p99={r.p99_ms:.1f} load={os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            c, w = rows["coshop"], rows["websockets"]
            print(
                f"RATIO cpu/frame coshop/broadcast = {c.us_per_frame / w.us_per_frame:.2f}x; "
                f"cpu per delivered event = {c.us_per_delivery / w.us_per_delivery:.2f}x",
                flush=True,
            )
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
