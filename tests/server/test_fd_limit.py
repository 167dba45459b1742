"""Descriptor exhaustion: a real server under a 256-file limit, attacked from one client.

The attacker opens more sockets than the process may hold, each sending half a request line.
Another client must still get an answer at once (503 ``server_full``), the process must serve
normally again once the attackers are cut, and the log must stay a few lines long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.server.conftest import free_port, run_server, server_settings, wait_ready
from tests.server.peers import Peer, create_room, join

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FILE_LIMIT = 256
HEADER_TIMEOUT_S = 4  # long enough for the attack to be in place, short for the test
ANSWER_TIMEOUT_S = 1.0  # "an answer within a second": httpx gives up after that


PRLIMIT = shutil.which("prlimit")  # util-linux; safer than a preexec_fn in a threaded pytest


@contextlib.contextmanager
def coshop_process(tmp_path: Path, port: int, **env: str) -> Iterator[Path]:
    log = tmp_path / "server.log"
    full_env = {
        **os.environ,
        "COSHOP_SECRET_KEY": "k" * 48,
        "COSHOP_DATA_DIR": str(tmp_path / "data"),
        "COSHOP_PORT": str(port),
        "COSHOP_DEMO": "true",
        "COSHOP_PUBLIC_ROOMS": "true",
        "COSHOP_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        # these tests fill the whole cap from one address; the per-address share has its own
        "COSHOP_CLIENT_SHARE": "0",
        **env,
    }
    if PRLIMIT is None:
        pytest.skip("needs prlimit (util-linux) to start a process with a small file limit")
    limit = f"--nofile={FILE_LIMIT}:{FILE_LIMIT}"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [PRLIMIT, limit, sys.executable, "-m", "server.cli", "serve"],
            env=full_env,
            stdout=out,
            stderr=out,
        )
    try:
        yield log
    finally:
        if proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


@contextlib.asynccontextmanager
async def attack(
    port: int, count: int, source: str = "127.0.0.1"
) -> AsyncIterator[list[asyncio.StreamReader]]:
    """``count`` sockets from ``source`` that each send half a request line and then nothing."""
    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(count):
            with contextlib.suppress(OSError):
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), 5
                )
                writer.write(b"GET /healthz HT")
                opened.append((reader, writer))
        yield [r for r, _ in opened]
    finally:
        for _, writer in opened:
            writer.close()


async def _answer(reader: asyncio.StreamReader) -> bytes:
    with contextlib.suppress(TimeoutError, OSError):
        return await asyncio.wait_for(reader.read(), 15)
    return b""


async def _metric(base: str, name: str) -> float:
    async with httpx.AsyncClient(base_url=base) as http:
        for line in (await http.get("/metrics")).text.splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


async def _until_served(base: str, timeout: float = ANSWER_TIMEOUT_S) -> int:
    """Poll /healthz until it answers 200 (bounded); returns how many polls were refused."""
    refused = 0
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as http:
        for _ in range(100):
            r = await http.get("/healthz", headers={"connection": "close"})
            if r.status_code == 200:
                return refused
            assert r.status_code == 503
            refused += 1
            await asyncio.sleep(0.25)
    raise AssertionError("the server never served /healthz again")


def _log_lines(log: Path, needle: str) -> int:
    return sum(needle in line for line in log.read_text(errors="replace").splitlines())


async def test_one_client_cannot_take_every_descriptor(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with coshop_process(tmp_path, port) as log:
        await wait_ready(base)
        cap = await _metric(base, "coshop_connection_cap")
        assert cap == FILE_LIMIT - 128  # the limit minus the minimum reserve
        assert await _metric(base, "process_max_fds") == FILE_LIMIT

        async with attack(port, FILE_LIMIT + 100) as held:
            # another client gets a clear refusal at once, not a hang
            async with httpx.AsyncClient(base_url=base, timeout=ANSWER_TIMEOUT_S) as http:
                r = await http.get("/healthz")
            assert r.status_code == 503
            assert r.headers["content-type"] == "application/problem+json"
            assert r.headers["retry-after"]
            assert json.loads(r.content)["code"] == "server_full"
            # so does a WebSocket handshake: the same 503, not a hang
            with pytest.raises(InvalidStatus) as refused_ws:
                await connect(f"ws://127.0.0.1:{port}/ws/rooms/r1", open_timeout=ANSWER_TIMEOUT_S)
            assert refused_ws.value.response.status_code == 503
            assert json.loads(refused_ws.value.response.body or b"{}")["code"] == "server_full"

            # and is served again once the attackers' header deadline cut them
            await _until_served(base)
            answers = await asyncio.gather(*(_answer(r) for r in held))

        timed_out = sum(a.startswith(b"HTTP/1.1 408") for a in answers)
        refused = sum(a.startswith(b"HTTP/1.1 503") for a in answers)
        assert timed_out >= cap - 10  # the cap's worth held on (a few slots are the tests')
        assert refused >= 1
        assert timed_out + refused + answers.count(b"") == len(answers)
        assert await _metric(base, "coshop_connections_refused_total") >= refused
        assert await _metric(base, "process_open_fds") < cap  # every attacker's socket is gone

        # a few lines, not thousands: one per kind and interval
        assert _log_lines(log, "coshop.serving") <= 6
        assert _log_lines(log, "out of system resource") <= 2


async def test_accept_errors_are_logged_once_per_interval(tmp_path: Path) -> None:
    """A cap set too high (no reserve) lets accept() fail; the log stays short and it recovers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"COSHOP_FD_RESERVE": "1", "COSHOP_MAX_CONNECTIONS": str(FILE_LIMIT)}
    with coshop_process(tmp_path, port, **env) as log:
        await wait_ready(base)
        async with attack(port, FILE_LIMIT + 100):
            await asyncio.sleep(2)  # asyncio retries accept() every second meanwhile
        # accept() is retried a second after each failure: allow for one retry
        await _until_served(base, timeout=5)
        assert 1 <= _log_lines(log, "out of system resource") <= 2
        assert _log_lines(log, "Traceback") == 0


async def test_the_cap_counts_every_tcp_connection(tmp_path: Path) -> None:
    """COSHOP_MAX_CONNECTIONS below the file limit: idle sockets count, WebSockets too."""
    async with run_server(server_settings(tmp_path, max_connections=4)) as srv:
        port = srv.settings.port
        async with attack(port, 4):
            async with httpx.AsyncClient(base_url=srv.base_url, timeout=ANSWER_TIMEOUT_S) as http:
                r = await http.get("/healthz")
            assert r.status_code == 503
            assert json.loads(r.content)["code"] == "server_full"
        served = await _until_served(srv.base_url)
        assert served <= 1  # a refusal of the poll at most, while the attackers' sockets close
        # an open WebSocket holds a slot like any connection
        async with httpx.AsyncClient(base_url=srv.base_url, timeout=10) as http:
            room = await create_room(http)
            member = await join(http, room, "Bea")
        peer = await Peer.open(srv.ws_url(room["room_id"]))
        try:
            await peer.hello(member["token"])
            async with attack(port, 3):
                with pytest.raises(InvalidStatus) as refused:
                    await connect(srv.ws_base + "/ws/rooms/r1", open_timeout=ANSWER_TIMEOUT_S)
                assert refused.value.response.status_code == 503
        finally:
            await peer.close()
        assert await _metric(srv.base_url, "coshop_connections_refused_total") >= 2


async def test_one_address_holds_only_its_share_of_the_connections(tmp_path: Path) -> None:
    """With the per-address share on, a greedy address is refused (429) at its share, and a
    client from another address is served at once, as if nothing happened."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with coshop_process(tmp_path, port, COSHOP_CLIENT_SHARE="0.1") as _log:
        await wait_ready(base)
        cap = await _metric(base, "coshop_connection_cap")
        share = max(16, int(cap * 0.1))
        async with attack(port, FILE_LIMIT + 100, source="127.0.0.2") as held:
            other = httpx.AsyncHTTPTransport(local_address="127.0.0.3")
            async with httpx.AsyncClient(
                base_url=base, timeout=ANSWER_TIMEOUT_S, transport=other
            ) as http:
                assert (await http.get("/healthz")).status_code == 200
            greedy = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
            async with httpx.AsyncClient(
                base_url=base, timeout=ANSWER_TIMEOUT_S, transport=greedy
            ) as http:
                r = await http.get("/healthz")
            assert r.status_code == 429
            assert json.loads(r.content)["code"] == "rate_limited"
            assert r.headers["retry-after"]
            answers = await asyncio.gather(*(_answer(r) for r in held))
        timed_out = sum(a.startswith(b"HTTP/1.1 408") for a in answers)
        refused = sum(a.startswith(b"HTTP/1.1 429") for a in answers)
        assert timed_out == share  # only the share was held, until its header deadline
        assert refused >= len(answers) - share - 5


async def test_an_address_share_is_released_when_connections_end(tmp_path: Path) -> None:
    """HTTP connections and WebSocket handshakes give their slot back: many sequential sockets
    from one address never run into its share."""
    settings = server_settings(tmp_path, max_connections=40, client_share=0.1, client_share_floor=2)
    async with run_server(settings) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        room = await create_room(http)
        for _ in range(3 * 4):  # the share is 4 connections
            peer = await Peer.open(srv.ws_url(room["room_id"]))
            await peer.hello(room["host"]["token"])
            await peer.close()
        for _ in range(3 * 4):
            async with httpx.AsyncClient(base_url=srv.base_url) as once:
                assert (await once.get("/healthz")).status_code == 200
