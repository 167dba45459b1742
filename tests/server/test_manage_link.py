"""The host's manage link (issue 13, item 4): shown once at creation, only its hash stored; it
opens the room as the same host member in another browser; a new one refuses the old one."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from server.storage.registry import hash_manage_secret
from server.storage.tables import room_manage_links
from tests.server.conftest import LiveServer
from tests.server.peers import Peer, create_room, join


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _key(manage_url: str) -> str:
    parts = urlsplit(manage_url)
    assert parts.fragment.startswith("key=")
    return parts.fragment.removeprefix("key=")


async def _open(http: httpx.AsyncClient, room_id: str, key: str, **extra: Any) -> httpx.Response:
    return await http.post(f"/api/v1/rooms/{room_id}/manage", json={"key": key, **extra})


async def test_the_manage_link_opens_the_room_as_the_same_host(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http, title="Picnic", host="Ada")
    room_id, url = room["room_id"], room["manage_url"]
    # the secret rides in the fragment, which no browser sends to a server
    assert urlsplit(url).path == f"/r/{room_id}/manage"
    key = _key(url)
    assert len(key) >= 43

    # only a hash of it is stored
    engine = live_server.app_state.registry._engine
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                select(room_manage_links.c.secret_hash).where(
                    room_manage_links.c.room_id == room_id
                )
            )
        ).scalar_one()
    assert stored == hash_manage_secret(key) and key not in stored

    r = await _open(http, room_id, key)
    assert r.status_code == 200, r.text
    host = r.json()
    assert host["member_id"] == room["host"]["member_id"]
    assert host["role"] == "host" and host["name"] == "Ada" and host["title"] == "Picnic"
    snap = await http.get(f"/api/v1/rooms/{room_id}", headers=_bearer(host["token"]))
    assert snap.status_code == 200
    you = snap.json()["view"]["you"]
    assert you["role"] == "host" and you["may"]["rotate_manage_link"] is True

    # the new device is the host on the socket, and the first device keeps working too
    ws = live_server.ws_url(room_id)
    second, first = await Peer.open(ws), await Peer.open(ws)
    await second.hello(host["token"])
    await first.hello(room["host"]["token"])
    # host-only commands pass from both (an outranked or unknown member would get "err")
    for op, (peer, mode) in enumerate(((second, "follow_host"), (first, "free"))):
        await peer.send(
            {"t": "cmd", "op": f"f{op}", "name": "SetFollowMode", "args": {"mode": mode}}
        )
        ack = await peer.recv_until("ack")
        assert ack["op"] == f"f{op}"
    for peer in (second, first):
        await peer.close()
    # and the link can be opened again (another device): it stays until the host replaces it
    assert (await _open(http, room_id, key)).status_code == 200


async def test_a_new_manage_link_refuses_the_old_one(http: httpx.AsyncClient) -> None:
    room = await create_room(http)
    room_id, old = room["room_id"], _key(room["manage_url"])
    guest = await join(http, room, "Bea")
    host = _bearer(room["host"]["token"])

    # only the host (or the room's merchant) draws a new one
    r = await http.post(f"/api/v1/rooms/{room_id}/manage-link", headers=_bearer(guest["token"]))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await http.post(f"/api/v1/rooms/{room_id}/manage-link")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"

    r = await http.post(f"/api/v1/rooms/{room_id}/manage-link", headers=host)
    assert r.status_code == 200, r.text
    new = _key(r.json()["manage_url"])
    assert new != old

    r = await _open(http, room_id, old)
    assert r.status_code == 403
    problem = r.json()
    assert problem["code"] == "manage_link_invalid"
    assert "new manage link" in problem["detail"]
    assert (await _open(http, room_id, new)).status_code == 200
    # a secret of another room opens nothing here
    other = await create_room(http)
    r = await _open(http, room_id, _key(other["manage_url"]))
    assert r.status_code == 403 and r.json()["code"] == "manage_link_invalid"


async def test_bad_manage_requests_are_refused_with_codes(http: httpx.AsyncClient) -> None:
    room = await create_room(http)
    room_id, key = room["room_id"], _key(room["manage_url"])
    r = await _open(http, room_id, "short")
    assert r.status_code == 422 and r.json()["field"] == "key"
    r = await http.post(f"/api/v1/rooms/{room_id}/manage", json={})
    assert r.status_code == 422 and r.json()["code"] == "invalid_field"
    r = await _open(http, room_id, key, device="no")
    assert r.status_code == 422 and r.json()["code"] == "invalid_device"
    r = await _open(http, "r_nowhere", key)
    assert r.status_code == 404 and r.json()["code"] == "room_not_found"


async def test_the_managing_browser_is_the_host_through_any_invite(
    http: httpx.AsyncClient,
) -> None:
    """A device that opened the manage link is bound to the host: joining through the room's
    invite from that browser is the host again, not a new guest."""
    room = await create_room(http, host="Ada")
    device = "d" * 43
    r = await _open(http, room["room_id"], _key(room["manage_url"]), device=device)
    assert r.status_code == 200, r.text
    r = await http.post(
        f"/api/v1/rooms/{room['room_id']}/join",
        json={"invite": room["invite"]["token"], "name": "Ada again", "device": device},
    )
    assert r.status_code == 201, r.text
    again = r.json()
    assert again["member_id"] == room["host"]["member_id"] and again["role"] == "host"
    assert again["returning"] is True


async def test_the_manage_page_is_a_shell_without_the_secret(http: httpx.AsyncClient) -> None:
    room = await create_room(http, title="Picnic")
    r = await http.get(urlsplit(room["manage_url"]).path)
    assert r.status_code == 200
    assert "/static/js/manage.js" in r.text and "Picnic" in r.text
    assert _key(room["manage_url"]) not in r.text
    assert (await http.get("/r/r_nowhere/manage")).status_code == 404


async def test_the_rooms_merchant_draws_a_new_manage_link_for_a_host_who_lost_it(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    registry = live_server.app_state.registry
    await registry.create_merchant("acme", "Acme", (), "ck_" + "m" * 40, 1)
    await registry.create_merchant("other", "Other", (), "ck_" + "o" * 40, 1)
    acme, other = _bearer("ck_" + "m" * 40), _bearer("ck_" + "o" * 40)
    r = await http.post("/api/v1/rooms", json={"title": "Shop", "host_name": "Ada"}, headers=acme)
    assert r.status_code == 201, r.text
    room = r.json()
    room_id = room["room_id"]
    # another merchant's key is no caller of this room
    r = await http.post(f"/api/v1/rooms/{room_id}/manage-link", headers=other)
    assert r.status_code == 403
    r = await http.post(f"/api/v1/rooms/{room_id}/manage-link", headers=acme)
    assert r.status_code == 200, r.text
    assert (await _open(http, room_id, _key(room["manage_url"]))).status_code == 403
    opened = await _open(http, room_id, _key(r.json()["manage_url"]))
    assert opened.status_code == 200 and opened.json()["member_id"] == room["host"]["member_id"]
    # and it lists the room's invites like the host does
    r = await http.get(f"/api/v1/rooms/{room_id}/invites", headers=acme)
    assert r.status_code == 200 and r.json()["shared"] == room["invite"]["invite_id"]
