"""What an idle room socket keeps (memory per idle member, docs/performance.md).

After the hello, uvicorn's protocol no longer holds the handshake's request and response, the
ASGI scope no longer holds the request headers, and the socket still does everything: the
direct writes, the ASGI fallback, and the close.
"""

from __future__ import annotations

import asyncio

import httpx
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from server.transport.direct import release_handshake
from server.transport.session import RateLimiter
from tests.server.conftest import LiveServer
from tests.server.peers import Peer, create_room


def _protocols(server: LiveServer) -> list[WebSocketsSansIOProtocol]:
    connections = server.server.server_state.connections
    return [p for p in connections if isinstance(p, WebSocketsSansIOProtocol)]


async def test_an_idle_socket_keeps_no_handshake(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    host = await Peer.open(live_server.ws_url(room["room_id"]), origin=live_server.base_url)
    await host.hello(room["host"]["token"])
    [proto] = _protocols(live_server)
    assert [getattr(proto, name) for name in ("request", "response")] == [None, None]
    assert proto.scope["headers"] == []
    # the socket still works both ways: a command is answered, and the server can close it
    await host.send({"t": "cmd", "op": "m1", "name": "PostMessage", "args": {"text": "hi"}})
    assert (await host.recv_until("ack"))["op"] == "m1"
    [session] = live_server.app_state.hub._actors[room["room_id"]].sessions.values()
    session._write_now = session._direct = None  # the ASGI path (a writer task) for what follows
    session.send_message({"t": "pong", "seq": 0})
    assert (await host.recv_until("pong"))["t"] == "pong"
    session.close(1001, "server is restarting; reconnect")
    await asyncio.wait_for(host.ws.wait_closed(), 5)
    assert host.ws.close_code == 1001


def test_nothing_to_release_on_another_server() -> None:
    async def send(message: object) -> None:
        return None

    assert release_handshake(None) is False
    assert release_handshake(send) is False


def test_a_rate_limiter_has_no_instance_dict() -> None:
    assert not hasattr(RateLimiter(1.0, 1.0), "__dict__")
