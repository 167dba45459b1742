"""Well-formed text at the REST edge: a lone surrogate or a control character in any body field,
query or path is ``422 invalid_text`` naming the field, before anything is stored or counted; a
refused join uses none of its invite's uses."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.server.conftest import LiveServer, run_server, server_settings
from tests.server.peers import Peer, create_room

PROBLEM = "application/problem+json"
JSON = {"content-type": "application/json"}


def _invalid_text(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert (body["code"], body["field"]) == ("invalid_text", field), body


async def test_room_fields_are_well_formed_text(http: httpx.AsyncClient) -> None:
    url = "/api/v1/rooms"
    # JSON's escape makes a lone surrogate: sent as raw bytes, exactly as a client can
    _invalid_text(await http.post(url, content=b'{"title": "x\\ud800"}', headers=JSON), "title")
    _invalid_text(
        await http.post(url, content=b'{"host_name": "\\udfffA"}', headers=JSON), "host_name"
    )
    _invalid_text(await http.post(url, json={"title": "bell\x07"}), "title")
    _invalid_text(await http.post(url, json={"title": "two\nlines"}), "title")
    # an ignored field with an ill-formed key or value is refused too: nothing is half-read
    _invalid_text(
        await http.post(url, content=b'{"extra": {"k\\ud800": 1}}', headers=JSON), "extra.k\\ud800"
    )
    _invalid_text(
        await http.post(url, content=b'{"extra": [1, "\\udc00"]}', headers=JSON), "extra[1]"
    )
    # a well-formed surrogate pair is one character and fine
    r = await http.post(url, content=b'{"title": "Trip \\ud83d\\ude00"}', headers=JSON)
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "Trip \U0001f600"


async def test_a_refused_join_uses_no_invite(http: httpx.AsyncClient) -> None:
    room = await create_room(http)
    rid = room["room_id"]
    host = {"authorization": f"Bearer {room['host']['token']}"}
    invite = (
        await http.post(f"/api/v1/rooms/{rid}/invites", json={"max_uses": 1}, headers=host)
    ).json()
    url = f"/api/v1/rooms/{rid}/join"
    token = invite["token"].encode()
    for body, field in [
        (b'{"invite": "' + token + b'", "name": "Bea\\ud800"}', "name"),
        (b'{"invite": "' + token + b'", "name": "Bea\\u0000"}', "name"),
        (b'{"invite": "' + token + b'\\u0007", "name": "Bea"}', "invite"),
    ]:
        _invalid_text(await http.post(url, content=body, headers=JSON), field)
    # too long for the room to accept at the hello: refused here, before the invite is used
    r = await http.post(url, json={"invite": invite["token"], "name": "B" * 41})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_field")
    # the single use is still there
    r = await http.post(url, json={"invite": invite["token"], "name": "Bea"})
    assert r.status_code == 201, r.text
    r = await http.post(url, json={"invite": invite["token"], "name": "Cy"})
    assert (r.status_code, r.json()["code"]) == (410, "invite_exhausted")


async def test_invite_fields_are_checked(http: httpx.AsyncClient) -> None:
    room = await create_room(http)
    host = {"authorization": f"Bearer {room['host']['token']}", **JSON}
    r = await http.post(
        f"/api/v1/rooms/{room['room_id']}/invites", content=b'{"role": "\\ud800"}', headers=host
    )
    _invalid_text(r, "role")


async def test_queries_and_paths_are_well_formed_text(http: httpx.AsyncClient) -> None:
    _invalid_text(await http.get("/api/v1/merchants/demo/products?q=a%00b"), "q")
    _invalid_text(await http.get("/api/v1/merchants/demo/products?q=%ED%A0%80"), "query")
    _invalid_text(await http.get("/api/v1/merchants/demo/products?q=%FF"), "query")
    _invalid_text(await http.get("/api/v1/merchants/demo/products/%00"), "path")
    _invalid_text(await http.get("/api/v1/merchants/de%ED%A0%80mo/products"), "path")
    _invalid_text(await http.get("/api/v1/rooms/r%1B"), "path")
    _invalid_text(await http.post("/webhooks/%7F", content=b"{}"), "path")
    _invalid_text(await http.get("/checkout/return?order=%00"), "order")
    ok = await http.get("/api/v1/merchants/demo/products?q=%C3%A9t%C3%A9")  # "été"
    assert ok.status_code == 200, ok.text


async def test_merchant_fields_are_checked(tmp_path: Path) -> None:
    async with (
        run_server(server_settings(tmp_path, admin_token="a" * 40)) as srv,
        httpx.AsyncClient(base_url=srv.base_url) as http,
    ):
        admin = {"authorization": "Bearer " + "a" * 40, **JSON}
        url = "/api/v1/merchants"
        r = await http.post(
            url, content=b'{"merchant_id": "acme", "name": "Ac\\ud800me"}', headers=admin
        )
        _invalid_text(r, "name")
        r = await http.post(
            url,
            content=b'{"merchant_id": "acme", "name": "Acme", "origins": ["https://a.example\\u0000"]}',
            headers=admin,
        )
        assert r.status_code == 422
        assert r.json()["code"] in ("invalid_text", "invalid_origin")
        r = await http.post(url, json={"merchant_id": "acme", "name": "Acme"}, headers=admin)
        assert r.status_code == 201  # nothing of the refused attempts was stored
        key = {"authorization": f"Bearer {r.json()['api_key']}"}
        r = await http.put("/api/v1/merchant/origins", json={}, headers=key)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_field")
        r = await http.put(
            "/api/v1/merchant/origins", json={"origins": ["http://[::1"]}, headers=key
        )
        assert (r.status_code, r.json()["code"]) == (422, "invalid_origin")


async def test_a_lone_surrogate_in_a_chat_frame_is_refused_and_the_room_goes_on(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    p = await Peer.open(live_server.ws_url(room["room_id"]))
    await p.hello(room["host"]["token"])
    await p.ws.send('{"t":"cmd","op":"s1","name":"PostMessage","args":{"text":"x\\ud800"}}')
    err = await p.recv_until("err")
    assert err["code"] == "invalid_text"
    await p.send({"t": "cmd", "op": "c1", "name": "PostMessage", "args": {"text": "bell\x07"}})
    err = await p.recv_until("err")
    assert (err["code"], err["op"]) == ("invalid_text", "c1")
    await p.send({"t": "cmd", "op": "ok", "name": "PostMessage", "args": {"text": "fine"}})
    ack = await p.recv_until("ack")
    assert ack["op"] == "ok"
    await p.close()
    # nothing of the refused frames reached the log: the snapshot shows one message
    snap = await http.get(
        f"/api/v1/rooms/{room['room_id']}",
        headers={"authorization": f"Bearer {room['host']['token']}"},
    )
    texts = [m["text"] for m in snap.json()["view"]["chat"]["messages"]]
    assert texts == ["fine"]


async def test_a_wrong_method_is_405_with_allow(http: httpx.AsyncClient) -> None:
    r = await http.delete("/api/v1/rooms")
    assert r.status_code == 405
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["code"] == "method_not_allowed"
    assert r.headers["allow"] == "POST"
    r = await http.put("/api/v1/rooms/r_x/checkout")
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


async def test_digit_like_characters_in_a_number_query_are_400(http: httpx.AsyncClient) -> None:
    for query in ("limit=%C2%B2", "offset=%E2%91%A0"):
        r = await http.get(f"/api/v1/merchants/demo/products?{query}")
        assert (r.status_code, r.json()["code"]) == (400, "invalid_parameter"), query
