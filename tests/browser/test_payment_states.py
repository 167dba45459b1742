"""Payment states tell the truth: an asynchronous (delayed) payment shows as processing — on the
return page and in the room for every member (the server tells the room), with no Pay button —
until the provider settles it; a delayed failure says whose payment failed and offers that payer
a retry.

The sandbox runs with a controllable clock and a long ``async_payment_delay``: the test moves the
sandbox's clock forward (and back) to let the provider settle, so "processing" is seen without
racing it.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from checkout_bridge.sandbox import SandboxConfig, create_sandbox_app
from server.app import create_app
from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.server.checkout.support import SECRET, Env, LogSink, serve_app, stop_app
from tests.server.conftest import free_port, server_settings

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# long enough never to end by itself during the test, short enough that a webhook dated after it
# is within coshop's signature tolerance (300 s) when the test moves the sandbox's clock
DELAY_S = 200.0


class Clock:
    """The sandbox's clock: real time plus what the test adds."""

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
            yield Env(
                settings.public_url, sandbox_url, settings.data_dir, http, sbx_http, LogSink(), app
            )
    finally:
        await stop_app(*srv)
        await stop_app(*sbx)


async def pay_later(page: Page, env: Env, scenario: str) -> None:
    """Open the hosted page from the room and pay with a delayed (asynchronous) method."""
    await page.locator("#pay-btn").click()
    await page.wait_for_url(f"{env.sandbox_url}/**")
    await page.get_by_label("Card number").fill("4242 4242 4242 4242")
    await page.get_by_label("Expiry (MM/YY)").fill("12/39")
    await page.get_by_label("CVC").fill("123")
    await page.get_by_role("button", name=scenario).click()
    await page.wait_for_url(f"{env.base_url}/checkout/return**")


async def test_a_delayed_payment_is_processing_then_paid_or_failed(
    browser: Browser, tmp_path: Path
) -> None:
    clock = Clock()
    async with delayed_env(tmp_path, clock) as env:
        ctx_a, ada = await new_page(browser)
        ctx_b, bea = await new_page(browser)
        room_id = await create_room(ada, env.base_url, kind="group", title="Camp", name="Ada")
        await join(bea, await invite_url(ada), "Bea")
        await ada.locator('.product[data-sku="tent-2p"] .add').click()
        await expect(bea.locator("#cart .line")).to_have_count(1)
        # this server has payments but no shop to hand the cart to: that button is not offered
        await ada.get_by_role("button", name="Lock cart", exact=True).click()
        await expect(ada.get_by_role("button", name="Check out", exact=True)).to_be_visible()
        await expect(ada.locator("#handoff-btn")).to_have_count(0)
        await ada.get_by_role("button", name="Check out", exact=True).click()
        await expect(ada.locator("#pay-btn")).to_have_text("Pay $289.00")

        # a delayed success: the return page follows the order and says it is being confirmed
        await pay_later(ada, env, "Delayed success")
        await expect(ada.locator("#msg-text")).to_contain_text("being confirmed")
        await expect(ada.locator("#return-shares")).to_contain_text("Your share: $289.00")
        await expect(ada.locator("#return-shares")).to_contain_text("processing")
        await shot(ada, "return-processing", full=False)
        await ada.get_by_role("link", name="Back to the room").click()
        await ada.wait_for_url(f"**/r/{room_id}*")
        # processing: said so, and no Pay button to press twice
        await expect(ada.locator("#my-share-processing")).to_contain_text("processing")
        await expect(ada.locator('#shares .share[data-status="processing"]')).to_have_count(1)
        await expect(ada.locator("#pay-btn")).to_have_count(0)
        await expect(bea.locator("#checkout-phase")).to_have_text("Waiting for payments")
        # ... and Bea, who never saw the payment page, hears it from the server too
        await expect(bea.locator("#others-processing")).to_contain_text(
            "Ada's payment is processing"
        )
        await expect(bea.locator('#shares .share[data-status="processing"]')).to_contain_text("Ada")
        await shot(ada, "room-processing", full=False)
        await shot(bea, "room-processing-other", full=False)

        # the provider settles: paid, everyone sees the outcome
        clock.offset += DELAY_S + 1
        for page in (ada, bea):
            await expect(page.locator("#checkout-result")).to_contain_text("Order paid")
        clock.offset = 0.0

        # a delayed failure: processing, then failed — whose, and a retry for the payer only
        await bea.locator('.product[data-sku="tent-4p"] .add').click()
        await expect(ada.locator("#cart .line")).to_have_count(1)
        await ada.get_by_role("button", name="Lock cart", exact=True).click()
        await ada.get_by_role("button", name="Check out", exact=True).click()
        await expect(ada.locator("#pay-btn")).to_have_text(re.compile(r"^Pay \$"))
        await pay_later(ada, env, "Delayed failure")
        await ada.get_by_role("link", name="Back to the room").click()
        await ada.wait_for_url(f"**/r/{room_id}*")
        await expect(ada.locator("#my-share-processing")).to_be_visible()
        await expect(ada.locator("#pay-btn")).to_have_count(0)
        clock.offset += DELAY_S + 1
        await expect(ada.locator("#my-share-failed")).to_contain_text("didn't go through")
        await expect(ada.locator("#pay-btn")).to_have_text(re.compile(r"^Try again \(\$"))
        await expect(bea.locator('#shares .share[data-status="failed"]')).to_contain_text("Ada")
        await expect(bea.locator("#others-failed")).to_contain_text("Ada's payment")
        await expect(bea.locator("#pay-btn")).to_have_count(0)
        await shot(bea, "room-failed-other", full=False)
        await shot(ada, "room-failed-payer", full=False)
        assert js_errors(ada) == [] and js_errors(bea) == []
        await ctx_a.close()
        await ctx_b.close()
