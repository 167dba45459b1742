"""The cart's deadline on a real server: the room locks the cart itself when it comes, and a room
loaded after its deadline (a restart of the app and hub over the same database) locks on load,
before anyone is welcomed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from tests.server.conftest import run_server, server_settings
from tests.server.peers import Peer, create_room, join


async def _command(peer: Peer, op: str, name: str, **args: Any) -> dict[str, Any]:
    await peer.send({"t": "cmd", "op": op, "name": name, "args": args})
    while True:
        msg = await peer.recv()
        if msg.get("op") == op and msg.get("t") in ("ack", "err"):
            return msg


async def _until_event(
    peer: Peer, etype: str, timeout: float = 10.0, seen: list[str] | None = None
) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            msg = await peer.recv(timeout)
            evs = [msg] if msg.get("t") == "ev" else msg.get("evs", [])
            for ev in evs:
                if seen is not None:
                    seen.append(ev["ev"]["type"])
                if ev["ev"]["type"] == etype:
                    data: dict[str, Any] = ev["ev"]
                    return data


async def _until_past(ms: int) -> None:
    """Wait until the wall clock has passed ``ms`` (the deadline is wall-clock time)."""
    while time.time() * 1000 <= ms:
        await asyncio.sleep(0.05)


async def test_the_cart_locks_itself_at_its_deadline_and_a_nudge_reaches_only_its_member(
    tmp_path: Path,
) -> None:
    async with (
        run_server(server_settings(tmp_path)) as srv,
        httpx.AsyncClient(base_url=srv.base_url) as http,
    ):
        room = await create_room(http)
        bob, cat = await join(http, room, "Bob"), await join(http, room, "Cat")
        url = srv.ws_url(room["room_id"])
        host, b, k = await Peer.open(url), await Peer.open(url), await Peer.open(url)
        await host.hello(room["host"]["token"])
        await b.hello(bob["token"])
        await k.hello(cat["token"])
        args = {"sku": "tent-2p", "variant": None, "quantity": 1}
        assert (await _command(k, "a1", "AddLine", **args))["t"] == "ack"

        # bounds, with clear codes
        now = int(time.time() * 1000)
        past = await _command(host, "d0", "SetDeadline", closes_at=now - 1)
        assert past["t"] == "err" and past["code"] == "close_time_past"
        far = await _command(host, "d1", "SetDeadline", closes_at=now + 8 * 24 * 3600 * 1000)
        assert far["t"] == "err" and far["code"] == "close_time_too_far"
        theirs = await _command(b, "d2", "SetDeadline", closes_at=now + 60_000)
        assert theirs["t"] == "err" and theirs["code"] == "forbidden"

        # a nudge: Bob added nothing; only Bob (and the host, who sent it) receive it
        assert (await _command(host, "n1", "Nudge", member_id=bob["member_id"]))["t"] == "ack"
        nudged = await _until_event(b, "MemberNudged")
        assert nudged["member_id"] == bob["member_id"] and nudged["reason"] == "add"

        closes_at = int(time.time() * 1000) + 1500
        assert (await _command(host, "d3", "SetDeadline", closes_at=closes_at))["t"] == "ack"
        cat_saw: list[str] = []
        deadline = await _until_event(k, "DeadlineSet", seen=cat_saw)
        assert deadline["closes_at"] == closes_at
        # nobody does anything: the room locks the cart itself when the time comes
        locked = await _until_event(k, "CartLocked", seen=cat_saw)
        assert locked["by"] == "system" and locked["at"] >= closes_at
        # Cat received the deadline and the lock, never Bob's reminder
        assert "MemberNudged" not in cat_saw and "CartLocked" in cat_saw
        r = await http.get(
            f"/api/v1/rooms/{room['room_id']}",
            headers={"Authorization": f"Bearer {cat['token']}"},
        )
        view = r.json()["view"]
        assert view["phase"] == "locked" and view["checkout"]["deadline"] is None
        assert view["checkout"]["nudges"] == []
        for peer in (host, b, k):
            await peer.close()


async def test_a_room_loaded_after_its_deadline_locks_before_anyone_is_welcomed(
    tmp_path: Path,
) -> None:
    settings = server_settings(tmp_path)
    async with run_server(settings) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        room = await create_room(http)
        host = await Peer.open(srv.ws_url(room["room_id"]))
        await host.hello(room["host"]["token"])
        args = {"sku": "tent-2p", "variant": None, "quantity": 1}
        assert (await _command(host, "a1", "AddLine", **args))["t"] == "ack"
        closes_at = int(time.time() * 1000) + 60_000
        assert (await _command(host, "d1", "SetDeadline", closes_at=closes_at))["t"] == "ack"
        # a second deadline, the one that counts (the first timer must not lock at its time)
        closes_at = int(time.time() * 1000) + 1200
        assert (await _command(host, "d2", "SetDeadline", closes_at=closes_at))["t"] == "ack"
        await host.close()
    # the server is down when the deadline comes
    await _until_past(closes_at)
    async with run_server(settings) as srv:
        peer = await Peer.open(srv.ws_url(room["room_id"]))
        welcome = await peer.hello(room["host"]["token"])
        # the first thing the room did after loading was to lock: the welcome shows it
        assert welcome["view"]["phase"] == "locked"
        assert welcome["view"]["checkout"]["deadline"] is None
        stored = await srv.app.state.hub.store.read(room["room_id"], after_seq=0)
        last = stored[-1].data
        assert last["type"] == "CartLocked" and last["by"] == "system"
        assert last["at"] >= closes_at
        await peer.close()
