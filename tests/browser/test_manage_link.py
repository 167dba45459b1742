"""The host's manage link in Chromium (issue 13, item 4): shown once after the room is created,
it makes another browser the host; a new link refuses the old one with a page that says what
to do."""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room
from tests.browser.test_accessibility import serious_violations
from tests.server.conftest import LiveServer

pytestmark = pytest.mark.browser


async def _stored_member(page: Page, room_id: str) -> dict[str, str]:
    raw = await page.evaluate(f"localStorage.getItem('coshop.member.{room_id}')")
    data: dict[str, str] = json.loads(raw)
    return data


async def test_a_second_browser_takes_over_as_host_and_a_new_link_refuses_the_old(
    browser: Browser, server: LiveServer
) -> None:
    first_ctx, first = await new_page(browser)
    room_id = await create_room(first, server, kind="group", title="Weekend trip", name="Ada")

    # shown once, with plain words and a copy button
    once = first.locator("#manage-once")
    await expect(once).to_be_visible()
    await expect(once).to_contain_text("Keep this link to manage your room from any device")
    await expect(once.get_by_role("button", name="Copy manage link")).to_be_visible()
    field = once.get_by_label("Manage link")
    manage_url = await field.input_value()
    assert f"/r/{room_id}/manage#key=" in manage_url
    await shot(first, "manage-link-once", full=False)
    assert await serious_violations(first, "room with the manage link") == []
    assert await first.evaluate(f"sessionStorage.getItem('coshop:manage:{room_id}')") is None
    await once.get_by_role("button", name="Done, I saved it").click()
    await expect(once).to_be_hidden()
    await first.reload()
    await expect(first.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(first.locator("#manage-once")).to_be_hidden()  # once means once
    host_id = (await _stored_member(first, room_id))["member_id"]

    # another browser (its own storage) opens the link and is the host, the same member
    second_ctx, second = await new_page(browser)
    await second.goto(manage_url)
    await second.wait_for_url(f"**/r/{room_id}")
    await expect(second.locator("#conn")).to_have_attribute("data-state", "online")
    assert "key=" not in second.url
    me = await _stored_member(second, room_id)
    assert me["member_id"] == host_id and me["role"] == "host"
    await expect(second.locator("#me-name")).to_contain_text("Ada")
    await expect(second.get_by_role("button", name="Invite")).to_be_visible()
    await shot(second, "manage-link-second-browser", full=False)
    # the first browser is still the host
    await expect(first.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(first.get_by_role("button", name="Invite")).to_be_visible()

    # the new host device draws a new manage link: the old one stops working
    await second.get_by_role("button", name="Invite").click()
    await second.get_by_role("button", name="Get a new manage link").click()
    fresh = second.locator("#manage-result").get_by_label("Your new manage link")
    await expect(fresh).to_have_value(re.compile(f"/r/{room_id}/manage#key="))
    new_url = await fresh.input_value()
    assert new_url != manage_url and "#key=" in new_url
    await shot(second, "manage-link-rotated", full=False)
    assert await serious_violations(second, "invite dialog with a new manage link") == []

    third_ctx, third = await new_page(browser)
    await third.goto(manage_url)
    await expect(third.locator("#manage-title")).to_have_text("This manage link no longer works")
    await expect(third.locator("#manage-card")).to_contain_text("Get a new manage link")
    await expect(third.get_by_role("link", name="Go to the room")).to_be_visible()
    assert "key=" not in third.url  # the secret left the address bar even when refused
    assert await third.evaluate(f"localStorage.getItem('coshop.member.{room_id}')") is None
    await shot(third, "manage-link-refused", full=False)
    assert await serious_violations(third, "refused manage link") == []
    # the new link works in that browser
    await third.goto(new_url)
    await third.wait_for_url(f"**/r/{room_id}")
    await expect(third.locator("#conn")).to_have_attribute("data-state", "online")
    assert (await _stored_member(third, room_id))["member_id"] == host_id

    for page in (first, second, third):
        assert js_errors(page) == []
    for ctx in (first_ctx, second_ctx, third_ctx):
        await ctx.close()


async def test_an_incomplete_manage_link_says_what_to_do(
    browser: Browser, server: LiveServer
) -> None:
    ctx, page = await new_page(browser)
    room_id = await create_room(page, server, kind="live", title="Show", name="Hana")
    other_ctx, other = await new_page(browser)
    await other.goto(f"{server.base_url}/r/{room_id}/manage")
    await expect(other.locator("#manage-title")).to_have_text("This manage link is incomplete")
    await expect(other.locator("#manage-text")).to_contain_text("Copy the whole link again")
    assert js_errors(other) == []
    await other_ctx.close()
    await ctx.close()
