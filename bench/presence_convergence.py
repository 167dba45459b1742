"""Convergence and restart times of several coshop processes (docs/deploy.md, issue 17).

Two ``coshop serve`` processes (A and B) share a fresh PostgreSQL database and a Redis key prefix
of their own, with the default ``COSHOP_PRESENCE_TTL_S`` (30 s) unless ``--ttl`` says otherwise.
A watcher sits on A; what is measured is the time from an action on B to the watcher's frame:

- presence: a member connects on B → A's watcher gets a ``presence`` frame with them; the member
  disconnects → a frame without them (a group room);
- count: a viewer connects on B → A's host gets the new ``count`` (a live room; counts go out at
  most once a second, so this includes that wait);
- B stops cleanly (SIGTERM) → A's watcher sees B's member leave;
- B is killed (SIGKILL) → A's watcher sees B's member leave (the TTL does it);
- restart: B (or a single SQLite process) is killed and started again → ``/livez`` answers,
  ``/readyz`` answers 200, and an existing room serves again (a member's ``welcome`` and the
  ``ack`` of a command).

Run: ``.venv/bin/python -m bench.presence_convergence [--rounds 40] [--kills 2] [--ttl 30]``.
Prints figures; asserts nothing (tests/server/test_presence.py checks the properties).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.crossproc import redis_prefix
from bench.durable import postgres_database
from bench.proc import SECRET, cpu_ns, describe_machine, free_port

_ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"


class Proc:
    """One ``coshop serve`` that can be killed and started again on the same port."""

    def __init__(self, name: str, tmp: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{name}.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(_ROOT),
            "COSHOP_SECRET_KEY": SECRET,
            "COSHOP_DATA_DIR": str(tmp / name),
            "COSHOP_PORT": str(self.port),
            "COSHOP_PROCESS_ID": name,
            "COSHOP_DEMO": "true",
            "COSHOP_PUBLIC_ROOMS": "true",
            "COSHOP_LOG_LEVEL": "warning",
            "COSHOP_RATE_LIMITS": "false",
            "COSHOP_CLIENT_SHARE": "0",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> float:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve"],
                env=self.env,
                stdout=out,
                stderr=out,
                cwd=_ROOT,
            )
        return time.monotonic()

    async def until(self, path: str, status: int = 200) -> float:
        async with httpx.AsyncClient(base_url=self.base) as http:
            while True:
                assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(path, timeout=1)).status_code == status:
                        return time.monotonic()
                await asyncio.sleep(0.01)

    async def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        await asyncio.to_thread(self.proc.wait, 15)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                await asyncio.to_thread(self.proc.wait, 15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Member:
    """A bare JSON socket of one member; ``frames`` is read in the background."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.rosters: list[set[str]] = []
        self.roster_at: list[float] = []  # when each roster arrived
        self.counts: list[int] = []
        self.acks: set[str] = set()
        self.welcomed = asyncio.Event()
        self.changed = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, base: str, room_id: str, token: str) -> Member:
        url = base.replace("http", "ws", 1) + f"/ws/rooms/{room_id}"
        ws = await connect(url, subprotocols=["coshop.v1.json"], compression=None)  # type: ignore[list-item]  # Subprotocol is a NewType of str
        member = cls(ws)
        await ws.send(json.dumps({"t": "hello", "token": token, "last_seq": None}))
        return member

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                msg = json.loads(raw)
                t = msg.get("t")
                if t == "welcome":
                    self.welcomed.set()
                elif t == "presence":
                    self.rosters.append({m["member_id"] for m in msg["members"]})
                    self.roster_at.append(time.monotonic())
                elif t == "count":
                    self.counts.append(msg["online"])
                elif t == "ack":
                    self.acks.add(msg["op"])
                self.changed.set()

    async def until(self, ok: Callable[[], bool], limit_s: float = 120.0) -> float:
        deadline = time.monotonic() + limit_s
        while not ok():
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no convergence")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)
        return time.monotonic()

    async def close(self) -> None:
        await self.ws.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def _room(base: str, kind: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.post(
            "/api/v1/rooms", json={"kind": kind, "title": "Bench", "host_name": "H"}
        )
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data


async def _join(base: str, room: dict[str, Any], name: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.post(
            f"/api/v1/rooms/{room['room_id']}/join",
            json={"invite": room["invite"]["token"], "name": name},
        )
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data


def _has(m: Member, member_id: str) -> Callable[[], bool]:
    return lambda: bool(m.rosters) and member_id in m.rosters[-1]


def _first(m: Member, member_id: str, since: float) -> float:
    """When ``m`` first received a roster with ``member_id`` after ``since``."""
    pairs = zip(m.roster_at, m.rosters, strict=True)
    return next(at for at, r in pairs if at >= since and member_id in r)


def _lacks(m: Member, member_id: str) -> Callable[[], bool]:
    return lambda: bool(m.rosters) and member_id not in m.rosters[-1]


def _counts(m: Member, online: int) -> Callable[[], bool]:
    return lambda: bool(m.counts) and m.counts[-1] == online


def _ms(samples: list[float]) -> str:
    if not samples:
        return "n/a"
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"median {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms (n={len(ordered)})"
    )


@contextlib.asynccontextmanager
async def _pair(tmp: Path, db: str, prefix: str, ttl: int) -> AsyncIterator[tuple[Proc, Proc]]:
    env = {
        "COSHOP_DATABASE_URL": db,
        "COSHOP_BROKER_URL": REDIS_URL,
        "COSHOP_BROKER_PREFIX": prefix,
        "COSHOP_PRESENCE_TTL_S": str(ttl),
    }
    a, b = Proc("bench-a", tmp, env), Proc("bench-b", tmp, env)
    try:
        a.spawn()
        b.spawn()
        await asyncio.gather(a.until("/readyz"), b.until("/readyz"))
        yield a, b
    finally:
        await asyncio.gather(a.stop(), b.stop())


async def presence_rounds(
    a: Proc, b: Proc, rounds: int
) -> tuple[list[float], list[float], list[float]]:
    """(connect on B → seen on A, B's own roster → A's roster, disconnect on B → seen on A)."""
    room = await _room(a.base, "group")
    watcher = await Member.open(a.base, room["room_id"], room["host"]["token"])
    await watcher.welcomed.wait()
    joined, crossed, left = [], [], []
    # a group room holds a dozen members: the same few connect and disconnect in turn
    pool = [await _join(a.base, room, f"M{i}") for i in range(8)]
    for i in range(rounds):
        m = pool[i % len(pool)]
        sent = time.monotonic()
        member = await Member.open(b.base, room["room_id"], m["token"])
        seen = await watcher.until(_has(watcher, m["member_id"]))
        joined.append(seen - sent)
        await member.until(_has(member, m["member_id"]))  # B told its own sessions
        crossed.append(_first(watcher, m["member_id"], sent) - _first(member, m["member_id"], 0))
        await asyncio.sleep(0.05)
        sent = time.monotonic()
        await member.close()
        seen = await watcher.until(_lacks(watcher, m["member_id"]))
        left.append(seen - sent)
    await watcher.close()
    return joined, crossed, left


async def count_rounds(a: Proc, b: Proc, rounds: int) -> list[float]:
    room = await _room(a.base, "live")
    host = await Member.open(a.base, room["room_id"], room["host"]["token"])
    await host.welcomed.wait()
    out: list[float] = []
    viewers = []
    for i in range(rounds):
        v = await _join(a.base, room, f"V{i}")
        await asyncio.sleep(1.1)  # past the last count's second: measure the broker, mostly
        sent = time.monotonic()
        viewers.append(await Member.open(b.base, room["room_id"], v["token"]))
        seen = await host.until(_counts(host, i + 2))
        out.append(seen - sent)
    for viewer in viewers:
        await viewer.close()
    await host.close()
    return out


async def leave_on_stop(a: Proc, b: Proc, sig: signal.Signals) -> float:
    room = await _room(a.base, "group")
    watcher = await Member.open(a.base, room["room_id"], room["host"]["token"])
    m = await _join(a.base, room, "Bo")
    await Member.open(b.base, room["room_id"], m["token"])
    await watcher.until(_has(watcher, m["member_id"]))
    await asyncio.sleep(0.5)
    sent = time.monotonic()
    await b.signal(sig)
    seen = await watcher.until(_lacks(watcher, m["member_id"]), limit_s=300)
    await watcher.close()
    return seen - sent


async def restart(
    proc: Proc, room: dict[str, Any], member: dict[str, Any], op: str
) -> dict[str, float]:
    """Kill ``proc``, start it again: seconds until /livez, /readyz, welcome, ack."""
    await proc.signal(signal.SIGKILL)
    started = proc.spawn()
    live = await proc.until("/livez")
    ready = await proc.until("/readyz")
    assert proc.proc is not None
    cpu_s = cpu_ns(proc.proc.pid) / 1e9  # its own CPU time to get there: what load cannot inflate
    m = await Member.open(proc.base, room["room_id"], member["token"])
    await m.welcomed.wait()
    welcomed = time.monotonic()
    await m.ws.send(
        json.dumps({"t": "cmd", "op": op, "name": "PostMessage", "args": {"text": "back"}})
    )
    acked = await m.until(lambda: op in m.acks)
    await m.close()
    return {
        "livez": live - started,
        "readyz": ready - started,
        "welcome": welcomed - started,
        "ack": acked - started,
        "cpu": cpu_s,
    }


async def main(rounds: int, kills: int, ttl: int, restarts: int) -> None:
    print("machine:", json.dumps(describe_machine()), flush=True)
    print("load average at start: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()), flush=True)
    with tempfile.TemporaryDirectory(prefix="coshop-conv-") as raw:
        tmp = Path(raw)
        async with postgres_database() as db, redis_prefix() as prefix:
            if db is None or prefix is None:
                print("needs PostgreSQL and Redis on loopback")
                return
            async with _pair(tmp, db, prefix, ttl) as (a, b):
                joined, crossed, left = await presence_rounds(a, b, rounds)
                print(f"presence, join on B seen on A: {_ms(joined)}", flush=True)
                print(f"presence, B's own roster frame to A's: {_ms(crossed)}", flush=True)
                print(f"presence, leave on B seen on A: {_ms(left)}", flush=True)
                counts = await count_rounds(a, b, max(5, rounds // 4))
                print(f"live count, viewer on B counted on A: {_ms(counts)}", flush=True)
                room = await _room(a.base, "group")
                member = await _join(a.base, room, "R")
                samples = [await restart(b, room, member, f"r{i}") for i in range(restarts)]
                for key in ("livez", "readyz", "welcome", "ack", "cpu"):
                    print(
                        f"PostgreSQL+Redis restart (SIGKILL, start) until {key}: "
                        f"{_ms([s[key] for s in samples])}",
                        flush=True,
                    )
                stops = []
                for _ in range(kills):
                    stops.append(await leave_on_stop(a, b, signal.SIGTERM))
                    b.spawn()
                    await b.until("/readyz")
                print(f"B stops cleanly (SIGTERM), its member gone on A: {_ms(stops)}", flush=True)
                killed = []
                for _ in range(kills):
                    killed.append(await leave_on_stop(a, b, signal.SIGKILL))
                    b.spawn()
                    await b.until("/readyz")
                print(
                    f"B killed (SIGKILL, TTL {ttl} s), its member gone on A: {_ms(killed)}",
                    flush=True,
                )
        print("load average now: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()), flush=True)
        single = Proc("bench-sqlite", tmp, {})
        try:
            single.spawn()
            await single.until("/readyz")
            room = await _room(single.base, "group")
            member = await _join(single.base, room, "R")
            samples = [await restart(single, room, member, f"s{i}") for i in range(restarts)]
            for key in ("livez", "readyz", "welcome", "ack", "cpu"):
                print(
                    f"SQLite restart (SIGKILL, start) until {key}: "
                    f"{_ms([s[key] for s in samples])}",
                    flush=True,
                )
        finally:
            await single.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--ttl", type=int, default=30)
    parser.add_argument("--restarts", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.kills, args.ttl, args.restarts))
