"""Price changes and stock problems reach everyone in the room before anyone pays."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from server.catalog.tables import products
from tests.server.checkout.support import add_line, checkout_env


async def _set(env_app: object, sku: str, **values: object) -> None:
    engine = env_app.state.engine  # type: ignore[attr-defined]  # the app's state
    async with engine.begin() as conn:
        await conn.execute(
            update(products)
            .where(products.c.merchant_id == "demo", products.c.sku == sku)
            .values(**values)
        )


async def test_a_price_change_is_shown_to_the_room_then_accepted(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        room, (bea,) = await env.room(("Bea",))
        rid, host_token = room["room_id"], room["host"]["token"]
        host = await env.peer(rid, host_token)
        guest = await env.peer(rid, bea["token"])
        assert (await add_line(guest, "a1", "tent-2p", 1))["t"] == "ack"
        await _set(env.app, "tent-2p", price_minor=30_000)

        base = f"/api/v1/rooms/{rid}/checkout"
        r = await env.call("POST", base, host_token, json={"mode": "host_pays"})
        assert r.status_code == 409
        assert r.json()["code"] == "prices_changed"
        reported = await guest.until_event("PricingReported")
        assert reported["total_minor"] == 30_000
        assert reported["ready"] is True
        assert [(i["kind"], i["shown_minor"], i["price_minor"]) for i in reported["issues"]] == [
            ("price_changed", 28_900, 30_000)
        ]
        # the host saw it too; checking out again accepts the new price
        r = await env.call("POST", base, host_token, json={"mode": "host_pays"})
        assert r.status_code == 200, r.text
        assert r.json()["order"]["total_minor"] == 30_000
        again = await guest.until_event("PricingReported")
        assert again["issues"] == []
        assert host is not None


async def test_an_out_of_stock_line_blocks_checkout_and_everyone_sees_why(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        room, (bea,) = await env.room(("Bea",))
        rid, host_token = room["room_id"], room["host"]["token"]
        guest = await env.peer(rid, bea["token"])
        assert (await add_line(guest, "a1", "tent-2p", 2))["t"] == "ack"
        await _set(env.app, "tent-2p", stock=0)
        r = await env.call(
            "POST", f"/api/v1/rooms/{rid}/checkout", host_token, json={"mode": "host_pays"}
        )
        assert r.status_code == 409
        assert r.json()["code"] == "snapshot_blocked"
        reported = await guest.until_event("PricingReported")
        assert reported["ready"] is False
        assert [(i["kind"], i["available"]) for i in reported["issues"]] == [("out_of_stock", 0)]
        # the cart stays locked so the host can unlock and fix it
        r = await env.call("GET", f"/api/v1/rooms/{rid}", host_token)
        view = r.json()["view"]
        assert view["phase"] == "locked"
        assert view["checkout"]["pricing"]["ready"] is False
