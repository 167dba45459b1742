"""A cart deadline with two people (issue 14, item 7): the host sets "cart closes at" a few
seconds ahead, both see the countdown, the cart locks by itself; the host reminds the member who
has added nothing, and only that member sees the reminder."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.browser.test_accessibility import serious_violations
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


async def test_the_cart_closes_by_itself_and_a_nudge_reaches_its_member(
    browser: Browser, server: LiveServer
) -> None:
    ctx_a, ada = await new_page(browser)
    ctx_b, bea = await new_page(browser)
    await create_room(ada, server, kind="group", title="Camp", name="Ada")
    await join(bea, await invite_url(ada), "Bea")
    await ada.locator('.product[data-sku="tent-2p"] .add').click()
    await expect(bea.locator("#cart .line")).to_have_count(1)

    # a member has no deadline controls
    await expect(bea.locator("#deadline-setup")).to_have_count(0)
    # the host reminds Bea, who has added nothing yet; Bea alone sees the notice
    waiting = ada.locator("#waiting")
    await expect(waiting).to_contain_text("Bea hasn't added anything yet")
    await waiting.get_by_role("button", name="Remind Bea").click()
    await expect(waiting).to_contain_text("reminded ✓")
    nudge = bea.locator("#nudge")
    await expect(nudge).to_contain_text("Ada reminds you to add what you'd like to the cart")
    await expect(ada.locator("#nudge")).to_have_count(0)

    # the host sets the cart to close a few seconds from now, with the date-time field
    await ada.locator("#deadline-setup summary").click()
    await ada.locator("#cart-panel").evaluate("node => node.scrollIntoView({block: 'start'})")
    await shot(ada, "deadline-setup-host", full=False)
    await ada.evaluate(
        """() => {
          const d = new Date(Date.now() + 6000);
          const p = (n) => String(n).padStart(2, "0");
          const v = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
            `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
          const input = document.getElementById("deadline-at");
          input.value = v;
          input.dispatchEvent(new Event("input", { bubbles: true }));
        }"""
    )
    await ada.get_by_role("button", name="Set deadline").click()
    for page in (ada, bea):
        await expect(page.locator("#deadline-line")).to_contain_text("Cart closes at")
        await expect(page.locator("#deadline-left")).to_contain_text(" left")
    # the countdown counts (its text changes without anyone doing anything)
    first = await bea.locator("#deadline-left").text_content()
    await expect(bea.locator("#deadline-left")).not_to_have_text(first or "")
    await expect(bea.locator("#nudge")).to_be_visible()  # the countdown never redraws the notice
    await bea.locator("#cart-panel").evaluate("node => node.scrollIntoView({block: 'start'})")
    await shot(bea, "deadline-countdown-member", full=False)
    await ada.locator("#cart-panel").evaluate("node => node.scrollIntoView({block: 'start'})")
    await shot(ada, "deadline-countdown-host", full=False)
    assert await serious_violations(bea, "the countdown and a reminder") == []
    assert await serious_violations(ada, "the host's countdown and who to remind") == []

    # nobody clicks anything: at the deadline the cart locks by itself, for both
    for page in (ada, bea):
        await expect(page.locator("#checkout-phase")).to_have_text(
            "Cart locked for checkout", timeout=15_000
        )
        await expect(page.locator("#deadline-line")).to_have_count(0)
        await expect(page.locator("#toasts")).to_contain_text("the cart closed by itself")
    await expect(ada.locator("#unlock-btn")).to_be_visible()  # the host may still reopen it
    await shot(ada, "deadline-locked-host", full=False)
    await expect(bea.locator("#nudge")).to_have_count(0)  # nothing left to add to
    assert js_errors(ada) == [] and js_errors(bea) == []
    await ctx_a.close()
    await ctx_b.close()
