""" "Your rooms" over REST: the rooms a browser's device secret belongs to, reopened with a fresh
member token; a room made on the landing page is claimed for the browser that made it.

A real server on a loopback port (the demo shop with public rooms, as the landing page uses it).
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.server.conftest import LiveServer
from tests.server.peers import Peer

PROBLEM = "application/problem+json"


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


def _device() -> str:
    return secrets.token_urlsafe(32)


async def _room(http: httpx.AsyncClient, title: str, host: str = "Hana") -> dict[str, Any]:
    r = await http.post("/api/v1/rooms", json={"kind": "group", "title": title, "host_name": host})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def _claim(http: httpx.AsyncClient, room: dict[str, Any], device: str) -> httpx.Response:
    return await http.post(
        f"/api/v1/me/rooms/{room['room_id']}/claim",
        json={"device": device},
        headers={"authorization": f"Bearer {room['host']['token']}"},
    )


async def _join(
    http: httpx.AsyncClient, room: dict[str, Any], device: str, name: str = "Mia"
) -> dict[str, Any]:
    r = await http.post(
        f"/api/v1/rooms/{room['room_id']}/join",
        json={"invite": room["invite"]["token"], "name": name, "device": device},
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def _mine(http: httpx.AsyncClient, device: str) -> list[dict[str, Any]]:
    r = await http.post("/api/v1/me/rooms", json={"device": device})
    assert r.status_code == 200, r.text
    rooms: list[dict[str, Any]] = r.json()["rooms"]
    return rooms


async def _enter(live_server: LiveServer, room: dict[str, Any], token: str) -> Peer:
    peer = await Peer.open(live_server.ws_url(room["room_id"]))
    peer.check = False  # frame contracts are tests/server/test_protocol_frames.py's business
    await peer.hello(token)
    return peer


async def _command(peer: Peer, op: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    await peer.send({"t": "cmd", "op": op, "name": name, "args": args})
    while True:
        msg = await peer.recv()
        if msg.get("t") in ("ack", "err") and msg.get("op") == op:
            return msg


async def test_a_new_browser_has_no_rooms(live_server: LiveServer, http: httpx.AsyncClient) -> None:
    assert await _mine(http, _device()) == []


async def test_hosted_rooms_come_first_with_role_status_and_activity(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    me, friend = _device(), _device()
    theirs = await _room(http, "Friend's picnic", host="Fay")
    assert (await _claim(http, theirs, friend)).status_code == 200
    joined = await _join(http, theirs, me)
    peer = await _enter(live_server, theirs, joined["token"])  # in the room now: a member
    hosted = await _room(http, "My weekend trip")
    claimed = await _claim(http, hosted, me)
    assert claimed.status_code == 200 and claimed.json()["claimed"] is True
    assert (await _claim(http, hosted, me)).status_code == 200  # claiming twice is fine

    rooms = await _mine(http, me)
    assert [r["title"] for r in rooms] == ["My weekend trip", "Friend's picnic"]
    assert [r["role"] for r in rooms] == ["host", "member"]
    assert {r["status"] for r in rooms} == {"open"}
    assert rooms[0]["shop"] == "coshop demo shop"
    assert rooms[0]["url"] == f"/r/{hosted['room_id']}"
    assert all(isinstance(r["last_activity"], int) and r["last_activity"] > 0 for r in rooms)
    # the friend's browser sees its own room only
    assert [r["title"] for r in await _mine(http, friend)] == ["Friend's picnic"]
    assert (await _mine(http, friend))[0]["role"] == "host"
    await peer.close()


async def test_a_fresh_token_reopens_a_room_as_the_same_member(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    me = _device()
    room = await _room(http, "Trip")
    await _claim(http, room, me)
    r = await http.post(f"/api/v1/me/rooms/{room['room_id']}/token", json={"device": me})
    assert r.status_code == 201, r.text
    fresh = r.json()
    assert fresh["member_id"] == room["host"]["member_id"]
    assert fresh["role"] == "host" and fresh["name"] == "Hana" and fresh["title"] == "Trip"
    peer = await _enter(live_server, room, fresh["token"])  # the token opens the room
    snapshot = await http.get(
        f"/api/v1/rooms/{room['room_id']}", headers={"authorization": f"Bearer {fresh['token']}"}
    )
    assert snapshot.status_code == 200
    await peer.close()
    # another browser, or a room this browser is not in, gets nothing
    other = await http.post(f"/api/v1/me/rooms/{room['room_id']}/token", json={"device": _device()})
    _problem(other, 404, "not_your_room")
    nowhere = await http.post("/api/v1/me/rooms/r_nope/token", json={"device": me})
    _problem(nowhere, 404, "not_your_room")


async def test_a_banned_or_kicked_browser_no_longer_has_the_room(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    troll, kid = _device(), _device()
    room = await _room(http, "Show")
    host = await _enter(live_server, room, room["host"]["token"])
    for device, name, command in ((troll, "Troll", "Ban"), (kid, "Kid", "Kick")):
        member = await _join(http, room, device, name)
        peer = await _enter(live_server, room, member["token"])
        assert [r["role"] for r in await _mine(http, device)] == ["member"]
        reply = await _command(host, command, command, {"member_id": member["member_id"]})
        assert reply["t"] == "ack", reply
        with pytest.raises(ConnectionClosed):
            while True:
                await peer.recv()
        assert await _mine(http, device) == []
        r = await http.post(f"/api/v1/me/rooms/{room['room_id']}/token", json={"device": device})
        _problem(r, 403, "banned" if command == "Ban" else "kicked")
    await host.close()


async def test_a_member_who_left_sees_the_room_as_left(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    me = _device()
    room = await _room(http, "Cafe")
    member = await _join(http, room, me)
    peer = await _enter(live_server, room, member["token"])
    await peer.send({"t": "cmd", "op": "l1", "name": "Leave", "args": {}})
    with pytest.raises(ConnectionClosed):
        while True:
            await peer.recv()
    rooms = await _mine(http, me)
    assert [(r["status"], r["role"]) for r in rooms] == [("left", None)]
    r = await http.post(f"/api/v1/me/rooms/{room['room_id']}/token", json={"device": me})
    _problem(r, 410, "left_room")


async def test_a_member_token_cannot_be_tied_to_a_second_browser(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    first, second = _device(), _device()
    room = await _room(http, "Trip")
    assert (await _claim(http, room, first)).status_code == 200
    # the host's token, leaked to another browser, cannot make that browser the host too
    _problem(await _claim(http, room, second), 409, "member_claimed")
    assert await _mine(http, second) == []
    # a browser that is already another member of the room cannot claim the host
    guest = _device()
    await _join(http, room, guest)
    other = await _room(http, "Other")
    assert (await _claim(http, other, first)).status_code == 200  # another room: fine
    _problem(await _claim(http, room, guest), 409, "member_claimed")
    # no member token, or one of another room
    bare = await http.post(f"/api/v1/me/rooms/{room['room_id']}/claim", json={"device": first})
    assert bare.status_code == 401
    cross = await http.post(
        f"/api/v1/me/rooms/{room['room_id']}/claim",
        json={"device": first},
        headers={"authorization": f"Bearer {other['host']['token']}"},
    )
    _problem(cross, 403, "not_member")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "invalid_device"),
        ({"device": "short"}, "invalid_device"),
        ({"device": 5}, "invalid_device"),
    ],
)
async def test_bad_device_proofs_get_a_problem(
    live_server: LiveServer, http: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    _problem(await http.post("/api/v1/me/rooms", json=body), 422, code)
    _problem(await http.post("/api/v1/me/rooms/r_x/token", json=body), 422, code)
