"""Journey 3 in the store (docs/store-mode.md): a store without a logo, a shopper who asks for
help from the sign, and the associate who comes — the room's store strip
(static/js/store-room.js) shows the store's name alone (no stray "null" for the missing logo),
and to the associate their own side: "you are here as store staff" and "Mark as helped", which
takes the room off the top of the associates' page."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.test_accessibility import serious_violations
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

API_KEY = "ck_journey-store-" + "k" * 30


async def test_the_associate_sees_their_side_of_the_store_strip(
    browser: Browser, server: LiveServer
) -> None:
    registry = server.app_state.registry
    await registry.rotate_api_key("demo", API_KEY)
    await registry.set_publishable_key("demo", "pk_" + "s" * 32, 1)
    auth = {"authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=auth) as client:
        r = await client.put("/api/v1/merchant/store", json={"name": "Trailhead Soho"})
        assert r.status_code == 200 and r.json()["logo_url"] is None
        r = await client.post("/api/v1/merchant/store/associates", json={"name": "Sam"})
        assert r.status_code == 201
        sam_url = r.json()["url"]

    ctx_a, ana = await new_page(browser, phone=True)
    await ana.goto(f"{server.base_url}/s/demo")
    await ana.get_by_label("Your name").fill("Ana")
    await ana.get_by_label("Ask a member of our store team to join my room and help me").check()
    await ana.get_by_role("button", name="Start my room").click()
    await ana.wait_for_url("**/r/*")
    await expect(ana.locator("#conn")).to_have_attribute("data-state", "online")
    room_id = ana.url.rsplit("/r/", 1)[1]
    strip = ana.get_by_role("region", name="Trailhead Soho store")
    await expect(strip).to_have_text(
        "Trailhead SohoA store associate has been asked to join you.Cancel help request"
    )
    await shot(ana, "journey-store-strip-no-logo", full=False)

    ctx_s, sam = await new_page(browser, phone=True)
    await sam.goto(sam_url)
    card = sam.locator(f'.store-room[data-room="{room_id}"]')
    await expect(card).to_contain_text("Asked for help")
    await card.get_by_role("button", name="Join Ana's room").click()
    await sam.get_by_role("button", name="Join room").click()
    await sam.wait_for_url(f"**/r/{room_id}*")
    await expect(sam.locator("#me-name")).to_contain_text("Store staff")
    mine = sam.get_by_role("region", name="Trailhead Soho store")
    await expect(mine).to_contain_text("This shopper asked for help: you are here as store staff.")
    await expect(mine.get_by_role("button", name="Ask for help")).to_have_count(0)
    await expect(mine.get_by_role("button", name="Cancel help request")).to_have_count(0)
    assert await serious_violations(sam, "store strip, associate") == []
    await shot(sam, "journey-store-strip-associate", full=False)
    await mine.get_by_role("button", name="Mark as helped").click()
    await expect(mine).to_contain_text("You are here as store staff.")
    await expect(mine.get_by_role("button")).to_have_count(0)
    await expect(mine.locator("#store-help-state")).to_be_focused()

    page = await ctx_s.new_page()
    await page.goto(f"{server.base_url}/associates")
    card = page.locator(f'.store-room[data-room="{room_id}"]')
    await expect(card).to_contain_text("With Sam")
    await expect(card).not_to_contain_text("Asked for help")
    assert js_errors(ana) == [] and js_errors(sam) == [] and js_errors(page) == []
    await ctx_a.close()
    await ctx_s.close()
