"""The REST API: rooms, invites, joining, snapshots, OpenAPI, health and metrics."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route

from server.api.openapi import openapi_document
from server.app import create_app
from tests.server.conftest import LiveServer, run_server, server_settings
from tests.server.peers import Peer, create_room, join

PROBLEM = "application/problem+json"


def _problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["detail"]


async def test_create_room_validates_its_input(http: httpx.AsyncClient) -> None:
    _problem(await http.post("/api/v1/rooms", content=b"{"), 415, "unsupported_media_type")
    _problem(
        await http.post(
            "/api/v1/rooms", content=b"{", headers={"content-type": "application/json"}
        ),
        400,
        "invalid_json",
    )
    _problem(await http.post("/api/v1/rooms", json=[1]), 400, "invalid_json")
    _problem(await http.post("/api/v1/rooms", json={"kind": "party"}), 422, "invalid_field")
    _problem(await http.post("/api/v1/rooms", json={"title": 5}), 422, "invalid_field")
    _problem(await http.post("/api/v1/rooms", json={"title": "x" * 201}), 422, "invalid_field")
    _problem(
        await http.post(
            "/api/v1/rooms",
            content=b'{"title": "' + b"x" * 20_000 + b'"}',
            headers={"content-type": "application/json"},
        ),
        413,
        "body_too_large",
    )
    # a card number in the title is redacted, not refused
    r = await http.post(
        "/api/v1/rooms", json={"title": "pay 4242 4242 4242 4242", "host_name": "A"}
    )
    assert r.status_code == 201
    # (not merely "4242": a millisecond timestamp in the answer may hold those digits)
    assert "4242 4242" not in r.text
    assert r.json()["title"] == "pay [card number removed]"
    _problem(
        await http.post("/api/v1/rooms", json={}, headers={"authorization": "Bearer nope"}),
        401,
        "invalid_api_key",
    )


async def test_rooms_need_an_api_key_unless_public(tmp_path: Path) -> None:
    async with (
        run_server(server_settings(tmp_path, public_rooms=False)) as srv,
        httpx.AsyncClient(base_url=srv.base_url) as http,
    ):
        _problem(await http.post("/api/v1/rooms", json={}), 401, "api_key_required")
        registry = srv.app_state.registry
        await registry.create_merchant("acme", "Acme", (), "ck_secret_key", int(time.time() * 1000))
        r = await http.post(
            "/api/v1/rooms",
            json={"kind": "live", "title": "Launch"},
            headers={"authorization": "Bearer ck_secret_key"},
        )
        assert r.status_code == 201
        room = r.json()
        assert room["merchant_id"] == "acme"
        assert room["invite"]["role"] == "viewer"  # live rooms invite an audience by default
        # the merchant reads any of its rooms; another key does not
        snap = await http.get(
            f"/api/v1/rooms/{room['room_id']}", headers={"authorization": "Bearer ck_secret_key"}
        )
        assert snap.status_code == 200
        assert snap.json()["view"]["kind"] == "live"
        _problem(
            await http.get(
                f"/api/v1/rooms/{room['room_id']}", headers={"authorization": "Bearer other"}
            ),
            401,
            "unauthorized",
        )


async def test_invites_never_grant_host_and_respect_who_mints_them(
    http: httpx.AsyncClient,
) -> None:
    room = await create_room(http)
    rid = room["room_id"]
    host = {"authorization": f"Bearer {room['host']['token']}"}
    url = f"/api/v1/rooms/{rid}/invites"
    _problem(await http.post(url, json={"role": "host"}, headers=host), 422, "invalid_role")
    _problem(await http.post(url, json={"role": "member"}), 403, "forbidden")
    bea = await join(http, room, "Bea")
    _problem(
        await http.post(url, json={}, headers={"authorization": f"Bearer {bea['token']}"}),
        403,
        "forbidden",
    )
    _problem(await http.post(url, json={"max_uses": 0}, headers=host), 422, "invalid_field")
    _problem(await http.post(url, json={"expires_in": 5}, headers=host), 422, "invalid_field")
    r = await http.post(url, json={"role": "cohost", "max_uses": 1}, headers=host)
    assert r.status_code == 201
    invite = r.json()
    assert invite["role"] == "cohost"
    assert invite["max_uses"] == 1
    co = (
        await http.post(f"/api/v1/rooms/{rid}/join", json={"invite": invite["token"], "name": "Cy"})
    ).json()
    assert co["role"] == "cohost"
    # single use: the second join is refused with a clear code
    _problem(
        await http.post(
            f"/api/v1/rooms/{rid}/join", json={"invite": invite["token"], "name": "Di"}
        ),
        410,
        "invite_exhausted",
    )
    # a cohost may invite members and associates, not other cohosts
    cohost = {"authorization": f"Bearer {co['token']}"}
    _problem(await http.post(url, json={"role": "cohost"}, headers=cohost), 403, "forbidden")
    staff = await http.post(url, json={"role": "associate"}, headers=cohost)
    assert staff.status_code == 201
    # revoking stops joins
    revoke = await http.delete(f"{url}/{staff.json()['invite_id']}", headers=host)
    assert revoke.status_code == 200
    _problem(
        await http.post(
            f"/api/v1/rooms/{rid}/join", json={"invite": staff.json()["token"], "name": "Ed"}
        ),
        410,
        "invite_revoked",
    )
    _problem(await http.delete(f"{url}/nope", headers=host), 404, "invite_unknown")


async def test_join_checks_the_invite(http: httpx.AsyncClient) -> None:
    room, other = await create_room(http), await create_room(http)
    rid = room["room_id"]
    url = f"/api/v1/rooms/{rid}/join"
    _problem(await http.post(url, json={"invite": "forged", "name": "X"}), 401, "token_invalid")
    _problem(
        await http.post(url, json={"invite": other["invite"]["token"], "name": "X"}),
        401,
        "token_invalid",
    )
    _problem(
        await http.post(url, json={"invite": room["invite"]["token"], "name": "  "}),
        422,
        "invalid_field",
    )
    _problem(await http.post(url, json={"name": "X"}), 422, "invalid_field")
    _problem(
        await http.post("/api/v1/rooms/r_nope/join", json={"invite": "x", "name": "X"}),
        404,
        "room_not_found",
    )


async def test_a_full_group_room_refuses_one_more_member(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    url = live_server.ws_url(room["room_id"])
    host = await Peer.open(url)
    welcome = await host.hello(room["host"]["token"])
    cap = welcome["view"]["member_count"]
    peers = []
    i = 0
    while True:
        member = await join(http, room, f"P{i}")
        p = await Peer.open(url)
        await p.send({"t": "hello", "token": member["token"], "last_seq": None})
        first = await p.recv()
        if first["t"] == "err":
            assert first["code"] == "room_full"
            break
        peers.append(p)
        i += 1
        assert i < 100, "a group room must have a member cap"
    assert len(peers) + cap == 12  # the default cap of a group room
    for p in [host, *peers]:
        await p.close()


async def test_openapi_lists_every_rest_route(tmp_path: Path) -> None:
    app = create_app(server_settings(tmp_path))
    doc = openapi_document("http://x")
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    for route in app.routes:
        if not isinstance(route, Route) or not route.path.startswith(("/api/", "/webhooks/")):
            continue
        for method in route.methods or ():
            if method == "HEAD":
                continue
            assert (route.path, method.lower()) in documented, (route.path, method)


async def test_openapi_health_and_metrics_are_served(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    r = await http.get("/openapi.json")
    assert r.json()["openapi"].startswith("3.")
    health = (await http.get("/healthz")).json()
    assert health == {"status": "ok", "rooms": 0, "broker": True}
    room = await create_room(http)
    p = await Peer.open(live_server.ws_url(room["room_id"]))
    await p.hello(room["host"]["token"])
    await p.send({"t": "cmd", "op": "1", "name": "PostMessage", "args": {"text": "hello"}})
    await p.recv_until("ack")
    metrics = (await http.get("/metrics")).text
    for name in (
        "coshop_connections",
        "coshop_rooms_loaded",
        "coshop_events_committed_total",
        "coshop_outbox_evictions_total",
        "coshop_commit_seconds_bucket",
    ):
        assert name in metrics
    assert "coshop_connections 1.0" in metrics
    _problem(await http.get("/no/such/page"), 404, "not_found")
    await p.close()


@pytest.mark.parametrize("path", ["/api/v1/rooms/r_missing"])
async def test_unknown_rooms_are_404(http: httpx.AsyncClient, path: str) -> None:
    _problem(await http.get(path, headers={"authorization": "Bearer x"}), 404, "room_not_found")


async def test_a_card_number_as_a_name_never_reaches_the_token(http: httpx.AsyncClient) -> None:
    room = await create_room(http, host="Ada 4242-4242-4242-4242")
    bea = await http.post(
        f"/api/v1/rooms/{room['room_id']}/join",
        json={"invite": room["invite"]["token"], "name": "Bea 4000 0566 5566 5556"},
    )
    assert bea.status_code == 201
    import base64

    for token in (room["host"]["token"], bea.json()["token"]):
        payload = token.split(".")[0]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
        assert "4242" not in decoded
        assert "5556" not in decoded
    assert "5556" not in bea.text


async def test_merchants_over_rest(tmp_path: Path) -> None:
    async with (
        run_server(server_settings(tmp_path, admin_token="a" * 40)) as srv,
        httpx.AsyncClient(base_url=srv.base_url) as http,
    ):
        url = "/api/v1/merchants"
        body = {"merchant_id": "acme", "name": "Acme", "origins": ["https://Shop.Example/"]}
        _problem(await http.post(url, json=body), 401, "invalid_admin_token")
        admin = {"authorization": "Bearer " + "a" * 40}
        _problem(
            await http.post(url, json={**body, "merchant_id": "A B"}, headers=admin),
            422,
            "invalid_field",
        )
        _problem(
            await http.post(
                url, json={**body, "origins": ["https://x.example/path"]}, headers=admin
            ),
            422,
            "invalid_origin",
        )
        r = await http.post(url, json=body, headers=admin)
        assert r.status_code == 201
        key = r.json()["api_key"]
        assert r.json()["origins"] == ["https://shop.example"]
        _problem(await http.post(url, json=body, headers=admin), 409, "merchant_exists")
        me = await http.get("/api/v1/merchant", headers={"authorization": f"Bearer {key}"})
        assert me.json() == {
            "merchant_id": "acme",
            "name": "Acme",
            "origins": ["https://shop.example"],
            "sign_in_url": None,
            "customer_tokens": {"hs256": False, "es256": False},
        }
        r = await http.put(
            "/api/v1/merchant/origins",
            json={"origins": ["https://a.example", "https://a.example"]},
            headers={"authorization": f"Bearer {key}"},
        )
        assert r.json()["origins"] == ["https://a.example"]
        rotated = await http.post(
            "/api/v1/merchant/api-key", headers={"authorization": f"Bearer {key}"}
        )
        new_key = rotated.json()["api_key"]
        _problem(
            await http.get("/api/v1/merchant", headers={"authorization": f"Bearer {key}"}),
            401,
            "invalid_api_key",
        )
        ok = await http.get("/api/v1/merchant", headers={"authorization": f"Bearer {new_key}"})
        assert ok.status_code == 200


async def test_no_admin_token_no_admin_route(http: httpx.AsyncClient) -> None:
    _problem(await http.post("/api/v1/merchants", json={}), 404, "not_found")


async def test_rest_trusts_the_room_not_a_stale_token(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    room = await create_room(http)
    rid = room["room_id"]
    r = await http.post(
        f"/api/v1/rooms/{rid}/invites",
        json={"role": "cohost"},
        headers={"authorization": f"Bearer {room['host']['token']}"},
    )
    co = (
        await http.post(
            f"/api/v1/rooms/{rid}/join", json={"invite": r.json()["token"], "name": "Co"}
        )
    ).json()
    bea = await join(http, room, "Bea")
    url = live_server.ws_url(rid)
    host = await Peer.open(url)
    await host.hello(room["host"]["token"])
    for token in (co["token"], bea["token"]):
        p = await Peer.open(url)
        await p.hello(token)
        await p.close()
    # demote the cohost, ban Bea
    cmds = [
        ("d", "PromoteMember", {"member_id": co["member_id"], "role": "member"}),
        ("b", "Ban", {"member_id": bea["member_id"]}),
    ]
    for op, name, args in cmds:
        await host.send({"t": "cmd", "op": op, "name": name, "args": args})
        assert (await host.recv_until("ack"))["op"] == op
    # the demoted cohost's token still says cohost: the room says member
    _problem(
        await http.post(
            f"/api/v1/rooms/{rid}/invites",
            json={"role": "moderator"},
            headers={"authorization": f"Bearer {co['token']}"},
        ),
        403,
        "forbidden",
    )
    # the banned member can neither read the room nor get back in
    _problem(
        await http.get(f"/api/v1/rooms/{rid}", headers={"authorization": f"Bearer {bea['token']}"}),
        403,
        "banned",
    )
    p = await Peer.open(url)
    await p.send({"t": "hello", "token": bea["token"], "last_seq": None})
    assert (await p.recv())["code"] == "banned"
    # a viewer invite makes no sense in a group room
    _problem(
        await http.post(
            f"/api/v1/rooms/{rid}/invites",
            json={"role": "viewer"},
            headers={"authorization": f"Bearer {room['host']['token']}"},
        ),
        422,
        "invalid_role",
    )
    await host.close()


async def test_the_merchant_reads_a_live_room_as_staff_see_it(tmp_path: Path) -> None:
    async with (
        run_server(server_settings(tmp_path, public_rooms=False)) as srv,
        httpx.AsyncClient(base_url=srv.base_url) as http,
    ):
        # the demo merchant (whose catalogue the demo serves) gets a key we know
        await srv.app_state.registry.rotate_api_key("demo", "ck_demo_key")
        key = {"authorization": "Bearer ck_demo_key"}
        r = await http.post("/api/v1/rooms", json={"kind": "live", "title": "Launch"}, headers=key)
        room = r.json()
        j = await http.post(
            f"/api/v1/rooms/{room['room_id']}/join",
            json={"invite": room["invite"]["token"], "name": "Bea"},
        )
        viewer = j.json()
        peer = await Peer.open(srv.ws_url(room["room_id"]))
        await peer.hello(viewer["token"])
        args = {"sku": "tent-2p", "variant": None, "quantity": 1, "note": "for the trip"}
        await peer.send({"t": "cmd", "op": "a1", "name": "AddLine", "args": args})
        assert (await peer.recv_until("ack"))["t"] == "ack"
        await peer.close()
        snap = await http.get(f"/api/v1/rooms/{room['room_id']}", headers=key)
        assert [line["note"] for line in snap.json()["view"]["lines"]] == ["for the trip"]
