"""After payment the room keeps the order (issue 14, item 8), with two people: a receipt with the
order number, what was bought, who paid what and the status history, for everyone; "Shop again"
moves it to the order history and the next round is order #2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.server.checkout.support import Env, checkout_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


async def pay_here(page: Page, env: Env, room_id: str) -> None:
    """Pay the whole order on the sandbox's hosted page and come back to the room."""
    await page.locator("#pay-btn").click()
    await page.wait_for_url(f"{env.sandbox_url}/**")
    await page.get_by_label("Card number").fill("4242 4242 4242 4242")
    await page.get_by_label("Expiry (MM/YY)").fill("12/39")
    await page.get_by_label("CVC").fill("123")
    await page.get_by_role("button", name=re.compile(r"^Pay \$[0-9]")).click()
    await page.wait_for_url(f"{env.base_url}/checkout/return**")
    await page.get_by_role("link", name="Back to the room").click()
    await page.wait_for_url(f"**/r/{room_id}*")


async def test_the_room_keeps_the_receipt_and_shops_again(browser: Browser, tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        ctx_a, ada = await new_page(browser)
        ctx_b, bea = await new_page(browser)
        room_id = await create_room(ada, env.base_url, kind="group", title="Camp", name="Ada")
        await join(bea, await invite_url(ada), "Bea")
        await ada.locator('.product[data-sku="tent-2p"] .add').click()  # $289.00
        await expect(bea.locator("#cart .line")).to_have_count(1)
        await bea.locator('.product[data-sku="tent-4p"] .add').click()  # $449.00
        await expect(ada.locator("#cart .line")).to_have_count(2)
        await ada.get_by_role("button", name="Check out", exact=True).click()
        await expect(ada.locator("#pay-btn")).to_have_text("Pay $738.00")
        await pay_here(ada, env, room_id)

        for page in (ada, bea):
            receipt = page.locator("#receipt")
            await expect(receipt).to_contain_text("Order #1")
            await expect(receipt).to_contain_text("Paid")
            await expect(receipt.locator(".receipt-lines li")).to_have_count(2)
            await expect(receipt.locator(".receipt-lines")).to_contain_text(
                "Basecamp 4-Person Tent"
            )
            await expect(receipt.locator(".receipt-total")).to_contain_text("$738.00")
            await expect(receipt.locator(".receipt-history li").first).to_have_text(
                re.compile(r"^Checkout started")
            )
            await expect(receipt.locator(".receipt-history li").last).to_have_text(
                re.compile(r"^Order paid")
            )
            await expect(page.locator("#cart .line")).to_have_count(0)
        await expect(bea.locator("#receipt .receipt-shares")).to_contain_text("Ada")
        await expect(bea.locator("#receipt .receipt-history")).to_contain_text("Ada paid")
        await bea.locator("#receipt").evaluate("node => node.scrollIntoView({block: 'center'})")
        await shot(bea, "receipt", full=False)

        # the receipt survives a reload (the room keeps it, not the page)
        await bea.reload()
        await expect(bea.locator("#receipt")).to_contain_text("Order #1")

        # shop again: the receipt moves to the history and a new round starts
        await bea.get_by_role("button", name="Shop again").click()
        await expect(bea.locator("#receipt")).to_have_count(0)
        await expect(bea.locator("#orders .orders-h")).to_have_text("Order history (1)")
        await bea.locator('.product[data-sku="tent-2p"] .add').click()
        await expect(ada.locator("#cart .line")).to_have_count(1)
        await expect(ada.locator("#receipt")).to_have_count(
            0
        )  # a new cart: the last order is history
        await expect(ada.locator("#orders details.receipt")).to_contain_text("Order #1")
        await ada.get_by_role("button", name="Check out", exact=True).click()
        await pay_here(ada, env, room_id)
        await expect(bea.locator("#receipt")).to_contain_text("Order #2")
        await expect(bea.locator("#orders .orders-h")).to_have_text("Order history (1)")
        await bea.locator("#orders").evaluate("node => node.scrollIntoView({block: 'center'})")
        await shot(bea, "order-history", full=False)
        assert js_errors(ada) == [] and js_errors(bea) == []
        await ctx_a.close()
        await ctx_b.close()
