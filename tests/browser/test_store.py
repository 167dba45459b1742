"""Store flow: a printable QR sign for a room; store staff join as associates and push products."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, join
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
