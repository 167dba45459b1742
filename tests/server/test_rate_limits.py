"""Rate limits per client (issue 19, item 3): REST groups and WebSocket handshakes answer
``429 rate_limited`` with ``Retry-After``; another client is untouched; the windows live in Redis
when one is configured, so two servers share them; a dead Redis falls back to per-process windows.

The real server on loopback; a second client speaks from 127.0.0.2 (Linux routes all of 127/8 to
the loopback interface).

The tests' windows are an hour long: the sliding-window counter weighs the previous window's
count by how much of it is left and rounds down, so just after an edge one call over can pass;
with a one-minute window that edge fell inside a test now and then.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server.http.ratelimit import check_rate_settings, client_address, route_group
from server.settings import ConfigError, Settings
from tests.server.conftest import LiveServer, run_server, server_settings
from tests.services import redis_url, unique_name

OTHER = "127.0.0.2"


def _client(base: str, local: str | None = None) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=local) if local else None
    return httpx.AsyncClient(base_url=base, timeout=10, transport=transport)


def _assert_limited(r: httpx.Response) -> int:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "rate_limited"
    retry = r.headers["Retry-After"]
    assert retry.isdigit() and int(retry) >= 1
    assert body["retry_after"] == int(retry)
    return int(retry)


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[LiveServer]:
    settings = server_settings(
        tmp_path,
        rate_limits=True,
        rate_room_create="3/hour",
        rate_join="2/hour",
        rate_socket="2/hour",
        rate_merchant="2/hour",
        rate_invite="2/hour",
    )
    async with run_server(settings) as srv:
        yield srv


async def _room(http: httpx.AsyncClient) -> dict[str, Any]:
    r = await http.post("/api/v1/rooms", json={"title": "Trip"})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_joins_over_the_limit_get_429_and_another_address_still_joins(
    limited: LiveServer,
) -> None:
    async with _client(limited.base_url) as a, _client(limited.base_url, OTHER) as b:
        room = await _room(a)
        path = f"/api/v1/rooms/{room['room_id']}/join"
        body = {"invite": room["invite"]["token"], "name": "Bot"}
        for _ in range(2):
            assert (await a.post(path, json=body)).status_code == 201
        _assert_limited(await a.post(path, json=body))
        # nothing behind the refusal ran: the invite's uses are the two joins
        invite = await limited.app_state.registry.get_invite(room["invite"]["invite_id"])
        assert invite.uses == 2
        # the other client is untouched
        assert (await b.post(path, json={**body, "name": "Bea"})).status_code == 201


async def test_anonymous_room_creation_is_limited_per_address(limited: LiveServer) -> None:
    async with _client(limited.base_url) as a, _client(limited.base_url, OTHER) as b:
        for _ in range(3):
            await _room(a)
        _assert_limited(await a.post("/api/v1/rooms", json={}))
        await _room(b)
        metrics = (await b.get("/metrics")).text
        assert 'coshop_rate_limited_total{group="room_create"} 1.0' in metrics


async def test_merchant_calls_share_one_window_per_key(limited: LiveServer) -> None:
    registry = limited.app_state.registry
    await registry.create_merchant("shop-a", "A", (), "ck_key_a_" + "x" * 30, 0)
    await registry.create_merchant("shop-b", "B", (), "ck_key_b_" + "y" * 30, 0)
    key_a = {"Authorization": "Bearer ck_key_a_" + "x" * 30}
    key_b = {"Authorization": "Bearer ck_key_b_" + "y" * 30}
    async with _client(limited.base_url) as http:
        # two different routes, one window: the key's
        assert (await http.get("/api/v1/merchant", headers=key_a)).status_code == 200
        r = await http.post("/api/v1/rooms", json={}, headers=key_a)
        assert r.status_code == 201, r.text
        _assert_limited(await http.get("/api/v1/merchant", headers=key_a))
        # another merchant, from the same address, has its own window
        assert (await http.get("/api/v1/merchant", headers=key_b)).status_code == 200


async def test_invites_are_limited_per_member(limited: LiveServer) -> None:
    async with _client(limited.base_url) as http:
        room = await _room(http)
        host = {"Authorization": f"Bearer {room['host']['token']}"}
        path = f"/api/v1/rooms/{room['room_id']}/invites"
        for _ in range(2):
            assert (await http.post(path, json={}, headers=host)).status_code == 201
        _assert_limited(await http.post(path, json={}, headers=host))
        # another room's host is another member
        other = await _room(http)
        r = await http.post(
            f"/api/v1/rooms/{other['room_id']}/invites",
            json={},
            headers={"Authorization": f"Bearer {other['host']['token']}"},
        )
        assert r.status_code == 201


async def test_websocket_handshakes_over_the_limit_get_429(limited: LiveServer) -> None:
    async with _client(limited.base_url) as http:
        room = await _room(http)
    url = limited.ws_url(room["room_id"])
    for _ in range(2):
        async with connect(url, open_timeout=5):
            pass
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, open_timeout=5):
            pass
    response = refused.value.response
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert b'"rate_limited"' in response.body
    # another address connects
    async with connect(url, open_timeout=5, local_addr=(OTHER, 0)) as ws:
        await ws.send('{"t": "ping"}')  # before hello: the server asks for one
        assert "bad_hello" in str(await ws.recv())


async def test_two_servers_share_the_windows_through_redis(tmp_path: Path) -> None:
    url, prefix = redis_url(), unique_name("coshop_rl")
    shared = {
        "rate_limits": True,
        "rate_limit_url": url,
        "broker_prefix": prefix,
        "rate_room_create": "3/hour",
    }
    one = server_settings(tmp_path / "one", **shared)
    two = server_settings(tmp_path / "two", **shared)
    async with run_server(one) as a, run_server(two) as b:
        assert a.app_state.rate_limits.shared
        async with _client(a.base_url) as ha, _client(b.base_url) as hb:
            await _room(ha)
            await _room(ha)
            await _room(hb)
            _assert_limited(await hb.post("/api/v1/rooms", json={}))
            _assert_limited(await ha.post("/api/v1/rooms", json={}))


async def test_a_dead_redis_falls_back_to_windows_in_the_process(tmp_path: Path) -> None:
    settings = server_settings(
        tmp_path,
        rate_limits=True,
        rate_limit_url="redis://127.0.0.1:1/0",  # nothing listens there
        rate_room_create="2/hour",
    )
    async with run_server(settings) as srv, _client(srv.base_url) as http:
        await _room(http)  # served, not a 500: the limit is counted in memory
        await _room(http)
        _assert_limited(await http.post("/api/v1/rooms", json={}))


async def test_the_openapi_document_lists_429_on_limited_routes(live_server: LiveServer) -> None:
    async with _client(live_server.base_url) as http:
        doc = (await http.get("/openapi.json")).json()
    limited = {
        ("/api/v1/rooms", "post"),
        ("/api/v1/rooms/{room_id}/join", "post"),
        ("/api/v1/rooms/{room_id}/invites", "post"),
        ("/api/v1/rooms/{room_id}/checkout", "post"),
        ("/api/v1/merchant", "get"),
    }
    for path, method in limited:
        response = doc["paths"][path][method]["responses"]["429"]
        assert "Retry-After" in response["headers"], (path, method)
        assert "rate_limited" in str(response), (path, method)


def test_policy_table() -> None:
    assert route_group("POST", "/api/v1/rooms") == "room_create"
    assert route_group("POST", "/api/v1/rooms/r1/join") == "join"
    assert route_group("DELETE", "/api/v1/rooms/r1/invites/i1") == "invite"
    assert route_group("POST", "/api/v1/rooms/r1/checkout/o1/pay") == "checkout"
    assert route_group("POST", "/webhooks/stripe") == "webhook"
    assert route_group("PUT", "/api/v1/merchant/origins") == "merchant"
    assert route_group("GET", "/api/v1/merchants/demo/products") == "api"
    assert route_group("GET", "/api/v1/rooms/r1") == "api"
    assert route_group("GET", "/r/r1") is None
    assert route_group("GET", "/static/embed.js") is None


def _scope(peer: str, forwarded: str | None = None) -> dict[str, Any]:
    headers = [] if forwarded is None else [(b"x-forwarded-for", forwarded.encode())]
    return {"client": (peer, 5000), "headers": headers}


def test_the_client_address_believes_only_trusted_proxies() -> None:
    proxies = (ipaddress.ip_network("10.0.0.0/8"),)
    # no trusted proxy: X-Forwarded-For is the client's own word, ignored
    assert client_address(_scope("203.0.113.9", "198.51.100.1")) == "203.0.113.9"
    # through the proxy: the right-most hop that is not a proxy; a client-written left part
    # cannot pick another address
    assert client_address(_scope("10.0.0.5", "1.2.3.4, 198.51.100.7"), proxies) == "198.51.100.7"
    assert client_address(_scope("10.0.0.5", "198.51.100.7, 10.1.1.1"), proxies) == "198.51.100.7"
    # an untrusted peer's header is ignored even when proxies are configured
    assert client_address(_scope("203.0.113.9", "198.51.100.7"), proxies) == "203.0.113.9"
    # IPv6 clients count by /64; a mapped IPv4 address is that address
    assert client_address(_scope("2001:db8:1:2::99")) == "2001:db8:1:2::/64"
    assert client_address(_scope("::ffff:192.0.2.1")) == "192.0.2.1"
    # garbage in the header stops the walk at the last readable hop
    assert client_address(_scope("10.0.0.5", "junk"), proxies) == "10.0.0.5"


def test_unreadable_limits_are_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="COSHOP_RATE_JOIN"):
        check_rate_settings(Settings(rate_join="lots"))
    with pytest.raises(ConfigError, match="COSHOP_TRUSTED_PROXIES"):
        Settings(trusted_proxies=("proxy.local",), data_dir=tmp_path).checked()
    with pytest.raises(ConfigError, match="COSHOP_RATE_LIMIT_URL"):
        Settings(rate_limit_url="memcached://x", data_dir=tmp_path).checked()
    check_rate_settings(Settings(rate_join=""))  # empty: no limit


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_window(
    tmp_path: Path,
) -> None:
    async def third_creation(trusted: tuple[str, ...], sub: str) -> int:
        settings = server_settings(
            tmp_path / sub, rate_limits=True, rate_room_create="2/hour", trusted_proxies=trusted
        )
        async with run_server(settings) as srv, _client(srv.base_url) as http:
            for i in range(2):
                headers = {"X-Forwarded-For": f"198.51.100.{i}"}
                assert (await http.post("/api/v1/rooms", json={}, headers=headers)).is_success
            headers = {"X-Forwarded-For": "198.51.100.9"}
            return (await http.post("/api/v1/rooms", json={}, headers=headers)).status_code

    # 127.0.0.1 is the proxy: three forwarded clients, three windows
    assert await third_creation(("127.0.0.1/32",), "trusted") == 201
    # no proxy configured: the header is the caller's own word, and it is one client
    assert await third_creation((), "untrusted") == 429
