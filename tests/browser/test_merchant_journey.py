"""Journey 3 as a merchant plays it (docs/console.md, docs/shopper-rooms.md): the snippet on a page
of the shop's own (another port), a friend's invite that opens the widget on that page already in
the room, and a console that keeps the keyboard user's place and says what went wrong where it
went wrong."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from playwright.async_api import Browser, Route, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.test_accessibility import serious_violations
from tests.browser.test_embed import _room_frame, _start_in_widget, keyed_app, serve
from tests.server.conftest import LiveServer, free_port

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


async def test_a_friends_invite_opens_the_widget_on_the_shop_page_in_that_room(
    browser: Browser, server: LiveServer
) -> None:
    port = free_port()
    shop_origin = f"http://127.0.0.1:{port}"
    registry = server.app_state.registry
    await registry.set_origins("demo", [shop_origin])
    key = "pk_" + "f" * 32
    await registry.set_publishable_key("demo", key, 1)
    async with serve(keyed_app(server.base_url, key), port) as shop:
        ctx_a, ana = await new_page(browser)
        room_id = await _start_in_widget(ana, shop, "Ana")

        # the link Ana shares leads to the shop's page, not to coshop's
        frame = ana.frame_locator(".coshop-panel iframe")
        await frame.get_by_role("button", name="Invite").click()
        link = frame.locator("#invite-body input").first
        prefix = f"{shop}/tent#coshop-room={room_id}&coshop-invite="
        await expect(link).to_have_value(re.compile("^" + re.escape(prefix) + r"\S+$"))
        invite = await link.input_value()
        await shot(ana, "merchant-journey-invite-link", full=False)

        # Ben opens it: the shop's page, the widget open by itself at that room's join page
        ctx_b, ben = await new_page(browser)
        await ben.goto(invite)
        launcher = ben.get_by_role("button", name="Shop with friends")
        await expect(launcher).to_have_attribute("aria-expanded", "true")
        joined = ben.frame_locator(".coshop-panel iframe")
        await joined.get_by_label("Display name").fill("Ben")
        await joined.get_by_role("button", name="Join room").click()
        await expect(joined.locator("#conn")).to_have_attribute("data-state", "online")
        assert f"/r/{room_id}" in _room_frame(ben).url
        await expect(joined.locator("#me-name")).to_contain_text("Ben")
        # the invite left the address bar; the shop's page stays where it was
        assert ben.url == f"{shop}/tent"
        await shot(ben, "merchant-journey-friend-joined", full=False)
        assert await serious_violations(ben, "shop page, friend in the widget") == []
        assert js_errors(ana) == [] and js_errors(ben) == []
        await ctx_a.close()
        await ctx_b.close()


async def test_the_console_keeps_the_keyboard_users_place_and_says_what_went_wrong(
    browser: Browser, server: LiveServer
) -> None:
    port = free_port()
    shop_origin = f"http://127.0.0.1:{port}"
    registry = server.app_state.registry
    key = "pk_" + "g" * 32
    api_key = "ck_journey-" + "k" * 30
    await registry.set_publishable_key("demo", key, 1)
    await registry.set_origins("demo", ["https://shop.example"])
    await registry.rotate_api_key("demo", api_key)
    async with serve(keyed_app(server.base_url, key), port) as shop:
        # the snippet pasted on a site the shop forgot to register
        ctx_s, shopper = await new_page(browser)
        await shopper.goto(f"{shop}/tent")
        await shopper.get_by_role("button", name="Shop with friends").click()
        refused = shopper.frame_locator(".coshop-panel iframe")
        await expect(refused.locator("h1")).to_have_text(
            "This site is not set up for shopping rooms"
        )

        ctx_m, console = await new_page(browser)
        await console.goto(f"{server.base_url}/console")
        await expect(console.get_by_text("Where do I get it?")).to_be_visible()
        await console.get_by_label("API key").fill(api_key)
        await console.keyboard.press("Enter")
        # signed in, focus is on the section's heading (not lost on the page's body)
        await expect(console.get_by_role("heading", name="Put coshop on your shop")).to_be_focused()

        # an origin without its scheme: said in plain words, next to the field, field marked
        await console.get_by_label("Add your site").fill(f"127.0.0.1:{port}")
        await console.get_by_role("button", name="Add site").click()
        await expect(console.locator("#origin-error")).to_have_text(
            f"Add the scheme: https://127.0.0.1:{port}"
            " (or http:// for a site on your own computer)."
        )
        await expect(console.get_by_label("Add your site")).to_have_attribute(
            "aria-invalid", "true"
        )
        await console.get_by_label("Add your site").fill("")

        # Register in one click: focus lands on the site now registered
        await console.get_by_role("button", name=f"Register {shop_origin}").click()
        registered = console.locator(f'#origins-list li[data-origin="{shop_origin}"]')
        await expect(registered).to_be_focused()
        await expect(console.get_by_label("Add your site")).not_to_have_attribute(
            "aria-invalid", "true"
        )
        await shot(console, "merchant-journey-registered")

        # the widget works there now; the shopper starts a room
        room_id = await _start_in_widget(shopper, shop, "Ana")

        # Rooms: no link into a shopper's private room (it would say "This invite does not
        # work"); "Figures" opens that room's analytics
        nav = console.get_by_role("navigation", name="Console")
        await nav.get_by_role("link", name="Rooms").click()
        rooms = console.locator("#rooms-groups")
        await expect(rooms).to_contain_text("Shopping at coshop demo shop")
        await expect(rooms.locator('a[href^="/join/"]')).to_have_count(0)
        assert await serious_violations(console, "console rooms") == []
        await rooms.get_by_role("button", name="Figures").first.click()
        await expect(console.get_by_role("heading", name="Analytics")).to_be_focused()
        await expect(console.get_by_label("Show or room")).to_have_value(room_id)
        await expect(console.locator("#analytics-box .stat").first).to_contain_text("1")

        # Webhooks: the secret is shown once, with focus on its Copy button
        await nav.get_by_role("link", name="Webhooks").click()
        await console.get_by_label("URL", exact=True).fill("shop.example/hooks")
        await console.get_by_role("button", name="Add endpoint").click()
        await expect(console.locator("#webhook-error")).to_contain_text("starting with https://")
        await expect(console.get_by_label("URL", exact=True)).to_be_focused()
        await console.get_by_label("URL", exact=True).fill(f"{server.base_url}/hooks-here")
        await console.get_by_role("button", name="Add endpoint").click()
        await expect(console.get_by_role("button", name="Copy secret")).to_be_focused()
        await expect(console.locator("#webhook-secret")).to_contain_text(
            f"Signing secret for {server.base_url}/hooks-here"
        )
        # the endpoint is deleted elsewhere (the shop's own tools): the stale button says so in
        # its card instead of failing silently
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            auth = {"authorization": f"Bearer {api_key}"}
            listed = (await client.get("/api/v1/merchant/webhooks", headers=auth)).json()
            endpoint_id = listed["webhooks"][0]["id"]
            r = await client.delete(f"/api/v1/merchant/webhooks/{endpoint_id}", headers=auth)
            assert r.status_code == 204
        card = console.locator("#webhooks-box article.endpoint")
        await card.get_by_role("button", name=f"Pause {server.base_url}/hooks-here").click()
        await expect(card.get_by_role("alert")).to_contain_text("That did not work")
        await shot(console, "merchant-journey-webhook-error")

        # Store: a logo that is not https is refused next to the logo field, in plain words
        await nav.get_by_role("link", name="Store").click()
        await console.get_by_label("Store name").fill("Trailhead Soho")
        await console.get_by_label("Logo URL").fill("http://cdn.shop.example/logo.png")
        await console.get_by_role("button", name="Save store").click()
        await expect(console.locator("#store-error")).to_have_text(
            "The logo must be an https:// address of an image (or leave it empty)."
        )
        await expect(console.get_by_label("Logo URL")).to_be_focused()
        await expect(console.get_by_label("Logo URL")).to_have_attribute("aria-invalid", "true")
        await console.get_by_label("Logo URL").fill("")
        await console.get_by_role("button", name="Save store").click()
        state = console.locator("#store-mode-state")
        await expect(state).to_contain_text("Saved. Store mode is on")
        await expect(state).to_be_focused()
        await console.get_by_label("Associate's name").fill("Sam")
        await console.get_by_role("button", name="Create link").click()
        await expect(console.get_by_role("button", name="Copy link")).to_be_focused()
        assert await serious_violations(console, "console store") == []
        await shot(console, "merchant-journey-store")
        assert js_errors(console) == [] and js_errors(shopper) == []
        await ctx_m.close()
        await ctx_s.close()


async def test_what_the_merchant_types_while_the_store_loads_is_kept(
    browser: Browser, server: LiveServer
) -> None:
    # a slow answer to the Store section's read used to put the stored values back over what
    # the merchant had typed meanwhile (and Save then saved the old logo without a word)
    api_key = "ck_storerace-" + "k" * 30
    await server.app_state.registry.rotate_api_key("demo", api_key)
    ctx, console = await new_page(browser)
    await console.goto(f"{server.base_url}/console")
    await console.get_by_label("API key").fill(api_key)
    await console.keyboard.press("Enter")
    await expect(console.get_by_role("heading", name="Put coshop on your shop")).to_be_focused()
    released = asyncio.Event()

    async def slow(route: Route) -> None:
        await released.wait()
        await route.continue_()

    await console.route(re.compile(r".*/api/v1/merchant/store$"), slow)
    await console.get_by_role("navigation").get_by_role("link", name="Store").click()
    await console.get_by_label("Store name").fill("Trailhead Soho")
    await console.get_by_label("Logo URL").fill("http://cdn.shop.example/logo.png")
    released.set()
    await expect(console.locator("#associates-box")).to_contain_text("No associate yet")
    await expect(console.get_by_label("Store name")).to_have_value("Trailhead Soho")
    await expect(console.get_by_label("Logo URL")).to_have_value("http://cdn.shop.example/logo.png")
    await console.unroute(re.compile(r".*/api/v1/merchant/store$"))
    await console.get_by_role("button", name="Save store").click()
    await expect(console.locator("#store-error")).to_contain_text("https://")
    assert js_errors(console) == []
    await ctx.close()
