"""Store flow: a printable QR sign for a room; store staff join as associates and push products."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, join
from tests.browser.test_accessibility import serious_violations
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


async def test_printable_sign_and_associate_pushes_a_product(
    browser: Browser, server: LiveServer
) -> None:
    ctx_c, customer = await new_page(browser, phone=True)
    await create_room(customer, server, kind="group", title="In store", name="Cleo")

    await customer.get_by_role("button", name="Invite").click()
    await expect(customer.locator("#invite-body img.qr-img")).to_be_visible()
    await customer.get_by_role("button", name="Store staff invite").click()
    staff_link = customer.locator("#staff-invites input")
    await expect(staff_link).to_have_value(re.compile(r"/join/"))
    staff_url = await staff_link.input_value()
    sign_link = customer.locator("#invite-body a", has_text="Printable store sign").first
    sign = await sign_link.get_attribute("href")
    await customer.keyboard.press("Escape")
    assert sign is not None

    ctx_s, staff = await new_page(browser)
    await staff.goto(server.base_url + sign)
    await expect(staff.locator(".qr.big svg")).to_be_visible()
    await expect(staff.locator(".url")).to_contain_text("/join/")
    await shot(staff, "store-sign")

    await join(staff, staff_url, "Sam (store)")
    await expect(staff.locator("#me-name")).to_contain_text("Store staff")
    await (
        staff.locator('.product[data-sku="boots-trailbreaker"]')
        .get_by_role("button", name=re.compile("^View"))
        .click()
    )
    await staff.get_by_role("button", name="Bring everyone here").click()
    await expect(customer.locator("#product-detail h3")).to_have_text(re.compile("Boots"))
    await shot(customer, "store-customer-phone", full=False)
    assert js_errors(customer) == [] and js_errors(staff) == []
    await ctx_s.close()
    await ctx_c.close()


async def test_the_store_sign_starts_a_room_for_each_shopper_who_scans_it(
    browser: Browser, server: LiveServer
) -> None:
    registry = server.app_state.registry
    ctx_s, staff = await new_page(browser)
    await staff.goto(f"{server.base_url}/s/demo/sign")
    await expect(staff.locator("h1")).to_have_text("Shared rooms are not open here yet")
    await registry.set_publishable_key("demo", "pk_" + "s" * 32, 1)
    await staff.goto(f"{server.base_url}/s/demo/sign")
    await expect(staff.locator(".qr.big svg")).to_be_visible()
    await expect(staff.locator("h1")).to_have_text("Shop together at coshop demo shop")
    short = (await staff.locator(".url").inner_text()).strip()
    assert short == f"{server.base_url}/s/demo"  # short: a QR code a phone reads at a glance
    await shot(staff, "store-sign-per-shopper")
    assert await serious_violations(staff, "store sign") == []

    before = len(await registry.list_rooms("demo"))
    ctx_a, ana = await new_page(browser, phone=True)
    ctx_b, ben = await new_page(browser, phone=True)
    await ana.goto(short)
    await ben.goto(short)
    # opening the link (a scan, a link preview, a prefetch) starts nothing by itself
    assert len(await registry.list_rooms("demo")) == before
    await shot(ana, "store-start-phone", full=False)
    assert await serious_violations(ana, "start page") == []
    rooms = []
    for phone, name in ((ana, "Ana"), (ben, "Ben")):
        await phone.get_by_label("Your name").fill(name)
        await phone.get_by_role("button", name="Start my room").click()
        await phone.wait_for_url("**/r/*")
        await expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
        await expect(phone.locator("#me-name")).to_contain_text(f"{name} (Host)")
        rooms.append(phone.url.rsplit("/r/", 1)[1])
    assert rooms[0] != rooms[1]  # two shoppers, two rooms
    assert len(await registry.list_rooms("demo")) == before + 2

    # scanning again offers the way back to the room Ana started
    await ana.goto(short)
    await ana.get_by_role("link", name="Go back to your room").click()
    await ana.wait_for_url(f"**/r/{rooms[0]}")
    await expect(ana.locator("#conn")).to_have_attribute("data-state", "online")
    assert js_errors(ana) == [] and js_errors(ben) == [] and js_errors(staff) == []
    for ctx in (ctx_a, ctx_b, ctx_s):
        await ctx.close()
