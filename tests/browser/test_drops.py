"""A drop in a live show (docs/live.md "Drops"): the host's timed deal, claimed and paid.

The host pins the tent and starts a drop from the host controls: 3 units at a drop price, one
per buyer, a two-minute countdown. Two viewers see the drop card — the price with the regular
one struck through, the countdown, "3 of 3 left". Vic claims: the room decides, a payment tab
opens on the sandbox's hosted page, he pays; the card says he got it, and the count goes down
for everyone, the host included (claimed / paid / left). The host then ends the drop early and
both viewers see "Ended".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.browser.test_accessibility import serious_violations
from tests.browser.test_live_checkout import _pin
from tests.server.checkout.support import checkout_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


async def test_host_runs_a_drop_two_viewers_watch_one_claims_and_pays(
    browser: Browser, tmp_path: Path
) -> None:
    async with checkout_env(tmp_path) as env:
        ctx_h, host = await new_page(browser)
        await create_room(host, env.base_url, kind="live", title="Camp drop", name="Hana")
        url = await invite_url(host)
        await _pin(host, "tent-2p")

        ctx_vic, vic = await new_page(browser, phone=True)
        ctx_val, val = await new_page(browser)
        await join(vic, url, "Vic Lane")
        await join(val, url, "Val")

        form = host.locator("#drop-form")
        await expect(form).to_be_visible()
        await form.get_by_label("Product").select_option("tent-2p")
        await form.get_by_label("Drop price").fill("199")
        await form.get_by_label("Units").fill("3")
        await form.get_by_label("Per buyer").fill("1")
        await form.get_by_label("Countdown").select_option("120")
        await form.evaluate('node => node.scrollIntoView({block: "end"})')
        await shot(host, "drop-host-form", full=False)
        await form.get_by_role("button", name="Start drop").click()

        for page in (vic, val):
            card = page.locator("#drop-card")
            await expect(card).to_be_visible()
            await expect(card).to_contain_text("$199.00")
            await expect(card.locator(".drop-regular")).to_contain_text("$289.00")
            await expect(card.locator("#drop-remaining")).to_have_text("3")
            await expect(card.locator("#drop-countdown")).to_have_text(re.compile(r"^[12]:\d\d$"))
        await expect(host.locator("#drop-stats")).to_contain_text("0 claimed")
        await shot(val, "drop-viewer-open", full=False)
        for page, where in ((vic, "drop: viewer on a phone"), (host, "drop: host")):
            assert await serious_violations(page, where) == []
        await shot(vic, "drop-viewer-phone", full=False)

        # Vic claims: the payment page opens in a new tab, he pays with the test card
        async with ctx_vic.expect_page() as opened:
            await vic.get_by_role("button", name=re.compile("Claim")).click()
        tab = await opened.value
        await tab.wait_for_url(f"{env.sandbox_url}/**")
        await expect(vic.locator("#drop-card")).to_contain_text("You got it")
        await expect(val.locator("#drop-remaining")).to_have_text("2")
        await tab.get_by_label("Card number").fill("4242 4242 4242 4242")
        await tab.get_by_label("Expiry (MM/YY)").fill("12/39")
        await tab.get_by_label("CVC").fill("123")
        await shot(tab, "drop-sandbox-pay", full=False)
        await tab.get_by_role("button", name=re.compile(r"^Pay \$199\.00")).click()
        await tab.wait_for_url(f"{env.base_url}/checkout/return**")
        await tab.close()

        await expect(vic.locator("#order-sheet .order-card").first).to_contain_text("Paid ✔")
        await expect(host.locator("#drop-stats")).to_contain_text("1 paid")
        await expect(host.locator("#drop-stats")).to_contain_text("2 left")
        await expect(val.locator("#drop-remaining")).to_have_text("2")
        await expect(vic.locator("#drop-remaining")).to_have_text("2")
        await expect(vic.locator("#drop-card")).to_contain_text("It's yours")
        await shot(host, "drop-host-stats", full=False)
        await shot(vic, "drop-vic-paid", full=False)

        # the host ends it early: both viewers see "Ended", nobody can claim
        await host.locator("#drop-end").click()
        for page in (vic, val):
            await expect(page.locator("#drop-countdown")).to_have_text("Ended")
        await expect(val.locator("#drop-card")).to_contain_text("Ended")
        await expect(val.get_by_role("button", name=re.compile("Claim"))).to_have_count(0)
        await shot(val, "drop-viewer-ended", full=False)
        for page in (host, vic, val):
            assert js_errors(page) == []
        for ctx in (ctx_h, ctx_vic, ctx_val):
            await ctx.close()
