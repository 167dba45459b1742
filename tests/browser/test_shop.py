"""The room behaves like a shop (issue 14): variants wherever something is added, with human
names in the cart; what a shopper picks, types and focuses survives other people's events; the
chat draft survives a reload; everything works from the keyboard; one name-length rule."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from rooms.rules.membership import MAX_NAME
from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


async def test_a_pick_survives_a_friends_chat_and_the_right_line_arrives(
    browser: Browser, server: LiveServer
) -> None:
    ctx_a, ada = await new_page(browser)
    ctx_b, bob = await new_page(browser)
    await create_room(ada, server, kind="group", title="Trip", name="Ada")
    await join(bob, await invite_url(ada), "Bob")

    # Bob opens the rain jacket, picks size L (not the first) and types quantity 3
    jacket = bob.locator('.product[data-sku="jacket-squall"]')
    await jacket.get_by_role("button", name=re.compile("^View")).click()
    detail = bob.locator("#product-detail")
    await expect(detail.locator("#detail-v-jacket-squall-s")).to_be_checked()
    await detail.locator('label[for="detail-v-jacket-squall-l"]').click()
    qty = detail.get_by_label("Quantity")
    await qty.fill("3")
    await expect(detail.locator("#detail-add")).to_have_text("Add to cart · $447.00")

    # Ada chats five times while Bob is choosing
    for i in range(5):
        await ada.get_by_label("Message", exact=True).fill(f"how about this one? {i}")
        await ada.keyboard.press("Enter")
    await expect(bob.locator("#messages .msg")).to_have_count(5)

    # nothing Bob picked, typed or focused was reset
    await expect(detail.locator("#detail-v-jacket-squall-l")).to_be_checked()
    await expect(qty).to_have_value("3")
    await expect(qty).to_be_focused()
    await detail.locator("#detail-add").click()

    # the right line arrives, named by its variant's human name, never its id
    for page in (ada, bob):
        line = page.locator("#cart .line")
        await expect(line).to_have_count(1)
        await expect(line.locator(".line-title")).to_have_text("Squall Rain Jacket — L")
        await expect(line.locator(".q")).to_have_text("3")
        await expect(page.locator("#cart")).not_to_contain_text("jacket-squall-l")
    await shot(bob, "shop-variant-line", full=False)
    assert js_errors(ada) == [] and js_errors(bob) == []
    await ctx_a.close()
    await ctx_b.close()


async def test_a_product_with_variants_is_added_from_the_grid_by_keyboard_only(
    browser: Browser, server: LiveServer
) -> None:
    ctx, ada = await new_page(browser)
    await create_room(ada, server, kind="group", title="Trip", name="Ada")
    mug = ada.locator('.product[data-sku="mug-enamel"]')
    add = mug.locator(".add")
    await expect(add).to_have_text("Choose options")
    await add.focus()
    await ada.keyboard.press("Enter")
    sheet = ada.locator("#variant-sheet")
    await expect(sheet).to_be_visible()
    await expect(sheet.get_by_role("heading")).to_have_text("Enamel Camp Mug")
    # the first option in stock has focus; arrows move between options, Tab to the stepper
    await expect(sheet.get_by_label("Blue")).to_be_focused()
    await ada.keyboard.press("ArrowDown")
    await expect(sheet.get_by_label("Red")).to_be_checked()
    await shot(ada, "shop-variant-sheet", full=False)
    # Escape closes the sheet without adding; focus goes back to the card's button
    await ada.keyboard.press("Escape")
    await expect(sheet).to_be_hidden()
    await expect(add).to_be_focused()
    await ada.keyboard.press("Enter")
    await expect(sheet).to_be_visible()
    await ada.keyboard.press("ArrowDown")  # Red
    await ada.keyboard.press("ArrowDown")  # Cream
    await ada.keyboard.press("Tab")  # "One less" (disabled at 1: skipped) → quantity
    await expect(sheet.get_by_label("Quantity")).to_be_focused()
    await ada.keyboard.press("ArrowUp")
    await ada.keyboard.press("Tab")  # "One more"
    await ada.keyboard.press("Tab")  # Add
    await expect(sheet.locator("#sheet-add")).to_be_focused()
    await expect(sheet.locator("#sheet-add")).to_have_text("Add to cart · $32.00")
    await ada.keyboard.press("Enter")
    await expect(sheet).to_be_hidden()
    line = ada.locator("#cart .line")
    await expect(line.locator(".line-title")).to_have_text("Enamel Camp Mug — Cream")
    await expect(line.locator(".q")).to_have_text("2")

    # a product without options goes straight in with one press
    compass = ada.locator('.product[data-sku="compass-baseplate"] .add')
    await expect(compass).to_have_text("Add to cart")
    await compass.focus()
    await ada.keyboard.press("Enter")
    await expect(ada.locator("#cart .line")).to_have_count(2)
    assert js_errors(ada) == []
    await ctx.close()


async def test_the_chat_draft_survives_a_reload(browser: Browser, server: LiveServer) -> None:
    ctx, ada = await new_page(browser)
    await create_room(ada, server, kind="group", title="Trip", name="Ada")
    await ada.get_by_label("Message", exact=True).fill("half a thought")
    await ada.reload()
    await expect(ada.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(ada.get_by_label("Message", exact=True)).to_have_value("half a thought")
    await ada.get_by_role("button", name="Send").click()
    await expect(ada.locator("#messages .msg .text")).to_have_text("half a thought")
    await ada.reload()
    await expect(ada.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(ada.get_by_label("Message", exact=True)).to_have_value("")
    await ctx.close()


async def test_the_landing_page_takes_the_rooms_name_length(
    browser: Browser, server: LiveServer
) -> None:
    ctx, page = await new_page(browser)
    await page.goto(server.base_url + "/")
    name = page.get_by_label("Your name")
    await expect(name).to_have_attribute("maxlength", str(MAX_NAME))
    await name.fill("x" * (MAX_NAME + 20))
    await expect(name).to_have_value("x" * MAX_NAME)
    # no developer links on a shopper's page; one favicon
    await expect(page.locator('a[href*="openapi"], a[href*="healthz"]')).to_have_count(0)
    await expect(page.locator('link[rel="icon"]')).to_have_attribute("href", "/static/favicon.svg")
    await shot(page, "shop-landing")
    await ctx.close()


async def test_a_poll_winner_with_options_asks_the_host_which_one(
    browser: Browser, server: LiveServer
) -> None:
    ctx_a, ada = await new_page(browser)
    ctx_b, bob = await new_page(browser)
    await create_room(ada, server, kind="group", title="Trip", name="Ada")
    await join(bob, await invite_url(ada), "Bob")
    for sku in ("jacket-squall", "fleece-hearth"):
        card = ada.locator(f'.product[data-sku="{sku}"]')
        await card.locator("summary").click()
        await card.locator(".pick").click()
    await ada.keyboard.press("Escape")
    await ada.get_by_label("Ask the room").fill("Which layer?")
    await ada.get_by_role("button", name="Open poll").click()
    await bob.locator(".poll .option").first.click()
    await expect(ada.locator(".poll .option").first.locator(".count")).to_have_text("1")

    await expect(ada.get_by_label("add the winner to the cart")).to_be_checked()
    await ada.get_by_role("button", name="Close poll").click()
    sheet = ada.locator("#variant-sheet")
    await expect(sheet).to_be_visible()
    await expect(sheet.get_by_role("heading")).to_have_text("Add the winner: Squall Rain Jacket")
    await sheet.locator('label[for="sheet-v-jacket-squall-m"]').click()
    await sheet.locator("#sheet-add").click()
    for page in (ada, bob):
        await expect(page.locator("#cart .line .line-title")).to_have_text("Squall Rain Jacket — M")
    await expect(bob.locator(".poll")).to_contain_text("Winner: Squall Rain Jacket")
    assert js_errors(ada) == [] and js_errors(bob) == []
    await ctx_a.close()
    await ctx_b.close()
