"""Checkout, pay and webhook intake over their windows answer 429 (issue 19, item 3).

The real checkout set-up of ``tests/server/checkout/support.py`` (coshop and the sandbox provider
on loopback), with the windows turned on and small: ``COSHOP_RATE_CHECKOUT`` counts per member,
``COSHOP_RATE_WEBHOOK`` per address. A refused request reaches nothing behind the window: a
webhook refused with 429 is not recorded, so the same event delivered later is new.

The tests' windows are an hour long: the sliding-window counter weighs the previous window's
count by how much of it is left and rounds down, so just after an edge one call over can pass;
with a one-minute window that edge fell inside a test now and then.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from checkout_bridge.webhooks import sign_payload
from server.settings import Settings
from tests.server.checkout import support
from tests.server.checkout.support import SECRET, checkout_env, frozen_order, order_status
from tests.server.conftest import server_settings

OTHER = "127.0.0.2"  # another address (Linux routes all of 127/8 to loopback)


def _limits(monkeypatch: pytest.MonkeyPatch, **windows: object) -> None:
    """The checkout set-up, with the request windows on and these limits."""

    def make(tmp_path: Path, **changes: object) -> Settings:
        return server_settings(tmp_path, rate_limits=True, **windows, **changes)

    monkeypatch.setattr(support, "server_settings", make)


def _assert_limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "rate_limited"
    retry = r.headers["Retry-After"]
    assert retry.isdigit() and int(retry) >= 1
    assert body["retry_after"] == int(retry)


async def test_pay_over_the_members_checkout_window_gets_429_and_others_still_pay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _limits(monkeypatch, rate_checkout="2/hour")
    async with checkout_env(tmp_path) as env:
        # the host's first checkout call: freezing the cart
        room, (bea,), _host, order = await frozen_order(env, mode="equal_split", members=("Bea",))
        pay = f"/api/v1/rooms/{room['room_id']}/checkout/{order['order_id']}/pay"
        first = await env.call("POST", pay, room["host"]["token"])  # the second: paying
        assert first.status_code == 200, first.text
        _assert_limited(await env.call("POST", pay, room["host"]["token"]))  # the third
        # another member has a window of their own; reading the order is not a checkout call
        theirs = await env.call("POST", pay, bea["token"])
        assert theirs.status_code == 200, theirs.text
        assert theirs.json()["session_id"] != first.json()["session_id"]
        status = await order_status(env, room)
        assert [s["status"] for s in status["shares"]] == ["checkout_open", "checkout_open"]
        metrics = (await env.http.get("/metrics")).text
        assert 'coshop_rate_limited_total{group="checkout"} 1.0' in metrics


async def test_webhooks_over_the_address_window_get_429_and_are_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _limits(monkeypatch, rate_webhook="2/hour")
    async with (
        checkout_env(tmp_path) as env,
        httpx.AsyncClient(
            base_url=env.base_url,
            timeout=10,
            transport=httpx.AsyncHTTPTransport(local_address=OTHER),
        ) as other,
    ):

        def event(n: int) -> dict[str, Any]:
            # a type coshop does not act on: recorded as seen ("ignored"), touching no order
            return {
                "id": f"evt_rl_{n}",
                "object": "event",
                "type": "customer.created",
                "created": int(time.time()),
                "data": {"object": {"id": f"cus_{n}"}},
            }

        async def deliver(http: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
            raw = json.dumps(body).encode()
            return await http.post(
                "/webhooks/stripe",
                content=raw,
                headers={
                    "Stripe-Signature": sign_payload(raw, SECRET, int(time.time())),
                    "Content-Type": "application/json",
                },
            )

        for n in (1, 2):
            r = await deliver(env.http, event(n))
            assert r.status_code == 200 and r.json() == {"received": True, "ignored": True}, r.text
        _assert_limited(await deliver(env.http, event(3)))
        # even a forged delivery is refused before its signature is read
        _assert_limited(await env.deliver(event(4), secret="whsec_wrong"))
        # the provider delivering from another address: the refused event was never recorded
        r = await deliver(other, event(3))
        assert r.status_code == 200 and r.json() == {"received": True, "ignored": True}, r.text
        r = await deliver(other, event(1))
        assert r.status_code == 200 and r.json()["duplicate"] is True, r.text
