"""An asynchronous (delayed) payment is "processing" for the whole room, not only for the payer.

The sandbox completes a delayed-method session unpaid (its payment intent ``processing``) and
settles it ``async_payment_delay`` later. coshop turns that provider fact into the room event
``ShareUpdated(status="processing")`` — through the outbox, once per payment attempt — so every
member hears it; paying again is refused (``payment_processing``) until the provider settles.
The sandbox's clock is moved by the test, so "processing" is seen without racing it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from checkout_bridge.sandbox import SandboxConfig, create_sandbox_app
from server.app import create_app
from tests.server.checkout.support import (
    SECRET,
    Env,
    LogSink,
    RecordingPeer,
    add_line,
    command,
    serve_app,
    stop_app,
)
from tests.server.conftest import free_port, server_settings

pytestmark = pytest.mark.timeout(60)

DELAY_S = 200.0  # never ends by itself in the test; within the webhook tolerance once moved


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@contextlib.asynccontextmanager
async def delayed_env(tmp_path: Path, clock: Clock) -> AsyncIterator[Env]:
    sport, cport = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sport}"
    sandbox = create_sandbox_app(
        SandboxConfig(
            data_dir=tmp_path / "sandbox",
            public_url=sandbox_url,
            webhook_url=f"http://127.0.0.1:{cport}/webhooks/stripe",
            webhook_secret=SECRET,
            webhook_retry_schedule=(0.05, 0.1, 0.2, 0.5),
            sweep_interval=0.05,
            async_payment_delay=DELAY_S,
            clock=clock,
        )
    )
    settings = server_settings(
        tmp_path,
        port=cport,
        public_url=f"http://127.0.0.1:{cport}",
        sandbox_url=sandbox_url,
        webhook_secret=SECRET,
        checkout_sweep_s=0.1,
    )
    app = create_app(settings)
    sbx = await serve_app(sandbox, sport)
    srv = await serve_app(app, cport)
    try:
        async with (
            httpx.AsyncClient(base_url=settings.public_url, timeout=15) as http,
            httpx.AsyncClient(base_url=sandbox_url, timeout=15) as sbx_http,
        ):
            env = Env(
                settings.public_url, sandbox_url, settings.data_dir, http, sbx_http, LogSink(), app
            )
            try:
                yield env
            finally:
                for peer in env.peers:
                    with contextlib.suppress(Exception):
                        await peer.close()
    finally:
        await stop_app(*srv)
        await stop_app(*sbx)


async def _share_events(peer: RecordingPeer, payer: str, until: str) -> list[str]:
    """The statuses ``peer`` hears for ``payer``'s share, up to and including ``until``."""
    seen: list[str] = []
    while not seen or seen[-1] != until:
        event: dict[str, Any] = await peer.until_event("ShareUpdated", payer=payer)
        seen.append(str(event["status"]))
    return seen


@pytest.mark.parametrize(
    ("scenario", "outcome"), [("delayed_success", "paid"), ("delayed_failure", "failed")]
)
async def test_every_member_hears_a_delayed_payment_processing(
    tmp_path: Path, scenario: str, outcome: str
) -> None:
    clock = Clock()
    async with delayed_env(tmp_path, clock) as env:
        room, (bea,) = await env.room(("Bea",))
        rid, host_token = room["room_id"], room["host"]["token"]
        ada_id = room["host"]["member_id"]
        ada = await env.peer(rid, host_token)
        other = await env.peer(rid, bea["token"])
        assert (await add_line(ada, "a1", "tent-2p", 1))["t"] == "ack"
        assert (await command(ada, "l1", "LockCart"))["t"] == "ack"
        base = f"/api/v1/rooms/{rid}/checkout"
        r = await env.call("POST", base, host_token, json={"mode": "host_pays"})
        assert r.status_code == 200, r.text
        order_id = r.json()["order"]["order_id"]
        pay = f"{base}/{order_id}/pay"
        r = await env.call("POST", pay, host_token)
        assert r.status_code == 200, r.text
        await env.pay_on_page(r.json()["url"], scenario=scenario)

        # Bea, who did not pay, hears it: Ada's payment is processing.
        assert await _share_events(other, ada_id, "processing") == [
            "pending",
            "checkout_open",
            "processing",
        ]
        view = (await env.call("GET", f"/api/v1/rooms/{rid}", bea["token"])).json()["view"]
        assert [(s["payer"], s["status"]) for s in view["checkout"]["shares"]] == [
            (ada_id, "processing")
        ]
        # Paying again is refused while the provider confirms (no second payment page).
        again = await env.call("POST", pay, host_token)
        assert again.status_code == 409 and again.json()["code"] == "payment_processing"

        clock.offset += DELAY_S + 1  # the provider settles the delayed payment
        assert await _share_events(other, ada_id, outcome) == [outcome]
        status = (await env.call("GET", base, bea["token"])).json()["order"]
        assert status["shares"][0]["status"] == outcome
        if outcome == "failed":
            # the payer may try again now (a fresh payment page)
            retry = await env.call("POST", pay, host_token)
            assert retry.status_code == 200, retry.text
