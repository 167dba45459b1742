"""Soak: a real coshop server under a steady, bounded loopback load for minutes; a row a window.

Group rooms over REST; in each, a few members chat without pause (a ``PostMessage`` every
``1 / rate`` seconds, each awaited to its ``ack``) while others churn: join over REST, say
``hello`` on a WebSocket, post once, ``Leave`` and hang up. Every window (a minute by default)
one row: the server's RSS, open descriptors and asyncio tasks (``process_open_fds`` and
``coshop_process_tasks`` from ``/metrics``), commands acknowledged, p50/p99 latency from send
to ack, churn cycles and errors. Descriptors and tasks should stay flat (nothing leaks); RSS
may climb at first (caches, the event log) and should level off.

The load is one asyncio client in this process: bounded by construction, loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.proc import ServerProc, run_server
from bench.report import Table, percentile_ms
from server.transport.wire import JSON

__all__ = ["SoakResult", "SoakRow", "run_soak"]

SUBPROTOCOL = JSON.name  # coshop.v1.json


@dataclass
class SoakRow:
    minute: float  # end of the window, in minutes since the load started
    rss_mib: float
    fds: int
    tasks: int
    acks: int
    p50_ms: float | None
    p99_ms: float | None
    churns: int
    errors: int


@dataclass
class SoakResult:
    rows: list[SoakRow] = field(default_factory=list)
    fds_before: int = 0
    tasks_before: int = 0
    rss_before_mib: float = 0.0


@dataclass
class _Window:
    latencies: array[int] = field(default_factory=lambda: array("q"))
    churns: int = 0
    errors: int = 0
    last_error: str = ""


def _fds(pid: int) -> int:
    try:
        return len(list(Path(f"/proc/{pid}/fd").iterdir()))
    except OSError:
        return 0


async def _open(server: ServerProc, room_id: str, token: str) -> ClientConnection:
    ws = await connect(
        f"ws://127.0.0.1:{server.port}/ws/rooms/{room_id}",
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]  # Subprotocol is a NewType of str
        compression=None,
        open_timeout=10,
        max_size=2**22,
    )
    await ws.send(json.dumps({"t": "hello", "token": token, "last_seq": None}))
    await _until(ws, lambda m: m.get("t") == "welcome")
    return ws


async def _until(ws: ClientConnection, match: Any, timeout: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            msg: dict[str, Any] = json.loads(await ws.recv())
            if match(msg):
                return msg
            if msg.get("t") == "error" and msg.get("op") is not None:
                raise RuntimeError(f"refused: {msg.get('code')}")


async def _command(ws: ClientConnection, op: str, name: str, args: dict[str, Any]) -> int:
    """Send a command and wait for its ack; returns the latency in nanoseconds."""
    t0 = time.perf_counter_ns()
    await ws.send(json.dumps({"t": "cmd", "op": op, "name": name, "args": args}))
    await _until(ws, lambda m: m.get("t") == "ack" and m.get("op") == op)
    return time.perf_counter_ns() - t0


async def _join(http: httpx.AsyncClient, room: dict[str, Any], name: str) -> str:
    r = await http.post(
        f"/api/v1/rooms/{room['room_id']}/join",
        json={"invite": room["invite"]["token"], "name": name},
    )
    r.raise_for_status()
    return str(r.json()["token"])


def _failed(window: _Window, exc: BaseException) -> None:
    window.errors += 1
    window.last_error = f"{type(exc).__name__}: {exc}"[:200]


async def _chatter(
    server: ServerProc,
    room: dict[str, Any],
    token: str,
    rate: float,
    stop: asyncio.Event,
    current: list[_Window],
) -> None:
    ops = itertools.count()
    while not stop.is_set():
        try:
            ws = await _open(server, room["room_id"], token)
            try:
                while not stop.is_set():
                    latency = await _command(
                        ws, f"m{next(ops)}", "PostMessage", {"text": "anyone seen the blue one"}
                    )
                    current[0].latencies.append(latency)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 1 / rate)
            finally:
                await ws.close()
        except (OSError, RuntimeError, TimeoutError, Exception) as exc:  # counted
            _failed(current[0], exc)
            await asyncio.sleep(1.0)


async def _churner(
    server: ServerProc,
    http: httpx.AsyncClient,
    room: dict[str, Any],
    pause: float,
    stop: asyncio.Event,
    current: list[_Window],
) -> None:
    n = itertools.count()
    while not stop.is_set():
        try:
            token = await _join(http, room, "Passer-by")
            ws = await _open(server, room["room_id"], token)
            try:
                i = next(n)
                latency = await _command(ws, f"c{i}", "PostMessage", {"text": "just looking"})
                current[0].latencies.append(latency)
                await _command(ws, f"l{i}", "Leave", {})
            finally:
                await ws.close()
            current[0].churns += 1
        except (OSError, RuntimeError, TimeoutError, Exception) as exc:  # counted
            _failed(current[0], exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)


async def _sample(server: ServerProc, start: float, window: _Window) -> SoakRow:
    p50, p99 = percentile_ms(window.latencies, 0.5, 0.99)
    return SoakRow(
        minute=(time.monotonic() - start) / 60,
        rss_mib=server.rss() / 2**20,
        fds=_fds(server.pid),
        tasks=int(await server.metric("coshop_process_tasks")),
        acks=len(window.latencies),
        p50_ms=p50,
        p99_ms=p99,
        churns=window.churns,
        errors=window.errors,
    )


async def run_soak(
    minutes: float = 3.0,
    *,
    window_s: float = 60.0,
    rooms: int = 8,
    chatters: int = 5,
    rate: float = 2.0,
    churn_pause_s: float = 1.0,
) -> tuple[list[Table], SoakResult]:
    """Run the soak for ``minutes``; one row every ``window_s`` seconds."""
    result = SoakResult()
    print(
        f"  soak: {minutes:g} min, {rooms} rooms of {chatters} chatters at {rate:g} commands/s, "
        f"a join/post/leave every {churn_pause_s:g} s per room …",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="coshop-bench-soak-") as tmp:
        async with (
            run_server("coshop", data_dir=Path(tmp)) as server,
            httpx.AsyncClient(base_url=server.base, timeout=30) as http,
        ):
            await asyncio.sleep(0.5)
            result.fds_before = _fds(server.pid)
            result.tasks_before = int(await server.metric("coshop_process_tasks"))
            result.rss_before_mib = server.rss() / 2**20
            stop = asyncio.Event()
            current = [_Window()]
            load: list[asyncio.Task[None]] = []
            for i in range(rooms):
                r = await http.post(
                    "/api/v1/rooms",
                    json={"kind": "group", "title": f"Soak {i}", "host_name": "Host"},
                )
                r.raise_for_status()
                room = r.json()
                tokens = [room["host"]["token"]]
                tokens += [await _join(http, room, "Shopper") for _ in range(chatters - 1)]
                for token in tokens:
                    load.append(
                        asyncio.create_task(_chatter(server, room, token, rate, stop, current))
                    )
                load.append(
                    asyncio.create_task(_churner(server, http, room, churn_pause_s, stop, current))
                )
            start = time.monotonic()
            end = start + minutes * 60
            try:
                while (now := time.monotonic()) < end:
                    await asyncio.sleep(min(window_s, end - now))
                    window, current[0] = current[0], _Window()
                    row = await _sample(server, start, window)
                    result.rows.append(row)
                    print(
                        f"  soak {row.minute:5.1f} min: RSS {row.rss_mib:.0f} MiB, {row.fds} fds, "
                        f"{row.tasks} tasks, {row.acks} acks, p99 {row.p99_ms or 0:.1f} ms, "
                        f"{row.churns} churns, {row.errors} errors"
                        + (f" (last: {window.last_error})" if window.errors else ""),
                        flush=True,
                    )
            finally:
                stop.set()
                await asyncio.gather(*load, return_exceptions=True)
    return [_table(result, rooms, chatters, rate, window_s)], result


def _table(result: SoakResult, rooms: int, chatters: int, rate: float, window_s: float) -> Table:
    table = Table(
        "Soak: a steady load for minutes, one row per window",
        [
            "minute",
            "RSS MiB",
            "descriptors",
            "tasks",
            "acks",
            "p50 ms",
            "p99 ms",
            "churns",
            "errors",
        ],
    )
    for r in result.rows:
        table.add(
            r.minute, r.rss_mib, r.fds, r.tasks, r.acks, r.p50_ms, r.p99_ms, r.churns, r.errors
        )
    table.notes.append(
        f"before the load: RSS {result.rss_before_mib:.0f} MiB, {result.fds_before} descriptors, "
        f"{result.tasks_before} tasks. Load: {rooms} group rooms of {chatters} members posting "
        f"{rate:g}/s each (every post awaited to its ack), plus in each room a passer-by who "
        "joins over REST, says hello, posts, leaves and hangs up, again and again. Windows of "
        f"{window_s:g} s; latency is send → ack on loopback. Descriptors and tasks should stay "
        "flat; RSS should level off."
    )
    return table
