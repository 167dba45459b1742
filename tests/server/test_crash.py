"""Crash safety end to end: SIGKILL the real server process mid-traffic and start it again.

Every acknowledged event must be in the log afterwards, in the same order, and clients that
resume from their last seq get exactly what they missed — nothing lost, nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.server.conftest import free_port, wait_ready
from tests.server.peers import Peer, create_room, join

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@contextlib.contextmanager
def coshop_process(data_dir: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "COSHOP_SECRET_KEY": "k" * 48,
        "COSHOP_DATA_DIR": str(data_dir),
        "COSHOP_PORT": str(port),
        "COSHOP_DEMO": "true",
        "COSHOP_PUBLIC_ROOMS": "true",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"], env=env, stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


async def _writer(peer: Peer, name: str, acked: dict[str, int], stop: asyncio.Event) -> None:
    """Send chat messages one after another; remember each acknowledged op's seq."""
    i = 0
    with contextlib.suppress(ConnectionClosed, TimeoutError, OSError):
        while not stop.is_set():
            op = f"{name}-{i}"
            await peer.send({"t": "cmd", "op": op, "name": "PostMessage", "args": {"text": op}})
            while True:
                msg = await peer.recv(timeout=5)
                if msg.get("t") == "ack" and msg["op"] == op:
                    acked[op] = msg["seq"][0]
                    break
            i += 1


async def test_sigkill_mid_traffic_loses_no_acknowledged_event(tmp_path: Path) -> None:
    data, port, log = tmp_path / "data", free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    ws = f"ws://127.0.0.1:{port}/ws/rooms/"
    acked: dict[str, int] = {}
    with coshop_process(data, port, log) as proc:
        await wait_ready(base)
        async with httpx.AsyncClient(base_url=base) as http:
            room = await create_room(http)
            members = [await join(http, room, f"W{i}") for i in range(3)]
        peers = []
        for m in members:
            p = await Peer.open(ws + room["room_id"])
            await p.hello(m["token"])
            peers.append(p)
        stop = asyncio.Event()
        writers = [
            asyncio.create_task(_writer(p, f"w{i}", acked, stop)) for i, p in enumerate(peers)
        ]
        while len(acked) < 60:
            await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # no shutdown hooks, no flush: a real crash
        proc.wait(10)
        stop.set()
        await asyncio.gather(*writers)
    assert len(acked) >= 60

    with coshop_process(data, port, log):
        await wait_ready(base)
        reader = await Peer.open(ws + room["room_id"])
        welcome = await reader.hello(room["host"]["token"], last_seq=0)
        assert welcome["resumed"] is True
        head = welcome["seq"]
        log_events: list[dict[str, Any]] = []
        if head:
            log_events = await reader.events(head)
        seqs = [e["seq"] for e in log_events]
        assert seqs == list(range(1, head + 1)), "the log has a gap or a duplicate"
        by_seq = {e["seq"]: e for e in log_events}
        for op, seq in acked.items():
            assert by_seq[seq]["ev"]["type"] == "MessagePosted"
            assert by_seq[seq]["ev"]["text"] == op, f"acknowledged op {op} is not at seq {seq}"
        texts = [e["ev"]["text"] for e in log_events if e["ev"]["type"] == "MessagePosted"]
        assert len(texts) == len(set(texts)), "an op was applied twice"

        # a client that saw up to seq k resumes with exactly k+1..head
        k = head // 2
        late = await Peer.open(ws + room["room_id"])
        resumed = await late.hello(members[0]["token"], last_seq=k)
        assert resumed["resumed"] is True
        rest = await late.events(head - k)
        assert [e["seq"] for e in rest] == list(range(k + 1, head + 1))
        # and the room keeps working after the crash
        await late.send(
            {"t": "cmd", "op": "after", "name": "PostMessage", "args": {"text": "after"}}
        )
        ack = await late.recv_until("ack")
        assert ack["seq"] == [head + 1, head + 1]
        await late.close()
        await reader.close()
