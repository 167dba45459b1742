"""Outbound webhooks end to end: real coshop, a real receiver on loopback, every delivery
verified with the ``standardwebhooks`` library (docs/webhooks.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.server.checkout.support import Env, add_line, checkout_env, command
from tests.server.webhook_receiver import (
    add_endpoint,
    demo_key,
    receiver,
    verify_all,
)

ROOM_TYPES = [
    "room.created",
    "member.joined",
    "member.joined",
    "cart.line_added",
    "cart.line_added",
    "cart.line_removed",
    "poll.closed",
]


def _fast(env: Env) -> None:
    env.app.state.webhooks.worker.schedule = (0.05, 0.05, 0.05)


async def _room_story(env: Env) -> dict[str, Any]:
    """A room where Bea joins, two lines are added and one removed, and a poll closes."""
    room, (bea,) = await env.room(("Bea",))
    rid = room["room_id"]
    host = await env.peer(rid, room["host"]["token"])
    await env.peer(rid, bea["token"])
    await host.until_event("MemberJoined", member_id=bea["member_id"])
    assert (await add_line(host, "a1", "tent-2p", 2))["t"] == "ack"
    view = (await env.call("GET", f"/api/v1/rooms/{rid}", room["host"]["token"])).json()["view"]
    added = next(line for line in view["lines"] if line["sku"] == "tent-2p")
    assert (await add_line(host, "a2", "tent-4p", 1))["t"] == "ack"
    assert (await command(host, "r1", "RemoveLine", line_id=added["line_id"]))["t"] == "ack"
    ok = await command(host, "p1", "OpenPoll", question="Which?", skus=["tent-2p", "tent-4p"])
    assert ok["t"] == "ack"
    view = (await env.call("GET", f"/api/v1/rooms/{rid}", room["host"]["token"])).json()["view"]
    poll = view["polls"][0]
    closed = await command(
        host, "p2", "ClosePoll", poll_id=poll["poll_id"], add_winner_to_cart=False
    )
    assert closed["t"] == "ack"
    return {"room": room, "bea": bea, "removed": added}


async def test_room_events_arrive_signed_in_order_and_a_500_is_retried(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env, receiver() as rx:
        _fast(env)
        key = await demo_key(env)
        endpoint = await add_endpoint(env.http, key, rx.url, ["*"])
        assert endpoint["secret"].startswith("whsec_") and endpoint["id"]
        rx.statuses = [500]  # the first delivery fails once
        story = await _room_story(env)
        room = story["room"]
        got = await rx.until_types(*ROOM_TYPES)

        # Every request, the failed one too, verifies with the endpoint's secret.
        bodies = verify_all(rx.received, endpoint["secret"])
        assert all(b["type"] and b["timestamp"].endswith("Z") for b in bodies)
        # The first message was refused with a 500 and sent again with the same webhook-id.
        assert rx.received[0].status == 500
        assert rx.received[1].id == rx.received[0].id and rx.received[1].status == 200
        # In the room's order, each once.
        mine = [r for r in got if r.json["data"]["room_id"] == room["room_id"]]
        assert [r.json["type"] for r in mine] == ROOM_TYPES
        data = [r.json["data"] for r in mine]
        assert data[0]["title"] == "Trip" and data[0]["merchant_id"] == "demo"
        joined = {d["member"]["display_name"] for d in data[1:3]}
        assert joined == {"Ada", "Bea"}
        line = data[3]["line"]
        assert line["sku"] == "tent-2p" and line["quantity"] == 2
        assert line["added_by"] == {"member_id": room["host"]["member_id"], "display_name": "Ada"}
        assert line["unit_price_minor"] == 28900 and line["currency"] == "USD"
        removed = data[5]
        assert removed["line"]["line_id"] == story["removed"]["line_id"]
        assert removed["line"]["sku"] == "tent-2p"  # described by what was added
        assert data[6]["counts"] == [0, 0] and data[6]["winner_sku"] is None

        # The delivery log shows the retry; resend sends the same message again.
        auth = {"Authorization": f"Bearer {key}"}
        base = f"/api/v1/merchant/webhooks/{endpoint['id']}"
        async with asyncio.timeout(20):  # the receiver answered; the worker settles next
            while True:
                r = await env.http.get(base + "/deliveries", headers=auth)
                log = r.json()["deliveries"]
                if {d["status"] for d in log} == {"delivered"}:
                    break
                await asyncio.sleep(0.05)
        assert len(log) == len(ROOM_TYPES)
        first = next(d for d in log if d["message_id"] == rx.received[0].id)
        assert first["attempts"] == 2 and first["event_type"] == "room.created"
        detail = (await env.http.get(f"{base}/deliveries/{first['id']}", headers=auth)).json()
        assert [a["status"] for a in detail["attempt_log"]] == [500, 200]
        assert detail["payload"]["type"] == "room.created"
        before = len(rx.received)
        r = await env.http.post(f"{base}/deliveries/{first['id']}/resend", headers=auth)
        assert r.status_code == 202, r.text
        await rx.until(lambda: len(rx.received) > before)
        assert rx.received[-1].id == first["message_id"]
        verify_all(rx.received[-1:], endpoint["secret"])


async def test_an_endpoint_gets_only_its_events_and_nothing_from_before_it(
    tmp_path: Path,
) -> None:
    async with checkout_env(tmp_path) as env, receiver() as rx, receiver() as carts:
        _fast(env)
        key = await demo_key(env)
        early, _ = await env.room()
        everything = await add_endpoint(env.http, key, rx.url, ["*"])
        only_carts = await add_endpoint(env.http, key, carts.url, ["cart.line_added"])
        story = await _room_story(env)
        await rx.until_types(*ROOM_TYPES)
        await carts.until_types("cart.line_added", "cart.line_added")
        verify_all(carts.received, only_carts["secret"])
        verify_all(rx.received, everything["secret"])
        assert {r.json["type"] for r in carts.delivered()} == {"cart.line_added"}
        rooms = {r.json["data"]["room_id"] for r in rx.delivered()}
        assert rooms == {story["room"]["room_id"]}  # the earlier room sent nothing
        assert early["room_id"] not in rooms
