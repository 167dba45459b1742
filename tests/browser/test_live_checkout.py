"""A live show sells: two viewers buy on their own while the show goes on (docs/live.md).

The host pins a jacket (it has sizes) and a tent. Vic taps "Buy now" on the jacket, picks a size
in the variant sheet and lands on the sandbox's hosted payment page in a new tab (two taps) — the
room, its video and its chat keep going in the first tab, with a sheet over the page showing the
order. Val checks out her cart the same way. Both pay with the test card; the host sees the count
and the revenue, and the audience the "someone just bought …" ticker the host switched on.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.server.checkout.support import Env, checkout_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


async def _pin(host: Page, sku: str) -> None:
    await (
        host.locator(f'.product[data-sku="{sku}"]')
        .get_by_role("button", name=re.compile("^View"))
        .click()
    )
    await host.get_by_role("button", name="Pin to stage").click()
    await expect(host.locator(f'#pins .pin[data-sku="{sku}"]')).to_be_visible()


async def _pay_in_tab(
    ctx: BrowserContext,
    page: Page,
    env: Env,
    name: str,
    start: str,
    meanwhile: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Tap ``start``'s button; pay on the hosted page in the tab it opens (``meanwhile``: what
    happens in the room while the payment page is open)."""
    async with ctx.expect_page() as opened:
        await page.locator(start).click()
    tab = await opened.value
    await tab.wait_for_url(f"{env.sandbox_url}/**")
    if meanwhile is not None:
        await meanwhile()
    await tab.get_by_label("Card number").fill("4242 4242 4242 4242")
    await tab.get_by_label("Expiry (MM/YY)").fill("12/39")
    await tab.get_by_label("CVC").fill("123")
    await shot(tab, f"live-checkout-sandbox-{name}", full=False)
    await tab.get_by_role("button", name=re.compile(r"^Pay \$[0-9]")).click()
    await tab.wait_for_url(f"{env.base_url}/checkout/return**")
    await tab.close()


async def test_two_viewers_buy_on_their_own_while_the_show_goes_on(
    browser: Browser, tmp_path: Path
) -> None:
    async with checkout_env(tmp_path) as env:
        ctx_h, host = await new_page(browser)
        room_id = await create_room(host, env.base_url, kind="live", title="Gear drop", name="Hana")
        url = await invite_url(host)
        await host.get_by_label("Stream URL (HLS .m3u8 or embed URL)").fill(
            "https://video.example/live/gear.m3u8"
        )
        await host.get_by_role("button", name="Set stream").click()
        await _pin(host, "jacket-squall")
        await _pin(host, "tent-2p")
        await host.locator("#buy-ticker").check()

        ctx_vic, vic = await new_page(browser, phone=True)
        ctx_val, val = await new_page(browser)
        await join(vic, url, "Vic Lane")
        await join(val, url, "Val")
        await vic.locator("#stream video").evaluate("node => { node.coshopMark = 'kept'; }")

        # Val adds the tent to her cart; Vic taps "Buy now" on the jacket and picks a size
        await (
            val.locator('#pins .pin[data-sku="tent-2p"]')
            .get_by_role("button", name=re.compile("^Add to cart"))
            .click()
        )
        await expect(val.locator("#cart .line")).to_have_count(1)
        await vic.get_by_role("button", name="Buy now: Squall Rain Jacket").click()
        sheet = vic.locator("#variant-sheet")
        await expect(sheet).to_be_visible()
        await sheet.locator("fieldset.variants label").nth(1).click()
        await shot(vic, "live-checkout-variant-sheet", full=False)
        await _pay_in_tab(ctx_vic, vic, env, "vic", "#sheet-add")

        # back in the room tab: the order sheet over the show, the video never rebuilt
        order = vic.locator("#order-sheet")
        await expect(order).to_be_visible()
        await expect(order.locator(".order-card").first).to_contain_text("Paid ✔")
        assert await vic.locator("#stream video").evaluate("node => node.coshopMark") == "kept"
        await shot(vic, "live-checkout-vic-paid", full=False)

        # the show goes on: Val chats while her cart's payment page is open in the other tab
        async def chat_while_paying() -> None:
            sheet = val.locator("#order-sheet .order-card").first
            await expect(sheet).to_contain_text("On the payment page")
            await expect(val.locator("#cart .line .tag.paying")).to_have_count(1)
            await val.locator("#chat-input").fill("that jacket looks great")
            await val.locator("#chat-form button[type=submit]").click()
            await expect(host.locator("#messages")).to_contain_text("that jacket looks great")
            await shot(val, "live-checkout-val-paying", full=False)

        await expect(val.locator("#check-out-mine")).to_contain_text("Check out my cart")
        await _pay_in_tab(ctx_val, val, env, "val", "#check-out-mine", chat_while_paying)
        await expect(val.locator("#order-sheet .order-card").first).to_contain_text("Paid ✔")
        await expect(val.locator("#cart .line")).to_have_count(0)
        await val.locator("#chat-input").fill("bought it!")
        await val.locator("#chat-form button[type=submit]").click()
        await expect(vic.locator("#messages")).to_contain_text("bought it!")

        # the audience saw the ticker (a first name and a title, no amount); it hides each
        # item after a few seconds and keeps the last three in the page
        ticker = vic.locator("#buy-ticker-feed")
        await expect(ticker).to_contain_text("Val just bought")
        await expect(ticker).not_to_contain_text("$")

        # the host sees the orders arrive: count and revenue
        await expect(host.locator("#sales-orders")).to_have_text("2")
        await expect(host.locator("#sales-revenue")).to_contain_text("$")
        await shot(host, "live-checkout-host-sales", full=False)
        await shot(val, "live-checkout-val-paid", full=False)
        for page in (host, vic, val):
            assert js_errors(page) == []
        assert room_id
        for ctx in (ctx_h, ctx_vic, ctx_val):
            await ctx.close()
