"""Revoking an invite means it (issue 19, item 5): member tokens minted from it that have not
joined yet are refused, over the WebSocket and over REST; members already in stay.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from server.auth import AuthError, MemberClaims, TokenSigner
from tests.server.conftest import LiveServer
from tests.server.peers import Peer, create_room, join


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _invite(http: httpx.AsyncClient, room: dict[str, Any]) -> dict[str, Any]:
    r = await http.post(
        f"/api/v1/rooms/{room['room_id']}/invites", json={}, headers=_bearer(room["host"]["token"])
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_a_revoked_invite_refuses_its_tokens_that_have_not_joined(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    room_id, url = room["room_id"], live_server.ws_url(room["room_id"])
    invite = await _invite(http, room)
    other = await _invite(http, room)
    via = {**room, "invite": invite}
    inside = await join(http, via, "Ines")  # joins and connects before the revoke
    waiting = await join(http, via, "Walt")  # minted, never used
    unrelated = await join(http, {**room, "invite": other}, "Olga")
    peer = await Peer.open(url)
    await peer.hello(inside["token"])

    r = await http.delete(
        f"/api/v1/rooms/{room_id}/invites/{invite['invite_id']}",
        headers=_bearer(room["host"]["token"]),
    )
    assert r.status_code == 200, r.text

    # the token that never joined: refused at hello, and on REST
    late = await Peer.open(url)
    await late.send({"t": "hello", "token": waiting["token"], "last_seq": None})
    refusal = await late.recv()
    assert refusal["t"] == "err" and refusal["code"] == "invite_revoked"
    with pytest.raises(ConnectionClosed) as closed:
        await late.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    snap = await http.get(f"/api/v1/rooms/{room_id}", headers=_bearer(waiting["token"]))
    assert snap.status_code == 403 and snap.json()["code"] == "invite_revoked"

    # the member already in stays: connected, and back again after a disconnect
    await peer.send({"t": "ping"})
    await peer.recv_until("pong")
    await peer.close()
    again = await Peer.open(url)
    await again.hello(inside["token"])
    snap = await http.get(f"/api/v1/rooms/{room_id}", headers=_bearer(inside["token"]))
    assert snap.status_code == 200
    # another invite's tokens are untouched
    third = await Peer.open(url)
    await third.hello(unrelated["token"])
    # and the revoked invite admits no one new
    r = await http.post(
        f"/api/v1/rooms/{room_id}/join", json={"invite": invite["token"], "name": "Nina"}
    )
    assert r.status_code == 410 and r.json()["code"] == "invite_revoked"
    for p in (again, third):
        await p.close()


async def test_the_first_join_check_looks_at_a_loaded_room_at_once(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The hello's look into the room (is this member known?) does not wait for the actor's
    turn when the room is loaded here (``Hub.peek``); it sees what a turn would."""
    room = await create_room(http)
    room_id = room["room_id"]
    hub = live_server.app_state.hub
    assert hub.peek("no-such-room", lambda r, seq: seq) is None  # not loaded: inspect instead
    inside = await join(http, {**room, "invite": await _invite(http, room)}, "Ines")
    peer = await Peer.open(live_server.ws_url(room_id))
    await peer.hello(inside["token"])

    def known(r: Any, seq: int) -> tuple[bool, int]:
        return inside["member_id"] in r.members, seq

    assert hub.peek(room_id, known) is not None
    assert hub.peek(room_id, known)[0] is (await hub.inspect(room_id, known))[0] is True
    await peer.close()


def test_member_tokens_name_their_invite_and_refuse_ill_formed_text() -> None:
    signer = TokenSigner("s" * 40)
    claims = MemberClaims("r1", "m1", "member", "Ann", invite_id="i1")
    assert signer.read_member_token(signer.member_token(claims)) == claims
    host = MemberClaims("r1", "m0", "host", "Hal")
    assert signer.read_member_token(signer.member_token(host)).invite_id is None
    with pytest.raises(AuthError) as refused:
        signer.read_member_token("abc\ud800.def")
    assert refused.value.code == "token_invalid"
    with pytest.raises(AuthError):
        signer.read_invite_token("\udfff")
