"""Live-room fan-out: one room, N members, a publisher at a fixed rate; coshop next to baselines.

For each case a fresh server process starts, N receivers connect through the load-client pool
(coshop members join on ``hello`` with tokens minted from the server's secret), a publisher in
this process sends chat messages at scheduled instants, and each message's text carries its
scheduled ``CLOCK_MONOTONIC`` time. Figures: server CPU (its own, all threads) per delivered
event and per delivered frame, deliveries/s, missing deliveries, p50/p99 latency from the
scheduled send time, and the load clients' own CPU so a client bottleneck is visible.

The "slow clients" case adds receivers that stop reading after their welcome (with a 4 KiB
receive buffer, so the kernel does not hide them for minutes): coshop must close them with 1013
while everyone else's latency stays where it was.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import ClientPool, ConnSpec, Dialect, marker
from bench.proc import ServerProc, mint, run_server
from bench.report import Table, percentile_ms
from bench.wsclient import WsConn, open_ws

__all__ = [
    "FanoutCase",
    "FanoutResult",
    "PreparedRoom",
    "prepare_room",
    "run_case",
    "run_fanout",
    "run_slow",
]

SERVERS = ("coshop", "websockets", "starlette", "socketio")
_DIALECT = {
    "coshop": Dialect.COSHOP,
    "websockets": Dialect.PLAIN,
    "starlette": Dialect.PLAIN,
    "socketio": Dialect.SOCKETIO,
}
# python-socketio is far past saturation at 1,000 members already (it delivered nothing at 5,000
# in the first full run); larger rooms only cost minutes.
SOCKETIO_MAX_MEMBERS = 2_000
# The publisher is one connection sending faster than a person could; lift coshop's per-socket
# limit for it (the limit protects against floods, it is not what this benchmark measures).
COSHOP_FANOUT_ENV = {"COSHOP_COMMANDS_PER_SECOND": "1000", "COSHOP_COMMAND_BURST": "1000"}


@dataclass(frozen=True)
class FanoutCase:
    server: str
    members: int
    rate: float
    seconds: float
    slow: int = 0
    pad: int = 0  # extra characters in each message
    env: tuple[tuple[str, str], ...] = ()
    warmup: float = 1.0  # seconds of unmeasured publishing (and as much again of quiet) first


@dataclass
class FanoutResult:
    case: FanoutCase
    opened: int
    setup_s: float
    events: int
    deliveries: int
    frames: int
    missing: int
    server_cpu_s: float
    client_cpu_s: float
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    evicted: float = 0.0
    slow_codes: list[int | None] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def us_per_delivery(self) -> float | None:
        return self.server_cpu_s * 1e6 / self.deliveries if self.deliveries else None

    @property
    def us_per_frame(self) -> float | None:
        return self.server_cpu_s * 1e6 / self.frames if self.frames else None

    @property
    def deliveries_per_s(self) -> float:
        return self.deliveries / self.case.seconds


class Publisher:
    """The sending side, in this (otherwise idle) process so its schedule does not slip."""

    def __init__(self, dialect: str, conn: WsConn, refusals: list[bytes]) -> None:
        self.dialect = dialect
        self.conn = conn
        self.sent = 0
        self.refusals = refusals  # err frames the server sent the publisher
        # op ids must be new to the room: a reused id is answered as a duplicate, not applied
        self.op_prefix = uuid.uuid4().hex[:8]

    @classmethod
    async def open(cls, server: ServerProc, dialect: str, room: dict[str, Any] | None) -> Publisher:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        refusals: list[bytes] = []

        def on_message(conn: WsConn, payload: bytes, opcode: int) -> None:
            if payload.startswith(b'{"t":"err"'):
                refusals.append(payload[:300])
            if dialect == Dialect.SOCKETIO:
                if payload[:1] == b"0":
                    conn.send(b"40")
                elif payload[:2] == b"40" and not ready.done():
                    ready.set_result(None)
                elif payload[:1] == b"2":
                    conn.send(b"3")
            elif b'"t":"welcome"' in payload and not ready.done():
                ready.set_result(None)

        if dialect == Dialect.COSHOP:
            assert room is not None
            path, sub = f"/ws/rooms/{room['room_id']}", "coshop.v1.json"
        elif dialect == Dialect.SOCKETIO:
            path, sub = "/socket.io/?EIO=4&transport=websocket&pub=1", None
        else:
            path, sub = "/pub", None
        conn = await open_ws("127.0.0.1", server.port, path, on_message, subprotocol=sub)
        if dialect == Dialect.COSHOP:
            assert room is not None
            hello = {"t": "hello", "token": room["host"]["token"], "last_seq": None}
            conn.send(json.dumps(hello).encode())
        elif dialect == Dialect.PLAIN:
            ready.set_result(None)
        await asyncio.wait_for(ready, 10)
        return cls(dialect, conn, refusals)

    def publish(self, text: str) -> None:
        self.sent += 1
        if self.dialect == Dialect.COSHOP:
            msg = {
                "t": "cmd",
                "op": f"{self.op_prefix}-{self.sent}",
                "name": "PostMessage",
                "args": {"text": text},
            }
            self.conn.send(json.dumps(msg).encode())
        elif self.dialect == Dialect.SOCKETIO:
            self.conn.send(b"42" + json.dumps(["pub", {"text": text}]).encode())
        else:
            self.conn.send(json.dumps({"text": text}).encode())

    async def run(self, rate: float, seconds: float, *, pad: int = 0, kind: str = "T") -> int:
        """Publish ``rate`` messages a second for ``seconds``; returns how many were sent."""
        loop = asyncio.get_running_loop()
        period_ns = int(1e9 / rate)
        count = max(1, int(rate * seconds))
        start_ns = time.monotonic_ns() + 100_000_000
        filler = " " + "x" * pad if pad else ""
        done = loop.create_future()

        def fire(i: int) -> None:
            sched = start_ns + i * period_ns
            self.publish(f"bench {i} {marker(kind, sched)}{filler}")
            if i == count - 1 and not done.done():
                done.set_result(None)

        for i in range(count):
            loop.call_at((start_ns + i * period_ns) / 1e9, fire, i)
        await done
        return count


async def _create_live_room(server: ServerProc) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        r = await http.post(
            "/api/v1/rooms", json={"kind": "live", "title": "Bench live", "host_name": "Host"}
        )
        r.raise_for_status()
        room: dict[str, Any] = r.json()
        return room


def receiver_specs(
    server: ServerProc, room: dict[str, Any] | None, n: int, *, slow: int = 0, prefix: str = "v"
) -> list[ConnSpec]:
    """``n`` receivers of the server's dialect; the last ``slow`` of them never read."""
    dialect = _DIALECT[server.kind]
    specs: list[ConnSpec] = []
    for i in range(n):
        is_slow = i >= n - slow
        if dialect == Dialect.COSHOP:
            assert room is not None
            rid = room["room_id"]
            token = mint(rid, f"{prefix}{i}", "viewer", f"Viewer {i}")
            hello = json.dumps({"t": "hello", "token": token, "last_seq": None}).encode()
            specs.append(ConnSpec(server.port, f"/ws/rooms/{rid}", dialect, hello, is_slow))
        elif dialect == Dialect.SOCKETIO:
            specs.append(
                ConnSpec(
                    server.port, "/socket.io/?EIO=4&transport=websocket", dialect, None, is_slow
                )
            )
        else:
            specs.append(ConnSpec(server.port, "/sub", dialect, None, is_slow))
    return specs


@dataclass(frozen=True)
class PreparedRoom:
    """A coshop data directory holding a live room whose members already joined."""

    data_dir: Path
    room: dict[str, Any]
    members: int
    join_rate: float  # members admitted per second while preparing


async def prepare_room(data_dir: Path, members: int, pool: ClientPool) -> PreparedRoom:
    """Open a live room and let ``members`` viewers join (a few hundred connected at a time).

    Every join is a durable event the actor commits on its own, and while N members are
    connected each tick sends them a batch and a count; admitting thousands at once is slow (see
    docs/performance.md), so members join in chunks and disconnect. Later runs reconnect them:
    a member who already joined is welcomed without a new event.
    """
    async with run_server("coshop", data_dir=data_dir) as server:
        room = await _create_live_room(server)
        specs = receiver_specs(server, room, members)
        t0 = time.monotonic()
        for i in range(0, members, 250):
            await pool.open(specs[i : i + 250])
            await pool.call("close")
        rate = members / (time.monotonic() - t0)
    return PreparedRoom(data_dir, room, members, rate)


async def run_case(
    case: FanoutCase,
    pool: ClientPool,
    prepared: PreparedRoom | None = None,
    *,
    profile: Path | None = None,
) -> FanoutResult:
    env = dict(case.env)
    if case.server == "coshop":
        env = {**COSHOP_FANOUT_ENV, **env}
    data_dir = prepared.data_dir if prepared is not None and case.server == "coshop" else None
    async with run_server(case.server, env=env, data_dir=data_dir, profile=profile) as server:
        room = None
        if case.server == "coshop":
            room = prepared.room if prepared is not None else await _create_live_room(server)
        t0 = time.monotonic()
        specs = receiver_specs(server, room, case.members + case.slow, slow=case.slow)
        opened, errors = await pool.open(specs)
        publisher = await Publisher.open(server, _DIALECT[case.server], room)
        setup_s = time.monotonic() - t0
        await asyncio.sleep(case.warmup)  # let the join traffic drain
        await publisher.run(min(case.rate, 20), case.warmup, pad=case.pad, kind="W")
        await asyncio.sleep(case.warmup / 2)
        await pool.call("reset")
        evicted0 = await server.metric("coshop_outbox_evictions_total") if case.slow else 0.0
        cpu0 = server.cpu_ns()
        events = await publisher.run(case.rate, case.seconds, pad=case.pad)
        await _settle(pool, case.seconds)
        cpu1 = server.cpu_ns()
        await pool.call("pause_stats")
        stats = await pool.collect()
        evicted = 0.0
        codes: list[int | None] = []
        if case.slow:
            if case.server == "coshop":
                evicted = await server.metric("coshop_outbox_evictions_total") - evicted0
            replies = await pool.call("resume_slow", min(2.0, max(0.5, case.seconds)))
            codes = [c for r in replies for c in r]
        await pool.call("close")
        publisher.conn.close()
        if publisher.refusals:
            errors.append(
                f"publisher refused {len(publisher.refusals)}x: {publisher.refusals[0]!r}"
            )
    receivers = opened - case.slow
    p50, p99, pmax = percentile_ms(stats["latencies"], 0.5, 0.99, 1.0)
    return FanoutResult(
        case=case,
        opened=opened,
        setup_s=setup_s,
        events=events,
        deliveries=stats["deliveries"],
        frames=stats["frames"],
        missing=max(0, events * receivers - stats["deliveries"]),
        server_cpu_s=(cpu1 - cpu0) / 1e9,
        client_cpu_s=stats["cpu_ns"] / 1e9,
        p50_ms=p50,
        p99_ms=p99,
        max_ms=pmax,
        evicted=evicted,
        slow_codes=codes,
        errors=errors,
    )


async def _settle(pool: ClientPool, seconds: float) -> None:
    """Give the last deliveries time to land (a quarter of the run, 0.3-1.5 s)."""
    await asyncio.sleep(min(1.5, max(0.3, seconds / 4)))


def fanout_table(results: list[FanoutResult], title: str) -> Table:
    table = Table(
        title,
        [
            "server",
            "members",
            "ev/s",
            "deliveries/s",
            "missing",
            "server CPU %",
            "µs/delivery",
            "µs/frame",
            "p50 ms",
            "p99 ms",
            "max ms",
            "client CPU %",
        ],
    )
    for r in results:
        c = r.case
        table.add(
            c.server,
            r.opened - c.slow,
            c.rate,
            r.deliveries_per_s,
            r.missing,
            100 * r.server_cpu_s / c.seconds,
            r.us_per_delivery,
            r.us_per_frame,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            100 * r.client_cpu_s / c.seconds,
        )
    return table


async def run_fanout(
    members: list[int],
    rates: list[float],
    seconds: float,
    workers: int,
    high_rate_members: int,
    *,
    warmup: float = 1.0,
) -> tuple[list[Table], list[FanoutResult]]:
    """Every server at every N for the first rate; the other rates at ``high_rate_members``."""
    results: list[FanoutResult] = []
    pool = ClientPool(workers)
    try:
        with tempfile.TemporaryDirectory(prefix="coshop-bench-room-") as tmp:
            top = max([*members, high_rate_members])
            print(f"  fan-out: {top} coshop members join the live room …", flush=True)
            prepared = await prepare_room(Path(tmp), top, pool)
            cases = [
                FanoutCase(s, n, rates[0], seconds, warmup=warmup)
                for n in members
                for s in SERVERS
                if s != "socketio" or n <= SOCKETIO_MAX_MEMBERS
            ] + [FanoutCase(s, high_rate_members, r, seconds) for r in rates[1:] for s in SERVERS]
            for case in cases:
                print(f"  fan-out: {case.server} N={case.members} {case.rate:g} ev/s …", flush=True)
                results.append(await run_case(case, pool, prepared))
    finally:
        await pool.close()
    table = fanout_table(results, "Live-room fan-out (one room, one publisher, same load client)")
    table.notes += [
        f"{seconds:g} s measured per case after a {warmup:g} s warm-up; {workers} load-client "
        "processes; "
        "latency from the scheduled send time to the receiving client's read.",
        "µs/delivery = server CPU (all threads, /proc schedstat) ÷ events delivered to receivers; "
        "µs/frame ÷ WebSocket data frames delivered (coshop live rooms batch per 50 ms tick).",
        "missing = events x receivers - deliveries counted by the end of the run.",
        f"python-socketio runs up to {SOCKETIO_MAX_MEMBERS:,} members (saturated well before).",
        f"coshop members joined beforehand ({top:,} joins at {prepared.join_rate:.0f}/s, in "
        "chunks of 250) and reconnect for each case; coshop's log is SQLite on the real disk "
        "(synchronous=FULL), so every chat message is fsynced before it is delivered.",
    ]
    return [table], results


SLOW_SNDBUF = 16_384


async def run_slow(
    members: int,
    slow: int,
    rate: float,
    seconds: float,
    workers: int,
    outbox: int,
    *,
    warmup: float = 1.0,
    baseline: bool = True,
) -> tuple[list[Table], list[FanoutResult]]:
    """coshop with and without clients that never read; bare websockets with them, for contrast."""
    # a small kernel send buffer (COSHOP_SOCKET_SEND_BUFFER) so that a client that stops
    # reading fills its outbox within the measured window instead of after a minute
    env = (("COSHOP_OUTBOX_FRAMES", str(outbox)), ("COSHOP_SOCKET_SEND_BUFFER", str(SLOW_SNDBUF)))
    pad = 440  # chat text is capped at 500 characters; the marker needs the rest
    cases = [
        FanoutCase("coshop", members, rate, seconds, 0, pad, env, warmup),
        FanoutCase("coshop", members, rate, seconds, slow, pad, env, warmup),
        FanoutCase("websockets", members, rate, seconds, 0, pad, (), warmup),
        FanoutCase("websockets", members, rate, seconds, slow, pad, (), warmup),
    ][: 4 if baseline else 2]
    results: list[FanoutResult] = []
    pool = ClientPool(workers)
    try:
        with tempfile.TemporaryDirectory(prefix="coshop-bench-room-") as tmp:
            prepared = await prepare_room(Path(tmp), members + slow, pool)
            for case in cases:
                print(f"  slow clients: {case.server} slow={case.slow} …", flush=True)
                results.append(await run_case(case, pool, prepared))
    finally:
        await pool.close()
    table = Table(
        "Slow clients stay isolated",
        [
            "server",
            "members",
            "slow",
            "ev/s",
            "missing (others)",
            "p50 ms",
            "p99 ms",
            "µs/delivery",
            "evicted",
            "slow clients' close codes",
        ],
    )
    for r in results:
        codes = sorted(set(r.slow_codes), key=lambda c: -2 if c is None else c)
        table.add(
            r.case.server,
            r.opened - r.case.slow,
            r.case.slow,
            r.case.rate,
            r.missing,
            r.p50_ms,
            r.p99_ms,
            r.us_per_delivery,
            int(r.evicted) if r.case.server == "coshop" and r.case.slow else None,
            ", ".join("open" if c is None else ("dropped" if c == -1 else str(c)) for c in codes)
            or "-",
        )
    table.notes += [
        f"Slow clients read nothing after their welcome and have a 4 KiB receive buffer; "
        f"messages carry {pad} extra characters; coshop runs with COSHOP_OUTBOX_FRAMES={outbox} "
        f"and COSHOP_SOCKET_SEND_BUFFER={SLOW_SNDBUF} so that an outbox fills within the run "
        "(the defaults are 2,000 frames and 262,144 bytes).",
        "evicted = coshop_outbox_evictions_total during the measured window. "
        "Close codes are what the slow clients find once they read again at the end "
        "('dropped' = the TCP connection was gone; 'open' = still connected).",
    ]
    return [table], results
