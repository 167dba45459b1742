"""Cart etiquette with three people (issue 14, item 3): only who added a line, who pays for it and
staff change it; the host making someone the payer tells them, and they can decline; a compact
activity strip says who added what and who pays."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

TENT = "Ridgeline 2-Person Tent"


async def test_only_owner_payer_and_staff_change_a_line_and_a_payer_may_decline(
    browser: Browser, server: LiveServer
) -> None:
    ctx_a, ada = await new_page(browser)
    ctx_b, bea = await new_page(browser)
    ctx_c, cal = await new_page(browser)
    await create_room(ada, server, kind="group", title="Camp", name="Ada")
    invite = await invite_url(ada)
    await join(bea, invite, "Bea")
    await join(cal, invite, "Cal")

    await bea.locator('.product[data-sku="tent-2p"] .add').click()
    for page in (ada, cal):
        await expect(page.locator("#cart .line")).to_have_count(1)
    # Cal did not add it and does not pay for it: no quantity buttons, no Remove — "I'll pay"
    line = cal.locator("#cart .line")
    await expect(line.get_by_role("button", name=f"One more {TENT}")).to_have_count(0)
    await expect(line.get_by_role("button", name=f"Remove {TENT}")).to_have_count(0)
    await expect(line).to_contain_text("Qty 1")
    await expect(line.get_by_role("button", name="I'll pay")).to_be_visible()
    # ... and the room refuses it even from a hand-made command
    code = await cal.evaluate(
        """async () => {
          const line = window.coshopRoom.view.lines[0].line_id;
          try { await window.coshopRoom.conn.command("SetQuantity", {line_id: line, quantity: 5}); }
          catch (err) { return err.code; }
          return "accepted";
        }"""
    )
    assert code == "not_your_line"
    # the host (staff) may change it
    await expect(
        ada.locator("#cart .line").get_by_role("button", name=f"One more {TENT}")
    ).to_be_visible()
    await expect(ada.locator("#activity")).to_contain_text(f"Bea added {TENT}")
    await expect(ada.locator("#activity")).to_contain_text("Cal joined")

    # the host makes Cal the payer: Cal is told, and may now change the line
    await ada.get_by_label(f"Who pays for {TENT}").select_option(label="Cal")
    notice = cal.locator("#cart .payer-notice")
    await expect(notice).to_contain_text("Ada asked you to pay for this.")
    await expect(cal.locator("#toasts")).to_contain_text(f"Ada asked you to pay for {TENT}")
    await expect(line.get_by_role("button", name=f"One more {TENT}")).to_be_visible()
    await expect(bea.locator("#activity li").first).to_have_text(f"Ada asked Cal to pay for {TENT}")
    await cal.locator("#cart-panel").evaluate("node => node.scrollIntoView({block: 'start'})")
    await shot(cal, "payer-notice", full=False)

    # Cal declines: the line goes back to Bea, who is told
    await notice.get_by_role("button", name=f"Decline paying for {TENT}").click()
    await expect(notice).to_have_count(0)
    await expect(bea.locator("#cart .line .payer")).to_contain_text("You")
    await expect(bea.locator("#cart .payer-notice")).to_contain_text(
        "Cal no longer pays for this — you pay for it again."
    )
    await expect(bea.locator("#activity li").first).to_have_text(f"Cal passed {TENT} back to you")
    await expect(line.get_by_role("button", name=f"One more {TENT}")).to_have_count(0)
    await bea.locator("#cart-panel").evaluate("node => node.scrollIntoView({block: 'start'})")
    await shot(bea, "payer-declined", full=False)

    # Cal offers to pay after all (a claim is his own choice: nobody is told anything)
    await line.get_by_role("button", name="I'll pay").click()
    await expect(ada.locator("#activity li").first).to_have_text(f"Cal is paying for {TENT}")
    await expect(cal.locator("#cart .payer-notice")).to_have_count(0)
    assert js_errors(ada) == [] and js_errors(bea) == [] and js_errors(cal) == []
    for ctx in (ctx_a, ctx_b, ctx_c):
        await ctx.close()
