"""One member, six tabs: the sixth socket replaces the oldest (close 4409), and the replaced tab
stops and says why instead of reconnecting (which replaced the next tab, and so on: 13 sockets in
8 seconds). Its "Use here" button takes the room back, and then another tab is the replaced one.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, Page, WebSocket, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

MESSAGE = "This room is open in another tab or window"
QUIET_S = 3.0  # long enough for a reconnect storm to show (it opened a socket every ~0.6 s)


def _count_sockets(page: Page, counts: dict[Page, int]) -> None:
    counts[page] = 0

    def opened(ws: WebSocket) -> None:
        if "/ws/rooms/" in ws.url:
            counts[page] += 1

    page.on("websocket", opened)


async def test_a_sixth_tab_replaces_the_oldest_which_stops_and_offers_to_take_over(
    browser: Browser, server: LiveServer
) -> None:
    ctx_host, host = await new_page(browser)
    await create_room(host, server, kind="group", title="Six tabs", name="Ada")
    url = await invite_url(host)

    ctx, first = await new_page(browser)  # one person: every page of this context shares a token
    counts: dict[Page, int] = {}
    _count_sockets(first, counts)
    await join(first, url, "Bea")
    room_url = first.url
    tabs = [first]
    for _ in range(5):
        tab = await ctx.new_page()
        _count_sockets(tab, counts)
        await tab.goto(room_url)
        await expect(tab.locator("#conn")).to_have_attribute("data-state", "online")
        tabs.append(tab)

    # the oldest tab was replaced: it says why, offers a real button, and stays closed
    replaced = first.get_by_role("alert").filter(has_text=MESSAGE)
    await expect(replaced).to_be_visible()
    await expect(first.get_by_role("button", name="Use here")).to_be_visible()
    await expect(first.locator("#conn")).to_have_attribute("data-state", "closed")
    await shot(first, "tab-replaced", full=False)
    await asyncio.sleep(QUIET_S)
    assert [counts[t] for t in tabs] == [1] * 6  # nobody reconnected by itself
    for tab in tabs[1:]:
        await expect(tab.locator("#conn")).to_have_attribute("data-state", "online")
        await expect(tab.locator("#replaced")).to_be_hidden()

    # taking over reconnects this tab and replaces the oldest other one, which stops in turn
    await first.get_by_role("button", name="Use here").click()
    await expect(first.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(first.locator("#replaced")).to_be_hidden()
    second = tabs[1]
    await expect(second.get_by_role("alert").filter(has_text=MESSAGE)).to_be_visible()
    await expect(second.locator("#conn")).to_have_attribute("data-state", "closed")
    await asyncio.sleep(QUIET_S)
    assert [counts[t] for t in tabs] == [2, 1, 1, 1, 1, 1]
    for tab in tabs[2:]:
        await expect(tab.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(first.locator("#conn")).to_have_attribute("data-state", "online")

    # the tab that took over is a working tab: what it sends reaches the room
    await first.get_by_label("Message", exact=True).fill("from the tab I use")
    await first.keyboard.press("Enter")
    await expect(host.locator("#messages .msg .text")).to_have_text(["from the tab I use"])
    assert all(js_errors(t) == [] for t in [host, *tabs])
    await ctx.close()
    await ctx_host.close()
