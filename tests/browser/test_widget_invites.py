"""In the widget, every friends' link the room makes leads to the shop's page (merchantux item 3).

Ana starts a room in the widget on the shop's page. Her invite dialog's shared link, a "New link"
that replaces it, and a personal invite all point at the shop's page with the room and the
invite in the fragment (static/embed.js opens the widget there, in her room), not at coshop's
/join page; a store staff link stays coshop's. The friends' panel offers no printable store sign.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page
from tests.browser.test_embed import _start_in_widget, keyed_app, serve
from tests.server.conftest import LiveServer, free_port

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


async def test_the_widgets_invite_links_lead_to_the_shops_page(
    browser: Browser, server: LiveServer
) -> None:
    port = free_port()
    shop_origin = f"http://127.0.0.1:{port}"
    registry = server.app_state.registry
    await registry.set_origins("demo", [shop_origin])
    key = "pk_" + "w" * 32
    await registry.set_publishable_key("demo", key, 1)
    async with serve(keyed_app(server.base_url, key), port) as shop:
        ctx, ana = await new_page(browser)
        room_id = await _start_in_widget(ana, shop, "Ana")
        frame = ana.frame_locator(".coshop-panel iframe")
        on_shop = re.compile(
            "^" + re.escape(f"{shop}/tent#coshop-room={room_id}&coshop-invite=") + r"[\w.-]+$"
        )
        await frame.locator("#invite-btn").click()
        shared = frame.locator("#shared-link input")
        await expect(shared).to_have_value(on_shop)
        first = await shared.input_value()
        await expect(frame.locator("#shared-link")).not_to_contain_text("Printable store sign")

        await frame.locator("#shared-rotate").click()
        await expect(shared).not_to_have_value(first)
        await expect(shared).to_have_value(on_shop)

        await frame.locator("#personal-name").fill("Sam")
        await frame.get_by_role("button", name="Create personal invite").click()
        await expect(frame.locator("#personal-result input")).to_have_value(on_shop)

        await frame.locator("#mint-associate").click()
        staff = frame.locator("#staff-invites input")
        await expect(staff).to_have_value(re.compile("^" + re.escape(server.base_url) + "/join/"))
        assert js_errors(ana) == []
        await ctx.close()
