"""Two people check a group cart out and pay their shares on the sandbox provider's hosted page.

coshop and the sandbox provider run on their own loopback ports (``checkout_env``); the sandbox
delivers signed webhooks to coshop. The host and a friend build one cart, a price changes in the
catalogue (both pages say so next to the line), the host splits the order equally, each pays on
the hosted page with a test card, comes back through the return page, and both pages end up
showing the paid state. No WebSocket frame either page received or sent carries the card number.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, WebSocket, expect
from sqlalchemy import update

from server.catalog.tables import products
from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.server.checkout.support import CARD, Env, checkout_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


async def shot_cart(page: Page, name: str) -> None:
    """A screenshot of the screen with the cart and checkout panel scrolled into view."""
    await page.locator("#cart-panel").evaluate("node => node.scrollIntoView({block: 'start'})")
    await shot(page, name, full=False)


def record_frames(page: Page, frames: list[str | bytes]) -> None:
    """Keep every WebSocket frame the page receives or sends."""

    def keep(payload: str | bytes) -> None:
        frames.append(payload)

    def on_socket(ws: WebSocket) -> None:
        ws.on("framereceived", keep)
        ws.on("framesent", keep)

    page.on("websocket", on_socket)


async def set_price(env: Env, sku: str, price_minor: int) -> None:
    """The shop changes a price in its catalogue (as an import would)."""
    engine = env.app.state.engine
    async with engine.begin() as conn:
        await conn.execute(
            update(products)
            .where(products.c.merchant_id == "demo", products.c.sku == sku)
            .values(price_minor=price_minor)
        )


async def pay_on_hosted_page(page: Page, env: Env, room_id: str, name: str) -> None:
    """Pay from the room: the hosted page opens top-level, the test card pays, back to the room."""
    await page.locator("#pay-btn").click()
    await page.wait_for_url(f"{env.sandbox_url}/**")
    await expect(page.get_by_role("heading", name="Pay $374.50")).to_be_visible()
    await page.get_by_label("Card number").fill("4242 4242 4242 4242")
    await page.get_by_label("Expiry (MM/YY)").fill("12/39")
    await page.get_by_label("CVC").fill("123")
    await shot(page, f"checkout-sandbox-{name}", full=False)
    await page.get_by_role("button", name=re.compile(r"^Pay \$[0-9]")).click()
    await page.wait_for_url(f"{env.base_url}/checkout/return**")
    await page.get_by_role("link", name="Back to the room").click()
    await page.wait_for_url(f"**/r/{room_id}*")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    # the return parameter is read once, then dropped from the address
    assert "checkout=" not in page.url


async def test_a_group_pays_equal_shares_on_the_hosted_page(
    browser: Browser, tmp_path: Path
) -> None:
    async with checkout_env(tmp_path) as env:
        ctx_a, ada = await new_page(browser)
        ctx_b, bea = await new_page(browser, phone=True)
        frames: list[str | bytes] = []
        record_frames(ada, frames)
        record_frames(bea, frames)

        room_id = await create_room(ada, env.base_url, kind="group", title="Camping", name="Ada")
        await join(bea, await invite_url(ada), "Bea")

        # one cart with a line from each
        await bea.locator('.product[data-sku="tent-2p"] .add').click()
        await ada.locator('.product[data-sku="tent-4p"] .add').click()
        await expect(ada.locator("#cart .line")).to_have_count(2)
        await expect(bea.locator("#cart .line")).to_have_count(2)

        # the shop raises a price after Bea added her tent: both see it before anyone pays
        await set_price(env, "tent-2p", 30_000)
        await ada.get_by_label("Payment").select_option("equal_split")
        await expect(ada.locator("#pay-mode-hint")).to_contain_text("split equally")
        await ada.get_by_role("button", name="Check out", exact=True).click()
        notice = "Price went from $289.00 to $300.00"
        for page in (ada, bea):
            line = page.locator('#cart .line[data-sku="tent-2p"]')
            await expect(line.locator(".line-issue")).to_have_text(re.compile(re.escape(notice)))
            await expect(page.locator("#pricing")).to_contain_text("Shop's total: $749.00")
            await expect(page.locator("#checkout-phase")).to_have_text("Cart locked for checkout")
        await expect(bea.locator("#checkout")).to_contain_text("The host is checking out")
        await expect(bea.locator("#host-checking-out")).to_contain_text(
            "Your amount appears here when the host starts checkout."
        )
        # this server hands carts to a shop: the host is offered it, members are not
        await expect(ada.locator("#handoff-btn")).to_have_text("Use the shop's own checkout")
        await expect(bea.locator("#handoff-btn")).to_have_count(0)
        await shot_cart(bea, "checkout-price-changed-phone")
        await shot(ada, "checkout-price-changed-desktop", full=False)

        # checking out again accepts the new price; the order is split equally between the two
        await ada.get_by_role("button", name="Accept prices and check out").click()
        for page in (ada, bea):
            await expect(page.locator("#checkout-phase")).to_have_text("Waiting for payments")
            shares = page.locator("#shares .share")
            await expect(shares).to_have_count(2)
            await expect(shares.filter(has_text="$374.50")).to_have_count(2)
            await expect(page.locator("#shares")).to_contain_text("has not paid yet")
            await expect(page.locator("#pay-btn")).to_have_text("Pay my share ($374.50)")
            # the line shows the price the shop charges now
            tent = page.locator('#cart .line[data-sku="tent-2p"] .line-price')
            await expect(tent).to_have_text("was $289.00 $300.00")
        await expect(ada.locator("#shares")).to_contain_text("Bea")
        await expect(bea.locator("#shares")).to_contain_text("Ada")
        # nobody has had a chance to pay yet: the host is not asked to decide for Bea
        await expect(ada.locator(".holdout")).to_have_count(0)
        await shot(ada, "checkout-shares-desktop", full=False)

        # Bea pays first; Ada's page shows it live
        await pay_on_hosted_page(bea, env, room_id, "bea")
        bea_share_on_ada = ada.locator("#shares .share").filter(has_text="Bea")
        await expect(bea_share_on_ada).to_have_attribute("data-status", "paid")
        await expect(ada.locator(".shares-h")).to_have_text("Payments: 1 of 2 done")
        await expect(bea.locator("#my-share-done")).to_be_visible()
        await expect(bea.locator("#pay-btn")).to_have_count(0)
        # the phone's pay bar says her share is in, not the whole cart's total
        await expect(bea.locator("#pay-bar-total")).to_have_text("Your share $374.50 ✔")
        await shot_cart(bea, "checkout-one-paid-phone")

        # then Ada: the order is paid, the cart archived, a fresh cart open on both pages
        await pay_on_hosted_page(ada, env, room_id, "ada")
        for page in (ada, bea):
            await expect(page.locator("#checkout-result")).to_contain_text(
                "Order paid — a fresh cart is open."
            )
            await expect(page.locator("#checkout-phase")).to_have_text("Cart open")
            await expect(page.locator("#cart .line")).to_have_count(0)
        await shot(ada, "checkout-paid-desktop", full=False)
        await shot_cart(bea, "checkout-paid-phone")

        # the card number never travelled over coshop's WebSockets
        assert frames
        for frame in frames:
            text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
            assert CARD not in text.replace(" ", "")
        assert js_errors(ada) == [] and js_errors(bea) == []
        await ctx_a.close()
        await ctx_b.close()


async def test_a_stock_problem_blocks_then_the_host_abandons_and_cancels(
    browser: Browser, tmp_path: Path
) -> None:
    async with checkout_env(tmp_path) as env:
        ctx_a, ada = await new_page(browser)
        ctx_b, bea = await new_page(browser)
        room_id = await create_room(ada, env.base_url, kind="group", title="Family", name="Ada")
        await join(bea, await invite_url(ada), "Bea")
        big_tent = bea.locator('.product[data-sku="tent-4p"]')
        await big_tent.locator(".add").click()
        more = bea.get_by_role("button", name="One more Basecamp 4-Person Tent")
        await more.click()
        await more.click()
        await expect(ada.locator("#cart .line .q")).to_have_text("3")

        # Ada has the tent open: its panel follows the shop's stock once the cart is priced
        await ada.locator('.product[data-sku="tent-4p"] .product-open').click()
        await expect(ada.locator("#detail-stock")).to_have_text("Only 4 left")

        # only two left in the shop: checkout is blocked and both pages say why
        engine = env.app.state.engine
        async with engine.begin() as conn:
            await conn.execute(
                update(products)
                .where(products.c.merchant_id == "demo", products.c.sku == "tent-4p")
                .values(stock=2)
            )
        await ada.get_by_role("button", name="Check out", exact=True).click()
        await expect(ada.locator("#detail-stock")).to_have_text("Only 2 left")
        for page in (ada, bea):
            await expect(page.locator("#cart .line .line-issue")).to_have_text("✖ Only 2 left")
            await expect(page.locator("#pricing")).to_contain_text("Can't check out yet")
        await expect(ada.locator("#toasts")).to_contain_text("out of stock")
        await shot(ada, "checkout-blocked-desktop", full=False)

        # a blocked cart offers no checkout; the fix sits on the line and unlocks as it fixes
        await expect(ada.locator("#checkout-btn")).to_have_count(0)
        await expect(ada.locator("#handoff-btn")).to_have_count(0)
        await expect(bea.locator("#cart .line .line-fix")).to_contain_text("host unlocks")
        await ada.locator("#cart .line").get_by_role("button", name="Change to 2").click()
        await expect(bea.locator("#checkout-phase")).to_have_text("Cart open")
        await expect(bea.locator("#pricing")).to_have_count(0)
        await expect(ada.locator("#cart .line .q")).to_have_text("2")
        await ada.get_by_role("button", name="Check out", exact=True).click()
        await expect(ada.locator("#pay-btn")).to_have_text("Pay $898.00")
        await expect(bea.locator("#checkout")).to_contain_text("You have nothing to pay")
        await expect(bea.locator("#pay-btn")).to_have_count(0)

        # the host opens the payment page and abandons it: back in the room, nothing charged
        await ada.locator("#pay-btn").click()
        await ada.wait_for_url(f"{env.sandbox_url}/**")
        await ada.get_by_role("button", name="Abandon and go back").click()
        await ada.wait_for_url(f"{env.base_url}/checkout/return**")
        await ada.get_by_role("link", name="Back to the room").click()
        await ada.wait_for_url(f"**/r/{room_id}*")
        await expect(ada.locator("#checkout-return")).to_contain_text("You left the payment page")
        await expect(ada.locator("#pay-btn")).to_be_visible()

        # the host cancels: the order is void, the cart open again with its lines
        ada.on("dialog", lambda dialog: dialog.accept())
        await ada.get_by_role("button", name="Cancel checkout").click()
        for page in (ada, bea):
            await expect(page.locator("#checkout-result")).to_contain_text(
                "Checkout cancelled — nothing was charged."
            )
            await expect(page.locator("#checkout-phase")).to_have_text("Cart open")
            await expect(page.locator("#cart .line")).to_have_count(1)
        await shot(bea, "checkout-void-desktop", full=False)
        assert js_errors(ada) == [] and js_errors(bea) == []
        await ctx_a.close()
        await ctx_b.close()
