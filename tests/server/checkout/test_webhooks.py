"""Webhooks over loopback: refused unless signed right and fresh, applied once, re-fetched."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.server.checkout.support import AUTH, Env, checkout_env, frozen_order, order_status


async def _events(env: Env, etype: str) -> list[dict[str, Any]]:
    r = await env.sandbox.get("/_sandbox/events", headers=AUTH)
    return [e["body"] for e in r.json()["events"] if e["type"] == etype]


async def test_bad_deliveries_are_refused_and_change_nothing(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        room, _, _host, order = await frozen_order(env)
        pay = f"/api/v1/rooms/{room['room_id']}/checkout/{order['order_id']}/pay"
        r = await env.call("POST", pay, room["host"]["token"])
        session_id = r.json()["session_id"]
        forged = {
            "id": "evt_forged", "object": "event", "type": "checkout.session.completed",
            "created": int(time.time()),
            "data": {"object": {
                "id": session_id, "object": "checkout.session", "status": "complete",
                "payment_status": "paid", "amount_total": order["total_minor"], "currency": "usd",
                "client_reference_id": order["shares"][0]["share_id"], "payment_intent": "pi_x",
            }},
        }  # fmt: skip
        now = int(time.time())
        cases = {
            "signature_mismatch": await env.deliver(forged, secret="whsec_wrong"),
            "timestamp_too_old": await env.deliver(forged, at=now - 3600),
            "timestamp_in_future": await env.deliver(forged, at=now + 3600),
            "signature_header_missing": await env.deliver(forged, header=""),
            "signature_header_malformed": await env.deliver(forged, header="garbage"),
        }
        for code, response in cases.items():
            assert response.status_code == 400, (code, response.text)
            assert response.json()["code"] == code
        # Correctly signed, but the provider says the session is still open: nothing is paid.
        assert (await env.deliver(forged)).status_code == 200
        status = await order_status(env, room)
        assert status["status"] == "collecting"
        assert status["shares"][0]["status"] == "checkout_open"


async def test_no_webhook_secret_means_503(tmp_path: Path) -> None:
    async with checkout_env(tmp_path, webhook_secret="") as env:
        r = await env.deliver({"id": "evt_1", "type": "x"})
        assert r.status_code == 503 and r.json()["code"] == "webhook_secret_missing"


async def test_a_duplicate_is_applied_once_and_late_expiry_does_not_undo_a_payment(
    tmp_path: Path,
) -> None:
    async with checkout_env(tmp_path) as env:
        room, _, host, order = await frozen_order(env)
        pay = f"/api/v1/rooms/{room['room_id']}/checkout/{order['order_id']}/pay"
        r = await env.call("POST", pay, room["host"]["token"])
        session_id = r.json()["session_id"]
        await env.pay_on_page(r.json()["url"])
        assert (await host.until_event("OrderSettled"))["outcome"] == "paid"
        before = await order_status(env, room)

        (completed,) = await _events(env, "checkout.session.completed")
        again = await env.deliver(completed)  # the same event id, freshly signed
        assert again.status_code == 200 and again.json().get("duplicate") is True
        # An "expired" event for the paid session (out of order): re-fetched, still paid.
        late = {**completed, "id": "evt_late_expired", "type": "checkout.session.expired"}
        late["data"] = {"object": {**completed["data"]["object"], "status": "expired"}}
        assert (await env.deliver(late)).status_code == 200
        assert await order_status(env, room) == before
        assert before["shares"][0]["status"] == "paid"
        assert (await env.session(session_id))["status"] == "complete"


async def test_completed_after_expiry_is_checked_with_the_provider(tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        room, _, host, order = await frozen_order(env)
        pay = f"/api/v1/rooms/{room['room_id']}/checkout/{order['order_id']}/pay"
        r = await env.call("POST", pay, room["host"]["token"])
        session_id = r.json()["session_id"]
        expired = await env.sandbox.post(f"/v1/checkout/sessions/{session_id}/expire", headers=AUTH)
        assert expired.status_code == 200
        await host.until_event("ShareUpdated", status="expired")
        # A "completed" delivery arriving after the expiry: the provider says expired.
        (event,) = await _events(env, "checkout.session.expired")
        fake = {**event, "id": "evt_completed_late", "type": "checkout.session.completed"}
        assert (await env.deliver(fake)).status_code == 200
        status = await order_status(env, room)
        assert status["shares"][0]["status"] == "expired" and status["status"] == "collecting"
        # The payer may retry with a fresh session; the room is still settling.
        retry = await env.call("POST", pay, room["host"]["token"])
        assert retry.status_code == 200 and retry.json()["session_id"] != session_id
        await env.pay_on_page(retry.json()["url"])
        assert (await host.until_event("OrderSettled"))["outcome"] == "paid"
