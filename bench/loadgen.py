"""Load-client worker processes: many connections per process, driven over a pipe.

A :class:`ClientPool` starts ``workers`` processes; each runs one event loop holding its share of
the connections. Two roles:

- **receivers** (fan-out, idle, across processes): open, say hello in the server's dialect, then
  count every delivered event marker ``@T<scheduled monotonic ns>@`` and its latency;
- **commanders** (durable commands): a coshop member that adds one cart line and then changes its
  quantity, either closed-loop with a window of ops in flight or open-loop at a fixed rate;
- **viewers** (arrivals, reconnect storms: ``bench/viewers.py``): join over REST and ``hello``,
  keep their cursor, and resume after a restart (``viewers.*`` commands).

``time.monotonic_ns`` is CLOCK_MONOTONIC, shared by every process on the machine, so a latency is
the receive time minus the publisher's scheduled time even across processes. Workers never decide
anything: the benchmark in the parent says when to open, reset, run and collect.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import multiprocessing as mp
import re
import resource
import time
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, ClassVar

from bench.viewers import Viewers
from bench.wsclient import WsConn, open_ws

__all__ = ["ClientPool", "ConnSpec", "Dialect", "collect_latencies", "marker", "marker_ns"]

# The scheduled time travels as letters (0→a … 9→j): a run of 13+ digits could pass the Luhn check
# and be redacted by coshop's card-number gate, which would silently eat the marker.
MARKER = re.compile(rb"@T([a-j]+)@")
_FROM_LETTERS = bytes.maketrans(b"abcdefghij", b"0123456789")
_TO_LETTERS = str.maketrans("0123456789", "abcdefghij")


def marker(kind: str, ns: int) -> str:
    """``@T<ns as letters>@``: what a published message carries (``kind`` T counts, W does not)."""
    return f"@{kind}{str(ns).translate(_TO_LETTERS)}@"


def marker_ns(raw: bytes) -> int:
    return int(raw.translate(_FROM_LETTERS))


@dataclass(frozen=True)
class ConnSpec:
    """One connection: where, in which dialect, what to say first, and how to behave."""

    port: int
    path: str
    dialect: str  # "coshop" | "plain" | "socketio"
    hello: bytes | None = None
    slow: bool = False  # stop reading right after the hello is answered
    member_id: str = ""  # commanders: whose line this is


class Dialect:
    COSHOP = "coshop"
    PLAIN = "plain"
    SOCKETIO = "socketio"
    SUBPROTOCOL: ClassVar[dict[str, str | None]] = {
        COSHOP: "coshop.v1.json",
        PLAIN: None,
        SOCKETIO: None,
    }


# ---- per-process state ---------------------------------------------------------------------


@dataclass
class _Stats:
    deliveries: int = 0
    frames: int = 0
    latencies: array[int] = field(default_factory=lambda: array("q"))
    acks: int = 0
    errors: int = 0
    ack_latencies: array[int] = field(default_factory=lambda: array("q"))
    cpu0: int = field(default_factory=time.process_time_ns)
    t0: int = field(default_factory=time.monotonic_ns)


@dataclass
class _Cmdr:
    """A commander's own state."""

    spec: ConnSpec
    line_id: str | None = None
    sent: dict[str, int] = field(default_factory=dict)  # op -> send (or scheduled) ns
    k: int = 0
    window: int = 0
    ready: asyncio.Future[None] | None = None


async def _open_each(
    specs: list[ConnSpec], concurrency: int, one: Callable[[ConnSpec], Awaitable[None]]
) -> tuple[int, list[str]]:
    """Run ``one`` for every spec, ``concurrency`` at a time; (opened, first errors)."""
    gate = asyncio.Semaphore(concurrency)
    errors: list[str] = []

    async def guarded(spec: ConnSpec) -> None:
        async with gate:
            try:
                await one(spec)
            except (OSError, ConnectionError, TimeoutError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])

    await asyncio.gather(*(guarded(s) for s in specs))
    return len(specs) - len(errors), errors[:5]


class _Worker:
    def __init__(self) -> None:
        self.viewers = Viewers()  # arrivals and reconnect storms (bench/viewers.py)
        self.conns: list[WsConn] = []
        self.slow: list[WsConn] = []
        self.stats = _Stats()
        self.measuring = True
        self.stop_sending = False

    # receivers ----------------------------------------------------------------------------

    def on_receiver(self, conn: WsConn, payload: bytes, opcode: int) -> None:
        state = conn.state
        if isinstance(state, asyncio.Future):
            self._handshake(conn, payload, state)
            return
        markers = MARKER.findall(payload)
        if not markers or not self.measuring:
            if payload[:1] == b"2" and conn.path.startswith("/socket.io"):
                conn.send(b"3")  # Engine.IO ping → pong
            return
        now = time.monotonic_ns()
        st = self.stats
        st.frames += 1
        st.deliveries += len(markers)
        lat = st.latencies
        for m in markers:
            lat.append(now - int(m.translate(_FROM_LETTERS)))

    def _handshake(self, conn: WsConn, payload: bytes, ready: asyncio.Future[None]) -> None:
        if conn.path.startswith("/socket.io"):
            if payload[:1] == b"0":
                conn.send(b"40")
            elif payload[:2] == b"40" and not ready.done():
                conn.state = None
                ready.set_result(None)
            elif payload[:1] == b"2":
                conn.send(b"3")
            return
        if b'"t":"welcome"' in payload and not ready.done():
            conn.state = None
            ready.set_result(None)
        elif b'"t":"err"' in payload and not ready.done():
            ready.set_exception(ConnectionError(payload[:200].decode(errors="replace")))

    async def open_receivers(
        self, specs: list[ConnSpec], concurrency: int
    ) -> tuple[int, list[str]]:
        loop = asyncio.get_running_loop()

        async def one(spec: ConnSpec) -> None:
            ready: asyncio.Future[None] = loop.create_future()
            if spec.dialect == Dialect.PLAIN:
                ready.set_result(None)
            conn = await open_ws(
                "127.0.0.1",
                spec.port,
                spec.path,
                self.on_receiver,
                subprotocol=Dialect.SUBPROTOCOL[spec.dialect],
                rcvbuf=4096 if spec.slow else None,
                # the server's first frame may come with the 101: be ready for it
                state=None if ready.done() else ready,
            )
            if spec.hello is not None:
                conn.send(spec.hello)
            await asyncio.wait_for(ready, 30)
            self.conns.append(conn)
            if spec.slow:
                conn.pause()
                self.slow.append(conn)

        return await _open_each(specs, concurrency, one)

    async def resume_slow(self, wait: float) -> list[int | None]:
        for c in self.slow:
            c.resume()
        await asyncio.sleep(wait)
        return [
            c.close_code if c.close_code is not None or not c.closed.done() else -1
            for c in self.slow
        ]

    # commanders ---------------------------------------------------------------------------

    def on_commander(self, conn: WsConn, payload: bytes, opcode: int) -> None:
        c = conn.state
        assert isinstance(c, _Cmdr)
        if payload.startswith(b'{"t":"ack"'):
            msg = json.loads(payload)
            sent = c.sent.pop(msg["op"], None)
            if msg["op"] == "add":
                return
            if sent is not None and self.measuring:
                self.stats.acks += 1
                self.stats.ack_latencies.append(time.monotonic_ns() - sent)
            if c.window and not self.stop_sending:
                self._command(conn, c, time.monotonic_ns())
            return
        if c.line_id is None and b'"LineAdded"' in payload:
            msg = json.loads(payload)
            for ev in msg.get("evs", [msg]):
                e = ev.get("ev", {})
                if e.get("type") == "LineAdded" and e.get("added_by") == c.spec.member_id:
                    c.line_id = e["line_id"]
                    if c.ready is not None and not c.ready.done():
                        c.ready.set_result(None)
            return
        if payload.startswith(b'{"t":"welcome"'):
            args = {"sku": "tent-2p", "variant": None, "quantity": 1}
            conn.send(_cmd("add", "AddLine", args))
            c.sent["add"] = time.monotonic_ns()
            return
        if payload.startswith(b'{"t":"err"'):
            self.stats.errors += 1
            msg = json.loads(payload)
            c.sent.pop(str(msg.get("op")), None)
            if c.window and not self.stop_sending and msg.get("op"):
                self._command(conn, c, time.monotonic_ns())

    def _command(self, conn: WsConn, c: _Cmdr, stamp: int) -> None:
        assert c.line_id is not None
        c.k += 1
        op = f"q{c.k}"
        c.sent[op] = stamp
        conn.send(_cmd(op, "SetQuantity", {"line_id": c.line_id, "quantity": c.k % 5 + 1}))

    async def open_commanders(
        self, specs: list[ConnSpec], concurrency: int
    ) -> tuple[int, list[str]]:
        loop = asyncio.get_running_loop()

        async def one(spec: ConnSpec) -> None:
            c = _Cmdr(spec, ready=loop.create_future())
            conn = await open_ws(
                "127.0.0.1",
                spec.port,
                spec.path,
                self.on_commander,
                subprotocol=Dialect.SUBPROTOCOL[spec.dialect],
                state=c,
            )
            assert spec.hello is not None
            conn.send(spec.hello)
            assert c.ready is not None
            await asyncio.wait_for(c.ready, 30)
            self.conns.append(conn)

        return await _open_each(specs, concurrency, one)

    async def run_commanders(self, window: int, rate: float, seconds: float) -> None:
        """Closed loop (``window`` ops in flight each) or open loop (``rate`` ops/s in all)."""
        self.stop_sending = False
        for conn in self.conns:
            if isinstance(conn.state, _Cmdr):
                conn.state.window = window
        if window:
            now = time.monotonic_ns()
            for conn in self.conns:
                c = conn.state
                assert isinstance(c, _Cmdr)
                for _ in range(window):
                    self._command(conn, c, now)
            await asyncio.sleep(seconds)
            self.stop_sending = True
            return
        # open loop: this worker's ``rate`` commands/s go round-robin over its connections
        loop = asyncio.get_running_loop()
        conns = [c for c in self.conns if isinstance(c.state, _Cmdr) and c.state.line_id]
        if not conns:
            return
        period = 1.0 / rate
        start = loop.time() + 0.05
        start_ns = int(start * 1e9)

        def fire(conn: WsConn, k: int) -> None:
            c = conn.state
            assert isinstance(c, _Cmdr)
            self._command(conn, c, start_ns + int(k * period * 1e9))

        for k in range(int(seconds * rate)):
            loop.call_at(start + k * period, fire, conns[k % len(conns)], k)
        await asyncio.sleep(seconds + 0.1)

    # common -------------------------------------------------------------------------------

    def reset(self) -> None:
        self.stats = _Stats()
        self.measuring = True

    def collect(self) -> dict[str, Any]:
        st = self.stats
        return {
            "deliveries": st.deliveries,
            "frames": st.frames,
            "latencies": st.latencies.tobytes(),
            "acks": st.acks,
            "errors": st.errors,
            "ack_latencies": st.ack_latencies.tobytes(),
            "cpu_ns": time.process_time_ns() - st.cpu0,
            "wall_ns": time.monotonic_ns() - st.t0,
            "open": sum(1 for c in self.conns if not c.closed.done()),
        }

    async def close_all(self) -> None:
        for c in self.conns:
            c.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(c.closed for c in self.conns), return_exceptions=True), 5
            )
        for c in self.conns:
            c.abort()
        self.conns.clear()


def _cmd(op: str, name: str, args: dict[str, Any]) -> bytes:
    return json.dumps({"t": "cmd", "op": op, "name": name, "args": args}).encode()


def _raise_nofile() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _worker_main(pipe: Connection) -> None:
    _raise_nofile()
    asyncio.run(_serve(pipe))


async def _serve(pipe: Connection) -> None:
    worker = _Worker()
    while True:
        cmd, args = await asyncio.to_thread(pipe.recv)
        reply: Any = None
        if cmd == "open":
            reply = await worker.open_receivers(*args)
        elif cmd == "open_commanders":
            reply = await worker.open_commanders(*args)
        elif cmd == "run_commanders":
            await worker.run_commanders(*args)
        elif cmd == "reset":
            worker.reset()
        elif cmd == "pause_stats":
            worker.measuring = False
        elif cmd == "collect":
            reply = worker.collect()
        elif cmd == "resume_slow":
            reply = await worker.resume_slow(*args)
        elif cmd.startswith("viewers."):
            reply = getattr(worker.viewers, cmd.removeprefix("viewers."))(*args)
            if inspect.isawaitable(reply):
                reply = await reply
        elif cmd == "close":
            await worker.close_all()
            await worker.viewers.close()
        elif cmd == "exit":
            await worker.close_all()
            await worker.viewers.close()
            pipe.send(None)
            return
        pipe.send(reply)


class ClientPool:
    """``workers`` load-client processes; calls go to all of them at once."""

    def __init__(self, workers: int) -> None:
        ctx = mp.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs: list[mp.process.BaseProcess] = []
        for _ in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(child,), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    async def call(self, cmd: str, *args: Any) -> list[Any]:
        return await self.call_each(cmd, [args] * len(self.pipes))

    async def call_each(self, cmd: str, per_worker: list[tuple[Any, ...]]) -> list[Any]:
        for pipe, args in zip(self.pipes, per_worker, strict=True):
            pipe.send((cmd, args))
        return list(await asyncio.gather(*(asyncio.to_thread(p.recv) for p in self.pipes)))

    async def open(
        self, specs: list[ConnSpec], *, commanders: bool = False, concurrency: int = 64
    ) -> tuple[int, list[str]]:
        """Spread ``specs`` round-robin over the workers; returns (opened, sample of errors)."""
        shares: list[list[ConnSpec]] = [[] for _ in self.pipes]
        for i, spec in enumerate(specs):
            shares[i % len(shares)].append(spec)
        cmd = "open_commanders" if commanders else "open"
        replies = await self.call_each(cmd, [(s, concurrency) for s in shares])
        ok = sum(r[0] for r in replies)
        errors = [e for r in replies for e in r[1]]
        return ok, errors

    async def collect(self) -> dict[str, Any]:
        """Summed counters and merged latency arrays (ns) of every worker."""
        replies = await self.call("collect")
        out: dict[str, Any] = {
            k: sum(r[k] for r in replies)
            for k in ("deliveries", "frames", "acks", "errors", "cpu_ns", "open")
        }
        out["wall_ns"] = max(r["wall_ns"] for r in replies)
        out["latencies"] = collect_latencies(r["latencies"] for r in replies)
        out["ack_latencies"] = collect_latencies(r["ack_latencies"] for r in replies)
        return out

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.call("exit"), 15)
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join(5)


def collect_latencies(chunks: Any) -> array[int]:
    out: array[int] = array("q")
    for chunk in chunks:
        out.frombytes(chunk)
    return out
