"""Steps shared by the browser tests: create a room from the landing page, join by invite."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.conftest import shot
from tests.server.conftest import LiveServer


async def create_room(
    page: Page, server: LiveServer | str, *, kind: str, title: str, name: str
) -> str:
    """Create a room through the landing page (of a server or a base URL); returns the room id."""
    base = server if isinstance(server, str) else server.base_url
    await page.goto(base + "/")
    await page.get_by_label("Live room" if kind == "live" else "Group cart").check()
    await page.get_by_label("Room title").fill(title)
    await page.get_by_label("Your name").fill(name)
    await shot(page, f"landing-{kind}", full=False)
    await page.get_by_role("button", name="Create room").click()
    await page.wait_for_url("**/r/*")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    return page.url.rsplit("/r/", 1)[1].split("?")[0]


async def invite_url(page: Page) -> str:
    """The default invite link, read from the host's Invite dialog."""
    await page.get_by_role("button", name="Invite").click()
    field = page.locator("#invite-body input").first
    await expect(field).to_have_value(re.compile(r"/join/"))
    value = await field.input_value()
    await page.keyboard.press("Escape")
    return value


async def join(page: Page, url: str, name: str) -> None:
    await page.goto(url)
    await page.get_by_label("Display name").fill(name)
    await page.get_by_role("button", name="Join room").click()
    await page.wait_for_url("**/r/*")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online")
