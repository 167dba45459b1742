"""Slow clients are cut by the server itself (server/serving.py): headers, bodies, silence.

A live server with one-second deadlines; clients on raw loopback sockets trickle bytes. Every
trickle is bounded and much longer than the deadline: the assertions are about what the server
answered (408 and a close before the client was done), never about how long it took.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import LiveServer, run_server, server_settings
from tests.server.peers import Peer, create_room, join

DEADLINE_S = 1.0
TRICKLE_PAUSE_S = 0.25
TRICKLE_BYTES = 40  # ten seconds of trickling: ten times the deadline


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    settings = server_settings(
        tmp_path, header_timeout_s=DEADLINE_S, body_timeout_s=DEADLINE_S, body_min_rate=500
    )
    async with run_server(settings) as srv:
        yield srv


async def _trickle(
    srv: LiveServer, head: bytes, byte: bytes
) -> tuple[bytes, int, asyncio.StreamWriter]:
    """Send ``head``, then ``byte`` every pause; returns what came back and how many were sent.

    Stops when the server answers or closes (or after :data:`TRICKLE_BYTES`).
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.settings.port)
    writer.write(head)
    await writer.drain()
    sent = 0
    answer = b""
    for sent in range(TRICKLE_BYTES):  # noqa: B007  # `sent` is returned
        try:
            answer = await asyncio.wait_for(reader.read(65_536), TRICKLE_PAUSE_S)
        except TimeoutError:
            try:
                writer.write(byte)
                await writer.drain()
            except ConnectionError:
                break
            continue
        break
    if answer:  # read the rest, up to the close
        answer += await asyncio.wait_for(reader.read(), 5)
    return answer, sent, writer


def _problem(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"connection: close" in head.lower()
    assert b"application/problem+json" in head
    return status, json.loads(body)


async def _metric(srv: LiveServer, line_start: str) -> float:
    async with httpx.AsyncClient(base_url=srv.base_url) as http:
        text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in /metrics")


async def test_slow_headers_get_408_and_a_close(server: LiveServer) -> None:
    answer, sent, writer = await _trickle(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X")
    writer.close()
    assert sent < TRICKLE_BYTES - 1  # cut long before the client was done
    status, problem = _problem(answer)
    assert status == 408
    assert problem["code"] == "request_timeout"
    assert await _metric(server, 'coshop_slow_clients_cut_total{phase="header"}') >= 1


async def test_half_a_request_line_is_cut_too(server: LiveServer) -> None:
    answer, sent, writer = await _trickle(server, b"GET /heal", b"t")
    writer.close()
    assert sent < TRICKLE_BYTES - 1
    assert _problem(answer)[0] == 408


async def test_a_silent_connection_is_closed_without_an_answer(server: LiveServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.settings.port)
    try:
        # EOF (b"") within the bound: the server closed it; a hang would time out here
        assert await asyncio.wait_for(reader.read(), 10 * DEADLINE_S) == b""
    finally:
        writer.close()


async def test_slow_body_gets_408(server: LiveServer) -> None:
    head = (
        b"POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        b"content-length: 1000\r\n\r\n{"
    )
    answer, sent, writer = await _trickle(server, head, b" ")
    writer.close()
    assert sent < TRICKLE_BYTES - 1
    status, problem = _problem(answer)
    assert status == 408
    assert problem["code"] == "request_timeout"
    assert await _metric(server, 'coshop_slow_clients_cut_total{phase="body"}') >= 1


async def test_a_body_at_the_minimum_rate_passes(server: LiveServer) -> None:
    """Past the first deadline, each 500 bytes received buys one more second."""
    body = json.dumps({"kind": "group", "title": "Trip", "host_name": "Ada"}).encode()
    body = body[:-1] + b" " * (4_000 - len(body)) + b"}"
    head = (
        b"POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n" % len(body)
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", server.settings.port)
    try:
        writer.write(head)
        # 400 bytes every 0.2 s (2,000 bytes/s): 2 s in all, twice the bare deadline
        for i in range(0, len(body), 400):
            writer.write(body[i : i + 400])
            await writer.drain()
            await asyncio.sleep(0.2)
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 201"), answer


async def test_keep_alive_and_websockets_are_untouched(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        room = await create_room(http)
        member = await join(http, room, "Bea")
        peer = await Peer.open(server.ws_url(room["room_id"]))
        try:
            await peer.hello(member["token"])
            await asyncio.sleep(3 * DEADLINE_S)  # idle well past the header deadline
            await peer.send(
                {"t": "cmd", "op": "o1", "name": "PostMessage", "args": {"text": "still here"}}
            )
            assert (await peer.recv_until("ack"))["op"] == "o1"
        finally:
            await peer.close()
        # the same keep-alive connection serves a second request after a pause
        assert (await http.get("/healthz")).status_code == 200
        await asyncio.sleep(DEADLINE_S / 2)
        assert (await http.get("/healthz")).status_code == 200
    assert await _metric(server, 'coshop_slow_clients_cut_total{phase="header"}') == 0


async def test_metrics_show_process_gauges(server: LiveServer) -> None:
    assert await _metric(server, "process_open_fds ") > 0
    assert await _metric(server, "process_max_fds ") > 0
    assert await _metric(server, "process_resident_memory_bytes ") > 0
    assert await _metric(server, "coshop_process_tasks ") > 0
    assert await _metric(server, "coshop_connection_cap ") > 0
    assert await _metric(server, "coshop_tcp_connections ") >= 1  # this very request
