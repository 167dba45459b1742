"""The embeddable widget on a merchant page served from another origin (another port)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Frame, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.test_accessibility import serious_violations
from tests.server.conftest import LiveServer, free_port

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

PRODUCT = {
    "@context": "https://schema.org",
    "@type": "Product",
    "sku": "tent-2p",
    "name": "Ridgeline 2-Person Tent",
    "offers": {"@type": "Offer", "price": "289.00", "priceCurrency": "USD"},
}


def merchant_app(coshop: str, room_id: str, invite: str) -> Starlette:
    async def product_page(request: Request) -> HTMLResponse:
        ld = json.dumps(PRODUCT).replace("<", "\\u003c")
        return HTMLResponse(
            f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Ridgeline tent · Trailhead</title>
<script type="application/ld+json">{ld}</script></head>
<body><h1>Ridgeline 2-Person Tent</h1><p>$289.00</p>
<script src="{coshop}/static/embed.js" data-room="{room_id}" data-invite="{invite}"
        data-label="Shop with friends" async></script>
</body></html>"""
        )

    return Starlette(routes=[Route("/tent", product_page)])


@contextlib.asynccontextmanager
async def serve(app: Starlette, port: int) -> AsyncIterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_widget_on_a_merchant_page(browser: Browser, server: LiveServer) -> None:
    port = free_port()
    shop_origin = f"http://127.0.0.1:{port}"
    await server.app_state.registry.set_origins("demo", [shop_origin])
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        created = (
            await http.post(
                "/api/v1/rooms", json={"kind": "group", "title": "Tent shopping", "host_name": "H"}
            )
        ).json()
        room_id = created["room_id"]
        page_headers = (await http.get(f"/r/{room_id}")).headers
        assert f"frame-ancestors 'self' {shop_origin}" in page_headers["content-security-policy"]

    app = merchant_app(server.base_url, room_id, created["invite"]["token"])
    async with serve(app, port) as shop:
        ctx, page = await new_page(browser)
        await page.goto(f"{shop}/tent")
        launcher = page.get_by_role("button", name="Shop with friends")
        await launcher.click()
        await expect(launcher).to_have_attribute("aria-expanded", "true")
        frame = page.frame_locator(".coshop-panel iframe")
        await frame.get_by_label("Display name").fill("Wendy")
        await frame.get_by_role("button", name="Join room").click()
        await expect(frame.locator("#conn")).to_have_attribute("data-state", "online")

        # share the page's JSON-LD product with the room: the widget asks first
        share = page.get_by_role("button", name="Share this product with the room")
        await expect(share).to_be_enabled()
        # the tent is in the shop's coshop catalogue: it arrives as a product card
        shared = frame.locator("#messages .msg .chat-card")
        confirm = frame.get_by_role("dialog", name="Share Ridgeline 2-Person Tent with the room?")
        await share.click()
        await expect(confirm).to_be_visible()
        # focus is on Cancel: Enter pressed out of habit drops the page's request, posts nothing
        await expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(confirm).to_be_hidden()
        await share.click()
        await expect(confirm).to_be_visible()
        await confirm.get_by_role("button", name="Cancel").click()
        await expect(confirm).to_be_hidden()

        # any script on the page can send the share message; it only opens the confirmation,
        # and Escape drops it like Cancel
        await page.evaluate(
            """([origin, product]) => document.querySelector('.coshop-panel iframe')
                .contentWindow.postMessage({type: 'coshop:share', product}, origin)""",
            [server.base_url, {"sku": "tent-2p", "name": "Scripted tent", "price": "1"}],
        )
        scripted = frame.get_by_role("dialog", name="Share Scripted tent with the room?")
        await expect(scripted).to_be_visible()
        await shot(page, "embed-share-confirm", full=False)
        await page.keyboard.press("Escape")
        await expect(scripted).to_be_hidden()
        await expect(launcher).to_have_attribute("aria-expanded", "true")  # the widget's Escape

        # the member's click sends it; the two refused shares never reached the room
        await share.click()
        await confirm.get_by_role("button", name="Share").click()
        title = shared.last.locator(".chat-card-title")
        await expect(title).to_have_text("Ridgeline 2-Person Tent")
        await expect(shared).to_have_count(1)
        await expect(frame.locator("#product-detail h3")).to_have_text(re.compile("Ridgeline"))
        await shot(page, "embed-widget", full=False)

        # the page itself cannot make the widget navigate: only the coshop frame may
        await page.evaluate(
            "() => window.postMessage({type: 'coshop:navigate', url: 'https://evil.example/'}, '*')"
        )
        await asyncio.sleep(0.2)  # let a (wrong) navigation start, if the check were missing
        assert page.url == f"{shop}/tent"

        # checkout navigates the top window when the coshop frame asks
        target = f"{server.base_url}/healthz"
        inner = page.frames[-1]
        await inner.evaluate(
            "([url, origin]) => window.parent.postMessage({type: 'coshop:navigate', url}, origin)",
            [target, shop_origin],
        )
        await page.wait_for_url(target)
        assert js_errors(page) == []
        await ctx.close()


def keyed_app(coshop: str, key: str) -> Starlette:
    """A merchant page with today's snippet: the publishable key, no room."""

    async def product_page(request: Request) -> HTMLResponse:
        ld = json.dumps(PRODUCT).replace("<", "\\u003c")
        return HTMLResponse(
            f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Ridgeline tent · Trailhead</title>
<script type="application/ld+json">{ld}</script></head>
<body><h1>Ridgeline 2-Person Tent</h1><p>$289.00</p>
<script src="{coshop}/static/embed.js" data-key="{key}" data-label="Shop with friends"
        async></script>
</body></html>"""
        )

    return Starlette(routes=[Route("/tent", product_page)])


async def _start_in_widget(page: Page, shop: str, name: str) -> str:
    """Open the widget on the shop's page and start a room; returns its room id."""
    await page.goto(f"{shop}/tent")
    await page.get_by_role("button", name="Shop with friends").click()
    frame = page.frame_locator(".coshop-panel iframe")
    await frame.get_by_label("Your name").fill(name)
    await frame.get_by_role("button", name="Start my room").click()
    await expect(frame.locator("#conn")).to_have_attribute("data-state", "online")
    inner = page.frame_locator(".coshop-panel iframe")
    await expect(inner.locator("#me-name")).to_contain_text(name)
    return _room_frame(page).url.split("/r/", 1)[1].split("?")[0]


def _room_frame(page: Page) -> Frame:
    return next(f for f in page.frames if "/r/" in f.url)


async def test_each_shopper_who_opens_the_widget_gets_a_room_of_their_own(
    browser: Browser, server: LiveServer
) -> None:
    port = free_port()
    shop_origin = f"http://127.0.0.1:{port}"
    registry = server.app_state.registry
    await registry.set_origins("demo", [shop_origin])
    key = "pk_" + "t" * 32
    await registry.set_publishable_key("demo", key, 1)
    async with serve(keyed_app(server.base_url, key), port) as shop:
        ctx_a, ana = await new_page(browser)
        ctx_b, ben = await new_page(browser)
        room_a = await _start_in_widget(ana, shop, "Ana")
        await shot(ana, "embed-own-room", full=False)
        room_b = await _start_in_widget(ben, shop, "Ben")
        assert room_a != room_b  # two shoppers, two private rooms

        # the share button works in one's own room as before
        share = ana.get_by_role("button", name="Share this product with the room")
        await expect(share).to_be_enabled()

        # coming back to the shop, the widget offers the room Ana started (or a new one)
        await ana.goto(f"{shop}/tent")
        await ana.get_by_role("button", name="Shop with friends").click()
        frame = ana.frame_locator(".coshop-panel iframe")
        back = frame.get_by_role("link", name="Go back to your room")
        await expect(back).to_be_visible()
        await expect(frame.get_by_role("button", name="Start my room")).to_be_visible()
        await back.click()
        await expect(frame.locator("#conn")).to_have_attribute("data-state", "online")

        # a friend joins Ana's room through its invite (on the shop's page), never Ben's
        invite = await _room_frame(ana).evaluate(
            "id => JSON.parse(localStorage.getItem('coshop.invite.' + id)).url", room_a
        )
        ctx_c, cleo = await new_page(browser)
        await cleo.goto(invite)
        joining = cleo.frame_locator(".coshop-panel iframe")
        await joining.get_by_label("Display name").fill("Cleo")
        await joining.get_by_role("button", name="Join room").click()
        await expect(joining.locator("#conn")).to_have_attribute("data-state", "online")
        assert f"/r/{room_a}" in _room_frame(cleo).url
        assert room_b not in _room_frame(cleo).url
        assert js_errors(ana) == [] and js_errors(ben) == [] and js_errors(cleo) == []
        for ctx in (ctx_a, ctx_b, ctx_c):
            await ctx.close()


async def test_the_widget_on_an_unregistered_site_says_what_to_do(
    browser: Browser, server: LiveServer
) -> None:
    port = free_port()
    key = "pk_" + "u" * 32
    await server.app_state.registry.set_publishable_key("demo", key, 1)
    await server.app_state.registry.set_origins("demo", ["https://shop.example"])
    async with serve(keyed_app(server.base_url, key), port) as shop:
        ctx, page = await new_page(browser)
        await page.goto(f"{shop}/tent")
        await page.get_by_role("button", name="Shop with friends").click()
        frame = page.frame_locator(".coshop-panel iframe")
        await expect(frame.locator("h1")).to_have_text("This site is not set up for shopping rooms")
        await expect(frame.locator("#msg-text")).to_contain_text(f"http://127.0.0.1:{port}")
        message = frame.locator("#msg-text")
        await expect(message).to_contain_text("Register the site in your coshop console")
        await shot(page, "embed-unregistered-site", full=False)
        await ctx.close()


async def test_the_console_lists_the_blocked_site_and_registers_it_in_one_click(
    browser: Browser, server: LiveServer
) -> None:
    """The merchant pastes the snippet on a site it forgot to register: the widget says so, the
    console's Set up lists the site with how often it was refused, and "Register" makes the
    widget work there on the next load."""
    port = free_port()
    shop_origin = f"http://127.0.0.1:{port}"
    registry = server.app_state.registry
    key = "pk_" + "b" * 32
    api_key = "ck_blocked-" + "k" * 30
    await registry.set_publishable_key("demo", key, 1)
    await registry.set_origins("demo", ["https://shop.example"])
    await registry.rotate_api_key("demo", api_key)
    async with serve(keyed_app(server.base_url, key), port) as shop:
        ctx, page = await new_page(browser)
        await page.goto(f"{shop}/tent")
        await page.get_by_role("button", name="Shop with friends").click()
        frame = page.frame_locator(".coshop-panel iframe")
        await expect(frame.locator("h1")).to_have_text("This site is not set up for shopping rooms")

        ctx_m, console = await new_page(browser)
        await console.goto(f"{server.base_url}/console")
        await console.get_by_label("API key").fill(api_key)
        await console.get_by_role("button", name="Sign in").click()
        blocked = console.locator("#blocked-list li")
        await expect(blocked).to_have_count(1)
        await expect(blocked).to_contain_text(shop_origin)
        await expect(blocked).to_contain_text("Refused once")
        assert await serious_violations(console, "console blocked sites") == []
        await shot(console, "console-blocked-origin")
        await console.get_by_role("button", name=f"Register {shop_origin}").click()
        await expect(console.locator("#origins-list")).to_contain_text(shop_origin)
        await expect(console.locator("#blocked-box")).to_be_hidden()

        # the same page now opens the widget's start page
        await page.reload()
        await page.get_by_role("button", name="Shop with friends").click()
        frame = page.frame_locator(".coshop-panel iframe")
        await expect(frame.get_by_role("button", name="Start my room")).to_be_visible()
        assert js_errors(page) == [] and js_errors(console) == []
        await ctx_m.close()
        await ctx.close()
