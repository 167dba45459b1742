"""A publishable key is a client of its own (issue 19, items 3 and 4).

A ``pk_…`` sits in a shop's pages for anyone to read, so a scraper can use it from as many
addresses as it has. The server runs behind a trusted proxy (127.0.0.1), so each greedy request
names its own address in ``X-Forwarded-For`` and no per-address window or share ever fires: what
stops it is the key's own window (``COSHOP_RATE_PUBLISHABLE``, shared through Redis) and its share
of the room cap (``COSHOP_PUBLISHABLE_SHARE``). Another client's rooms keep working.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from server.http.ratelimit import RateLimits
from server.hub.shares import ClientShares, RoomHolders, current_client, current_key, key_identity
from server.hub.work import Unload
from server.settings import ConfigError, Settings
from server.transport.wire import JSON
from tests.server.conftest import LiveServer, run_server, server_settings
from tests.server.peers import Peer
from tests.services import redis_url, unique_name

ADMIN = "admin-" + "c" * 40
SHOP_SITE = "https://shop.example"
PROXY = ("127.0.0.1",)


def _from(address: str) -> dict[str, str]:
    """What the trusted proxy adds: the client's own address."""
    return {"X-Forwarded-For": address}


def _greedy(i: int) -> dict[str, str]:
    return _from(f"198.51.100.{i}")


def _assert_limited(r: httpx.Response) -> int:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "rate_limited"
    retry = r.headers["Retry-After"]
    assert retry.isdigit() and int(retry) >= 1
    assert body["retry_after"] == int(retry)
    return int(retry)


async def _merchant(http: httpx.AsyncClient, merchant_id: str) -> tuple[str, str]:
    """A merchant with SHOP_SITE registered: (API key, publishable key)."""
    r = await http.post(
        "/api/v1/merchants",
        json={"merchant_id": merchant_id, "name": merchant_id.title(), "origins": [SHOP_SITE]},
        headers={"authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 201, r.text
    api_key = str(r.json()["api_key"])
    r = await http.post(
        "/api/v1/merchant/publishable-key", headers={"authorization": f"Bearer {api_key}"}
    )
    assert r.status_code == 200, r.text
    return api_key, str(r.json()["publishable_key"])


async def _start(
    http: httpx.AsyncClient, key: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await http.post(
        "/api/v1/shopper-rooms",
        json={"publishable_key": key, "host_name": "Pia"},
        headers={"origin": SHOP_SITE, **(headers or {})},
    )


async def _started(
    http: httpx.AsyncClient, key: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    r = await _start(http, key, headers)
    assert r.status_code == 201, r.text
    room: dict[str, Any] = r.json()
    return room


async def _load(
    http: httpx.AsyncClient, room: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    """Read the room's snapshot as its host: this loads the room into the process."""
    return await http.get(
        f"/api/v1/rooms/{room['room_id']}",
        headers={"Authorization": f"Bearer {room['host']['token']}", **(headers or {})},
    )


@pytest.fixture
async def shares_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    # 6 rooms; an address may load 2 of them (0.34), the rooms of one key may be 3 (0.5)
    settings = server_settings(
        tmp_path,
        admin_token=ADMIN,
        max_rooms=6,
        client_share=0.34,
        client_share_floor=1,
        publishable_share=0.5,
        trusted_proxies=PROXY,
    )
    async with run_server(settings) as srv:
        yield srv


async def test_one_key_from_many_addresses_cannot_fill_the_room_cap(
    shares_server: LiveServer,
) -> None:
    srv = shares_server
    hub = srv.app_state.hub
    async with httpx.AsyncClient(base_url=srv.base_url, timeout=10) as http:
        _, scraped = await _merchant(http, "acme")
        bolt_api, bolt_pk = await _merchant(http, "bolt")
        key = key_identity(scraped)

        # the scraper starts four rooms, each from its own address, and loads them from there
        greedy = [await _started(http, scraped, _greedy(i)) for i in range(4)]
        for i in range(3):
            assert (await _load(http, greedy[i], _greedy(i))).status_code == 200
        assert hub.shares.key_rooms[key] == 3
        assert max(hub.shares.rooms.values()) == 1  # no address is anywhere near its share of 2

        # the fourth room is over the key's share, from a fresh address too
        refused = await _load(http, greedy[3], _greedy(3))
        _assert_limited(refused)
        assert "publishable key" in refused.json()["detail"]
        assert hub.room_count == 3

        # ... and so is its socket (the hello is answered rate_limited and closed 4429)
        url = srv.ws_url(greedy[3]["room_id"])
        async with connect(url, additional_headers=_greedy(9), compression=None) as ws:
            peer = Peer(ws, JSON)
            await peer.send({"t": "hello", "token": greedy[3]["host"]["token"], "last_seq": None})
            error = await peer.recv_until("err")
            assert error["code"] == "rate_limited"
            await ws.wait_closed()
            assert ws.close_code == 4429

        # starting one more room with the key is refused before any room is made, and the page
        # that asked can read why (CORS)
        again = await _start(http, scraped, _greedy(10))
        _assert_limited(again)
        assert again.headers["access-control-allow-origin"] == SHOP_SITE

        # another client, from 127.0.0.1: its API-key room and its shopper room (another key)
        # load, and a socket into one answers
        r = await http.post(
            "/api/v1/rooms", json={"title": "Bolt"}, headers={"authorization": f"Bearer {bolt_api}"}
        )
        assert r.status_code == 201, r.text
        mine = r.json()
        assert (await _load(http, mine)).status_code == 200
        theirs = await _started(http, bolt_pk)
        assert (await _load(http, theirs)).status_code == 200
        assert hub.room_count == 5
        peer = await Peer.open(srv.ws_url(theirs["room_id"]))
        await peer.hello(theirs["host"]["token"])
        await peer.send({"t": "ping"})
        assert (await peer.recv_until("pong"))["t"] == "pong"
        await peer.close()

        # when one of its rooms is unloaded the key gets that share back, and a room it started
        # still counts against it when it is loaded again, from whatever address
        actor = hub._actors[greedy[0]["room_id"]]
        actor.post(Unload())
        for _ in range(500):
            if greedy[0]["room_id"] not in hub._actors:
                break
            await asyncio.sleep(0.01)
        assert hub.shares.key_rooms[key] == 2
        assert (await _load(http, greedy[3], _greedy(11))).status_code == 200
        assert hub.shares.key_rooms[key] == 3
        _assert_limited(await _load(http, greedy[0], _greedy(12)))


async def test_one_key_from_many_addresses_meets_its_own_window_shared_through_redis(
    tmp_path: Path,
) -> None:
    settings = server_settings(
        tmp_path,
        admin_token=ADMIN,
        trusted_proxies=PROXY,
        rate_limits=True,
        rate_limit_url=redis_url(),
        broker_prefix=unique_name("coshop_pk"),  # this test's own windows in the shared Redis
        rate_publishable="3/hour",
    )
    async with (
        run_server(settings) as srv,
        httpx.AsyncClient(base_url=srv.base_url, timeout=10) as http,
    ):
        assert srv.app_state.rate_limits.shared
        _, scraped = await _merchant(http, "acme")
        _, other = await _merchant(http, "bolt")
        for i in range(3):
            await _started(http, scraped, _greedy(i))
        # a fourth address, well within its own room_create window: the key's window is full
        refused = await _start(http, scraped, _greedy(3))
        _assert_limited(refused)
        assert "this shop's key" in refused.json()["detail"]
        assert refused.headers["access-control-allow-origin"] == SHOP_SITE
        # the same address with another shop's key is another client
        await _started(http, other, _greedy(3))
        # a second process (its own windows object on the same Redis) finds the key's window full
        elsewhere = RateLimits(settings)
        try:
            window = [("publishable", f"p:{key_identity(scraped)}")]
            assert await elsewhere.hit(window) is not None
        finally:
            await elsewhere.close()


def test_the_key_settings_are_checked_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="COSHOP_PUBLISHABLE_SHARE"):
        Settings(publishable_share=1.5, data_dir=tmp_path).checked()
    with pytest.raises(ConfigError, match="COSHOP_RATE_PUBLISHABLE"):
        Settings(rate_publishable="lots", data_dir=tmp_path).checked()
    shares = ClientShares.from_settings(Settings(data_dir=tmp_path))
    assert shares.key_cap(10_000) == 5_000  # the default: half of the default room cap
    assert ClientShares(0.1, 16, 0.0).key_cap(100) == 100  # 0: no share per key


def test_a_room_counts_against_its_address_and_the_key_that_started_it() -> None:
    shares = ClientShares(0.5, 1, 0.25, remember=2)
    assert shares.holders("r0") == RoomHolders(None, None)  # no client asked: nobody's
    key = key_identity("pk_" + "a" * 20)
    token = current_key.set(key)
    try:
        for room in ("r1", "r2", "r3"):
            shares.started(room)
    finally:
        current_key.reset(token)
    shares.started("r4")  # no key: not remembered
    client = current_client.set("198.51.100.1")
    try:
        assert shares.holders("r1") == RoomHolders("198.51.100.1", None)  # forgotten (bound 2)
        two, three = shares.holders("r2"), shares.holders("r3")
        assert two == three == RoomHolders("198.51.100.1", key)
        assert shares.holders("r4").key is None
        # 8 rooms: the key may hold 2, an address 4
        assert shares.take_room(two, 8) is None
        assert shares.take_room(three, 8) is None
        refusal = shares.take_room(RoomHolders("198.51.100.2", key), 8)
        assert refusal is not None and "publishable key" in refusal
        assert shares.key_rooms == Counter({key: 2})
        assert shares.rooms == Counter({"198.51.100.1": 2})  # nothing counted for the refusal
        shares.give_back_room(two)
        shares.give_back_room(None)  # a room no client loaded
        assert shares.key_rooms == Counter({key: 1})
        assert shares.take_room(RoomHolders("198.51.100.2", key), 8) is None
    finally:
        current_client.reset(client)
    address_only = ClientShares(0.25, 1, 0.0)
    assert address_only.take_room(RoomHolders("a", None), 4) is None
    refusal = address_only.take_room(RoomHolders("a", None), 4)
    assert refusal is not None and "this client" in refusal
