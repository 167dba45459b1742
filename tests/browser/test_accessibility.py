"""axe-core (the copy bundled in axe-playwright-python: no network) finds no serious or critical
violation on the shopper's pages: landing, join, the room (empty, with a cart and the variant
sheet open, at checkout, paid) and the provider's return page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import (  # type: ignore[import-untyped]  # no py.typed
    Axe,
)
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import js_errors, new_page
from tests.browser.helpers import create_room, invite_url, join
from tests.server.checkout.support import checkout_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

SERIOUS = {"serious", "critical"}


async def serious_violations(page: Page, where: str) -> list[str]:
    """Every serious or critical axe violation on ``page``, one line each, named by ``where``."""
    results = await Axe().run(page)
    found: list[dict[str, Any]] = results.response["violations"]
    return [
        f"{where}: {v['id']} ({v['impact']}) {[n['target'] for n in v['nodes']][:5]} — {v['help']}"
        for v in found
        if v.get("impact") in SERIOUS
    ]


async def test_shopper_pages_have_no_serious_axe_violations(
    browser: Browser, tmp_path: Path
) -> None:
    problems: list[str] = []
    async with checkout_env(tmp_path) as env:
        ctx_a, ada = await new_page(browser)
        ctx_b, bea = await new_page(browser, phone=True)
        await ada.goto(env.base_url + "/")
        problems += await serious_violations(ada, "landing")
        # the checker works here (offline): the defect the room page used to have is found
        await ada.evaluate(
            "document.querySelector('main').append(Object.assign(document.createElement('span'),"
            " {className: 'viewers-of'})); document.querySelector('.viewers-of')"
            ".setAttribute('aria-label', 'Looking at this now')"
        )
        planted = await serious_violations(ada, "planted")
        assert any("aria-prohibited-attr" in p for p in planted), planted

        room_id = await create_room(ada, env.base_url, kind="group", title="Camp", name="Ada")
        await expect(ada.locator("#grid .product")).not_to_have_count(0)
        problems += await serious_violations(ada, "room, empty")

        url = await invite_url(ada)
        await bea.goto(url)
        problems += await serious_violations(bea, "join")
        await join(bea, url, "Bea")

        # a cart, a product panel and the variant sheet open
        await bea.locator('.product[data-sku="tent-2p"] .add').click()
        await expect(ada.locator("#cart .line")).to_have_count(1)
        await ada.locator('.product[data-sku="tent-4p"] .product-open').click()
        await expect(ada.locator("#product-detail h3")).to_be_visible()
        problems += await serious_violations(ada, "room, with a cart")
        problems += await serious_violations(bea, "room, with a cart (phone)")
        await ada.locator('.product[data-sku="mug-enamel"] .add').click()
        await expect(ada.locator("#variant-sheet")).to_be_visible()
        problems += await serious_violations(ada, "room, variant sheet")
        await ada.keyboard.press("Escape")

        # at checkout: the host pays everything
        await ada.get_by_role("button", name="Check out", exact=True).click()
        await expect(ada.locator("#pay-btn")).to_be_visible()
        problems += await serious_violations(ada, "room, at checkout")
        problems += await serious_violations(bea, "room, at checkout (phone)")

        await ada.locator("#pay-btn").click()
        await ada.wait_for_url(f"{env.sandbox_url}/**")
        await ada.get_by_label("Card number").fill("4242 4242 4242 4242")
        await ada.get_by_label("Expiry (MM/YY)").fill("12/39")
        await ada.get_by_label("CVC").fill("123")
        await ada.get_by_role("button", name="Pay $289.00").click()
        await ada.wait_for_url(f"{env.base_url}/checkout/return**")
        await expect(ada.locator("#msg-title")).to_have_text("Order paid")
        problems += await serious_violations(ada, "return page")
        await ada.get_by_role("link", name="Back to the room").click()
        await ada.wait_for_url(f"**/r/{room_id}*")
        await expect(ada.locator("#checkout-result")).to_contain_text("Order paid")
        problems += await serious_violations(ada, "room, paid")
        await expect(bea.locator("#checkout-result")).to_contain_text("Order paid")
        problems += await serious_violations(bea, "room, paid (phone)")

        assert problems == [], "\n".join(problems)
        assert js_errors(ada) == [] and js_errors(bea) == []
        await ctx_a.close()
        await ctx_b.close()
