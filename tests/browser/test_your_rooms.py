""" "Your rooms" on the landing page: server-backed by this browser's device, hosted rooms first,
reopened with a fresh member token; an empty state with a way to start one."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.browser.test_accessibility import serious_violations
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


async def test_your_rooms_lists_hosted_rooms_first_and_reopens_them(
    browser: Browser, server: LiveServer
) -> None:
    ctx, page = await new_page(browser)
    await page.goto(server.base_url + "/")
    rooms = page.locator("#my-rooms")
    await expect(rooms.get_by_text("No rooms yet")).to_be_visible()
    await shot(page, "your-rooms-empty", full=False)
    assert await serious_violations(page, "landing, no rooms") == []
    await rooms.get_by_role("link", name="Start a room").click()
    await expect(page.get_by_label("Room title")).to_be_focused()

    # a friend's room, joined through its invite, and a room of our own
    ctx_f, friend = await new_page(browser)
    await create_room(friend, server, kind="group", title="Fay's picnic", name="Fay")
    picnic = await invite_url(friend)
    await join(page, picnic, "Mia")
    await create_room(page, server, kind="group", title="My weekend trip", name="Mia")

    await page.goto(server.base_url + "/")
    items = page.locator("#my-rooms-list li")
    await expect(items).to_have_count(2)
    await expect(items.nth(0).locator(".room-title")).to_have_text("My weekend trip")
    await expect(items.nth(0).locator(".badge")).to_have_text("You host it")
    await expect(items.nth(1).locator(".room-title")).to_have_text("Fay's picnic")
    await expect(items.nth(1).locator(".badge")).to_have_text("Member")
    await expect(items.nth(1).locator(".room-meta")).to_contain_text("coshop demo shop · Open")
    await expect(page.locator("#my-rooms-empty")).to_be_hidden()
    await shot(page, "your-rooms")
    assert await serious_violations(page, "landing, your rooms") == []

    # the member token this browser kept is gone (expired, cleared): the device reopens it
    await page.evaluate(
        "() => Object.keys(localStorage).filter(k => k.startsWith('coshop.member.'))"
        ".forEach(k => localStorage.removeItem(k))"
    )
    await items.nth(1).get_by_role("button", name="Open Fay's picnic").click()
    await page.wait_for_url(re.compile(r"/r/"))
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(page.locator("#me-name")).to_contain_text("Mia")

    # the friend's browser has only the room it hosts
    await friend.goto(server.base_url + "/")
    await expect(friend.locator("#my-rooms-list li")).to_have_count(1)
    await expect(friend.locator("#my-rooms-list li .badge")).to_have_text("You host it")
    assert js_errors(page) == [] and js_errors(friend) == []
    await ctx_f.close()
    await ctx.close()
