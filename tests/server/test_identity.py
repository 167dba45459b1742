"""Identity over REST and the WebSocket: merchant-signed customers, guest devices, bans that stick.

A real server on a loopback port; tokens are minted here the way a shop's backend would
(docs/merchant-identity.md), with PyJWT.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from websockets.exceptions import ConnectionClosed

from server.identity import ROTATION_GRACE_MS
from tests.server.conftest import LiveServer, run_server, server_settings
from tests.server.peers import Peer

PROBLEM = "application/problem+json"
ADMIN = "admin-" + "a" * 40


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    assert body["detail"]
    return body


class Shop:
    """A merchant registered over REST, with the API key and the HS256 secret it was shown."""

    def __init__(self, http: httpx.AsyncClient, merchant_id: str, key: str, secret: str) -> None:
        self.http, self.merchant_id, self.key, self.secret = http, merchant_id, key, secret

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"}

    def token(self, sub: str, *, name: str | None = "Cu Stomer", **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {"iss": self.merchant_id, "sub": sub, "exp": now + 600}
        if name is not None:
            payload["name"] = name
        payload.update(claims)
        return jwt.encode(payload, self.secret, algorithm="HS256")

    async def room(self, **fields: Any) -> dict[str, Any]:
        body = {"kind": "live", "title": "Launch", "host_name": "Hana", **fields}
        r = await self.http.post("/api/v1/rooms", json=body, headers=self.auth)
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data

    async def invite(self, room: dict[str, Any], role: str = "viewer") -> str:
        r = await self.http.post(
            f"/api/v1/rooms/{room['room_id']}/invites", json={"role": role}, headers=self.auth
        )
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with run_server(server_settings(tmp_path, admin_token=ADMIN)) as srv:
        yield srv


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        yield client


async def _register(http: httpx.AsyncClient, merchant_id: str) -> Shop:
    r = await http.post(
        "/api/v1/merchants",
        json={"merchant_id": merchant_id, "name": merchant_id.title()},
        headers={"authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 201, r.text
    key = r.json()["api_key"]
    r = await http.post(
        "/api/v1/merchant/signing-secret", headers={"authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["algorithm"] == "HS256"
    return Shop(http, merchant_id, key, r.json()["signing_secret"])


@pytest.fixture
async def shop(http: httpx.AsyncClient) -> Shop:
    return await _register(http, "acme")


async def _join(
    http: httpx.AsyncClient, room: dict[str, Any], invite: str | None = None, **body: Any
) -> httpx.Response:
    payload = {"invite": invite or room["invite"]["token"], **body}
    return await http.post(f"/api/v1/rooms/{room['room_id']}/join", json=payload)


async def _joined(http: httpx.AsyncClient, room: dict[str, Any], **body: Any) -> dict[str, Any]:
    r = await _join(http, room, **body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def _host(server: LiveServer, room: dict[str, Any]) -> Peer:
    host = await Peer.open(server.ws_url(room["room_id"]))
    await host.hello(room["host"]["token"])
    return host


async def _command(peer: Peer, op: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    await peer.send({"t": "cmd", "op": op, "name": name, "args": args})
    while True:
        msg = await peer.recv()
        if msg.get("t") in ("ack", "err") and msg.get("op") == op:
            return msg


async def _connect(server: LiveServer, room: dict[str, Any], token: str) -> Peer:
    peer = await Peer.open(server.ws_url(room["room_id"]))
    await peer.hello(token)
    return peer


async def _refused_at_hello(server: LiveServer, room: dict[str, Any], token: str) -> str:
    peer = await Peer.open(server.ws_url(room["room_id"]))
    await peer.send({"t": "hello", "token": token, "last_seq": None})
    msg = await peer.recv_until("err")
    await peer.close()
    return str(msg["code"])


# --- customer tokens --------------------------------------------------------------------------


async def test_an_hs256_customer_is_the_same_member_through_every_invite(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    room = await shop.room()
    first = await _joined(http, room, customer_token=shop.token("cust-42", name="Carla"))
    assert first["identity"] == "customer"
    assert first["name"] == "Carla"  # the name the shop signed, not one typed
    assert first["returning"] is False
    again = await _joined(
        http,
        room,
        invite=await shop.invite(room),
        name="Someone Else",
        customer_token=shop.token("cust-42", name=None),
    )
    assert again["member_id"] == first["member_id"]
    assert again["returning"] is True
    assert again["name"] == "Someone Else"  # without a signed name the typed one is used
    other = await _joined(http, room, customer_token=shop.token("cust-43"))
    assert other["member_id"] != first["member_id"]


async def test_an_es256_customer_token_verifies_with_the_registered_public_key(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    r = await http.put("/api/v1/merchant/public-key", json={"public_key": pem}, headers=shop.auth)
    assert r.status_code == 200, r.text
    assert r.json()["customer_tokens"] == {"hs256": True, "es256": True}
    room = await shop.room()
    claims = {"iss": "acme", "sub": "c-7", "name": "Eve", "exp": int(time.time()) + 300}
    token = jwt.encode(claims, private, algorithm="ES256")
    assert (await _joined(http, room, customer_token=token))["identity"] == "customer"
    # a JWK registers the same key
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key())
    r = await http.put("/api/v1/merchant/public-key", json={"public_key": jwk}, headers=shop.auth)
    assert r.status_code == 200, r.text
    assert (await _joined(http, room, customer_token=token))["returning"] is True
    # another key's signature does not verify; a key on another curve is refused at once
    stranger = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    _problem(await _join(http, room, customer_token=stranger), 401, "customer_token_bad_signature")
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    other_curve = p384.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    private_jwk = jwt.algorithms.ECAlgorithm.to_jwk(private)
    for bad in (other_curve, "not a key", "{}", 5, private_jwk):
        r = await http.put(
            "/api/v1/merchant/public-key", json={"public_key": bad}, headers=shop.auth
        )
        _problem(r, 422, "invalid_public_key")
    r = await http.delete("/api/v1/merchant/public-key", headers=shop.auth)
    assert r.json()["customer_tokens"] == {"hs256": True, "es256": False}
    _problem(await _join(http, room, customer_token=token), 401, "customer_token_invalid")


async def test_bad_customer_tokens_get_clear_problem_codes(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    room = await shop.room()
    now = int(time.time())
    cases = [
        (shop.token("c", exp=now - 3600), 401, "customer_token_expired"),
        (jwt.encode({"iss": "acme", "sub": "c", "exp": now + 60}, "x" * 32), 401,
         "customer_token_bad_signature"),
        (shop.token("c", iss="globex"), 401, "customer_token_wrong_merchant"),
        (jwt.encode({"iss": "acme", "exp": now + 60}, shop.secret), 401, "customer_token_invalid"),
        (jwt.encode({"iss": "acme", "sub": "c"}, shop.secret), 401, "customer_token_invalid"),
        (shop.token("c", exp=now + 7 * 86_400), 401, "customer_token_invalid"),  # too long-lived
        (shop.token("c", nbf=now + 3600), 401, "customer_token_invalid"),
        (shop.token(""), 401, "customer_token_invalid"),
        (shop.token("a\u0000b"), 401, "customer_token_invalid"),
        (jwt.encode({"iss": "acme", "sub": "c", "exp": now + 60}, "", algorithm="none"), 401,
         "customer_token_invalid"),
        ("not.a.jwt", 401, "customer_token_invalid"),
        (12, 401, "customer_token_invalid"),
    ]  # fmt: skip
    for token, status, code in cases:
        body = _problem(await _join(http, room, name="X", customer_token=token), status, code)
        assert body["field"] == "customer_token"
    # clock skew: a token that expired a few seconds ago still admits
    assert (await _join(http, room, customer_token=shop.token("c", exp=now - 5))).status_code == 201
    # nothing above used the invite: a refused join costs it nothing
    r = await http.get(f"/api/v1/rooms/{room['room_id']}", headers=shop.auth)
    assert r.status_code == 200


async def test_a_token_for_another_merchant_is_refused_as_such(http: httpx.AsyncClient) -> None:
    acme, globex = await _register(http, "acme"), await _register(http, "globex")
    room = await acme.room()
    _problem(
        await _join(http, room, customer_token=globex.token("c-1")),
        401,
        "customer_token_wrong_merchant",
    )
    # globex's secret with acme's name forged in iss does not verify either
    forged = jwt.encode({"iss": "acme", "sub": "c-1", "exp": int(time.time()) + 60}, globex.secret)
    _problem(await _join(http, room, customer_token=forged), 401, "customer_token_bad_signature")


async def test_rotating_the_signing_secret_keeps_the_previous_one_for_a_grace_period(
    server: LiveServer, http: httpx.AsyncClient, shop: Shop
) -> None:
    room = await shop.room()
    old = shop.token("c-1")
    r = await http.post("/api/v1/merchant/signing-secret", headers=shop.auth)
    body = r.json()
    assert body["signing_secret"] != shop.secret
    assert body["previous_valid_until"] > int(time.time() * 1000)
    assert (await _join(http, room, customer_token=old)).status_code == 201
    shop.secret = body["signing_secret"]
    assert (await _join(http, room, customer_token=shop.token("c-1"))).status_code == 201
    # after the grace period, the old secret no longer verifies
    registry = server.app_state.registry
    await registry.rotate_signing_secret("acme", shop.secret, int(time.time() * 1000) - 1)
    keys = await registry.merchant_keys("acme")
    assert keys.previous_signing_secret == shop.secret
    stale = keys.signing_rotated_at - ROTATION_GRACE_MS
    await registry.rotate_signing_secret("acme", shop.secret, stale)
    _problem(await _join(http, room, customer_token=old), 401, "customer_token_bad_signature")
    # DELETE stops HS256 at once
    r = await http.delete("/api/v1/merchant/signing-secret", headers=shop.auth)
    assert r.json()["customer_tokens"] == {"hs256": False, "es256": False}
    _problem(
        await _join(http, room, customer_token=shop.token("c-1")),
        409,
        "customer_identity_not_configured",
    )


async def test_the_merchant_record_never_shows_its_secrets(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    r = await http.get("/api/v1/merchant", headers=shop.auth)
    assert shop.secret not in r.text
    assert r.json()["customer_tokens"] == {"hs256": True, "es256": False}
    assert r.json()["sign_in_url"] is None


# --- guests -----------------------------------------------------------------------------------


async def test_a_guest_device_is_the_same_member_and_a_fresh_one_is_not(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    room = await shop.room()
    device = secrets.token_urlsafe(32)
    first = await _joined(http, room, name="Gus", device=device)
    assert first["identity"] == "guest"
    again = await _joined(http, room, invite=await shop.invite(room), name="Gus", device=device)
    assert again["member_id"] == first["member_id"]
    fresh = await _joined(http, room, name="Gus", device=secrets.token_urlsafe(32))
    assert fresh["member_id"] != first["member_id"]
    # no device at all: a one-off guest every time
    a, b = await _joined(http, room, name="Al"), await _joined(http, room, name="Al")
    assert a["member_id"] != b["member_id"]
    for bad in ("short", "x" * 129, "not base64url!!" * 4, 7):
        body = _problem(await _join(http, room, name="Gus", device=bad), 422, "invalid_device")
        assert body["field"] == "device"


async def test_only_the_device_secrets_hash_is_stored(
    server: LiveServer, http: httpx.AsyncClient, shop: Shop, tmp_path: Path
) -> None:
    room = await shop.room()
    device = secrets.token_urlsafe(32)
    await _joined(http, room, name="Gus", device=device)
    await _joined(http, room, customer_token=shop.token("customer-secret-id"))
    db = (tmp_path / "data" / "coshop.db").read_bytes()
    wal = tmp_path / "data" / "coshop.db-wal"
    stored = db + (wal.read_bytes() if wal.exists() else b"")
    assert device.encode() not in stored
    assert b"customer-secret-id" not in stored


# --- bans, kicks and mutes bind to the identity -----------------------------------------------


@pytest.mark.parametrize("kind", ["customer", "guest"])
async def test_a_banned_identity_is_refused_through_every_invite(
    server: LiveServer, http: httpx.AsyncClient, shop: Shop, kind: str
) -> None:
    room = await shop.room()
    device = secrets.token_urlsafe(32)

    def proof() -> dict[str, Any]:
        if kind == "customer":
            return {"customer_token": shop.token("troll")}
        return {"device": device, "name": "Troll"}

    troll = await _joined(http, room, **proof())
    peer = await _connect(server, room, troll["token"])
    host = await _host(server, room)
    assert (await _command(host, "b1", "Ban", {"member_id": troll["member_id"]}))["t"] == "ack"
    await peer.close()
    # the shared invite, a new shared invite, a personal one-use invite: all refused, none used
    personal = await http.post(
        f"/api/v1/rooms/{room['room_id']}/invites",
        json={"role": "viewer", "max_uses": 1},
        headers=shop.auth,
    )
    for invite in (room["invite"]["token"], await shop.invite(room), personal.json()["token"]):
        _problem(await _join(http, room, invite=invite, **proof()), 403, "banned")
    assert (await _join(http, room, invite=personal.json()["token"], name="Ok")).status_code == 201
    # the old member token is refused at the WebSocket too
    assert await _refused_at_hello(server, room, troll["token"]) == "banned"
    # unbanned, the identity comes back as the same member
    assert (await _command(host, "u1", "Unban", {"member_id": troll["member_id"]}))["t"] == "ack"
    back = await _joined(http, room, **proof())
    assert back["member_id"] == troll["member_id"]
    await host.close()


async def test_a_kicked_identity_needs_an_invite_made_after_the_kick(
    server: LiveServer, http: httpx.AsyncClient, shop: Shop
) -> None:
    room = await shop.room()
    older = await shop.invite(room)
    device = secrets.token_urlsafe(32)
    kid = await _joined(http, room, name="Kid", device=device)
    host = await _host(server, room)
    peer = await _connect(server, room, kid["token"])
    assert (await _command(host, "k1", "Kick", {"member_id": kid["member_id"]}))["t"] == "ack"
    await peer.close()
    for invite in (room["invite"]["token"], older):
        body = _problem(await _join(http, room, invite=invite, name="Kid", device=device), 403,
                        "kicked")  # fmt: skip
        assert "new invite" in body["detail"]
    newer = await shop.invite(room)
    back = await _joined(http, room, invite=newer, name="Kid", device=device)
    assert back["member_id"] != kid["member_id"]  # a new member: the kicked one stays kicked
    peer = await _connect(server, room, back["token"])
    # and from now on that new member is who the device is
    again = await _joined(http, room, name="Kid", device=device)
    assert again["member_id"] == back["member_id"]
    await peer.close()
    await host.close()


async def test_a_mute_outlives_rejoining_through_another_invite(
    server: LiveServer, http: httpx.AsyncClient, shop: Shop
) -> None:
    room = await shop.room()
    loud = await _joined(http, room, customer_token=shop.token("loud"))
    host = await _host(server, room)
    peer = await _connect(server, room, loud["token"])
    args = {"member_id": loud["member_id"], "until": None}
    assert (await _command(host, "m1", "MuteMember", args))["t"] == "ack"
    await peer.send({"t": "cmd", "op": "l1", "name": "Leave", "args": {}})
    with pytest.raises(ConnectionClosed):  # leaving closes the socket (4403)
        while True:
            await peer.recv()
    back = await _joined(
        http, room, invite=await shop.invite(room), customer_token=shop.token("loud")
    )
    assert back["member_id"] == loud["member_id"]
    peer = await _connect(server, room, back["token"])
    reply = await _command(peer, "p1", "PostMessage", {"text": "hello again"})
    assert reply["t"] == "err"
    assert reply["code"] == "muted"
    await peer.close()
    await host.close()


async def test_a_returning_member_keeps_the_role_the_room_gave_them(
    server: LiveServer, http: httpx.AsyncClient, shop: Shop
) -> None:
    room = await shop.room()
    mod = await _joined(
        http, room, invite=await shop.invite(room, "moderator"), customer_token=shop.token("m")
    )
    host = await _host(server, room)
    peer = await _connect(server, room, mod["token"])
    args = {"member_id": mod["member_id"], "role": "viewer"}
    assert (await _command(host, "d1", "PromoteMember", args))["t"] == "ack"
    await peer.close()
    back = await _joined(http, room, customer_token=shop.token("m"))
    assert back["role"] == "viewer"
    await host.close()


# --- who may join -----------------------------------------------------------------------------


async def test_a_customers_only_room_sends_anonymous_visitors_to_sign_in(
    server: LiveServer, http: httpx.AsyncClient, shop: Shop
) -> None:
    r = await http.put(
        "/api/v1/merchant/sign-in-url",
        json={"sign_in_url": "https://acme.example/login"},
        headers=shop.auth,
    )
    assert r.json()["sign_in_url"] == "https://acme.example/login"
    room = await shop.room(join_policy="customers_only")
    assert room["join_policy"] == "customers_only"
    for proof in ({}, {"device": secrets.token_urlsafe(32)}):
        body = _problem(await _join(http, room, name="Anon", **proof), 403, "sign_in_required")
        assert body["sign_in_url"].startswith("https://acme.example/login?return_to=")
        assert "sign in" in body["detail"]
        assert body["shop"] == "Acme"
    assert (await _joined(http, room, customer_token=shop.token("c1")))["identity"] == "customer"
    # the host opens the room to anyone with a link, and closes it again
    path = f"/api/v1/rooms/{room['room_id']}/join-policy"
    host = {"authorization": f"Bearer {room['host']['token']}"}
    r = await http.put(path, json={"join_policy": "anyone_with_link"}, headers=host)
    assert r.json() == {"room_id": room["room_id"], "join_policy": "anyone_with_link"}
    assert (await _join(http, room, name="Anon")).status_code == 201
    viewer = await _joined(http, room, name="Vi")
    _problem(
        await http.put(
            path,
            json={"join_policy": "customers_only"},
            headers={"authorization": f"Bearer {viewer['token']}"},
        ),
        403,
        "forbidden",
    )
    _problem(await http.put(path, json={"join_policy": "vip"}, headers=host), 422, "invalid_field")
    r = await http.put(path, json={"join_policy": "customers_only"}, headers=shop.auth)
    assert r.status_code == 200
    snapshot = await http.get(f"/api/v1/rooms/{room['room_id']}", headers=shop.auth)
    assert snapshot.json()["join_policy"] == "customers_only"
    # without a sign-in URL the message says where to sign in instead
    await http.put("/api/v1/merchant/sign-in-url", json={"sign_in_url": None}, headers=shop.auth)
    body = _problem(await _join(http, room, name="Anon"), 403, "sign_in_required")
    assert body["sign_in_url"] is None
    assert "website" in body["detail"]


async def test_customers_only_needs_a_way_to_sign_customers(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/api/v1/merchants",
        json={"merchant_id": "plain", "name": "Plain"},
        headers={"authorization": f"Bearer {ADMIN}"},
    )
    auth = {"authorization": f"Bearer {r.json()['api_key']}"}
    body = {"kind": "live", "join_policy": "customers_only"}
    r = await http.post("/api/v1/rooms", json=body, headers=auth)
    _problem(r, 409, "customer_identity_not_configured")
    r = await http.post("/api/v1/rooms", json={"join_policy": "everyone"}, headers=auth)
    _problem(r, 422, "invalid_field")
    room = (await http.post("/api/v1/rooms", json={"kind": "live"}, headers=auth)).json()
    assert room["join_policy"] == "anyone_with_link"
    path = f"/api/v1/rooms/{room['room_id']}/join-policy"
    r = await http.put(path, json={"join_policy": "customers_only"}, headers=auth)
    _problem(r, 409, "customer_identity_not_configured")
    # a customer token for a shop with no keys is refused with the same code
    token = jwt.encode({"iss": "plain", "sub": "c", "exp": int(time.time()) + 60}, "k" * 32)
    _problem(await _join(http, room, customer_token=token), 409, "customer_identity_not_configured")


async def test_sign_in_url_must_be_https(http: httpx.AsyncClient, shop: Shop) -> None:
    for bad in ("http://acme.example/login", "javascript:alert(1)", "/login", 5, "x" * 3000):
        r = await http.put(
            "/api/v1/merchant/sign-in-url", json={"sign_in_url": bad}, headers=shop.auth
        )
        _problem(r, 422, "invalid_field")
    _problem(await http.put("/api/v1/merchant/sign-in-url", json={}, headers=shop.auth), 422,
             "invalid_field")  # fmt: skip
    ok = "http://localhost:8001/login?next=1"
    r = await http.put("/api/v1/merchant/sign-in-url", json={"sign_in_url": ok}, headers=shop.auth)
    assert r.json()["sign_in_url"] == ok


def test_json_payloads_here_are_plain() -> None:
    # The JWK the merchant may register is JSON text; PyJWT's to_jwk gives exactly that.
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key))["crv"] == "P-256"


# --- the command line -------------------------------------------------------------------------


def test_the_cli_sets_up_customer_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.cli import main

    data = ["--data-dir", str(tmp_path)]
    assert main(["merchant", "create", "--id", "acme", "--name", "Acme", *data]) == 0
    capsys.readouterr()
    pem_file = tmp_path / "key.pem"
    pem_file.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    code = main(
        [
            "merchant", "update", "--id", "acme", "--rotate-signing-secret",
            "--public-key", str(pem_file), "--sign-in-url", "https://acme.example/login", *data,
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    secret = next(line for line in out.splitlines() if line.startswith("cs_"))
    assert "ES256 public key registered" in out
    assert "https://acme.example/login" in out
    token = jwt.encode({"iss": "acme", "sub": "c", "exp": int(time.time()) + 60}, secret)
    assert token  # a shop mints with the printed secret (verified over REST above)
    bad = tmp_path / "bad.pem"
    bad.write_text("nope")
    assert main(["merchant", "update", "--id", "acme", "--public-key", str(bad), *data]) == 2
    assert "not a PEM public key" in capsys.readouterr().err
    code = main(["merchant", "update", "--id", "acme", "--sign-in-url", "http://x.example", *data])
    assert code == 2
    assert "https://" in capsys.readouterr().err
    assert main(["merchant", "update", "--id", "acme", "--remove-public-key", *data]) == 0
    assert "removed" in capsys.readouterr().out
