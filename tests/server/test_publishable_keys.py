"""Publishable keys: a new private room per shopper from the widget and the store QR page.

A real server on a loopback port. The key is drawn with the merchant's API key, works only from
the merchant's registered origins (or coshop's own pages), starts only group rooms of its own
merchant, and every start counts against the client's room-creation window.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.api.shopper_rooms import PUBLISHABLE_KEY
from server.cli import main
from server.db.engine import create_engine, database_url_for_data_dir
from server.storage import Registry
from tests.server.conftest import LiveServer, run_server, server_settings

PROBLEM = "application/problem+json"
ADMIN = "admin-" + "b" * 40
SHOP_SITE = "https://shop.example"


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    assert body["detail"]
    return body


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with run_server(server_settings(tmp_path, admin_token=ADMIN)) as srv:
        yield srv


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        yield client


async def _merchant(http: httpx.AsyncClient, merchant_id: str, origins: list[str]) -> str:
    r = await http.post(
        "/api/v1/merchants",
        json={"merchant_id": merchant_id, "name": merchant_id.title(), "origins": origins},
        headers={"authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


async def _publishable(http: httpx.AsyncClient, api_key: str) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/merchant/publishable-key", headers={"authorization": f"Bearer {api_key}"}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _start(
    http: httpx.AsyncClient, key: str, *, origin: str | None = SHOP_SITE, **body: Any
) -> httpx.Response:
    headers = {} if origin is None else {"origin": origin}
    payload = {"publishable_key": key, "host_name": "Pia", **body}
    return await http.post("/api/v1/shopper-rooms", json=payload, headers=headers)


async def test_the_merchant_draws_reads_rotates_and_turns_off_its_key(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    api_key = await _merchant(http, "acme", [SHOP_SITE])
    auth = {"authorization": f"Bearer {api_key}"}
    none = (await http.get("/api/v1/merchant/publishable-key", headers=auth)).json()
    assert none["publishable_key"] is None and none["snippet"] is None
    _problem(await http.post("/api/v1/merchant/publishable-key"), 401, "invalid_api_key")

    first = await _publishable(http, api_key)
    key = first["publishable_key"]
    assert key.startswith("pk_")
    assert first["origins"] == [SHOP_SITE]
    assert f'data-key="{key}"' in first["snippet"]
    assert first["store_url"] == f"{server.base_url}/s/acme"
    read = (await http.get("/api/v1/merchant/publishable-key", headers=auth)).json()
    assert read["publishable_key"] == key  # publishable: it can be read again

    second = await _publishable(http, api_key)
    assert second["publishable_key"] != key
    _problem(await _start(http, key), 401, "invalid_publishable_key")  # the old one stops at once
    assert (await _start(http, second["publishable_key"])).status_code == 201

    off = await http.delete("/api/v1/merchant/publishable-key", headers=auth)
    assert off.status_code == 200 and off.json()["publishable_key"] is None
    _problem(await _start(http, second["publishable_key"]), 401, "invalid_publishable_key")


async def test_every_shopper_who_starts_gets_a_private_room_of_their_own(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    api_key = await _merchant(http, "acme", [SHOP_SITE])
    key = (await _publishable(http, api_key))["publishable_key"]
    one = await _start(http, key, device=secrets.token_urlsafe(32))
    two = await _start(http, key, device=secrets.token_urlsafe(32), host_name="Quinn")
    assert one.status_code == two.status_code == 201, one.text
    a, b = one.json(), two.json()
    assert a["room_id"] != b["room_id"]
    assert a["merchant_id"] == b["merchant_id"] == "acme"
    assert a["kind"] == "group" and a["title"] == "Shopping at Acme"
    assert a["manage_url"].startswith(f"{server.base_url}/r/{a['room_id']}/manage#key=")
    assert one.headers["access-control-allow-origin"] == SHOP_SITE
    # each host sees their own room; the other host's token is not a member there
    mine = await http.get(
        f"/api/v1/rooms/{a['room_id']}", headers={"authorization": f"Bearer {a['host']['token']}"}
    )
    assert mine.status_code == 200
    theirs = await http.get(
        f"/api/v1/rooms/{a['room_id']}", headers={"authorization": f"Bearer {b['host']['token']}"}
    )
    _problem(theirs, 403, "not_member")
    # a friend joins a room only through that room's invite
    friend = await http.post(
        f"/api/v1/rooms/{a['room_id']}/join",
        json={"invite": a["invite"]["token"], "name": "Friend"},
    )
    assert friend.status_code == 201 and friend.json()["role"] == "member"
    wrong = await http.post(
        f"/api/v1/rooms/{b['room_id']}/join",
        json={"invite": a["invite"]["token"], "name": "Friend"},
    )
    _problem(wrong, 401, "token_invalid")


async def test_the_starting_browser_is_the_host_through_any_invite(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    api_key = await _merchant(http, "acme", [SHOP_SITE])
    key = (await _publishable(http, api_key))["publishable_key"]
    device = secrets.token_urlsafe(32)
    room = (await _start(http, key, device=device)).json()
    back = await http.post(
        f"/api/v1/rooms/{room['room_id']}/join",
        json={"invite": room["invite"]["token"], "name": "Pia", "device": device},
    )
    assert back.status_code == 201, back.text
    assert back.json()["member_id"] == room["host"]["member_id"]
    assert back.json()["role"] == "host"


async def test_only_registered_origins_may_use_the_key(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    api_key = await _merchant(http, "acme", [SHOP_SITE])
    key = (await _publishable(http, api_key))["publishable_key"]
    evil = await _start(http, key, origin="https://evil.example")
    body = _problem(evil, 403, "origin_not_allowed")
    assert "https://evil.example" in body["detail"] and "origins" in body["detail"]
    assert body["origin"] == "https://evil.example"
    # the refusal is readable by the page that asked, so it can say what to do
    assert evil.headers["access-control-allow-origin"] == "https://evil.example"
    _problem(await _start(http, key, origin=None), 403, "origin_not_allowed")
    _problem(await _start(http, key, origin="null"), 403, "origin_not_allowed")
    # coshop's own start page (the QR short URL, the widget's frame) may use it ...
    assert (await _start(http, key, origin=server.base_url)).status_code == 201
    # ... but the widget's frame also names the page it sits in, which must be registered
    framed = await _start(http, key, origin=server.base_url, parent="https://evil.example")
    _problem(framed, 403, "origin_not_allowed")
    ok = await _start(http, key, origin=server.base_url, parent=SHOP_SITE)
    assert ok.status_code == 201
    _problem(await _start(http, key, parent="not an origin"), 422, "invalid_origin")


async def test_the_key_starts_group_rooms_of_its_merchant_only(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    acme = await _merchant(http, "acme", [SHOP_SITE])
    await _merchant(http, "other", ["https://other.example"])
    key = (await _publishable(http, acme))["publishable_key"]
    room = (await _start(http, key, kind="live", merchant_id="other")).json()
    assert room["merchant_id"] == "acme" and room["kind"] == "group"
    # the publishable key is no API key: it cannot create rooms or invites, or read a room
    as_bearer = {"authorization": f"Bearer {key}"}
    _problem(await http.post("/api/v1/rooms", json={}, headers=as_bearer), 401, "invalid_api_key")
    invite = await http.post(
        f"/api/v1/rooms/{room['room_id']}/invites", json={"role": "member"}, headers=as_bearer
    )
    _problem(invite, 403, "forbidden")
    _problem(await http.get("/api/v1/merchant", headers=as_bearer), 401, "invalid_api_key")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"publishable_key": "sk_nope"}, 401, "invalid_publishable_key"),
        ({"publishable_key": 7}, 401, "invalid_publishable_key"),
        ({"publishable_key": "pk_" + "x" * 30}, 401, "invalid_publishable_key"),
        ({"host_name": ""}, 422, "invalid_field"),
        ({"host_name": "a" * 500}, 422, "invalid_field"),
        ({"host_name": "Pia\x00"}, 422, "invalid_text"),
        ({"device": "short"}, 422, "invalid_device"),
    ],
)
async def test_bad_input_gets_a_problem(
    server: LiveServer, http: httpx.AsyncClient, body: dict[str, Any], status: int, code: str
) -> None:
    api_key = await _merchant(http, "acme", [SHOP_SITE])
    key = (await _publishable(http, api_key))["publishable_key"]
    payload = {"publishable_key": key, "host_name": "Pia", **body}
    r = await http.post("/api/v1/shopper-rooms", json=payload, headers={"origin": SHOP_SITE})
    _problem(r, status, code)


async def test_the_preflight_lets_a_shop_page_call_it(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    r = await http.options(
        "/api/v1/shopper-rooms",
        headers={
            "origin": SHOP_SITE,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == SHOP_SITE
    assert "POST" in r.headers["access-control-allow-methods"]


async def test_starts_are_rate_limited_per_client(tmp_path: Path) -> None:
    settings = server_settings(
        tmp_path, admin_token=ADMIN, rate_limits=True, rate_room_create="2/hour"
    )
    async with (
        run_server(settings) as srv,
        httpx.AsyncClient(base_url=srv.base_url, timeout=10) as http,
    ):
        api_key = await _merchant(http, "acme", [SHOP_SITE])
        key = (await _publishable(http, api_key))["publishable_key"]
        assert (await _start(http, key)).status_code == 201
        # a wrong key counts too: nobody guesses keys faster than the window allows
        _problem(await _start(http, "pk_" + "y" * 32), 401, "invalid_publishable_key")
        limited = await _start(http, key)
        body = _problem(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1 and body["retry_after"] >= 1
        assert limited.headers["access-control-allow-origin"] == SHOP_SITE


def test_the_cli_draws_and_turns_off_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["merchant", "create", "--id", "acme", "--name", "Acme", *data]) == 0
    capsys.readouterr()
    assert main(["merchant", "update", "--id", "acme", "--rotate-publishable-key", *data]) == 0
    first = capsys.readouterr().out.strip().splitlines()[-1]
    assert PUBLISHABLE_KEY.fullmatch(first)
    assert main(["merchant", "update", "--id", "acme", "--rotate-publishable-key", *data]) == 0
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert PUBLISHABLE_KEY.fullmatch(second) and second != first
    assert main(["merchant", "update", "--id", "acme", "--remove-publishable-key", *data]) == 0
    assert "turned off" in capsys.readouterr().out

    async def current() -> object:
        engine = create_engine(database_url_for_data_dir(tmp_path))
        try:
            return await Registry(engine).publishable_key("acme")
        finally:
            await engine.dispose()

    assert asyncio.run(current()) is None


async def test_the_start_pages_are_framed_only_where_the_key_works(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    api_key = await _merchant(http, "acme", [SHOP_SITE])
    off = await http.get("/s/acme")
    assert off.status_code == 404 and "not open here yet" in off.text
    assert (await http.get("/s/acme/sign")).status_code == 404
    assert (await http.get("/s/nobody")).status_code == 404
    key = (await _publishable(http, api_key))["publishable_key"]

    qr = await http.get("/s/acme")
    assert qr.status_code == 200 and "Start my room" in qr.text
    assert qr.headers["content-security-policy"].endswith("frame-ancestors 'self'")
    sign = await http.get("/s/acme/sign")
    assert sign.status_code == 200 and f"{server.base_url}/s/acme" in sign.text

    widget = await http.get("/start", params={"key": key, "embed": "1", "parent": SHOP_SITE})
    assert widget.status_code == 200 and "Start my room" in widget.text
    assert widget.headers["content-security-policy"].endswith(f"frame-ancestors 'self' {SHOP_SITE}")
    stranger = await http.get(
        "/start", params={"key": key, "embed": "1", "parent": "https://evil.example"}
    )
    assert stranger.status_code == 403
    assert "Register the site in your coshop console" in stranger.text
    assert "Start my room" not in stranger.text
    stale = await http.get("/start", params={"key": "pk_" + "z" * 32, "parent": SHOP_SITE})
    assert stale.status_code == 404 and "Start my room" not in stale.text
