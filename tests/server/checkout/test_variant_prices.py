"""A variant with its own price and stock (the demo's Long sleeping bag: 249.00, 2 left, the
product 229.00): the order charges the variant's price and its stock bounds the cart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.server.checkout.support import Env, RecordingPeer, add_line, checkout_env

BAG, LONG, REGULAR = "bag-20f", "bag-20f-long", "bag-20f-reg"


async def _check_out(env: Env, room: dict[str, Any]) -> Any:
    url = f"/api/v1/rooms/{room['room_id']}/checkout"
    r = await env.call("POST", url, room["host"]["token"], json={"mode": "host_pays"})
    if r.status_code == 409 and r.json()["code"] == "prices_changed":  # the room saw another
        r = await env.call("POST", url, room["host"]["token"], json={"mode": "host_pays"})
    return r


async def test_the_order_charges_the_variants_price(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        room, _ = await env.room()
        host: RecordingPeer = await env.peer(room["room_id"], room["host"]["token"])
        assert (await add_line(host, "a1", BAG, 2, variant=LONG))["t"] == "ack"
        assert (await add_line(host, "a2", BAG, 1, variant=REGULAR))["t"] == "ack"
        r = await _check_out(env, room)
        assert r.status_code == 200, r.text
        lines = {line["variant"]: line for line in r.json()["snapshot"]["lines"]}
        assert (lines[LONG]["unit_price_minor"], lines[LONG]["total_minor"]) == (24_900, 49_800)
        assert lines[REGULAR]["unit_price_minor"] == 22_900
        order = r.json()["order"]
        assert order["total_minor"] == 49_800 + 22_900
        # the room is told the server's price of each line
        reported = await host.until_event("PricingReported", ready=True)
        assert reported["total_minor"] == 49_800 + 22_900


async def test_a_third_long_is_more_than_its_stock(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        room, (bea,) = await env.room(("Bea",))
        rid = room["room_id"]
        host = await env.peer(rid, room["host"]["token"])
        guest = await env.peer(rid, bea["token"])
        assert (await add_line(host, "a1", BAG, 2, variant=LONG))["t"] == "ack"
        # the product has 9 but the variant 2: lines are not summed in the room, the bridge
        # sums them by variant
        assert (await add_line(guest, "b1", BAG, 1, variant=LONG))["t"] == "ack"
        r = await _check_out(env, room)
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "snapshot_blocked"
        issues = r.json()["snapshot"]["changes"]
        stock = {(i["kind"], i["requested"], i["available"]) for i in issues if i["requested"]}
        assert stock == {("insufficient_stock", 3, 2)}
