"""Store mode in Chromium, from the console to an associate in a shopper's room.

The merchant names the store and its logo in the console and makes Sam's associate link; the
printed sign and the shopper's start page carry the store's name and logo; Ana scans the sign
and asks for help as she starts her room; Sam's page lists Ana's room first, "Asked for help",
and "Join" takes Sam into it as store staff, whom Ana sees arrive. The room's store strip
(static/js/store-room.js) withdraws the request. axe finds nothing serious on any page.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, BrowserContext, Route, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.test_accessibility import serious_violations
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

API_KEY = "ck_store-" + "k" * 30
LOGO = "https://cdn.shop.example/trailhead.svg"
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64"'
    ' rx="14" fill="#0f5d4a"/><path d="M12 46 L28 20 L36 32 L42 24 L54 46 Z" fill="#fff"/></svg>'
)


async def _logo(route: Route) -> None:
    await route.fulfill(status=200, content_type="image/svg+xml", body=LOGO_SVG)


async def _with_logo(context: BrowserContext) -> None:
    # the logo's host is not reachable from the test machine: the browser gets it from here
    await context.route(LOGO, _logo)


async def test_an_associate_joins_the_shopper_who_asked_for_help(
    browser: Browser, server: LiveServer
) -> None:
    registry = server.app_state.registry
    await registry.rotate_api_key("demo", API_KEY)
    await registry.set_publishable_key("demo", "pk_" + "a" * 32, 1)
    problems: list[str] = []

    # the merchant sets up the store and Sam's link in the console
    ctx_m, console = await new_page(browser)
    await _with_logo(ctx_m)
    await console.goto(f"{server.base_url}/console#store")
    await console.get_by_label("API key").fill(API_KEY)
    await console.get_by_role("button", name="Sign in").click()
    await expect(console.get_by_role("heading", name="Your store")).to_be_visible()
    await expect(console.locator("#store-mode-state")).to_contain_text("turn store mode on")
    await console.get_by_label("Store name").fill("Trailhead Soho")
    await console.get_by_label("Logo URL").fill(LOGO)
    await console.get_by_role("button", name="Save store").click()
    await expect(console.locator("#store-mode-state")).to_contain_text("Store mode is on")
    await expect(console.locator("#store-preview-name")).to_have_text("Trailhead Soho")
    await console.get_by_label("Associate's name").fill("Sam")
    await console.get_by_role("button", name="Create link").click()
    link = console.locator("#associate-url")
    await expect(link).to_contain_text("/associates#key=as_")
    sam_url = (await link.inner_text()).strip()
    await expect(console.locator("#associates-box tbody tr")).to_have_count(1)
    problems += await serious_violations(console, "console store")
    await shot(console, "console-store")

    # the printed sign carries the store's name and logo
    sign = await ctx_m.new_page()
    await sign.goto(f"{server.base_url}/s/demo/sign")
    await expect(sign.locator("h1")).to_have_text("Shop together at Trailhead Soho")
    await expect(sign.locator("img.store-logo")).to_have_attribute("src", LOGO)
    assert await sign.locator("img.store-logo").evaluate("img => img.naturalWidth > 0")
    problems += await serious_violations(sign, "store sign")
    await shot(sign, "store-sign-branded")

    # Ana scans it, asks for help and starts her room
    ctx_a, ana = await new_page(browser, phone=True)
    await _with_logo(ctx_a)
    await ana.goto(f"{server.base_url}/s/demo")
    await expect(ana.locator("h1")).to_have_text("Shop together at Trailhead Soho")
    await expect(ana.locator("#store-logo")).to_be_visible()
    help_box = ana.get_by_label("Ask a member of our store team to join my room and help me")
    await expect(help_box).to_be_visible()
    problems += await serious_violations(ana, "store start page")
    await shot(ana, "store-start-branded", full=False)
    await ana.get_by_label("Your name").fill("Ana")
    await help_box.check()
    await ana.get_by_role("button", name="Start my room").click()
    await ana.wait_for_url("**/r/*")
    await expect(ana.locator("#conn")).to_have_attribute("data-state", "online")
    room_id = ana.url.rsplit("/r/", 1)[1]

    # Sam opens the link once on the phone: Ana's room, first, asking for help
    ctx_s, sam = await new_page(browser, phone=True)
    await _with_logo(ctx_s)
    await sam.goto(sam_url)
    await expect(sam.locator("#associate-name")).to_have_text("Signed in as Sam")
    assert "#key=" not in sam.url  # the key left the address bar (and stays in this browser)
    card = sam.locator(f'.store-room[data-room="{room_id}"]')
    await expect(card).to_contain_text("Ana")
    await expect(card).to_contain_text("Asked for help")
    await expect(card).to_contain_text("1 person")
    await expect(card).to_contain_text("No associate yet")
    await expect(sam.locator("#store-name")).to_have_text("Trailhead Soho")
    problems += await serious_violations(sam, "associates page")
    await shot(sam, "associates-page", full=False)

    # "Join": the ordinary join page, Sam's name already there, then the room as store staff
    await card.get_by_role("button", name="Join Ana's room").click()
    await sam.wait_for_url("**/join/*")
    await expect(sam.get_by_label("Display name")).to_have_value("Sam")
    await sam.get_by_role("button", name="Join room").click()
    await sam.wait_for_url(f"**/r/{room_id}*")
    await expect(sam.locator("#me-name")).to_contain_text("Store staff")
    await expect(ana.locator("#avatars")).to_contain_text("Sam")  # the avatar's spoken label
    await expect(ana.locator("#room-title")).to_have_text("Shopping at Trailhead Soho")
    await shot(ana, "store-room-with-associate", full=False)

    # the associates' page shows Sam with Ana; Ana's strip withdraws the request
    back = await ctx_s.new_page()
    await back.goto(f"{server.base_url}/associates")
    card = back.locator(f'.store-room[data-room="{room_id}"]')
    await expect(card).to_contain_text("With Sam")
    await expect(card).to_contain_text("2 people")
    await expect(card.get_by_role("button", name="Back to Ana's room")).to_be_visible()
    # the room page loads the store strip itself (templates/room.html)
    strip = ana.get_by_role("region", name="Trailhead Soho store")
    await expect(strip).to_contain_text("A store associate has been asked to join you.")
    await shot(ana, "store-room-strip", full=False)
    await strip.get_by_role("button", name="Cancel help request").click()
    await expect(strip.get_by_role("button", name="Ask for help")).to_be_focused()
    await back.get_by_role("button", name="Refresh").click()
    await expect(card).not_to_contain_text("Asked for help")
    problems += await serious_violations(ana, "store room strip")

    # the merchant removes Sam: his page says what happened
    await console.reload()
    console.once("dialog", lambda dialog: dialog.accept())
    await console.get_by_role("button", name="Remove Sam").click()
    await expect(console.locator("#associates-box")).to_contain_text("No associate yet")
    await back.get_by_role("button", name="Refresh").click()
    await expect(back.locator("#no-key-text")).to_contain_text("no longer works")
    for page in (console, sign, ana, sam, back):
        assert js_errors(page) == []
    for ctx in (ctx_m, ctx_a, ctx_s):
        await ctx.close()
    assert problems == []
