"""A live viewer's own order reaches the merchant's backend like a group order: checkout.started
and order.paid carry the lines the viewer bought, priced, and the viewer's payment. (A viewer
order's snapshot is kept under the order's id, not the room's: the feed reads it there.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.server.checkout.support import Env, add_line, checkout_env
from tests.server.webhook_receiver import add_endpoint, demo_key, receiver, verify_all


async def _live_room_with(env: Env, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    r = await env.http.post(
        "/api/v1/rooms", json={"kind": "live", "title": "Gear show", "host_name": "Ada"}
    )
    assert r.status_code == 201, r.text
    room = r.json()
    j = await env.http.post(
        f"/api/v1/rooms/{room['room_id']}/join",
        json={"invite": room["invite"]["token"], "name": name},
    )
    assert j.status_code == 201, j.text
    return room, j.json()


async def test_a_viewer_order_paid_lists_the_viewers_lines(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env, receiver() as rx:
        env.app.state.webhooks.worker.schedule = (0.05, 0.05)
        key = await demo_key(env)
        watcher = await add_endpoint(env.http, key, rx.url, ["checkout.started", "order.paid"])
        room, bea = await _live_room_with(env, "Bea")
        rid = room["room_id"]
        viewer = await env.peer(rid, bea["token"])
        assert (await add_line(viewer, "b1", "tent-2p", 2))["t"] == "ack"
        r = await env.call("POST", f"/api/v1/rooms/{rid}/checkout", bea["token"], json={})
        assert r.status_code == 200, r.text
        answer = r.json()
        await env.pay_on_page(answer["pay"]["url"])

        got = await rx.until_types("checkout.started", "order.paid")
        verify_all(rx.received, watcher["secret"])
        by_type = {r.json["type"]: r.json["data"] for r in got}
        for data in by_type.values():
            assert data["order_id"] == answer["order"]["order_id"] and data["room_id"] == rid
            (line,) = data["lines"]
            bought = (line["sku"], line["quantity"], line["unit_price_minor"])
            assert bought == ("tent-2p", 2, 28900)
            assert line["payer"]["member_id"] == bea["member_id"]
        paid = by_type["order.paid"]
        assert paid["total_minor"] == paid["paid_minor"] == 2 * 28900
        (payment,) = paid["payments"]
        assert payment["payer"]["member_id"] == bea["member_id"] and payment["payment_id"]
