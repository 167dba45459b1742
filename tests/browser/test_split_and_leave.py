"""Splits that bill the right people, and leaving a room (issue 14, item 4), with three people.

The host's "Split equally" shows who is in the split — by default the host and the members who
added lines, never the store associate — with each person's amount; a member's "Leave room" says
what happens to their lines before they go, and once they have gone the split no longer has them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.server.checkout.support import checkout_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


async def test_the_host_picks_who_splits_and_a_member_leaves_knowing_what_happens(
    browser: Browser, tmp_path: Path
) -> None:
    async with checkout_env(tmp_path) as env:
        await _journey(browser, env.base_url, env.http)


async def _journey(browser: Browser, base_url: str, http: httpx.AsyncClient) -> None:
    ctx_a, ada = await new_page(browser)
    ctx_b, bea = await new_page(browser)
    ctx_s, sam = await new_page(browser)
    room_id = await create_room(ada, base_url, kind="group", title="Camp", name="Ada")
    bea_closed = asyncio.Event()  # Bea's room socket closed (by her leaving, or the server)
    bea.on("websocket", lambda ws: ws.on("close", lambda _ws: bea_closed.set()))
    await join(bea, await invite_url(ada), "Bea")
    # a store associate joins through a staff invite
    token = await ada.evaluate("window.coshopRoom.token")
    r = await http.post(
        f"/api/v1/rooms/{room_id}/invites",
        json={"role": "associate"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    await join(sam, r.json()["url"], "Sam")
    # the host cannot leave: no button for her
    await expect(ada.locator("#leave-btn")).to_be_hidden()

    await ada.locator('.product[data-sku="tent-2p"] .add').click()  # $289.00
    await expect(bea.locator("#cart .line")).to_have_count(1)
    await bea.locator('.product[data-sku="tent-4p"] .add').click()  # $449.00
    await expect(sam.locator("#cart .line")).to_have_count(2)
    await sam.locator('.product[data-sku="tent-2p"] .add').click()  # $289.00, the associate's
    await expect(ada.locator("#cart .line")).to_have_count(3)

    # Bea looks at leaving: she is told her tent goes, and stays
    await bea.get_by_role("button", name="Leave room").click()
    await expect(bea.locator("#leave-what")).to_contain_text(
        "1 item you added will be removed from the cart: Basecamp 4-Person Tent."
    )
    await shot(bea, "leave-confirm", full=False)
    await bea.get_by_role("button", name="Stay").click()
    await expect(bea.locator("#leave-dialog")).to_be_hidden()

    # the host splits equally: Ada and Bea by default, Sam (store staff) only if picked
    await ada.get_by_label("Payment").select_option("equal_split")
    picker = ada.locator("#split-picker")
    await expect(picker.get_by_label("You")).to_be_checked()
    await expect(picker.get_by_label("Bea")).to_be_checked()
    await expect(picker.get_by_label("Sam · store staff")).not_to_be_checked()
    await expect(picker.locator("[data-member] .split-amount").first).to_have_text("$513.50")
    await expect(ada.locator("#split-summary")).to_contain_text("2 people pay about $513.50 each")
    await picker.evaluate("node => node.scrollIntoView({block: 'center'})")
    await shot(ada, "split-picker", full=False)

    # Bea leaves for real: her page says so, her tent leaves the cart, the split loses her
    bea_id = await bea.evaluate("window.coshopRoom.me")
    await bea.get_by_role("button", name="Leave room").click()
    await bea.locator("#leave-confirm").click()
    await expect(bea.locator("#left-h")).to_have_text("You left the room")
    # the socket's close (the server closes it too, FORBIDDEN) does not turn it into "removed"
    await expect(ada.locator(f'#avatars [data-member="{bea_id}"]')).to_have_count(0)
    await bea_closed.wait()
    await bea.evaluate("() => new Promise((done) => requestAnimationFrame(() => done(null)))")
    await expect(bea.locator("#removed")).to_have_count(0)
    await expect(bea.locator("#left-h")).to_be_visible()
    await shot(bea, "left-room", full=False)
    await expect(ada.locator("#cart .line")).to_have_count(2)
    await expect(picker.get_by_label("Bea")).to_have_count(0)
    await expect(ada.locator("#split-summary")).to_contain_text("1 person pays about $578.00")
    # the host picks the associate in, and checks out: two shares of $289.00
    await picker.get_by_label("Sam · store staff").check()
    await expect(ada.locator("#split-summary")).to_contain_text("2 people pay about $289.00 each")
    await ada.get_by_role("button", name="Check out", exact=True).click()
    await expect(ada.locator("#shares .share")).to_have_count(2)
    await expect(sam.locator("#pay-btn")).to_have_text("Pay my share ($289.00)")
    await expect(ada.locator("#pay-btn")).to_have_text("Pay my share ($289.00)")
    await sam.locator("#checkout").evaluate("node => node.scrollIntoView({block: 'center'})")
    await shot(sam, "split-associate-pays", full=False)
    assert js_errors(ada) == [] and js_errors(bea) == [] and js_errors(sam) == []
    for ctx in (ctx_a, ctx_b, ctx_s):
        await ctx.close()
