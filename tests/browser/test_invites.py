"""Invites in Chromium (issue 13, item 5): the host invites someone by name (the name is filled
in, the link works once, the host sees who used it), replaces the shared link (the old one is
refused with a page that says so), switches it off and on, and revokes an invite."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.browser.test_accessibility import serious_violations
from tests.server.conftest import LiveServer

pytestmark = pytest.mark.browser


async def _open_invites(host: Page) -> None:
    if not await host.locator("#invite-dialog").evaluate("d => d.open"):
        await host.get_by_role("button", name="Invite").click()
    await expect(host.locator("#shared-link")).to_be_visible()


async def _close(host: Page) -> None:
    await host.keyboard.press("Escape")
    await expect(host.locator("#invite-dialog")).to_be_hidden()


async def _personal(host: Page, name: str) -> str:
    await _open_invites(host)
    await host.get_by_label("Their name").fill(name)
    await host.get_by_role("button", name="Create personal invite").click()
    field = host.locator("#personal-result").get_by_label(f"Link for {name}")
    await expect(field).to_have_value(re.compile(r"/join/"))
    return await field.input_value()


async def test_a_personal_invite_is_named_works_once_and_shows_who_used_it(
    browser: Browser, server: LiveServer
) -> None:
    host_ctx, host = await new_page(browser)
    await create_room(host, server, kind="group", title="Birthday gift", name="Ada")
    await host.locator("#manage-once").get_by_role("button", name="Done, I saved it").click()
    sam_link = await _personal(host, "Sam")
    await shot(host, "invites-personal-created", full=False)
    await _close(host)

    sam_ctx, sam = await new_page(browser)
    await sam.goto(sam_link)
    await expect(sam.get_by_label("Display name")).to_have_value("Sam")
    await expect(sam.locator("#personal-invite")).to_contain_text("This invite is for Sam")
    await shot(sam, "invites-personal-join", full=False)
    assert await serious_violations(sam, "join page of a personal invite") == []
    await sam.get_by_role("button", name="Join room").click()
    await sam.wait_for_url("**/r/*")
    await expect(sam.locator("#conn")).to_have_attribute("data-state", "online")

    # the link worked once: another browser is refused with a page that says what to do
    other_ctx, other = await new_page(browser)
    await other.goto(sam_link)
    await expect(other.locator("#msg-title")).to_have_text("This invite was already used")
    await expect(other.locator("#msg-text")).to_contain_text("ask the host for a new invite")
    await shot(other, "invites-personal-used", full=False)
    assert await serious_violations(other, "used personal invite") == []

    # the host sees who used it
    await _open_invites(host)
    row = host.locator("#invite-list li", has_text="For Sam")
    await expect(row).to_contain_text("Used by Sam")
    await expect(row.get_by_role("button", name="Revoke For Sam")).to_have_count(0)
    await shot(host, "invites-list", full=False)
    assert await serious_violations(host, "invite dialog") == []

    # a personal invite revoked before use admits nobody
    tom_link = await _personal(host, "Tom")
    await (
        host.locator("#invite-list li", has_text="For Tom")
        .get_by_role("button", name="Revoke For Tom")
        .click()
    )
    await expect(host.locator("#invite-list li", has_text="For Tom")).to_contain_text("Revoked")
    await other.goto(tom_link)
    await expect(other.locator("#msg-title")).to_have_text("This invite was cancelled")

    for page in (host, sam, other):
        assert js_errors(page) == []
    for ctx in (host_ctx, sam_ctx, other_ctx):
        await ctx.close()


async def test_the_host_replaces_and_switches_off_the_shared_link(
    browser: Browser, server: LiveServer
) -> None:
    host_ctx, host = await new_page(browser)
    await create_room(host, server, kind="live", title="Spring drop", name="Hana")
    await host.locator("#manage-once").get_by_role("button", name="Done, I saved it").click()
    old_link = await invite_url(host)

    # a new link: the old one is refused, the new one admits
    await _open_invites(host)
    shared = host.locator("#shared-link")
    old_id = await shared.get_attribute("data-invite")
    assert old_id
    await host.get_by_role("button", name="New link").click()
    await expect(shared).not_to_have_attribute("data-invite", old_id)
    new_link = await shared.locator("input").input_value()
    assert new_link != old_link
    await expect(host.locator("#invite-list li").first).to_contain_text("Active")
    await expect(host.locator("#invite-list")).to_contain_text("Replaced by a new link")
    await _close(host)

    guest_ctx, guest = await new_page(browser)
    await guest.goto(old_link)
    await expect(guest.locator("#msg-title")).to_have_text("This invite link was replaced")
    await expect(guest.locator("#msg-text")).to_contain_text("Ask the host for the new link")
    await shot(guest, "invites-replaced", full=False)
    await join(guest, new_link, "Gwen")

    # switched off: a page says so; switched on: it admits again
    await _open_invites(host)
    await host.get_by_role("button", name="Switch off").click()
    await expect(host.locator("#shared-off")).to_contain_text("switched off")
    await shot(host, "invites-switched-off", full=False)
    late_ctx, late = await new_page(browser)
    await late.goto(new_link)
    await expect(late.locator("#msg-title")).to_have_text("This invite link is switched off")
    await host.get_by_role("button", name="Switch on").click()
    await expect(host.locator("#shared-off")).to_have_count(0)
    await join(late, new_link, "Leo")
    await expect(host.locator("#shared-uses")).to_contain_text("joined with it")

    for page in (host, guest, late):
        assert js_errors(page) == []
    for ctx in (host_ctx, guest_ctx, late_ctx):
        await ctx.close()
