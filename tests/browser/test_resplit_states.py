"""After a re-split, the shares say what is really owed (groupux D4), with three people.

Ada, Bea and Cal each pay their own lines, all-or-nothing. Ada's and Cal's cards are authorised;
Bea's payment fails; Ada splits Bea's share between herself and Cal. Their new shares are extra
payments — their own shares are already in — and every page says so: "part of Bea's share — not
paid yet" under "Extra payments", never "has not paid yet", and the old "payment sent" banner is
gone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.browser.test_holdout import pay_on_page
from tests.server.checkout.support import checkout_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]


async def test_extra_shares_after_a_resplit_say_what_they_are(
    browser: Browser, tmp_path: Path
) -> None:
    async with checkout_env(tmp_path) as env:
        ctx_a, ada = await new_page(browser)
        ctx_b, bea = await new_page(browser)
        ctx_c, cal = await new_page(browser)
        await create_room(ada, env.base_url, kind="group", title="Camp", name="Ada")
        link = await invite_url(ada)
        await join(bea, link, "Bea")
        await join(cal, link, "Cal")
        await ada.locator('.product[data-sku="tent-2p"] .add').click()
        await bea.locator('.product[data-sku="tent-4p"] .add').click()
        await cal.locator('.product[data-sku="tent-2p"] .add').click()
        await expect(ada.locator("#cart .line")).to_have_count(3)
        await ada.get_by_role("button", name="Lock cart", exact=True).click()
        await ada.locator("#pay-mode").select_option("own_lines")
        await ada.get_by_label("Charge nobody until everyone has paid").check()
        await ada.get_by_role("button", name="Check out", exact=True).click()
        await expect(bea.locator("#pay-btn")).to_have_text("Pay my share ($449.00)")

        await pay_on_page(ada, env, re.compile(r"^Pay \$"))
        await pay_on_page(cal, env, re.compile(r"^Pay \$"))
        await expect(ada.locator('#shares .share[data-status="authorized"]')).to_have_count(2)
        await pay_on_page(bea, env, "Delayed failure")
        panel = ada.locator(".holdout[data-payer]")
        await expect(panel).to_contain_text("Bea's payment failed")
        ada.once("dialog", lambda dialog: dialog.accept())
        await panel.get_by_role("button", name=re.compile(r"^Split it between")).click()

        for page in (ada, cal):
            await expect(page.locator("#holdouts")).to_contain_text("Bea")
            await expect(page.locator(".shares-h")).to_have_text("Extra payments: 0 of 2 done")
            rows = page.locator('#shares .share[data-status="pending"]')
            await expect(rows).to_have_count(2)
            for n in range(2):
                await expect(rows.nth(n)).to_contain_text("part of Bea's share — not paid yet")
            await expect(page.locator("#shares")).not_to_contain_text("has not paid yet")
            await expect(page.locator("#my-share-covers")).to_contain_text(
                "your part of Bea's share, an extra payment"
            )
            await expect(page.locator("#checkout-return")).to_have_count(0)
        await ada.locator("#checkout").evaluate("node => node.scrollIntoView({block: 'center'})")
        await shot(ada, "resplit-extra-payments", full=False)
        assert js_errors(ada) == [] and js_errors(bea) == [] and js_errors(cal) == []
        for ctx in (ctx_a, ctx_b, ctx_c):
            await ctx.close()
