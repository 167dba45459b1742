"""Fair shares of the caps (issue 19, item 4): one client cannot take a process's rooms or
sockets from everyone else.

The server runs with tiny caps (6 rooms, 12 connections) and a share of 0.34, so one client may
load 2 rooms and hold 4 sockets. Client A, from 127.0.0.2, tries to fill both caps;
client B, from 127.0.0.1, still loads its room and connects its socket, in its own room and in
A's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server.transport.wire import JSON
from tests.server.conftest import run_server, server_settings
from tests.server.peers import Peer, create_room, join

GREEDY = "127.0.0.2"


def _client(base: str, local: str | None = None) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=local) if local else None
    return httpx.AsyncClient(base_url=base, timeout=10, transport=transport)


async def _load(http: httpx.AsyncClient, room: dict[str, Any]) -> httpx.Response:
    """Read the room's snapshot as its host: this loads the room into the process."""
    return await http.get(
        f"/api/v1/rooms/{room['room_id']}",
        headers={"Authorization": f"Bearer {room['host']['token']}"},
    )


async def _open(url: str, token: str, local: str | None = None) -> Peer:
    """A member's socket, from ``local`` (a loopback source address) when given."""
    if local is None:
        peer = await Peer.open(url)
    else:
        # websockets hands unknown keywords to loop.create_connection: local_addr binds the source
        ws = await connect(url, open_timeout=5, compression=None, local_addr=(local, 0))
        peer = Peer(ws, JSON)
    await peer.hello(token)
    return peer


async def test_a_greedy_client_cannot_take_the_rooms_or_sockets_of_others(tmp_path: Path) -> None:
    settings = server_settings(
        tmp_path, max_rooms=6, max_connections=12, client_share=0.34, client_share_floor=1
    )
    async with (
        run_server(settings) as srv,
        _client(srv.base_url, GREEDY) as a,
        _client(srv.base_url) as b,
    ):
        hub = srv.app_state.hub
        # A creates four rooms and tries to load them all: it gets its share, two
        greedy = [await create_room(a, title=f"Bot {i}") for i in range(4)]
        assert (await _load(a, greedy[0])).status_code == 200
        assert (await _load(a, greedy[1])).status_code == 200
        refused = await _load(a, greedy[2])
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1
        assert hub.room_count == 2

        # A opens sockets into its room until refused: four, its share of twelve
        tokens = [(await join(a, greedy[0], f"Bot {i}"))["token"] for i in range(5)]
        url = srv.ws_url(greedy[0]["room_id"])
        held = [await _open(url, t, GREEDY) for t in tokens[:4]]
        with pytest.raises(InvalidStatus) as over:
            await _open(url, tokens[4], GREEDY)
        assert over.value.response.status_code == 429
        assert b"rate_limited" in over.value.response.body

        # B, another client: its room loads and its socket works, and so does one in A's room
        mine = await create_room(b, title="Picnic")
        assert (await _load(b, mine)).status_code == 200
        ours = await _open(srv.ws_url(mine["room_id"]), mine["host"]["token"])
        await ours.send({"t": "ping"})
        assert (await ours.recv_until("pong"))["t"] == "pong"
        guest = await join(b, greedy[0], "Bea")
        visitor = await _open(url, guest["token"])
        await visitor.send({"t": "ping"})
        assert (await visitor.recv_until("pong"))["t"] == "pong"

        # A's share comes back when its sockets close
        await held[0].close()
        for _ in range(200):
            if hub.shares.sockets[GREEDY] < 4:
                break
            await asyncio.sleep(0.01)
        again = await _open(url, tokens[4], GREEDY)
        for peer in (*held[1:], again, ours, visitor):
            await peer.close()


async def test_at_the_room_cap_rooms_nobody_uses_make_way(tmp_path: Path) -> None:
    # no shares here: many clients may fill the cap together, with rooms nobody is in
    settings = server_settings(tmp_path, max_rooms=2, client_share=0.0)
    async with run_server(settings) as srv, _client(srv.base_url) as http:
        hub = srv.app_state.hub
        idle = [await create_room(http, title=f"Idle {i}") for i in range(2)]
        for room in idle:
            assert (await _load(http, room)).status_code == 200
        assert hub.room_count == 2
        await asyncio.sleep(1.1)  # rooms idle for less than a second are not unloaded for this

        # a room someone wants: the idle room unloaded longest ago makes way
        wanted = await create_room(http, title="Wanted")
        assert (await _load(http, wanted)).status_code == 200
        assert hub.room_count == 2
        member = await _open(srv.ws_url(wanted["room_id"]), wanted["host"]["token"])
        survivor = next(r for r in idle if r["room_id"] in hub._actors)  # which room stayed
        visitor = await _open(srv.ws_url(survivor["room_id"]), survivor["host"]["token"])

        # both loaded rooms have someone in them now: a further room is refused, not them
        await asyncio.sleep(1.1)
        third = await create_room(http, title="Third")
        refused = await _load(http, third)
        assert refused.status_code == 503 and refused.json()["code"] == "server_full"
        for peer in (member, visitor):
            await peer.close()
