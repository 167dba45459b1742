"""The merchant console in Chromium: a merchant signs in with the API key, registers the shop's
origin and gets a snippet to paste, uploads a feed and sees the refused row, finds the paid order
and the room, adds a webhook endpoint (secret shown once), rotates the API key and stays signed
in; a wrong key is refused with words; axe finds nothing serious. Screenshots of every tab."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.test_accessibility import serious_violations
from tests.server.checkout.support import checkout_env, frozen_order

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

KEY = "ck_console-" + "k" * 30


async def test_a_merchant_runs_the_shop_from_the_console(browser: Browser, tmp_path: Path) -> None:
    async with checkout_env(tmp_path) as env:
        await env.app.state.registry.rotate_api_key("demo", KEY)
        room, _joined, host, order = await frozen_order(env)
        pay = f"/api/v1/rooms/{room['room_id']}/checkout/{order['order_id']}/pay"
        r = await env.call("POST", pay, room["host"]["token"])
        await env.pay_on_page(r.json()["url"])
        await host.until_event("OrderSettled")

        context, page = await new_page(browser)
        problems: list[str] = []
        try:
            await page.goto(f"{env.base_url}/console")
            await expect(page.get_by_role("heading", name="Sign in to your shop")).to_be_visible()
            problems += await serious_violations(page, "console sign-in")
            await page.get_by_label("API key").fill("ck_not-the-key")
            await page.get_by_role("button", name="Sign in").click()
            await expect(page.get_by_role("alert")).to_contain_text("does not open any shop")

            await page.get_by_label("API key").fill(KEY)
            await page.get_by_role("button", name="Sign in").click()
            await expect(
                page.get_by_role("heading", name="Put coshop on your shop")
            ).to_be_visible()
            await expect(page.locator("#console-shop")).to_have_text("coshop demo shop")

            nav = page.get_by_role("navigation", name="Console")
            # 1. the shop's origin, 2. a publishable key and the snippet
            await page.get_by_label("Add your site").fill("https://shop.example")
            await page.get_by_role("button", name="Add site").click()
            await expect(page.locator("#origins-list")).to_contain_text("https://shop.example")
            await expect(page.get_by_label("Add your site")).to_have_value("")
            await page.get_by_label("Add your site").fill("not an origin")
            await page.get_by_role("button", name="Add site").click()
            await expect(page.locator("#origin-error")).to_be_visible()
            await page.get_by_role("button", name="Create a publishable key").click()
            await expect(page.locator("#snippet")).to_contain_text('data-key="pk_')
            await expect(page.locator("#snippet")).to_contain_text("/static/embed.js")
            problems += await serious_violations(page, "console setup")
            await shot(page, "console-setup")

            # the catalogue: upload a feed with one bad row
            await nav.get_by_role("link", name="Catalogue").click()
            feed = tmp_path / "spring.csv"
            feed.write_text(
                "id,title,price\nlamp-1,Camp Lamp,12.50 USD\nstove-1,Stove,not a price\n",
                encoding="utf-8",
            )
            await page.get_by_label("Feed file").set_input_files(str(feed))
            await page.get_by_role("button", name="Import", exact=True).click()
            last = page.locator("#imports article").first
            await expect(last).to_contain_text("spring.csv")
            await expect(last).to_contain_text("1 row did not load: fix it in your feed")
            await expect(last.locator("tbody tr")).to_have_count(1)
            await expect(last.locator("tbody tr")).to_contain_text("price")
            problems += await serious_violations(page, "console catalogue")
            await shot(page, "console-catalog")

            # rooms and orders
            await nav.get_by_role("link", name="Rooms").click()
            await expect(page.locator("#rooms-groups")).to_contain_text("Trip")
            await shot(page, "console-rooms")
            await nav.get_by_role("link", name="Orders").click()
            row = page.locator("#orders-box tbody tr").first
            await expect(row).to_contain_text(order["order_id"])
            await expect(row).to_contain_text("Paid")
            await expect(row).to_contain_text("1 of 1 paid")
            problems += await serious_violations(page, "console orders")
            await shot(page, "console-orders")

            # analytics: the funnel and what led to the sale, per show or for every room
            await nav.get_by_role("link", name="Analytics").click()
            funnel = page.locator(".funnel li")
            await expect(funnel).to_have_count(4)
            await expect(funnel.nth(3)).to_contain_text("Paid")
            await expect(funnel.nth(3)).to_contain_text("1")
            await expect(page.locator("#analytics-box table")).to_contain_text(
                "Found it themselves"
            )
            await page.get_by_label("Show or room").select_option(label="Room: Trip")
            await expect(page.locator("#analytics-box .stat").first).to_contain_text("1")
            async with page.expect_download() as download_info:
                await page.get_by_role("button", name="Download rooms (CSV)").click()
            download = await download_info.value
            saved = tmp_path / "rooms.csv"
            await download.save_as(saved)
            assert saved.read_text(encoding="utf-8").startswith("room_id,kind,title")
            problems += await serious_violations(page, "console analytics")
            await shot(page, "console-analytics")

            # a webhook endpoint: the secret is shown once
            await nav.get_by_role("link", name="Webhooks").click()
            await page.get_by_label("URL", exact=True).fill(f"{env.base_url}/hooks-here")
            await page.get_by_role("button", name="Add endpoint").click()
            await expect(page.locator("#webhook-secret")).to_contain_text("whsec_")
            await expect(page.locator("#webhooks-box article")).to_have_count(1)
            problems += await serious_violations(page, "console webhooks")
            await shot(page, "console-webhooks")

            # keys: rotating the API key keeps this console signed in with the new one
            await nav.get_by_role("link", name="Keys").click()
            page.once("dialog", lambda dialog: dialog.accept())
            await page.get_by_role("button", name="Rotate API key").click()
            await expect(page.locator("#key-shown")).to_contain_text("ck_")
            await nav.get_by_role("link", name="Orders").click()
            await expect(page.locator("#orders-box tbody tr")).to_have_count(1)
            old = await env.http.get("/api/v1/merchant", headers={"authorization": f"Bearer {KEY}"})
            assert old.status_code == 401
            assert js_errors(page) == []
        finally:
            await context.close()
        assert problems == []
