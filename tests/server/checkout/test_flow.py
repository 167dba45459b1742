"""End to end over loopback: coshop + the sandbox provider, paid through the hosted page."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.server.checkout.support import CARD, add_line, checkout_env, command


async def test_host_pays_through_the_hosted_page_and_no_card_number_reaches_coshop(
    tmp_path: Path,
) -> None:
    async with checkout_env(tmp_path) as env:
        room, (bea,) = await env.room(("Bea",))
        rid, host_token = room["room_id"], room["host"]["token"]
        host = await env.peer(rid, host_token)
        guest = await env.peer(rid, bea["token"])
        assert (await add_line(host, "a1", "tent-2p", 2))["t"] == "ack"
        assert (await add_line(guest, "a2", "tent-4p", 1))["t"] == "ack"
        base = f"/api/v1/rooms/{rid}/checkout"

        # A member may not check out, and their attempt does not lock the cart.
        r = await env.call("POST", base, bea["token"], json={"mode": "host_pays"})
        assert r.status_code == 403
        r = await env.call("GET", f"/api/v1/rooms/{rid}", host_token)
        assert r.json()["view"]["phase"] == "open"
        # The host locks (over the socket here; the checkout call below would lock too).
        assert (await command(host, "l1", "LockCart"))["t"] == "ack"
        # Edits while locked are refused by the room.
        refused = await add_line(guest, "a3", "tent-2p", 1)
        assert refused["t"] == "err" and refused["code"] == "cart_locked"

        # Tampered prices are ignored: the total comes from the catalogue.
        tampered = {
            "mode": "host_pays",
            "total_minor": 1,
            "amount_minor": 1,
            "lines": [{"sku": "tent-2p", "price_minor": 1, "unit_price_minor": 1}],
        }
        r = await env.call("POST", base, host_token, json=tampered)
        assert r.status_code == 200, r.text
        order = r.json()["order"]
        assert order["total_minor"] == 2 * 28900 + 44900 and order["currency"] == "USD"
        assert [s["amount_minor"] for s in order["shares"]] == [order["total_minor"]]
        began = await guest.until_event("SettlementBegan")
        assert began["order_id"] == order["order_id"]

        # Two clicks at once: one provider session.
        pay = f"{base}/{order['order_id']}/pay"
        a, b = await asyncio.gather(
            env.call("POST", pay, host_token), env.call("POST", pay, host_token)
        )
        assert a.status_code == b.status_code == 200, (a.text, b.text)
        assert a.json()["session_id"] == b.json()["session_id"]
        assert a.json()["navigation"] == "top-level"
        # A member without a share has nothing to pay.
        assert (await env.call("POST", pay, bea["token"])).status_code == 403

        back = await env.pay_on_page(a.json()["url"], card="4242 4242 4242 4242")
        assert back.status_code == 200  # the return page only displays

        paid = await guest.until_event("ShareUpdated", status="paid")
        assert paid["payer"] == room["host"]["member_id"]
        settled = await guest.until_event("OrderSettled")
        assert settled["outcome"] == "paid"
        status = (await env.call("GET", base, bea["token"])).json()
        assert status["order"]["status"] == "paid"
        r = await env.call("GET", f"/api/v1/rooms/{rid}", host_token)
        assert r.json()["view"]["lines"] == [] and r.json()["view"]["phase"] == "open"

    # The card-data boundary: nothing coshop stored, logged or sent has the number.
    needles = [CARD.encode(), b"4242 4242 4242 4242"]
    stored = [p for p in env.data_dir.rglob("*") if p.is_file()]
    assert any(p.name.startswith("coshop.db") for p in stored)
    for path in stored:
        blob = path.read_bytes()
        assert not any(n in blob for n in needles), path
    logs = "\n".join(env.logs.lines).encode()
    assert logs  # something was logged
    assert not any(n in logs for n in needles)
    frames = [f.encode() if isinstance(f, str) else f for p in env.peers for f in p.frames]
    assert frames
    for blob in [*frames, *env.responses]:
        assert not any(n in blob for n in needles)
