"""The fan-out's direct writes (server/transport/direct.py) on the real uvicorn server, and
their fallbacks."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

from rooms import EVERYONE, Audience, event_to_wire
from rooms import events as e
from server.hub.fanout import AudienceBatch, Item, batch_head, compose_batch
from server.transport.direct import FrameCache, direct_writer, limit_send_buffer
from server.transport.session import RateLimiter, Session
from tests.server.conftest import LiveServer
from tests.server.peers import JSON, MSGPACK, Peer, create_room, join


def test_the_frame_cache_serialises_each_payload_once_per_type() -> None:
    cache = FrameCache()
    text, binary = '{"t":"count","online":3}', b"\x82\xa1t\xa5count"
    first = cache.frame(text)
    assert first == Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
    assert cache.frame(binary) == Frame(Opcode.BINARY, binary).serialize(mask=False)
    assert cache.frame(text) is first  # interleaved subprotocols keep their own slot
    # an equal but distinct payload is serialised again (identity, not equality, is the key)
    other = "".join(['{"t":"count",', '"online":3}'])
    assert cache.frame(other) == first and cache.frame(other) is not first
    big = "x" * 70_000  # 64-bit length header
    assert cache.frame(big) == Frame(Opcode.TEXT, big.encode()).serialize(mask=False)


def test_other_servers_keep_the_asgi_path() -> None:
    async def send(message: object) -> None:
        return None

    assert direct_writer(None) is None
    assert direct_writer(send) is None


def _sessions(server: LiveServer, room_id: str) -> list[Session]:
    hub = server.app_state.hub
    return list(hub._actors[room_id].sessions.values())


def _protocols(server: LiveServer) -> list[WebSocketsSansIOProtocol]:
    connections = server.server.server_state.connections
    return [p for p in connections if isinstance(p, WebSocketsSansIOProtocol)]


async def test_fan_out_to_healthy_sockets_needs_no_writer_task(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    url = live_server.ws_url(room["room_id"])
    host = await Peer.open(url, codec=JSON)
    await host.hello(room["host"]["token"])
    guest = await Peer.open(url, codec=MSGPACK)
    await guest.hello((await join(http, room, "Bea"))["token"])
    await host.events(1)  # Bea joined
    await guest.events(1)  # her own join, after the welcome
    for i in range(20):
        await host.send(
            {"t": "cmd", "op": f"m{i}", "name": "PostMessage", "args": {"text": f"{i}"}}
        )
    for peer in (host, guest):
        texts = [e["ev"]["text"] for e in await peer.events(20)]
        assert texts == [str(i) for i in range(20)]  # complete and in order, both subprotocols
    sessions = _sessions(live_server, room["room_id"])
    assert len(sessions) == 2
    # every frame went straight to the transport: no writer task was ever needed
    assert all(s._writer is None for s in sessions)
    await host.close()
    await guest.close()


async def test_a_socket_under_back_pressure_is_written_in_order_by_the_writer(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    url = live_server.ws_url(room["room_id"])
    host = await Peer.open(url)
    await host.hello(room["host"]["token"])
    [session] = _sessions(live_server, room["room_id"])
    [proto] = _protocols(live_server)
    write_now = session._write_now
    assert write_now is not None
    assert write_now('{"t":"pong","seq":0}') is True
    assert (await host.recv_until("pong"))["seq"] == 0

    # the transport asks for a pause (its buffer is above the high-water mark)
    proto.pause_writing()
    assert write_now('{"t":"pong","seq":0}') is False
    for i in range(3):
        await host.send(
            {"t": "cmd", "op": f"p{i}", "name": "PostMessage", "args": {"text": f"{i}"}}
        )
    await asyncio.sleep(0.3)  # committed and fanned out: queued behind the paused socket
    assert session._writer is not None and not session._writer.done()
    proto.resume_writing()
    texts = [e["ev"]["text"] for e in await host.events(3)]
    assert texts == ["0", "1", "2"]
    await host.close()


async def test_a_closing_socket_is_never_written_directly(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    host = await Peer.open(live_server.ws_url(room["room_id"]))
    await host.hello(room["host"]["token"])
    [session] = _sessions(live_server, room["room_id"])
    [proto] = _protocols(live_server)
    write_now = session._write_now
    assert write_now is not None
    await host.close()
    for _ in range(100):
        if not write_now("{}"):
            break
        await asyncio.sleep(0.01)
    assert write_now("{}") is False
    for _ in range(100):  # and once the socket itself is gone, its buffer cannot be bounded
        if not limit_send_buffer(proto.send, 65_536):
            break
        await asyncio.sleep(0.01)
    assert limit_send_buffer(proto.send, 65_536) is False


async def test_each_room_socket_gets_a_bounded_kernel_send_buffer(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    import socket

    room = await create_room(http)
    host = await Peer.open(live_server.ws_url(room["room_id"]))
    await host.hello(room["host"]["token"])
    [proto] = _protocols(live_server)
    sock = proto.transport.get_extra_info("socket")
    wanted = live_server.settings.socket_send_buffer
    # Linux reports twice the value set (it adds room for its own bookkeeping)
    assert wanted <= sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) <= 2 * wanted
    assert limit_send_buffer(None, wanted) is False  # not uvicorn: nothing to do
    assert limit_send_buffer(proto.send, 0) is False  # 0 leaves the kernel's autotuning
    await host.close()


def _batch_items(n: int) -> list[Item]:
    return [({"t": "ev", "seq": i, "at": 5, "actor": "a", "ev": {"type": "X", "i": i}}, EVERYONE)
            for i in range(1, n + 1)]  # fmt: skip


def test_a_batch_composed_from_encoded_events_equals_the_whole_encoded_at_once() -> None:
    for codec in (JSON, MSGPACK):
        for n in (0, 1, 15, 16, 65_535, 65_536):  # every msgpack array header size
            messages = [m for m, _ in _batch_items(n)]
            head = batch_head(1, max(n, 1))
            parts = [codec.encode(m) for m in messages]
            whole = codec.encode({**head, "evs": messages})
            assert compose_batch(codec, head, parts) == whole, (codec.name, n)


def test_a_filtered_batch_is_serialised_once_per_audience_class() -> None:
    """Sessions of three classes, interleaved: each class's frame is built and framed once."""
    written: list[tuple[str, str | bytes, bytes]] = []
    cache = FrameCache()

    async def send_frame(frame: str | bytes) -> None:
        raise AssertionError("the direct path takes every frame here")

    async def close_socket(code: int, reason: str) -> None:
        return None

    def session(member_id: str, role: str) -> Session:
        def write_now(payload: str | bytes) -> bool:
            written.append((member_id, payload, cache.frame(payload)))
            return True

        s = Session(
            session_id=member_id, room_id="r", member_id=member_id, name=member_id, role=role,
            codec=JSON, send_frame=send_frame, close_socket=close_socket, outbox_limit=8,
            limiter=RateLimiter(1, 1), write_now=write_now,
        )  # fmt: skip
        s.start()
        return s

    roles = ["viewer", "host", "viewer", "associate", "viewer", "viewer"] * 3
    sessions = [session(f"m{i}", role) for i, role in enumerate(roles)]
    line = e.LineAdded("l1", "mug", None, 1, "secret", False, "m2", "m2", "Mug", 900, "EUR", 5)
    mine = {"t": "ev", "seq": 2, "at": 5, "actor": "m2", "ev": event_to_wire(line)}
    items = [*_batch_items(1), (mine, Audience(everyone=False, owners=frozenset({"m2"})))]
    assert AudienceBatch(items).send(sessions) == len(sessions)
    frames = {id(frame) for _, _, frame in written}
    assert len(frames) == 3  # public, staff, the owner m2: never once per recipient
    got = {m: JSON.decode(payload) for m, payload, _ in written}
    for member_id, role in zip((s.member_id for s in sessions), roles, strict=True):
        seqs = [ev["seq"] for ev in got[member_id]["evs"]]
        sees = role in ("host", "associate") or member_id == "m2"
        assert seqs == ([1, 2] if sees else [1]), member_id
        assert (got[member_id]["from"], got[member_id]["to"]) == (1, 2)


async def test_a_uvicorn_that_lacks_an_attribute_keeps_the_asgi_path(
    live_server: LiveServer, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A uvicorn release that renamed something the direct path reads: sockets are still served,
    through the ordinary ASGI send (a writer task), never a crash."""
    import server.transport.direct

    names = (*server.transport.direct._PROTOCOL_ATTRIBUTES, "renamed_in_a_later_release")
    monkeypatch.setattr(server.transport.direct, "_PROTOCOL_ATTRIBUTES", names)
    room = await create_room(http)
    url = live_server.ws_url(room["room_id"])
    host = await Peer.open(url, codec=JSON)
    await host.hello(room["host"]["token"])
    (proto,) = _protocols(live_server)
    assert direct_writer(proto.send) is None
    assert limit_send_buffer(proto.send, 65_536) is False
    for i in range(5):
        await host.send(
            {"t": "cmd", "op": f"m{i}", "name": "PostMessage", "args": {"text": f"{i}"}}
        )
    assert [e["ev"]["text"] for e in await host.events(5)] == [str(i) for i in range(5)]
    (session,) = _sessions(live_server, room["room_id"])
    assert session._writer is not None  # the ASGI path carried them
    await host.close()
