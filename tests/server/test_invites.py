"""Invites the host manages (issue 13, item 5): the shared link rotates (the old one is refused)
and switches off and on; personal invites carry a name and work once; the host lists every
invite with its uses and who used it, and revokes them. Through REST and the join page."""

from __future__ import annotations

from typing import Any

import httpx

from rooms.model import Role, RoomKind
from rooms.permissions import RestAction, allowed
from tests.server.peers import create_room, join


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _list(http: httpx.AsyncClient, room: dict[str, Any]) -> dict[str, Any]:
    r = await http.get(
        f"/api/v1/rooms/{room['room_id']}/invites", headers=_bearer(room["host"]["token"])
    )
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def _by_id(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["invite_id"]: i for i in listing["invites"]}


async def _join_with(
    http: httpx.AsyncClient, room_id: str, token: str, name: str
) -> httpx.Response:
    return await http.post(f"/api/v1/rooms/{room_id}/join", json={"invite": token, "name": name})


async def test_the_host_lists_the_rooms_invites_and_members_may_not(
    http: httpx.AsyncClient,
) -> None:
    room = await create_room(http)
    listing = await _list(http, room)
    shared = room["invite"]
    assert listing["shared"] == shared["invite_id"]
    (only,) = listing["invites"]
    assert only["kind"] == "shared" and only["status"] == "active" and only["uses"] == 0
    assert only["url"].startswith(room["links"]["join"].split("?")[0])
    guest = await join(http, room, "Bea")
    assert _by_id(await _list(http, room))[shared["invite_id"]]["uses"] == 1

    # a member may not: the permission table says so, and the view tells the browser
    r = await http.get(f"/api/v1/rooms/{room['room_id']}/invites", headers=_bearer(guest["token"]))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await http.get(f"/api/v1/rooms/{room['room_id']}/invites")
    assert r.status_code == 403
    # and the view tells each browser what it may do with invites (rooms/permissions.py)
    snap = await http.get(
        f"/api/v1/rooms/{room['room_id']}", headers=_bearer(room["host"]["token"])
    )
    may = snap.json()["view"]["you"]["may"]
    for action in ("manage_invites", "invite_personal", "revoke_invite", "rotate_manage_link"):
        assert may[action] is True
        assert not allowed(RestAction(action), RoomKind.GROUP, Role.MEMBER)
        assert not allowed(RestAction(action), RoomKind.LIVE, Role.VIEWER)
    assert not allowed(RestAction.ROTATE_MANAGE_LINK, RoomKind.GROUP, Role.COHOST)


async def test_a_rotated_shared_link_is_refused_and_its_successor_admits(
    http: httpx.AsyncClient,
) -> None:
    room = await create_room(http)
    room_id, old = room["room_id"], room["invite"]
    await join(http, room, "Ines")
    r = await http.post(
        f"/api/v1/rooms/{room_id}/invites/{old['invite_id']}/rotate",
        headers=_bearer(room["host"]["token"]),
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["replaces"] == old["invite_id"] and new["kind"] == "shared"
    assert new["role"] == old["role"] and new["status"] == "active"

    r = await _join_with(http, room_id, old["token"], "Nina")
    assert r.status_code == 410 and r.json()["code"] == "invite_replaced"
    page = await http.get(f"/join/{room_id}", params={"invite": old["token"]})
    assert page.status_code == 410 and "This invite link was replaced" in page.text
    assert "Ask the host for the new link" in page.text
    assert (await _join_with(http, room_id, new["token"], "Nina")).status_code == 201

    listing = await _list(http, room)
    assert listing["shared"] == new["invite_id"]
    gone = _by_id(listing)[old["invite_id"]]
    assert gone["status"] == "replaced" and gone["replaced_by"] == new["invite_id"]
    assert gone["url"] is None and gone["uses"] == 1
    # only the newest link rotates (members already in stay: tests/server/test_invite_revocation)
    r = await http.post(
        f"/api/v1/rooms/{room_id}/invites/{old['invite_id']}/rotate",
        headers=_bearer(room["host"]["token"]),
    )
    assert r.status_code == 409 and r.json()["code"] == "invite_revoked"


async def test_a_shared_link_switches_off_and_on(http: httpx.AsyncClient) -> None:
    room = await create_room(http, kind="live")
    room_id, link = room["room_id"], room["invite"]
    path = f"/api/v1/rooms/{room_id}/invites/{link['invite_id']}"
    host = _bearer(room["host"]["token"])

    r = await http.patch(path, json={"enabled": False}, headers=host)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "off" and r.json()["url"]  # the host can still copy it
    r = await _join_with(http, room_id, link["token"], "Otto")
    assert r.status_code == 410 and r.json()["code"] == "invite_disabled"
    page = await http.get(f"/join/{room_id}", params={"invite": link["token"]})
    assert page.status_code == 410 and "switched off" in page.text
    assert (await _list(http, room))["shared"] == link["invite_id"]  # still the room's link

    r = await http.patch(path, json={"enabled": True}, headers=host)
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert (await _join_with(http, room_id, link["token"], "Otto")).status_code == 201

    r = await http.patch(path, json={"enabled": "no"}, headers=host)
    assert r.status_code == 422 and r.json()["field"] == "enabled"
    r = await http.patch(f"{path}x", json={"enabled": True}, headers=host)
    assert r.status_code == 404 and r.json()["code"] == "invite_unknown"
    await http.delete(path, headers=host)
    r = await http.patch(path, json={"enabled": True}, headers=host)
    assert r.status_code == 409 and r.json()["code"] == "invite_revoked"


async def test_a_personal_invite_carries_its_name_and_works_once(
    http: httpx.AsyncClient,
) -> None:
    room = await create_room(http)
    room_id, host = room["room_id"], _bearer(room["host"]["token"])
    r = await http.post(f"/api/v1/rooms/{room_id}/invites", json={"name": " Sam "}, headers=host)
    assert r.status_code == 201, r.text
    personal = r.json()
    assert personal["kind"] == "personal" and personal["name"] == "Sam"
    assert personal["max_uses"] == 1

    page = await http.get(f"/join/{room_id}", params={"invite": personal["token"]})
    assert page.status_code == 200
    assert 'value="Sam"' in page.text and "This invite is for Sam and works once" in page.text

    r = await _join_with(http, room_id, personal["token"], "Samantha")
    assert r.status_code == 201, r.text
    sam = r.json()
    r = await _join_with(http, room_id, personal["token"], "Sam's friend")
    assert r.status_code == 410 and r.json()["code"] == "invite_used"
    page = await http.get(f"/join/{room_id}", params={"invite": personal["token"]})
    assert page.status_code == 410 and "already used" in page.text

    listed = _by_id(await _list(http, room))[personal["invite_id"]]
    assert listed["status"] == "used" and listed["uses"] == 1 and listed["url"] is None
    assert listed["used_by"] == {"member_id": sam["member_id"], "name": "Samantha"}
    # a personal invite neither rotates nor switches off: it is revoked
    r = await http.post(
        f"/api/v1/rooms/{room_id}/invites/{personal['invite_id']}/rotate", headers=host
    )
    assert r.status_code == 409 and r.json()["code"] == "invite_not_shared"


async def test_bad_personal_invites_are_refused(http: httpx.AsyncClient) -> None:
    room = await create_room(http)
    room_id, host = room["room_id"], _bearer(room["host"]["token"])
    guest = await join(http, room, "Bea")
    path = f"/api/v1/rooms/{room_id}/invites"
    r = await http.post(path, json={"name": "Sam", "max_uses": 5}, headers=host)
    assert r.status_code == 422 and r.json()["field"] == "max_uses"
    r = await http.post(path, json={"name": "   "}, headers=host)
    assert r.status_code == 422 and r.json()["field"] == "name"
    r = await http.post(path, json={"name": None}, headers=host)
    assert r.status_code == 422 and r.json()["field"] == "name"
    r = await http.post(path, json={"name": "Sam"}, headers=_bearer(guest["token"]))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert [i["kind"] for i in (await _list(http, room))["invites"]] == ["shared"]


async def test_a_revoked_personal_invite_admits_nobody(http: httpx.AsyncClient) -> None:
    room = await create_room(http)
    room_id, host = room["room_id"], _bearer(room["host"]["token"])
    r = await http.post(f"/api/v1/rooms/{room_id}/invites", json={"name": "Sam"}, headers=host)
    personal = r.json()
    r = await http.delete(f"/api/v1/rooms/{room_id}/invites/{personal['invite_id']}", headers=host)
    assert r.status_code == 200
    r = await _join_with(http, room_id, personal["token"], "Sam")
    assert r.status_code == 410 and r.json()["code"] == "invite_revoked"
    page = await http.get(f"/join/{room_id}", params={"invite": personal["token"]})
    assert page.status_code == 410 and "The host cancelled this invite" in page.text
    listing = await _list(http, room)
    assert _by_id(listing)[personal["invite_id"]]["status"] == "revoked"
    assert listing["shared"] == room["invite"]["invite_id"]  # the shared link is untouched
