"""Holdout recovery, decided by the group (issue 14, item 6), with two people and the sandbox.

Ada and Bea each pay their own lines, all-or-nothing. Ada's card is authorised; Bea's payment
fails. The order does not fall apart: Ada, the host, sees plainly what happened and what she may
do — pay Bea's share, or drop Bea's items — and covers it. Bea is told she has nothing to pay,
everyone sees who covered what, Ada pays the extra share and the order is paid with a receipt
that keeps the choice in its history.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.browser.test_accessibility import serious_violations
from tests.server.checkout.support import Env, checkout_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]


async def pay_on_page(page: Page, env: Env, button: str | re.Pattern[str]) -> None:
    """From the room's Pay button to the hosted page and back to the room."""
    await page.locator("#pay-btn").click()
    await page.wait_for_url(f"{env.sandbox_url}/**")
    await page.get_by_label("Card number").fill("4242 4242 4242 4242")
    await page.get_by_label("Expiry (MM/YY)").fill("12/39")
    await page.get_by_label("CVC").fill("123")
    await page.get_by_role("button", name=button).click()
    await page.wait_for_url(f"{env.base_url}/checkout/return**")
    await page.get_by_role("link", name="Back to the room").click()
    await page.wait_for_url("**/r/*")


async def test_the_host_covers_a_failed_share_and_everyone_sees_it(
    browser: Browser, tmp_path: Path
) -> None:
    async with checkout_env(tmp_path) as env:
        ctx_a, ada = await new_page(browser)
        ctx_b, bea = await new_page(browser)
        await create_room(ada, env.base_url, kind="group", title="Camp", name="Ada")
        await join(bea, await invite_url(ada), "Bea")
        await ada.locator('.product[data-sku="tent-2p"] .add').click()
        await bea.locator('.product[data-sku="tent-4p"] .add').click()
        await expect(ada.locator("#cart .line")).to_have_count(2)
        await ada.get_by_role("button", name="Lock cart", exact=True).click()
        await ada.locator("#pay-mode").select_option("own_lines")
        await ada.get_by_label("Charge nobody until everyone has paid").check()
        await ada.get_by_role("button", name="Check out", exact=True).click()
        await expect(ada.locator("#pay-btn")).to_have_text("Pay my share ($289.00)")
        await expect(bea.locator("#pay-btn")).to_have_text("Pay my share ($449.00)")

        await pay_on_page(ada, env, re.compile(r"^Pay \$"))
        await expect(bea.locator('#shares .share[data-status="authorized"]')).to_contain_text("Ada")
        await pay_on_page(bea, env, "Delayed failure")
        # the order waits: Ada's hold stays and she is asked to decide, in plain words
        panel = ada.locator(".holdout[data-payer]")
        await expect(panel).to_contain_text("Bea's payment failed")
        await expect(
            panel.get_by_role("button", name=re.compile(r"^I'll pay Bea's share \(\$449\.00\)"))
        ).to_be_visible()
        await expect(
            panel.get_by_role("button", name=re.compile(r"^Drop Bea's items"))
        ).to_be_visible()
        await expect(bea.locator("#my-share-failed")).to_contain_text("didn't go through")
        await expect(bea.locator(".holdout")).to_have_count(0)  # only the host decides
        await ada.locator("#checkout").evaluate("node => node.scrollIntoView({block: 'center'})")
        await shot(ada, "holdout-choice-host", full=False)
        assert await serious_violations(ada, "the host's holdout choice") == []

        ada.once("dialog", lambda dialog: dialog.accept())
        await panel.get_by_role("button", name=re.compile(r"^I'll pay Bea's share")).click()
        # everyone sees the outcome; Bea has nothing to pay, Ada pays the extra share
        await expect(bea.locator("#holdouts")).to_contain_text("Ada covers your share.")
        await expect(ada.locator("#holdouts")).to_contain_text("You cover Bea's share.")
        await expect(bea.locator("#my-share-released")).to_contain_text("covered by Ada")
        await expect(bea.locator("#pay-btn")).to_have_count(0)
        await expect(bea.locator('#shares .share[data-status="released"]')).to_contain_text(
            "covered by Ada"
        )
        await expect(ada.locator("#pay-btn")).to_have_text("Pay my share ($449.00)")
        await expect(ada.locator("#my-share-covers")).to_contain_text("Bea's share")
        await expect(ada.locator(".holdout")).to_have_count(0)
        await bea.locator("#checkout").evaluate("node => node.scrollIntoView({block: 'center'})")
        await shot(bea, "holdout-covered-member", full=False)
        assert await serious_violations(bea, "a covered share") == []

        await pay_on_page(ada, env, re.compile(r"^Pay \$"))
        for page in (ada, bea):
            await expect(page.locator("#receipt")).to_be_visible(timeout=20_000)
        receipt = bea.locator("#receipt")
        await expect(receipt).to_contain_text("$738.00")
        await expect(receipt.locator(".receipt-history")).to_contain_text(
            "The host covered your share"
        )
        await bea.locator("#receipt").evaluate("node => node.scrollIntoView({block: 'center'})")
        await shot(bea, "holdout-receipt", full=False)
        assert js_errors(ada) == [] and js_errors(bea) == []
        await ctx_a.close()
        await ctx_b.close()
