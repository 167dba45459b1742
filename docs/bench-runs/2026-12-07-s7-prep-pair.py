"""As the full fan-out run: a room with TOP members joined beforehand; rounds of variants.

usage: python 2026-12-07-s7-prep-pair.py N RATE ROUNDS TOP VARIANT...
VARIANT: ``ws`` (websockets.broadcast()), ``default`` (coshop as configured) or coshop with
environment settings ``K=V,K=V`` (e.g. ``COSHOP_LIVE_TICK_MS=10``). Run with the tree on
PYTHONPATH, from the repository root.
"""

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from bench.fanout import FanoutCase, FanoutResult, prepare_room, run_case
from bench.loadgen import ClientPool


async def main() -> None:
    n, rate = int(sys.argv[1]), float(sys.argv[2])
    rounds, top = int(sys.argv[3]), int(sys.argv[4])
    pool = ClientPool(2)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            prepared = await prepare_room(Path(tmp), top, pool)
            for r in range(rounds):
                ws: FanoutResult | None = None
                for v in sys.argv[5:]:
                    if v == "ws":
                        case = FanoutCase("websockets", n, rate, 8.0)
                    else:
                        pairs = [] if v == "default" else [kv.split("=") for kv in v.split(",")]
                        env = tuple((k, val) for k, val in pairs)
                        case = FanoutCase("coshop", n, rate, 8.0, 0, 0, env)
                    res = await run_case(case, pool, prepared)
                    ratio = ""
                    if v == "ws":
                        ws = res
                    elif ws is not None:
                        ratio = f" ratio/delivery={res.us_per_delivery / ws.us_per_delivery:.2f}x"
                    print(
                        f"r{r} {v:24} frames={res.frames} missing={res.missing} "
                        f"cpu_s={res.server_cpu_s:.3f} us/del={res.us_per_delivery:.2f} "
                        f"us/frame={res.us_per_frame:.2f} p50={res.p50_ms:.1f} "
                        f"p99={res.p99_ms:.1f} load={os.getloadavg()[0]:.1f}{ratio}",
                        flush=True,
                    )
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
