"""The merchant's word list over REST, and how it reaches the merchant's rooms (issue 13, item 6).

A real server on a loopback port; the merchant registers over REST with the admin token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import LiveServer, run_server, server_settings
from tests.server.peers import Peer

PROBLEM = "application/problem+json"
ADMIN = "admin-" + "w" * 40
MASK = "•••"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with run_server(server_settings(tmp_path, admin_token=ADMIN)) as srv:
        yield srv


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as client:
        yield client


async def _merchant(http: httpx.AsyncClient, merchant_id: str) -> dict[str, str]:
    r = await http.post(
        "/api/v1/merchants",
        json={"merchant_id": merchant_id, "name": merchant_id.title()},
        headers={"authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 201, r.text
    return {"authorization": f"Bearer {r.json()['api_key']}"}


@pytest.fixture
async def auth(http: httpx.AsyncClient) -> dict[str, str]:
    return await _merchant(http, "acme")


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    assert body["detail"]
    return body


async def _room(http: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/rooms", json={"kind": "live", "title": "Launch", "host_name": "Hana"}, headers=auth
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def _staff_view(
    http: httpx.AsyncClient, auth: dict[str, str], room: dict[str, Any]
) -> dict[str, Any]:
    r = await http.get(f"/api/v1/rooms/{room['room_id']}", headers=auth)
    assert r.status_code == 200, r.text
    moderation: dict[str, Any] = r.json()["view"]["moderation"]
    return moderation


async def _event(peer: Peer, kind: str) -> dict[str, Any]:
    """The next durable event of type ``kind`` (others, like one's own join, are skipped)."""
    while True:
        (ev,) = await peer.events(1)
        if ev["ev"]["type"] == kind:
            return ev


async def test_a_merchant_sets_reads_and_clears_its_word_list(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    r = await http.get("/api/v1/merchant/word-list", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"merchant_id": "acme", "entries": [], "updated_at": None}
    body = {
        "entries": [
            {"word": "Darn", "action": "mask"},
            {"word": "ＳＣＡＭ"},  # noqa: RUF001  # full-width on purpose: stored folded
            {"word": "darn", "action": "block"},
        ]
    }
    r = await http.put("/api/v1/merchant/word-list", json=body, headers=auth)
    assert r.status_code == 200, r.text
    put = r.json()
    assert put["entries"] == [
        {"word": "darn", "action": "block"},  # a duplicate merged: block wins
        {"word": "scam", "action": "block"},
    ]
    assert put["rooms_updated"] == 0 and put["rooms_failed"] == 0
    r = await http.get("/api/v1/merchant/word-list", headers=auth)
    assert r.json()["entries"] == put["entries"]
    assert r.json()["updated_at"] == put["updated_at"]
    r = await http.put("/api/v1/merchant/word-list", json={"entries": []}, headers=auth)
    assert r.status_code == 200 and r.json()["entries"] == []
    assert (await http.get("/api/v1/merchant/word-list", headers=auth)).json()["entries"] == []


async def test_each_merchant_has_its_own_list(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    other = await _merchant(http, "globex")
    await http.put(
        "/api/v1/merchant/word-list", json={"entries": [{"word": "acme"}]}, headers=other
    )
    assert (await http.get("/api/v1/merchant/word-list", headers=auth)).json()["entries"] == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "invalid_field"),
        ({"entries": "darn"}, "invalid_field"),
        ({"entries": ["darn"]}, "invalid_field"),
        ({"entries": [{"word": "darn", "extra": 1}]}, "invalid_field"),
        ({"entries": [{"word": 3}]}, "invalid_field"),
        ({"entries": [{"word": "x" * 201}]}, "invalid_field"),
        ({"entries": [{"word": "darn", "action": "hide"}]}, "invalid_field"),
        ({"entries": [{"word": "?!"}]}, "invalid_word_list"),
        ({"entries": [{"word": "one two three four five"}]}, "invalid_word_list"),
        ({"entries": [{"word": f"w{i}"} for i in range(201)]}, "invalid_word_list"),
        ({"entries": [{"word": "da\u0000rn"}]}, "invalid_text"),
    ],
)
async def test_a_bad_list_is_refused_with_a_problem_and_nothing_changes(
    http: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any], code: str
) -> None:
    await http.put("/api/v1/merchant/word-list", json={"entries": [{"word": "keep"}]}, headers=auth)
    r = await http.put("/api/v1/merchant/word-list", json=body, headers=auth)
    assert _problem(r, 422, code)["field"].startswith("entries")
    r = await http.get("/api/v1/merchant/word-list", headers=auth)
    assert r.json()["entries"] == [{"word": "keep", "action": "block"}]


async def test_the_list_needs_the_merchants_key(http: httpx.AsyncClient) -> None:
    _problem(await http.get("/api/v1/merchant/word-list"), 401, "invalid_api_key")
    r = await http.put(
        "/api/v1/merchant/word-list",
        json={"entries": []},
        headers={"authorization": "Bearer ck_nope"},
    )
    _problem(r, 401, "invalid_api_key")
    r = await http.delete("/api/v1/merchant/word-list")
    assert r.status_code == 405
    assert set(r.headers["allow"].replace(" ", "").split(",")) >= {"GET", "PUT"}


async def test_the_list_reaches_the_merchants_open_rooms_and_their_chat(
    server: LiveServer, http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    room = await _room(http, auth)
    body = {"entries": [{"word": "darn", "action": "mask"}, {"word": "scam", "action": "block"}]}
    r = await http.put("/api/v1/merchant/word-list", json=body, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["rooms_updated"] == 1
    moderation = await _staff_view(http, auth, room)
    assert moderation["merchant_word_list"] == [
        {"word": "darn", "action": "mask"},
        {"word": "scam", "action": "block"},
    ]
    assert moderation["word_list"] == []

    r = await http.post(
        f"/api/v1/rooms/{room['room_id']}/join",
        json={"invite": room["invite"]["token"], "name": "Vi"},
    )
    assert r.status_code == 201, r.text
    viewer = await Peer.open(server.ws_url(room["room_id"]))
    try:
        await viewer.hello(r.json()["token"])
        await viewer.send(
            {"t": "cmd", "op": "o1", "name": "PostMessage", "args": {"text": "DARN cheap"}}
        )
        posted = await _event(viewer, "MessagePosted")
        assert posted["ev"]["text"] == f"{MASK} cheap"
        await viewer.send(
            {"t": "cmd", "op": "o2", "name": "PostMessage", "args": {"text": "total scam"}}
        )
        blocked = await _event(viewer, "MessageBlocked")
        assert blocked["ev"]["words"] == ["scam"]
        assert blocked["ev"]["strikes"] == 1
    finally:
        await viewer.close()
    strikes = (await _staff_view(http, auth, room))["strikes"]
    assert list(strikes.values()) == [[blocked["ev"]["at"]]]


async def test_a_room_opened_after_the_list_was_set_has_it(
    server: LiveServer, http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """Room creation feeds the merchant's list once the room's log exists."""
    body = {"entries": [{"word": "heck", "action": "mask"}]}
    assert (await http.put("/api/v1/merchant/word-list", json=body, headers=auth)).is_success
    room = await _room(http, auth)  # POST /api/v1/rooms: nothing else feeds it
    moderation = await _staff_view(http, auth, room)
    assert moderation["merchant_word_list"] == [{"word": "heck", "action": "mask"}]
    # a merchant without a list: nothing is fed, nothing is written
    other = await _merchant(http, "globex")
    bare = await _room(http, other)
    assert (await _staff_view(http, other, bare))["merchant_word_list"] == []
