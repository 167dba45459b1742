"""Removed means removed: a kicked or banned member's token — still signed, still within its
lifetime — is refused on every member-authenticated REST route (every operation the OpenAPI
document opens with a member token), with the reason as its code."""

from __future__ import annotations

import httpx
import pytest

from server.api.openapi import openapi_document
from tests.server.conftest import LiveServer
from tests.server.peers import Peer, create_room, join

PROBLEM = "application/problem+json"


_BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("POST", "/api/v1/rooms/{room_id}/invites"): {"role": "member"},
    ("POST", "/api/v1/rooms/{room_id}/checkout"): {"mode": "host_pays"},
    ("POST", "/api/v1/rooms/{room_id}/checkout/{order_id}/holdout"): {
        "payer": "m_any",
        "choice": "host_covers",
    },
}


def _member_routes() -> list[tuple[str, str]]:
    """Every operation the OpenAPI document says a member token opens, on one room."""
    return sorted(
        (method.upper(), path)
        for path, operations in openapi_document("http://test")["paths"].items()
        for method, operation in operations.items()
        if method in ("get", "post", "put", "patch", "delete")
        and "{room_id}" in path
        and any("memberToken" in scheme for scheme in operation.get("security") or [])
    )


def _routes(rid: str) -> list[tuple[str, str, dict[str, object] | None]]:
    ids = {"room_id": rid, "order_id": "o_any", "invite_id": "i_any"}
    return [
        (method, path.format(**ids), _BODIES.get((method, path), {}))
        for method, path in _member_routes()
    ]


async def _call(
    http: httpx.AsyncClient, method: str, url: str, body: object, token: str
) -> httpx.Response:
    return await http.request(method, url, json=body, headers={"authorization": f"Bearer {token}"})


async def test_kicked_and_banned_tokens_are_refused_everywhere(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    rid = room["room_id"]
    bea, cy, di = [await join(http, room, n) for n in ("Bea", "Cy", "Di")]
    url = live_server.ws_url(rid)
    host = await Peer.open(url)
    await host.hello(room["host"]["token"])
    for member in (bea, cy, di):
        p = await Peer.open(url)
        await p.hello(member["token"])
        await p.close()
    # before: Bea reads the checkout like any member
    r = await _call(http, "GET", f"/api/v1/rooms/{rid}/checkout", None, bea["token"])
    assert r.status_code == 200, r.text
    for op, name, member in (("k", "Kick", bea), ("b", "Ban", cy)):
        await host.send(
            {"t": "cmd", "op": op, "name": name, "args": {"member_id": member["member_id"]}}
        )
        assert (await host.recv_until("ack"))["op"] == op
    for token, code in ((bea["token"], "kicked"), (cy["token"], "banned")):
        for method, path, body in _routes(rid):
            r = await _call(http, method, path, body, token)
            assert r.status_code == 403, (method, path, r.text)
            assert r.headers["content-type"].startswith(PROBLEM)
            assert r.json()["code"] == code, (method, path, r.text)
            assert "order" not in r.json()
    # a member still in the room is not affected
    r = await _call(http, "GET", f"/api/v1/rooms/{rid}/checkout", None, di["token"])
    assert r.status_code == 200, r.text
    r = await _call(http, "GET", f"/api/v1/rooms/{rid}", None, di["token"])
    assert r.status_code == 200, r.text
    await host.close()


@pytest.mark.parametrize("route", range(len(_member_routes())))
async def test_a_token_of_another_room_is_not_a_member(http: httpx.AsyncClient, route: int) -> None:
    room, other = await create_room(http), await create_room(http)
    method, path, body = _routes(room["room_id"])[route]
    r = await _call(http, method, path, body, other["host"]["token"])
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "not_member"
