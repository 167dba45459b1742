"""Viewers who arrive, keep their place in the room's log, and come back after a restart.

The load-client side of ``bench/arrivals.py``, run inside the :mod:`bench.loadgen` workers:

- :meth:`Viewers.arrive`: each viewer joins as a browser does — ``POST /api/v1/rooms/{id}/join``
  with the room's invite (a fresh TCP connection, as every viewer is another browser), then the
  WebSocket ``hello`` with the member token it got — or, given a minted token, only the hello.
  Each arrival's start, REST answer and welcome are timed; the viewer stays connected.
- every viewer keeps its cursor (``last_seq``) as docs/protocol.md §6 says a client must: a
  ``batch`` moves it to ``to``, and a ``batch`` whose ``from`` is past ``cursor + 1`` is a
  **gap** — an event lost. Frames are read with two small regular expressions on their head,
  never decoded, so thousands of viewers cost the client little;
- :meth:`Viewers.reconnect`: after the server restarted, every viewer says ``hello`` again with
  its cursor; the welcome says whether it was resumed (``resumed: true`` and a batch of exactly
  what it missed) or given a fresh snapshot.

Nothing here decides anything: the benchmark in the parent says when.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from bench.wsclient import WsConn, open_ws

__all__ = ["Arrival", "Viewers", "http_post"]

_WELCOME = re.compile(rb'^\{"t":"welcome".*?,"seq":(\d+),"resumed":(true|false)')
_BATCH = re.compile(rb'^\{"t":"batch","from":(\d+),"to":(\d+)')
_SUBPROTOCOL = "coshop.v1.json"


@dataclass(frozen=True)
class Arrival:
    """One viewer to admit: REST join with ``invite`` (then hello), or hello with ``token``."""

    port: int
    room_id: str
    name: str
    invite: str | None = None
    token: str | None = None


@dataclass
class _Viewer:
    port: int
    path: str
    token: str = ""
    cursor: int | None = None
    welcomed: asyncio.Future[bool] | None = None  # resolves with "resumed"
    gaps: int = 0
    welcomes: int = 0
    resumed: int = 0
    snapshots: int = 0
    errors: list[str] = field(default_factory=list)
    conn: WsConn | None = None


async def http_post(port: int, path: str, body: dict[str, Any], timeout: float = 30.0) -> Any:
    """One HTTP/1.1 POST of a JSON body on a fresh connection; the decoded JSON answer."""
    payload = json.dumps(body).encode()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            + payload
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status = int(head.split(b" ", 2)[1])
        length = None
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        data = await asyncio.wait_for(
            reader.readexactly(length) if length is not None else reader.read(), timeout
        )
    finally:
        writer.close()
    if status >= 300:
        raise ConnectionError(f"HTTP {status}: {data[:200].decode(errors='replace')}")
    return json.loads(data)


class Viewers:
    """This worker's viewers."""

    def __init__(self) -> None:
        self.viewers: list[_Viewer] = []

    def on_message(self, conn: WsConn, payload: bytes, opcode: int) -> None:
        v = conn.state
        assert isinstance(v, _Viewer)
        head = payload[:400]
        found = _BATCH.match(head)
        if found is not None:
            first, last = int(found.group(1)), int(found.group(2))
            if v.cursor is not None and first > v.cursor + 1:
                v.gaps += 1
            v.cursor = last if v.cursor is None else max(v.cursor, last)
            return
        found = _WELCOME.match(head)
        if found is not None:
            resumed = found.group(2) == b"true"
            v.welcomes += 1
            if resumed:
                v.resumed += 1
            else:
                v.snapshots += 1
                v.cursor = int(found.group(1))  # a fresh view at seq: continue from there
            if v.welcomed is not None and not v.welcomed.done():
                v.welcomed.set_result(resumed)
            return
        if payload.startswith(b'{"t":"err"'):
            v.errors.append(payload[:200].decode(errors="replace"))
            if v.welcomed is not None and not v.welcomed.done():
                v.welcomed.set_exception(ConnectionError(v.errors[-1]))

    async def _hello(self, v: _Viewer, timeout: float) -> bool:
        v.welcomed = asyncio.get_running_loop().create_future()
        conn = await open_ws(
            "127.0.0.1", v.port, v.path, self.on_message, subprotocol=_SUBPROTOCOL, state=v
        )
        v.conn = conn
        conn.send(json.dumps({"t": "hello", "token": v.token, "last_seq": v.cursor}).encode())
        return await asyncio.wait_for(v.welcomed, timeout)

    async def arrive(
        self, arrivals: list[Arrival], concurrency: int
    ) -> tuple[list[tuple[int, int, int]], list[str], int]:
        """Admit ``arrivals`` (``concurrency`` at a time): (start, REST done, welcome) in ns per
        viewer, errors, and this process's CPU time meanwhile (ns)."""
        cpu0 = time.process_time_ns()
        gate = asyncio.Semaphore(concurrency)
        times: list[tuple[int, int, int]] = []
        errors: list[str] = []

        async def one(a: Arrival) -> None:
            async with gate:
                start = time.monotonic_ns()
                try:
                    token = a.token
                    if a.invite is not None:
                        joined = await http_post(
                            a.port,
                            f"/api/v1/rooms/{a.room_id}/join",
                            {"invite": a.invite, "name": a.name},
                        )
                        token = str(joined["token"])
                    rest = time.monotonic_ns()
                    v = _Viewer(a.port, f"/ws/rooms/{a.room_id}", token or "")
                    self.viewers.append(v)
                    await self._hello(v, 60.0)
                    times.append((start, rest, time.monotonic_ns()))
                except (OSError, ConnectionError, TimeoutError, ValueError, KeyError) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])

        await asyncio.gather(*(one(a) for a in arrivals))
        cpu = time.process_time_ns() - cpu0
        return times, errors[:5] + [f"... {len(errors)} errors in all"] * (len(errors) > 5), cpu

    async def wait_closed(self, timeout: float) -> int:
        """Wait (bounded) until every viewer's connection is gone; how many still are open."""
        conns = [v.conn for v in self.viewers if v.conn is not None]
        if conns:
            await asyncio.wait([asyncio.ensure_future(c.closed) for c in conns], timeout=timeout)
        return sum(1 for c in conns if not c.closed.done())

    async def reconnect(
        self, port: int, concurrency: int, attempts: int = 20
    ) -> tuple[list[tuple[int, int]], list[str]]:
        """Every viewer says hello again with its cursor; (start, welcome) in ns per viewer.

        A refused connection (the listen queue full) is tried again after a short pause, as a
        client's back-off would.
        """
        gate = asyncio.Semaphore(concurrency)
        times: list[tuple[int, int]] = []
        errors: list[str] = []

        async def one(v: _Viewer) -> None:
            async with gate:
                start = time.monotonic_ns()
                v.port = port
                for attempt in range(attempts):
                    try:
                        await self._hello(v, 60.0)
                        times.append((start, time.monotonic_ns()))
                        return
                    except (OSError, TimeoutError) as exc:
                        if v.conn is not None:
                            v.conn.abort()
                        if attempt == attempts - 1:
                            errors.append(f"{type(exc).__name__}: {exc}"[:200])
                        await asyncio.sleep(0.1 * (attempt + 1))
                    except ConnectionError as exc:
                        errors.append(f"{type(exc).__name__}: {exc}"[:200])
                        return

        await asyncio.gather(*(one(v) for v in self.viewers))
        return times, errors[:5] + [f"... {len(errors)} errors in all"] * (len(errors) > 5)

    def stats(self, head: int | None = None) -> dict[str, Any]:
        """Counters of every viewer; ``behind``: viewers whose cursor is below ``head``."""
        cursors = [v.cursor for v in self.viewers if v.cursor is not None]
        return {
            "behind": 0 if head is None else sum(1 for v in self.viewers if (v.cursor or 0) < head),
            "viewers": len(self.viewers),
            "open": sum(1 for v in self.viewers if v.conn is not None and not v.conn.closed.done()),
            "gaps": sum(v.gaps for v in self.viewers),
            "welcomes": sum(v.welcomes for v in self.viewers),
            "resumed": sum(v.resumed for v in self.viewers),
            "snapshots": sum(v.snapshots for v in self.viewers),
            "cursor_min": min(cursors) if cursors else None,
            "cursor_max": max(cursors) if cursors else None,
            "errors": [e for v in self.viewers for e in v.errors][:5],
        }

    def reset_counts(self) -> None:
        for v in self.viewers:
            v.gaps = v.welcomes = v.resumed = v.snapshots = 0
            v.errors.clear()

    async def close(self) -> None:
        conns = [v.conn for v in self.viewers if v.conn is not None]
        for c in conns:
            c.close()
        if conns:
            await asyncio.wait([asyncio.ensure_future(c.closed) for c in conns], timeout=5)
        for c in conns:
            c.abort()
        self.viewers.clear()
