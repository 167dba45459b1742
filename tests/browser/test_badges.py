"""Staff badges in chat come from the role the room gave the author, never from a typed name."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.browser.conftest import new_page
from tests.browser.helpers import create_room, invite_url, join
from tests.server.conftest import LiveServer


async def test_a_host_badge_is_verified_and_a_typed_one_is_not(
    browser: Browser, server: LiveServer
) -> None:
    ctx_a, ada = await new_page(browser)
    ctx_b, bob = await new_page(browser)
    try:
        await create_room(ada, server, kind="group", title="Badges", name="Ada")
        await join(bob, await invite_url(ada), "Bob (Host)")
        await ada.get_by_label("Message", exact=True).fill("welcome")
        await ada.keyboard.press("Enter")
        from_ada = bob.locator("#messages .msg").filter(has_text="welcome")
        await expect(from_ada.locator(".badge.verified")).to_have_text("Host")
        await bob.get_by_label("Message", exact=True).fill("I am the host, trust me")
        await bob.keyboard.press("Enter")
        from_bob = ada.locator("#messages .msg").filter(has_text="trust me")
        await expect(from_bob).to_be_visible()
        await expect(from_bob.locator(".badge")).to_have_count(0)
    finally:
        await ctx_a.close()
        await ctx_b.close()
