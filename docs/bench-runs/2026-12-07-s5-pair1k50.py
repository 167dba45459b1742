"""coshop vs websockets.broadcast() at 1,000 members x 50 ev/s, from the tree on PYTHONPATH."""

import asyncio
import sys

from bench.fanout import FanoutCase, run_case
from bench.loadgen import ClientPool


async def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    pool = ClientPool(2)
    try:
        for _ in range(rounds):
            rows = {}
            for server in ("websockets", "coshop"):
                r = await run_case(FanoutCase(server, 1000, 50.0, 8.0), pool)
                rows[server] = r
                print(
                    f"{server:10} deliveries={r.deliveries} frames={r.frames} missing={r.missing} "
                    f"cpu_s={r.server_cpu_s:.3f} us/delivery={r.us_per_delivery:.2f} "
                    f"us/frame={r.us_per_frame:.2f} p50={r.p50_ms:.0f} p99={r.p99_ms:.0f}",
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
