"""Blocked sites and store mode over REST (server/api/stores.py, server/api/blocked_origins.py).

A real server on a loopback port. The widget refused on an unregistered site is recorded for its
merchant only (never without one, never coshop's own origin, never a registered one), bounded and
rate-limited, and listed for the console until the site is registered or dismissed. Store mode:
the merchant sets the store's branding and makes associate links; a shopper's room started from
the store sign is listed, asks for help, and an associate joins it with the associate role.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.api.blocked_origins import NEW_PER_HOUR, WRITES_PER_MINUTE, Budget
from server.storage.stores import KEEP_BLOCKED, StoreStore
from tests.server.conftest import LiveServer, run_server, server_settings

PROBLEM = "application/problem+json"
ADMIN = "admin-" + "s" * 40
SHOP_SITE = "https://shop.example"


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with run_server(server_settings(tmp_path, admin_token=ADMIN)) as srv:
        yield srv


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        yield client


async def _merchant(
    http: httpx.AsyncClient, merchant_id: str, origins: list[str]
) -> dict[str, str]:
    r = await http.post(
        "/api/v1/merchants",
        json={"merchant_id": merchant_id, "name": merchant_id.title(), "origins": origins},
        headers={"authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 201, r.text
    auth = {"authorization": f"Bearer {r.json()['api_key']}"}
    pk = await http.post("/api/v1/merchant/publishable-key", headers=auth)
    assert pk.status_code == 200, pk.text
    return {**auth, "pk": pk.json()["publishable_key"]}


def _auth(m: dict[str, str]) -> dict[str, str]:
    return {"authorization": m["authorization"]}


async def _blocked(http: httpx.AsyncClient, m: dict[str, str]) -> list[dict[str, Any]]:
    r = await http.get("/api/v1/merchant/blocked-origins", headers=_auth(m))
    assert r.status_code == 200, r.text
    assert r.json()["keep"] == KEEP_BLOCKED
    found: list[dict[str, Any]] = r.json()["blocked_origins"]
    return found


async def test_the_widget_refused_on_a_site_is_listed_until_the_site_is_registered(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    acme = await _merchant(http, "acme", [SHOP_SITE])
    other = await _merchant(http, "other", [])
    assert await _blocked(http, acme) == []

    # the widget's start page on an unregistered site: refused, and recorded (twice: counted)
    for _ in range(2):
        page = await http.get(
            "/start", params={"key": acme["pk"], "parent": "https://Blog.Example/"}
        )
        assert page.status_code == 403
    # a page's own script starting a room from an unregistered origin: recorded too
    r = await http.post(
        "/api/v1/shopper-rooms",
        json={"publishable_key": acme["pk"], "host_name": "Ana"},
        headers={"origin": "https://outlet.example"},
    )
    _problem(r, 403, "origin_not_allowed")
    # not recorded: a registered site, coshop's own pages, an unknown key, no merchant at all
    assert (
        await http.get("/start", params={"key": acme["pk"], "parent": SHOP_SITE})
    ).status_code == 200
    r = await http.post(
        "/api/v1/shopper-rooms",
        json={"publishable_key": acme["pk"], "host_name": "Ana"},
        headers={"origin": server.base_url},
    )
    assert r.status_code == 201, r.text
    unknown = await http.get(
        "/start", params={"key": "pk_" + "x" * 32, "parent": "https://x.example"}
    )
    assert unknown.status_code == 404
    assert (await http.get("/start", params={"key": acme["pk"]})).status_code == 403

    blocked = await _blocked(http, acme)
    by_origin = {b["origin"]: b for b in blocked}
    assert set(by_origin) == {"https://blog.example", "https://outlet.example"}
    blog = by_origin["https://blog.example"]
    assert blog["count"] == 2 and blog["first_seen_at"] <= blog["last_seen_at"]
    assert blocked[0]["origin"] == "https://outlet.example"  # most recently seen first
    assert await _blocked(http, other) == []  # another merchant sees none of it

    # registering the site (the console's one click is this PUT) takes it off the list
    r = await http.put(
        "/api/v1/merchant/origins",
        json={"origins": [SHOP_SITE, "https://blog.example"]},
        headers=_auth(acme),
    )
    assert r.status_code == 200, r.text
    assert [b["origin"] for b in await _blocked(http, acme)] == ["https://outlet.example"]
    started = await http.get("/start", params={"key": acme["pk"], "parent": "https://blog.example"})
    assert started.status_code == 200  # the widget opens there now

    # dismissing one
    _problem(
        await http.delete(
            "/api/v1/merchant/blocked-origins", params={"origin": "nope"}, headers=_auth(acme)
        ),
        422,
        "invalid_origin",
    )
    r = await http.delete(
        "/api/v1/merchant/blocked-origins",
        params={"origin": "https://outlet.example"},
        headers=_auth(acme),
    )
    assert r.json() == {"removed": 1}
    assert await _blocked(http, acme) == []
    _problem(await http.get("/api/v1/merchant/blocked-origins"), 401, "invalid_api_key")
    _problem(
        await http.get("/api/v1/merchant/blocked-origins?x=1", headers=_auth(acme)),
        400,
        "invalid_parameter",
    )


async def test_a_hostile_page_cannot_fill_the_list(http: httpx.AsyncClient) -> None:
    acme = await _merchant(http, "acme", [SHOP_SITE])
    for i in range(NEW_PER_HOUR + 5):
        page = await http.get(
            "/start", params={"key": acme["pk"], "parent": f"https://s{i}.example"}
        )
        assert page.status_code == 403  # every refusal is still answered
    blocked = await _blocked(http, acme)
    assert len(blocked) == NEW_PER_HOUR  # new sites per hour and merchant
    # a known site is still counted
    await http.get("/start", params={"key": acme["pk"], "parent": "https://s0.example"})
    counts = {b["origin"]: b["count"] for b in await _blocked(http, acme)}
    assert counts["https://s0.example"] == 2


def test_the_budget_counts_per_key_and_window() -> None:
    now = [0.0]
    budget = Budget(clock=lambda: now[0])
    assert all(budget.take("w:a", WRITES_PER_MINUTE, 60.0) for _ in range(WRITES_PER_MINUTE))
    assert not budget.take("w:a", WRITES_PER_MINUTE, 60.0)
    assert budget.left("w:a", WRITES_PER_MINUTE, 60.0) == 0
    assert budget.take("w:b", WRITES_PER_MINUTE, 60.0)  # another merchant has its own
    now[0] = 60.0
    assert budget.left("w:a", WRITES_PER_MINUTE, 60.0) == WRITES_PER_MINUTE
    assert budget.take("w:a", WRITES_PER_MINUTE, 60.0)


async def test_the_list_keeps_the_most_recently_seen(server: LiveServer) -> None:
    store = StoreStore(server.app_state.engine)
    for i in range(KEEP_BLOCKED + 3):
        assert await store.note_blocked("demo", f"https://s{i}.example", 1_000 + i) == "added"
    assert await store.note_blocked("demo", "https://s9.example", 9_999) == "counted"
    assert await store.note_blocked("demo", "https://new.example", 10_000, may_add=False) == (
        "skipped"
    )
    kept = await store.blocked("demo")
    assert len(kept) == KEEP_BLOCKED
    assert kept[0].origin == "https://s9.example" and kept[0].hits == 2
    origins = {b.origin for b in kept}
    assert "https://s0.example" not in origins and "https://s3.example" in origins
    assert "https://new.example" not in origins
    assert await store.forget_blocked("demo", None) == KEEP_BLOCKED


async def _store_room(
    server: LiveServer, http: httpx.AsyncClient, m: dict[str, str], name: str
) -> dict[str, Any]:
    """A shopper's room started from the store's QR page (coshop's own origin)."""
    r = await http.post(
        "/api/v1/shopper-rooms",
        json={"publishable_key": m["pk"], "host_name": name},
        headers={"origin": server.base_url},
    )
    assert r.status_code == 201, r.text
    room: dict[str, Any] = r.json()
    return room


async def test_store_mode_from_the_sign_to_an_associate_in_the_room(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    acme = await _merchant(http, "acme", [SHOP_SITE])
    other = await _merchant(http, "other", [])
    store = (await http.get("/api/v1/merchant/store", headers=_auth(acme))).json()
    assert store["store_mode"] is False and store["name"] == "Acme" and store["logo_url"] is None
    assert store["sign_url"] == f"{server.base_url}/s/acme/sign"
    public = (await http.get("/api/v1/stores/acme")).json()
    assert public == {"merchant_id": "acme", "store_mode": False, "name": "Acme", "logo_url": None}
    _problem(await http.get("/api/v1/stores/nobody"), 404, "merchant_unknown")

    # a shopper cannot ask for help before the store is set up
    ana = await _store_room(server, http, acme, "Ana")
    ana_auth = {"authorization": f"Bearer {ana['host']['token']}"}
    room_path = f"/api/v1/store/rooms/{ana['room_id']}"
    _problem(
        await http.put(room_path, json={"help": True}, headers=ana_auth), 409, "store_not_set_up"
    )

    # the merchant sets the store up
    for bad in ({"name": "  "}, {"name": "Acme", "logo_url": "http://x.example/l.png"}, {}):
        _problem(
            await http.put("/api/v1/merchant/store", json=bad, headers=_auth(acme)),
            422,
            "invalid_field",
        )
    logo = "https://cdn.example/acme.png"
    r = await http.put(
        "/api/v1/merchant/store", json={"name": "Acme Soho", "logo_url": logo}, headers=_auth(acme)
    )
    assert r.status_code == 200 and r.json()["store_mode"] is True, r.text
    assert (await http.get("/api/v1/stores/acme")).json()["name"] == "Acme Soho"
    sign = await http.get("/s/acme/sign")
    assert sign.status_code == 200 and "Shop together at Acme Soho" in sign.text
    assert f'src="{logo}"' in sign.text and f"{server.base_url}/s/acme<" in sign.text

    # associates' links: shown once, listed without the key, removable
    made = await http.post(
        "/api/v1/merchant/store/associates", json={"name": "Sam"}, headers=_auth(acme)
    )
    assert made.status_code == 201, made.text
    sam = made.json()
    assert sam["url"].startswith(f"{server.base_url}/associates#key=as_")
    sam_key = sam["url"].split("#key=", 1)[1]
    listed = (await http.get("/api/v1/merchant/store/associates", headers=_auth(acme))).json()
    assert [a["name"] for a in listed["associates"]] == ["Sam"]
    assert "url" not in listed["associates"][0] and listed["associates"][0]["last_used_at"] is None
    _problem(
        await http.post(
            "/api/v1/merchant/store/associates", json={"name": ""}, headers=_auth(acme)
        ),
        422,
        "invalid_field",
    )
    sam_auth = {"authorization": f"Bearer {sam_key}"}

    # the associates' page lists the store's rooms: Ana's once she lists it (the start page
    # does it for a room started from the sign), Ben's first once he asks for help
    empty = (await http.get("/api/v1/store/rooms", headers=sam_auth)).json()
    assert empty["rooms"] == [] and empty["store"]["name"] == "Acme Soho"
    assert empty["associate"]["name"] == "Sam"
    r = await http.put(room_path, json={"help": False}, headers=ana_auth)
    assert r.status_code == 200 and r.json()["listed"] is True
    assert r.json()["help_requested_at"] is None
    ben = await _store_room(server, http, acme, "Ben")
    ben_auth = {"authorization": f"Bearer {ben['host']['token']}"}
    r = await http.put(
        f"/api/v1/store/rooms/{ben['room_id']}", json={"help": True}, headers=ben_auth
    )
    assert r.json()["help_requested_at"] is not None
    _problem(
        await http.put(room_path, json={"help": "yes"}, headers=ana_auth), 422, "invalid_field"
    )
    _problem(await http.get(room_path), 401, "token_invalid")
    _problem(await http.get(room_path, headers=ben_auth), 403, "not_member")

    rooms = (await http.get("/api/v1/store/rooms", headers=sam_auth)).json()["rooms"]
    assert [r["shopper"] for r in rooms] == ["Ben", "Ana"]  # who asked for help comes first
    first = rooms[0]
    assert first["people"] == 1 and first["cart_lines"] == 0 and first["staff"] == []
    assert first["help_requested_at"] is not None and first["checking_out"] is False

    # "Join": a one-use invite with the associate role, for Sam, into Ben's room
    invite = await http.post(f"/api/v1/store/rooms/{ben['room_id']}/join", headers=sam_auth)
    assert invite.status_code == 201, invite.text
    inv = invite.json()
    assert inv["role"] == "associate" and inv["name"] == "Sam"
    token = inv["url"].split("invite=", 1)[1]
    joined = await http.post(
        f"/api/v1/rooms/{ben['room_id']}/join", json={"invite": token, "name": "Sam"}
    )
    assert joined.status_code == 201, joined.text
    assert joined.json()["role"] == "associate"
    again = await http.post(
        f"/api/v1/rooms/{ben['room_id']}/join", json={"invite": token, "name": "Eve"}
    )
    assert again.status_code == 410  # one use
    # (Sam is in the room's roster once connected: tests/browser/test_associates.py)

    # an associate reaches only their store's rooms, and only with a live link
    other_room = await _store_room(server, http, other, "Olga")
    _problem(
        await http.post(f"/api/v1/store/rooms/{other_room['room_id']}/join", headers=sam_auth),
        404,
        "not_a_store_room",
    )
    _problem(await http.get("/api/v1/store/rooms"), 401, "invalid_associate_key")
    listed = (await http.get("/api/v1/merchant/store/associates", headers=_auth(acme))).json()
    assert listed["associates"][0]["last_used_at"] is not None
    gone = await http.delete(
        f"/api/v1/merchant/store/associates/{sam['associate_id']}", headers=_auth(acme)
    )
    assert gone.status_code == 200
    _problem(await http.get("/api/v1/store/rooms", headers=sam_auth), 401, "invalid_associate_key")
    _problem(
        await http.delete(
            f"/api/v1/merchant/store/associates/{sam['associate_id']}", headers=_auth(acme)
        ),
        404,
        "associate_not_found",
    )
    # the associates' page itself
    page = await http.get("/associates")
    assert (
        page.status_code == 200
        and "frame-ancestors 'self'" in page.headers["content-security-policy"]
    )
