"""Two people co-browse a group room: presence, votes, polls, one cart, chat with redaction."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


async def test_two_people_shop_together(browser: Browser, server: LiveServer) -> None:
    ctx_a, ada = await new_page(browser)
    ctx_b, bob = await new_page(browser, phone=True)

    room_id = await create_room(ada, server, kind="group", title="Weekend trip", name="Ada")
    url = await invite_url(ada)
    assert f"/join/{room_id}?invite=" in url

    # the join page shows the invite link and its QR code
    await bob.goto(url)
    await expect(bob.locator(".qr svg")).to_be_visible()
    await shot(bob, "join-phone")
    await join(bob, url, "Bob <b>")

    # presence: each sees the other's avatar
    await expect(ada.locator("#avatars li")).to_have_count(2)
    await expect(bob.locator("#avatars li")).to_have_count(2)

    # co-browse: Ada opens a product, Bob sees her avatar on it
    tent = ada.locator('.product[data-sku="tent-2p"]')
    await tent.get_by_role("button", name=re.compile("^View")).click()
    await expect(ada.locator("#product-detail h3")).to_have_text(re.compile("Tent"))
    await expect(bob.locator('.product[data-sku="tent-2p"] .viewers-of .avatar')).to_have_count(1)

    # bring everyone here: Bob's page opens the same product
    await ada.get_by_role("button", name="Bring everyone here").click()
    await expect(bob.locator("#product-detail h3")).to_have_text(re.compile("Tent"))

    # votes, in the card's secondary menu (one primary action per card)
    await bob.locator('.product[data-sku="tent-2p"] summary').click()
    await bob.locator('.product[data-sku="tent-2p"] .vote.up').click()
    await expect(ada.locator('.product[data-sku="tent-2p"] .vote.up .n')).to_have_text("1")

    # a poll over two products
    await ada.locator('.product[data-sku="tent-2p"] summary').click()
    await ada.locator('.product[data-sku="tent-2p"] .pick').click()
    # "Add to poll" closes its menu; a click elsewhere closes Bob's vote menu
    await expect(ada.locator('.product[data-sku="tent-2p"] details.more')).not_to_have_attribute(
        "open", ""
    )
    await expect(bob.locator('.product[data-sku="tent-2p"] details.more')).to_have_attribute(
        "open", ""
    )
    await bob.locator("#cart-h").click()
    await expect(bob.locator("#grid details.more[open]")).to_have_count(0)
    await ada.locator('.product[data-sku="tent-4p"] summary').click()
    await ada.locator('.product[data-sku="tent-4p"] .pick').click()
    await ada.keyboard.press("Escape")
    await ada.get_by_label("Ask the room").fill("Which tent?")
    await ada.get_by_role("button", name="Open poll").click()
    await expect(bob.locator(".poll legend")).to_have_text("Which tent?")
    await bob.locator(".poll .option").nth(1).click()
    await expect(ada.locator(".poll .option").nth(1).locator(".count")).to_have_text("1")

    # one cart: both add, both see both lines, who added, totals
    await ada.locator('.product[data-sku="tent-2p"] .add').click()
    await bob.locator('.product[data-sku="tent-4p"] .add').click()
    await expect(ada.locator("#cart .line")).to_have_count(2)
    await expect(bob.locator("#cart .line")).to_have_count(2)
    await expect(ada.locator("#cart")).to_contain_text("Added by Bob <b>")
    # Bob changes his own line; Ada's line offers him no quantity buttons (cart etiquette)
    bobs_line = bob.locator("#cart .line", has_text="Added by You")
    await bobs_line.get_by_role("button", name=re.compile("^One more")).click()
    await expect(ada.locator("#cart .line", has_text="Added by Bob").locator(".q")).to_have_text(
        "2"
    )
    adas_line = bob.locator("#cart .line", has_text="Added by Ada")
    await expect(adas_line).to_contain_text("Qty 1")
    await expect(adas_line.get_by_role("button", name=re.compile("^One more"))).to_have_count(0)
    await expect(ada.locator("#cart-total")).to_contain_text("Total")

    # checkout: the host locks the cart; everyone sees it; starting says clearly what happens
    await ada.get_by_role("button", name="Lock cart", exact=True).click()
    await expect(bob.locator("#checkout-phase")).to_have_text("Cart locked for checkout")
    await expect(bob.locator('.product[data-sku="tent-2p"] .add')).to_be_disabled()
    # this server has no payment provider: no Check out button, the host is told so in words
    await expect(ada.locator("#no-payments")).to_contain_text("Payments are not set up")
    await expect(ada.get_by_role("button", name="Check out", exact=True)).to_have_count(0)
    await ada.get_by_role("button", name="Unlock to edit").click()
    await expect(bob.locator("#checkout-phase")).to_have_text("Cart open")

    # chat as text; a card number is redacted and the sender is told
    markup = "<img src=x onerror=alert(1)> hi"
    await bob.get_by_label("Message", exact=True).fill(markup)
    await bob.get_by_role("button", name="Send").click()
    await expect(ada.locator("#messages .msg .text").last).to_have_text(markup)
    await ada.get_by_label("Message", exact=True).fill("my card 4242 4242 4242 4242 ok?")
    await ada.keyboard.press("Enter")
    await expect(bob.locator("#messages .msg .text").last).to_contain_text("[card number removed]")
    await expect(bob.locator("#messages")).not_to_contain_text("4242 4242")
    await expect(ada.locator("#toasts")).to_contain_text("card")
    assert await ada.locator("#messages img").count() == 0

    # what Bob may do comes from the server (view.you.may), never from his role's name: a member
    # has no invite button, no cart lock and no tools on others' messages ...
    await expect(bob.get_by_role("button", name="Invite", exact=True)).to_be_hidden()
    await expect(bob.get_by_role("button", name="Lock cart", exact=True)).to_have_count(0)
    ada_card_msg = bob.locator("#messages .msg").last
    await expect(ada_card_msg.get_by_role("button", name="Delete message")).to_have_count(0)
    # ... promoted to cohost, a fresh view brings the invite button and moderation, not the lock
    bob_id = await bob.evaluate("window.coshopRoom.me")
    await ada.evaluate(
        "(id) => window.coshopRoom.conn.command('PromoteMember', {member_id: id, role: 'cohost'})",
        bob_id,
    )
    await expect(bob.locator("#me-name")).to_contain_text("Co-host")
    await expect(bob.get_by_role("button", name="Invite", exact=True)).to_be_visible()
    await expect(ada_card_msg.get_by_role("button", name="Delete message")).to_be_visible()
    await expect(bob.get_by_role("button", name="Lock cart", exact=True)).to_have_count(0)

    await shot(ada, "group-room-desktop", full=False)
    await shot(bob, "group-room-phone")
    assert js_errors(ada) == [] and js_errors(bob) == []
    await ctx_a.close()
    await ctx_b.close()


async def test_the_sheets_quantity_never_shows_more_than_the_option_has(
    browser: Browser, server: LiveServer
) -> None:
    ctx, ada = await new_page(browser)
    await create_room(ada, server, kind="group", title="Trip", name="Ada")
    await ada.locator('.product[data-sku="bag-20f"] .add').click()  # "Choose options"
    sheet = ada.locator("#variant-sheet")
    await expect(sheet).to_be_visible()
    await sheet.locator('label[for="sheet-v-bag-20f-reg"]').click()
    await sheet.locator("#sheet-qty").fill("3")
    await sheet.locator("#sheet-qty").dispatch_event("input")
    await expect(sheet.locator("#sheet-add")).to_have_text("Add to cart · $687.00")
    # Long: $249.00 and 2 left — the box says 2, as the button does
    await sheet.locator('label[for="sheet-v-bag-20f-long"]').click()
    await expect(sheet.locator("#sheet-qty")).to_have_value("2")
    await expect(sheet.locator("#sheet-add")).to_have_text("Add to cart · $498.00")
    assert js_errors(ada) == []
    await ctx.close()
