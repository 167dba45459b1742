"""``python -m bench [--quick] [names…]``: run coshop's benchmarks and print the tables.

Names: ``fanout``, ``slow``, ``durable``, ``idle``, ``cross``, ``profile``, ``soak``, ``catalog``
(a 50,000-product merchant's room across background catalogue refreshes), ``arrivals``
(members joining a live room per second, and a reconnect storm after a restart), ``drops`` (500
viewers claim a drop's 50 units at once) (default: all
but ``profile`` and ``soak`` in quick mode). ``python -m bench soak --minutes 10`` runs the soak
alone, longer (a row per ``--window`` seconds). Every figure is printed next to baselines
measured in the same run with the same load client; the run ends with issue 7's targets as
PASS/MISS. Nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench.report import Table

__all__ = ["Config", "main", "run"]

NAMES = (
    "fanout", "slow", "durable", "idle", "cross", "profile", "soak", "catalog", "arrivals", "drops",
)  # fmt: skip
QUICK_SKIPS = ("profile", "soak")


@dataclass(frozen=True)
class Config:
    members: tuple[int, ...]
    rates: tuple[float, ...]
    high_rate_members: int
    seconds: float
    slow_members: int
    slow_clients: int
    slow_outbox: int
    slow_seconds: float
    durable_rooms: tuple[int, ...]
    durable_seconds: float
    idle_connections: int
    cross_receivers: int
    cross_seconds: float
    workers: int = 2
    soak_minutes: float = 3.0
    soak_window_s: float = 60.0
    catalog_products: int = 50_000
    catalog_seconds: float = 12.0
    arrival_members: int = 3_000
    storm_viewers: int = 5_000
    drop_viewers: int = 500
    drop_units: int = 50
    postgres: bool = True
    slow_baseline: bool = True  # also run bare websockets with slow clients, for contrast
    warmup: float = 1.0


FULL = Config(
    members=(1000, 2000, 5000),
    rates=(20.0, 50.0),
    high_rate_members=1000,
    seconds=8.0,
    slow_members=1000,
    slow_clients=10,
    slow_outbox=64,
    slow_seconds=15.0,
    durable_rooms=(1, 100),
    durable_seconds=5.0,
    idle_connections=10_000,
    cross_receivers=100,
    cross_seconds=10.0,
)
QUICK = Config(
    members=(500,),
    rates=(20.0, 50.0),
    high_rate_members=500,
    seconds=3.0,
    slow_members=300,
    slow_clients=5,
    slow_outbox=64,
    slow_seconds=10.0,
    durable_rooms=(100,),
    durable_seconds=2.0,
    idle_connections=1_000,
    cross_receivers=50,
    cross_seconds=3.0,
    slow_baseline=False,
    warmup=0.5,
    soak_minutes=1.0,
    catalog_seconds=6.0,
    arrival_members=500,
    storm_viewers=1_000,
    drop_viewers=200,
    drop_units=20,
)
TINY = Config(  # the smoke test: proves the harness works, measures nothing worth reading
    members=(20,),
    rates=(20.0, 50.0),
    high_rate_members=20,
    seconds=1.0,
    slow_members=20,
    slow_clients=2,
    slow_outbox=8,
    slow_seconds=1.0,
    durable_rooms=(2,),
    durable_seconds=1.0,
    idle_connections=50,
    cross_receivers=5,
    cross_seconds=1.0,
    workers=1,
    soak_minutes=0.05,
    soak_window_s=1.0,
    catalog_products=2_000,
    catalog_seconds=1.0,
    arrival_members=20,
    storm_viewers=20,
    drop_viewers=20,
    drop_units=5,
)


def raise_open_files() -> int:
    """Lift the soft limit on open files to the hard limit (10,000 sockets need it)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def run(names: list[str], cfg: Config) -> tuple[list[Table], object]:
    """Run the named benchmarks; returns their tables (targets last) and the raw results."""
    from bench.crossproc import run_cross
    from bench.durable import run_durable
    from bench.fanout import FanoutCase, run_case, run_fanout, run_slow
    from bench.idle import run_idle
    from bench.loadgen import ClientPool
    from bench.targets import Results, targets_table

    res = Results()
    tables: list[Table] = []
    if "fanout" in names:
        t, res.fanout = await run_fanout(
            list(cfg.members),
            list(cfg.rates),
            cfg.seconds,
            cfg.workers,
            cfg.high_rate_members,
            warmup=cfg.warmup,
        )
        tables += t
    if "slow" in names:
        t, res.slow = await run_slow(
            cfg.slow_members,
            cfg.slow_clients,
            50.0,
            cfg.slow_seconds,
            cfg.workers,
            cfg.slow_outbox,
            baseline=cfg.slow_baseline,
        )
        tables += t
    if "durable" in names:
        t, res.durable = await run_durable(
            list(cfg.durable_rooms), cfg.durable_seconds, cfg.workers, postgres=cfg.postgres
        )
        tables += t
    if "idle" in names:
        t, res.idle = await run_idle(cfg.idle_connections, cfg.workers)
        tables += t
    if "cross" in names:
        t, _ = await run_cross(cfg.cross_receivers, 20.0, cfg.cross_seconds)
        tables += t
    if "profile" in names:
        out = Path(tempfile.gettempdir()) / "coshop-fanout-profile.txt"
        print(f"  profile: coshop fan-out under pyinstrument → {out}", flush=True)
        pool = ClientPool(cfg.workers)
        try:
            case = FanoutCase("coshop", cfg.members[0], cfg.rates[0], cfg.seconds)
            await run_case(case, pool, profile=out)
        finally:
            await pool.close()
        profile = Table("Profile of coshop's fan-out (pyinstrument)", ["excerpt"])
        for line in out.read_text().splitlines()[:80]:
            if line.strip():
                profile.add(line.replace("|", "¦"))
        profile.notes.append(f"full report: {out}")
        tables.append(profile)
    if "soak" in names:
        from bench.soak import run_soak

        t, _ = await run_soak(cfg.soak_minutes, window_s=cfg.soak_window_s)
        tables += t
    if "catalog" in names:
        from bench.catalog import run_catalog

        t, _ = await run_catalog(cfg.catalog_products, cfg.catalog_seconds, postgres=cfg.postgres)
        tables += t
    if "arrivals" in names:
        from bench.arrivals import run_arrivals

        t, _ = await run_arrivals(cfg.arrival_members, cfg.storm_viewers, cfg.workers)
        tables += t
    if "drops" in names:
        from bench.drops import run_drops

        t, _ = await run_drops(cfg.drop_viewers, cfg.drop_units)
        tables += t
    if any(n in names for n in ("fanout", "slow", "durable", "idle")):
        tables.append(targets_table(res))
    return tables, res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(NAMES)}")
    parser.add_argument("--quick", action="store_true", help="smaller figures, ~3 minutes")
    parser.add_argument("--workers", type=int, default=None, help="load-client processes")
    parser.add_argument("--json", type=Path, default=None, help="also write the tables here")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--minutes", type=float, default=None, help="soak length (default 3)")
    parser.add_argument("--window", type=float, default=None, help="soak row every N s (60)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    cfg = QUICK if args.quick else FULL
    if args.workers or args.no_postgres:
        cfg = replace(cfg, workers=args.workers or cfg.workers, postgres=not args.no_postgres)
    if args.minutes is not None or args.window is not None:
        cfg = replace(
            cfg,
            soak_minutes=cfg.soak_minutes if args.minutes is None else args.minutes,
            soak_window_s=cfg.soak_window_s if args.window is None else args.window,
        )
    names = list(args.names) or [n for n in NAMES if n not in QUICK_SKIPS or not args.quick]
    from bench.proc import describe_machine

    machine = describe_machine()
    limit = raise_open_files()
    print(
        f"coshop benchmarks ({'quick' if args.quick else 'full'}): {', '.join(names)}\n"
        f"machine: {machine['cpus']} CPUs, {machine['model']}, {machine['memory_gib']} GiB, "
        f"Python {machine['python']}; open-file limit {limit}",
        flush=True,
    )
    started = time.monotonic()
    tables, _ = asyncio.run(run(names, cfg))
    print()
    for table in tables:
        print(table.render())
    print(f"total time: {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps([t.as_dict() for t in tables], indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
