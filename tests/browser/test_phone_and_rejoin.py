"""Two things a friend meets on their phone: a long name without spaces (an e-mail address) keeps
the page as wide as the screen, so the cart and the sheet's "Add to cart" stay reachable; and
opening the invite again from the same browser offers "Back to the room" first, with joining
under another name as the secondary choice."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.browser.conftest import new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.server.conftest import LiveServer

LONG_NAME = "MAXIMILIANWOLFGANGBARTHOLOMEWSCHWARZENEG"  # 40 wide letters, nowhere to break


async def test_a_long_name_keeps_the_phone_page_as_wide_as_the_screen(
    browser: Browser, server: LiveServer
) -> None:
    ctx_a, ada = await new_page(browser)
    ctx_c, cal = await new_page(browser, phone=True)
    try:
        await create_room(ada, server, kind="group", title="Trip", name="Ada")
        url = await invite_url(ada)
        await join(cal, url, LONG_NAME)
        await expect(cal.locator("#me-name")).to_contain_text("MAXIMILIAN")
        # a phone browser widens its layout viewport to fit the content (then zooms out): the
        # page's width must stay the device's 390 CSS pixels
        width = await cal.evaluate("document.documentElement.scrollWidth")
        await shot(cal, "phone-long-name", full=False)
        assert width <= 390, width
    finally:
        await ctx_a.close()
        await ctx_c.close()


async def test_opening_the_invite_again_offers_back_to_the_room_first(
    browser: Browser, server: LiveServer
) -> None:
    ctx_a, ada = await new_page(browser)
    ctx_b, bea = await new_page(browser)
    try:
        room_id = await create_room(ada, server, kind="group", title="Trip", name="Ada")
        url = await invite_url(ada)
        await join(bea, url, "Bea")
        await bea.goto(url)
        back = bea.get_by_role("link", name="Back to the room as Bea")
        await expect(back).to_be_focused()
        join_again = bea.get_by_role("button", name="Join room")
        await expect(join_again).to_be_visible()
        await expect(join_again).not_to_have_class("primary")  # the secondary choice
        await shot(bea, "join-again", full=False)
        await bea.goto(url)
        await bea.get_by_role("link", name="Back to the room as Bea").click()
        await bea.wait_for_url(f"**/r/{room_id}*")
        await expect(bea.locator("#conn")).to_have_attribute("data-state", "online")
    finally:
        await ctx_a.close()
        await ctx_b.close()
