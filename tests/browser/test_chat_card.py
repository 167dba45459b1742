"""A product shared in chat arrives as a card: from the shop's own page (another port) through
the widget, and from the room's catalogue. A friend adds it from the card, picking a variant."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.test_accessibility import serious_violations
from tests.browser.test_embed import serve
from tests.server.conftest import LiveServer, free_port

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

BAG = "Alpenglow 20°F Sleeping Bag"
# the shop's page of a product with options, as the demo shop marks it up (a ProductGroup)
BAG_PAGE = {
    "@context": "https://schema.org",
    "@type": "ProductGroup",
    "productGroupID": "bag-20f",
    "name": BAG,
    "hasVariant": [
        {
            "@type": "Product",
            "sku": "bag-20f-reg",
            "name": f"{BAG} / Regular",
            "offers": {"@type": "Offer", "price": "229.00", "priceCurrency": "USD"},
        },
        {
            "@type": "Product",
            "sku": "bag-20f-long",
            "name": f"{BAG} / Long",
            "offers": {"@type": "Offer", "price": "249.00", "priceCurrency": "USD"},
        },
    ],
}
# a product the shop sells but never listed in coshop
LAMP_PAGE = {
    "@context": "https://schema.org",
    "@type": "Product",
    "sku": "lamp-unlisted",
    "name": "Trail Lantern",
    "offers": {"@type": "Offer", "price": "39.00", "priceCurrency": "USD"},
}


def shop_app(coshop: str, room_id: str, invite: str) -> Starlette:
    def page(ld: dict[str, Any], heading: str) -> HTMLResponse:
        data = json.dumps(ld).replace("<", "\\u003c")
        return HTMLResponse(
            f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{heading} · Trailhead</title>
<script type="application/ld+json">{data}</script></head>
<body><main><h1>{heading}</h1><p>From $229.00</p></main>
<script src="{coshop}/static/embed.js" data-room="{room_id}" data-invite="{invite}"
        data-label="Shop with friends" async></script>
</body></html>"""
        )

    async def bag(request: Request) -> HTMLResponse:
        return page(BAG_PAGE, BAG)

    async def lamp(request: Request) -> HTMLResponse:
        return page(LAMP_PAGE, "Trail Lantern")

    return Starlette(routes=[Route("/bag", bag), Route("/lamp", lamp)])


async def _room(server: LiveServer, shop_origin: str) -> dict[str, Any]:
    await server.app_state.registry.set_origins("demo", [shop_origin])
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post(
            "/api/v1/rooms", json={"kind": "group", "title": "Camp kit", "host_name": "Hal"}
        )
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created


async def _join_room_page(page: Page, server: LiveServer, room: dict[str, Any], name: str) -> None:
    await page.goto(f"{server.base_url}/join/{room['room_id']}?invite={room['invite']['token']}")
    await page.get_by_label("Display name").fill(name)
    await page.get_by_role("button", name="Join room").click()
    await page.wait_for_url("**/r/*")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online")


async def _wait_for_lines(page: Page, expected: list[dict[str, Any]]) -> None:
    """Wait until the room's cart holds exactly ``expected`` (sku, variant, quantity)."""
    await page.wait_for_function(
        """(expected) => JSON.stringify(window.coshopRoom.view.lines.map((l) => ({
            sku: l.sku, variant: l.variant, quantity: l.quantity,
        }))) === JSON.stringify(expected)""",
        arg=expected,
    )


async def test_a_product_shared_from_the_shop_page_is_a_card_a_friend_adds(
    browser: Browser, server: LiveServer
) -> None:
    port = free_port()
    room = await _room(server, f"http://127.0.0.1:{port}")
    async with serve(
        shop_app(server.base_url, room["room_id"], room["invite"]["token"]), port
    ) as shop:
        # Wendy shops on the merchant's page with the widget open
        ctx_w, wendy = await new_page(browser)
        await wendy.goto(f"{shop}/bag")
        await wendy.get_by_role("button", name="Shop with friends").click()
        widget = wendy.frame_locator(".coshop-panel iframe")
        await widget.get_by_label("Display name").fill("Wendy")
        await widget.get_by_role("button", name="Join room").click()
        await expect(widget.locator("#conn")).to_have_attribute("data-state", "online")

        # her friend Finn is in the same room on coshop's own room page
        ctx_f, finn = await new_page(browser)
        await _join_room_page(finn, server, room, "Finn")

        share = wendy.get_by_role("button", name="Share this product with the room")
        await expect(share).to_be_enabled()
        await share.click()
        confirm = widget.get_by_role("dialog", name=f"Share {BAG} with the room?")
        await expect(confirm).to_be_visible()
        await confirm.get_by_role("button", name="Share").click()
        await expect(confirm).to_be_hidden()

        # it arrives as a card in Finn's chat: image, title, the current price, Add
        card = finn.locator("#messages .msg .chat-card")
        await expect(card).to_have_count(1)
        await expect(card.locator(".chat-card-title")).to_have_text(BAG)
        await expect(card.locator("img.chat-card-img")).to_have_attribute(
            "src", "/static/demo/img/bag-20f.svg"
        )
        # the bag's sizes cost differently: "From" the first price, like the catalogue grid
        await expect(card.locator(".chat-card-price")).to_have_text("From $229.00")
        await expect(finn.locator("#messages .msg").last.locator(".author")).to_have_text("Wendy")
        # and in Wendy's own chat, in the widget
        await expect(widget.locator("#messages .chat-card .chat-card-title")).to_have_text(BAG)
        await widget.locator("#chat-panel").scroll_into_view_if_needed()
        await shot(wendy, "chat-card-shared-from-shop", full=False)
        await finn.locator("#chat-panel").scroll_into_view_if_needed()
        await shot(finn, "chat-card-arrived", full=False)

        # Add opens the variant sheet (the bag has sizes); Finn picks Long
        add = card.get_by_role("button", name=f"Choose options and add {BAG} to the cart")
        await expect(add).to_have_attribute("aria-haspopup", "dialog")
        await add.click()
        sheet = finn.locator("#variant-sheet")
        await expect(sheet).to_be_visible()
        await sheet.get_by_label(re.compile("^Long")).check()
        await shot(finn, "chat-card-variant-sheet", full=False)
        await sheet.locator("#sheet-add").click()
        await expect(sheet).to_be_hidden()
        await _wait_for_lines(finn, [{"sku": "bag-20f", "variant": "bag-20f-long", "quantity": 1}])
        await expect(finn.locator("#cart-panel")).to_contain_text("Long")
        await shot(finn, "chat-card-friend", full=False)
        assert await serious_violations(finn, "room page with a product card") == []
        assert await serious_violations(wendy, "shop page, card in the widget") == []

        # a product the coshop catalogue does not list still goes out, as a line of text
        await wendy.goto(f"{shop}/lamp")
        await wendy.get_by_role("button", name="Shop with friends").click()
        await expect(widget.locator("#conn")).to_have_attribute("data-state", "online")
        await wendy.get_by_role("button", name="Share this product with the room").click()
        confirm = widget.get_by_role("dialog", name="Share Trail Lantern with the room?")
        await confirm.get_by_role("button", name="Share").click()
        text = finn.locator("#messages .msg .text", has_text="Trail Lantern")
        await expect(text).to_contain_text("Shared from the shop: Trail Lantern — 39.00 USD")
        await expect(card).to_have_count(1)  # no card for it
        assert js_errors(wendy) == [] and js_errors(finn) == []
        await ctx_w.close()
        await ctx_f.close()


async def test_a_member_shares_a_product_of_the_room_catalogue(
    browser: Browser, server: LiveServer
) -> None:
    room = await _room(server, "http://127.0.0.1:1")
    ctx_a, ana = await new_page(browser)
    ctx_b, ben = await new_page(browser, phone=True)
    await _join_room_page(ana, server, room, "Ana")
    await _join_room_page(ben, server, room, "Ben")

    # Ana opens the tent in the room's catalogue and shares it
    await ana.locator('#grid .product[data-sku="tent-2p"] .product-open').click()
    await expect(ana.locator("#product-detail h3")).to_have_text("Ridgeline 2-Person Tent")
    await ana.get_by_role("button", name="Share Ridgeline 2-Person Tent in chat").click()

    card = ben.locator("#messages .chat-card")
    await expect(card.locator(".chat-card-title")).to_have_text("Ridgeline 2-Person Tent")
    await expect(card.locator(".chat-card-price")).to_have_text("$289.00")
    # no options: Add puts it straight in the cart
    await card.get_by_role("button", name="Add Ridgeline 2-Person Tent to the cart").click()
    await _wait_for_lines(ben, [{"sku": "tent-2p", "variant": None, "quantity": 1}])
    # the title opens the product in the room
    await card.locator(".chat-card-title").click()
    await expect(ben.locator("#product-detail h3")).to_have_text("Ridgeline 2-Person Tent")
    await ben.locator("#chat-panel").scroll_into_view_if_needed()
    await shot(ben, "chat-card-phone", full=False)
    assert await serious_violations(ben, "phone room page with a product card") == []
    assert js_errors(ana) == [] and js_errors(ben) == []
    await ctx_a.close()
    await ctx_b.close()
