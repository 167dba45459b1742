"""Arrivals: members joining a live room per second, and a reconnect storm after a restart.

**Arrivals.** A live room on SQLite (the default deployment) fills up: every viewer joins as a
browser does — ``POST /api/v1/rooms/{id}/join`` with the room's shared invite on a connection of
its own, then the WebSocket ``hello`` with the member token it got — and stays connected, so
later arrivals join a room that already holds the earlier ones. ``concurrency`` arrivals are in
flight per load-client process. Figures: members admitted per second (first request to last
welcome), each arrival's time from its request to its welcome, and the server's CPU per member.
Next to it, in the same run with the same client:

- coshop with the ``hello`` alone (tokens minted from the server's secret): what the REST join
  adds;
- bare Starlette on uvicorn answering the same handshake (``bench/servers/join_starlette.py``):
  the floor of the stack, nothing stored or checked;
- one fsynced SQLite transaction per join (``BEGIN IMMEDIATE``, an ``UPDATE``, ``COMMIT`` with
  ``synchronous=FULL`` on the same disk): the ceiling of a join that commits alone.

**Reconnect storm.** ``viewers`` members are connected to a live room while the host posts 20
chat messages a second; the server stops cleanly (its sockets close with 1001) and a new
process starts on the same port and data directory. As soon as it answers, every viewer
reconnects with its ``last_seq`` (at most ``storm_concurrency`` handshakes in flight per
load-client process, about the server's listen backlog) while the host, reconnected, keeps
posting. Every viewer counts its welcomes (resumed or a fresh snapshot) and checks every batch
against its cursor: a batch that starts past ``cursor + 1`` is a gap, an event lost; at the end
every cursor must reach the room's head. Figures: time from the new process answering to the
last viewer resumed, how many were resumed, gaps, viewers behind the head.

Nothing asserts: the figures are printed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.fanout import COSHOP_FANOUT_ENV, Publisher, _create_live_room
from bench.loadgen import ClientPool, Dialect
from bench.proc import ServerProc, free_port, mint, run_server
from bench.report import Table, fmt, percentile_ms
from bench.viewers import Arrival

__all__ = ["ArrivalResult", "StormResult", "run_arrivals", "sqlite_commits_per_s"]


@dataclass
class ArrivalResult:
    server: str
    path: str
    members: int
    seconds: float
    errors: list[str]
    latencies: Any  # array of ns, request to welcome
    server_cpu_s: float
    client_cpu_s: float

    @property
    def per_s(self) -> float:
        return self.members / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_member(self) -> float | None:
        return self.server_cpu_s * 1e6 / self.members if self.members else None

    @property
    def client_cpu_pct(self) -> float | None:
        return 100 * self.client_cpu_s / self.seconds if self.seconds else None


@dataclass
class StormResult:
    viewers: int
    restart_s: float  # the old process told to stop → the new one answering
    storm_s: float  # the new process answering → the last viewer welcomed
    welcomed: int
    resumed: int
    snapshots: int
    gaps: int
    behind: int  # viewers whose cursor is below the head at the end
    head: int
    events_during: int
    server_cpu_s: float
    errors: list[str] = field(default_factory=list)
    still_open: int = 0  # viewers whose old connection the old process did not close


def sqlite_commits_per_s(directory: Path, commits: int = 200) -> float:
    """Fsynced single-row transactions per second on ``directory``'s disk (coshop's pragmas)."""
    path = directory / "probe.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE invites (id INTEGER PRIMARY KEY, uses INTEGER NOT NULL)")
        conn.execute("INSERT INTO invites VALUES (1, 0)")
        started = time.perf_counter()
        for _ in range(commits):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE invites SET uses = uses + 1 WHERE id = 1")
            conn.execute("COMMIT")
        return commits / (time.perf_counter() - started)
    finally:
        conn.close()


def _spread(items: list[Any], workers: int) -> list[list[Any]]:
    shares: list[list[Any]] = [[] for _ in range(workers)]
    for i, item in enumerate(items):
        shares[i % workers].append(item)
    return shares


@dataclass
class _Admitted:
    count: int
    seconds: float  # first request → last welcome
    errors: list[str]
    latencies: Any  # array of ns, each viewer's request → welcome
    client_cpu_s: float


async def _admit(pool: ClientPool, arrivals: list[Arrival], concurrency: int) -> _Admitted:
    """Admit ``arrivals`` over the pool's processes."""
    shares = _spread(arrivals, len(pool.pipes))
    replies = await pool.call_each("viewers.arrive", [(s, concurrency) for s in shares])
    times = [t for r in replies for t in r[0]]
    errors = [e for r in replies for e in r[1]]
    cpu = sum(r[2] for r in replies) / 1e9
    if not times:
        return _Admitted(0, 0.0, errors, array("q"), cpu)
    seconds = (max(t[2] for t in times) - min(t[0] for t in times)) / 1e9
    return _Admitted(len(times), seconds, errors, array("q", [t[2] - t[0] for t in times]), cpu)


async def _arrivals_case(
    kind: str, members: int, pool: ClientPool, concurrency: int, *, rest: bool
) -> ArrivalResult:
    env = {**COSHOP_FANOUT_ENV} if kind == "coshop" else {}
    server_kind = "coshop" if kind == "coshop" else "join-starlette"
    async with run_server(server_kind, env=env) as server:
        if kind == "coshop":
            room = await _create_live_room(server)
            room_id, invite = str(room["room_id"]), str(room["invite"]["token"])
        else:
            room_id, invite = "rbench", "invite"
        arrivals = [
            Arrival(
                server.port,
                room_id,
                f"Viewer {i}",
                invite=invite if rest else None,
                token=None if rest else mint(room_id, f"v{i}", "viewer", f"Viewer {i}"),
            )
            for i in range(members)
        ]
        cpu0 = server.cpu_ns()
        done = await _admit(pool, arrivals, concurrency)
        cpu1 = server.cpu_ns()
        await pool.call("close")
    label = "coshop" if kind == "coshop" else "starlette (bare)"
    return ArrivalResult(
        label,
        "REST join + hello" if rest else "hello (minted token)",
        done.count,
        done.seconds,
        done.errors,
        done.latencies,
        (cpu1 - cpu0) / 1e9,
        done.client_cpu_s,
    )


async def _head(server: ServerProc, room: dict[str, Any]) -> int:
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        r = await http.get(
            f"/api/v1/rooms/{room['room_id']}",
            headers={"Authorization": f"Bearer {room['host']['token']}"},
        )
        r.raise_for_status()
        return int(r.json()["seq"])


async def run_storm(
    viewers: int, pool: ClientPool, *, concurrency: int = 1000, publish_s: float = 2.0
) -> StormResult:
    env = {**COSHOP_FANOUT_ENV}
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="coshop-bench-storm-") as tmp:
        data_dir = Path(tmp)
        async with run_server("coshop", env=env, data_dir=data_dir, port=port) as first:
            room = await _create_live_room(first)
            room_id = str(room["room_id"])
            arrivals = [
                Arrival(port, room_id, f"V{i}", token=mint(room_id, f"s{i}", "viewer", f"V{i}"))
                for i in range(viewers)
            ]
            joined = await _admit(pool, arrivals, 100)
            admitted = joined.count
            if joined.errors:
                missing = viewers - admitted
                print(f"  storm: {missing} viewers not admitted: {joined.errors[0]}", flush=True)
            publisher = await Publisher.open(first, Dialect.COSHOP, room)
            await publisher.run(20.0, publish_s)
            await asyncio.sleep(0.5)
            publisher.conn.close()
            await pool.call("viewers.reset_counts")
            stopped_at = time.monotonic()
        still_open = sum(await pool.call("viewers.wait_closed", 10.0))
        async with run_server("coshop", env=env, data_dir=data_dir, port=port) as second:
            ready_at = time.monotonic()
            cpu0 = second.cpu_ns()
            publisher = await Publisher.open(second, Dialect.COSHOP, room)
            posting = asyncio.ensure_future(publisher.run(20.0, publish_s))
            replies = await pool.call("viewers.reconnect", port, concurrency)
            cpu1 = second.cpu_ns()
            events_during = await posting
            await asyncio.sleep(1.5)  # the last ticks land
            head = await _head(second, room)
            stats = await pool.call("viewers.stats", head)
            publisher.conn.close()
            await pool.call("close")
    times = [t for r in replies for t in r[0]]
    errs = [e for r in replies for e in r[1]] + [e for s in stats for e in s["errors"]]
    last = max((t[1] for t in times), default=0)
    return StormResult(
        viewers=admitted,
        restart_s=ready_at - stopped_at,
        storm_s=max(0.0, last / 1e9 - ready_at) if times else float("nan"),
        welcomed=len(times),
        resumed=sum(s["resumed"] for s in stats),
        snapshots=sum(s["snapshots"] for s in stats),
        gaps=sum(s["gaps"] for s in stats),
        behind=sum(s["behind"] for s in stats),
        head=head,
        events_during=events_during,
        server_cpu_s=(cpu1 - cpu0) / 1e9,
        errors=errs[:5],
        still_open=still_open,
    )


async def run_arrivals(
    members: int,
    storm_viewers: int,
    workers: int,
    *,
    concurrency: int = 100,
    baseline: bool = True,
) -> tuple[list[Table], tuple[list[ArrivalResult], StormResult | None, float]]:
    pool = ClientPool(workers)
    results: list[ArrivalResult] = []
    storm: StormResult | None = None
    try:
        cases = [("coshop", True), ("coshop", False)]
        if baseline:
            cases.append(("starlette", True))
        for kind, rest in cases:
            how = "REST+hello" if rest else "hello"
            print(f"  arrivals: {kind} {how} x{members} …", flush=True)
            results.append(await _arrivals_case(kind, members, pool, concurrency, rest=rest))
        if storm_viewers:
            print(f"  arrivals: reconnect storm of {storm_viewers} viewers …", flush=True)
            storm = await run_storm(storm_viewers, pool)
    finally:
        await pool.close()
    with tempfile.TemporaryDirectory(prefix="coshop-bench-fsync-") as tmp:
        fsyncs = await asyncio.to_thread(sqlite_commits_per_s, Path(tmp))
    return _tables(results, storm, fsyncs, members, concurrency, workers), (results, storm, fsyncs)


def _tables(
    results: list[ArrivalResult],
    storm: StormResult | None,
    fsyncs: float,
    members: int,
    concurrency: int,
    workers: int,
) -> list[Table]:
    table = Table(
        "Arrivals: members joining a live room (SQLite)",
        [
            "server",
            "path",
            "members",
            "members/s",
            "p50 ms",
            "p99 ms",
            "server CPU µs/member",
            "client CPU %",
            "errors",
        ],
    )
    for r in results:
        p50, p99 = percentile_ms(r.latencies, 0.5, 0.99)
        table.add(
            r.server,
            r.path,
            r.members,
            r.per_s,
            p50,
            p99,
            r.cpu_us_per_member,
            r.client_cpu_pct,
            len(r.errors),
        )
    table.add("sqlite3", "one fsynced transaction per join", "-", fsyncs, "-", "-", "-", "-", "-")
    table.notes += [
        f"{members:,} viewers arrive per case, {concurrency} in flight per load-client process "
        f"({workers} processes); each stays connected, so later ones join a fuller room.",
        "members/s = viewers welcomed ÷ time from the first request to the last welcome; "
        "p50/p99 per viewer from its request to its welcome.",
        "coshop: COSHOP_RATE_LIMITS=false (one client address), SQLite on the real disk with "
        "synchronous=FULL; starlette (bare): the same handshake on the same server stack, "
        "nothing stored; sqlite3: BEGIN IMMEDIATE, UPDATE, COMMIT with synchronous=FULL.",
    ]
    for r in results:
        if r.errors:
            table.notes.append(f"{r.server} {r.path}: {r.errors[0]}")
    tables = [table]
    if storm is not None:
        st = Table(
            "Reconnect storm after a restart (live room, SQLite)",
            [
                "viewers",
                "restart s",
                "all resumed s",
                "welcomed",
                "resumed",
                "snapshots",
                "gaps",
                "behind head",
                "events during",
                "server CPU s",
            ],
        )
        st.add(
            storm.viewers,
            storm.restart_s,
            storm.storm_s,
            storm.welcomed,
            storm.resumed,
            storm.snapshots,
            storm.gaps,
            storm.behind,
            storm.events_during,
            storm.server_cpu_s,
        )
        st.notes += [
            "restart s: the old process told to stop (SIGINT; sockets closed with 1001) → the new "
            "one answering /healthz; all resumed s: from then to the last viewer's welcome.",
            "resumed = welcome with resumed: true and a batch of exactly what was missed; "
            "snapshots = a fresh view instead; gaps = batches starting past a viewer's cursor + 1 "
            "(events lost); behind head = viewers whose cursor is below the room's seq "
            f"({storm.head:,}) at the end.",
            f"the host posts 20 messages/s before the restart and during the storm "
            f"({storm.events_during} during); at most 1,000 handshakes in flight per load-client "
            "process.",
        ]
        if storm.still_open:
            st.notes.append(f"{storm.still_open} old connections outlived the old process")
        if storm.errors:
            st.notes.append(f"errors: {storm.errors[0]}")
        tables.append(st)
    tables.append(_targets(results, storm))
    return tables


def _targets(results: list[ArrivalResult], storm: StormResult | None) -> Table:
    t = Table("Targets (issue 18, item 2)", ["target", "measured", "limit", "verdict"])
    rest = [r for r in results if r.server == "coshop" and r.path.startswith("REST")]
    if rest:
        ok = rest[0].per_s >= 1000 and not rest[0].errors
        t.add(
            "members/s joining a live room (REST join + hello)",
            f"{fmt(rest[0].per_s)}/s",
            "≥ 1,000/s",
            "PASS" if ok else "MISS",
        )
    if storm is not None:
        everyone = storm.resumed == storm.viewers and storm.welcomed == storm.viewers
        lost = storm.gaps or storm.behind
        t.add(
            f"reconnect storm, {storm.viewers:,} viewers: all resumed, nothing lost",
            f"{storm.resumed:,} resumed, {storm.gaps} gaps, {storm.behind} behind, "
            f"{fmt(storm.storm_s)} s",
            "all, 0, 0, ≤ 10 s",
            "PASS" if everyone and not lost and storm.storm_s <= 10 else "MISS",
        )
    return t
