"""Moderation in the browser (issue 13, item 6): the "you were removed" page, slow mode's
countdown that keeps the text, blocked and masked words, de-duplicated toasts.

Rooms are made and joined over REST; the host acts through a WebSocket peer, and the viewer is
a real Chromium page holding the member token it would have after the join page.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.server.conftest import LiveServer
from tests.server.peers import Peer

MASK = "•••"


class Room:
    """A live room made over REST, its host as a WebSocket peer, and helpers to open pages."""

    def __init__(self, server: LiveServer, http: httpx.AsyncClient, data: dict[str, Any]) -> None:
        self.server, self.http, self.data = server, http, data
        self.room_id: str = data["room_id"]
        self.host: Peer | None = None
        self._op = 0

    async def connect_host(self) -> None:
        self.host = await Peer.open(self.server.ws_url(self.room_id))
        await self.host.hello(self.data["host"]["token"])

    async def command(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        assert self.host is not None
        self._op += 1
        op = f"h{self._op}"
        await self.host.send({"t": "cmd", "op": op, "name": name, "args": args})
        while True:
            msg = await self.host.recv()
            if msg.get("t") in ("ack", "err") and msg.get("op") == op:
                assert msg["t"] == "ack", msg
                return msg

    async def join(self, name: str) -> dict[str, Any]:
        r = await self.http.post(
            f"/api/v1/rooms/{self.room_id}/join",
            json={"invite": self.data["invite"]["token"], "name": name},
        )
        assert r.status_code == 201, r.text
        member: dict[str, Any] = r.json()
        return member

    async def open_page(
        self, browser: Browser, member: dict[str, Any]
    ) -> tuple[BrowserContext, Page]:
        context, page = await new_page(browser)
        stored = {
            "token": member["token"],
            "member_id": member["member_id"],
            "name": member.get("name", "Host"),
            "role": member.get("role", "viewer"),
        }
        key = f"coshop.member.{self.room_id}"
        await context.add_init_script(
            f"window.localStorage.setItem({json.dumps(key)}, {json.dumps(json.dumps(stored))});"
        )
        await page.goto(f"{self.server.base_url}/r/{self.room_id}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "online")
        return context, page

    async def close(self) -> None:
        if self.host is not None:
            await self.host.close()


@pytest.fixture
async def room(server: LiveServer) -> AsyncIterator[Room]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        r = await http.post(
            "/api/v1/rooms", json={"kind": "live", "title": "Friday drop", "host_name": "Hana"}
        )
        assert r.status_code == 201, r.text
        made = Room(server, http, r.json())
        await made.connect_host()
        try:
            yield made
        finally:
            await made.close()


async def _say(page: Page, text: str) -> None:
    await page.locator("#chat-input").fill(text)
    await page.locator("#chat-send").click()


async def test_a_kicked_viewer_gets_a_calm_removed_page_and_no_live_room(
    browser: Browser, room: Room
) -> None:
    vi = await room.join("Vi")
    context, page = await room.open_page(browser, vi)
    # a pile of toasts before: they go with the room
    await page.evaluate(
        "import('/static/js/util.js').then((m) => { for (const t of ['a', 'b']) m.toast(t); })"
    )
    await room.command("Kick", {"member_id": vi["member_id"]})
    removed = page.locator("#removed")
    await expect(removed).to_be_visible()
    await expect(removed.get_by_role("heading")).to_have_text("You were removed from this room")
    await expect(removed).to_contain_text("ask the host for a new invite link")
    await expect(removed.get_by_role("link", name="Go to the start page")).to_be_visible()
    # nothing live-looking behind it, and no toasts
    await expect(page.locator("#main")).to_be_hidden()
    await expect(page.locator("#chat-input")).to_be_hidden()
    await expect(page.locator("#conn")).to_be_hidden()
    await expect(page.locator("#toasts > *")).to_have_count(0)
    await shot(page, "moderation-removed")
    assert js_errors(page) == []
    await context.close()


async def test_a_banned_viewer_sees_the_ban_and_it_stays_after_a_reload(
    browser: Browser, room: Room
) -> None:
    vi = await room.join("Vi")
    context, page = await room.open_page(browser, vi)
    await room.command("Ban", {"member_id": vi["member_id"]})
    heading = page.locator("#removed").get_by_role("heading")
    await expect(heading).to_have_text("You can't rejoin this room")
    await page.reload()
    await expect(page.locator("#removed")).to_be_visible()
    await expect(page.locator("#removed")).to_contain_text("banned")
    await expect(page.locator("#main")).to_be_hidden()
    await expect(page.locator("#toasts > *")).to_have_count(0)
    assert js_errors(page) == []
    await context.close()


async def test_the_join_page_tells_a_banned_browser_first(browser: Browser, room: Room) -> None:
    invite = f"{room.server.base_url}/join/{room.room_id}?invite={room.data['invite']['token']}"
    context, page = await new_page(browser)
    await page.goto(invite)
    await page.get_by_label("Display name").fill("Cy")
    await page.get_by_role("button", name="Join room").click()
    await page.wait_for_url("**/r/*")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    stored = await page.evaluate(f"localStorage.getItem('coshop.member.{room.room_id}')")
    cy = json.loads(stored)["member_id"]
    await room.command("Ban", {"member_id": cy})
    await expect(page.locator("#removed")).to_be_visible()

    # the invite again: the ban comes first, with no way back in and nothing to share
    await page.goto(invite)
    notice = page.locator("#removed-notice")
    await expect(notice.get_by_role("heading")).to_have_text("You can't join this room")
    await expect(notice).to_contain_text("blocked you from coming back")
    await expect(page.get_by_role("link", name=re.compile("Back to the room"))).to_have_count(0)
    await expect(page.locator("#join-form")).to_be_hidden()
    await expect(page.locator("section.invite")).to_be_hidden()
    await shot(page, "join-banned")
    assert js_errors(page) == []
    await context.close()


async def test_slow_mode_keeps_the_text_and_counts_down(browser: Browser, room: Room) -> None:
    await room.command("SetSlowMode", {"seconds": 30})
    vi = await room.join("Vi")
    context, page = await room.open_page(browser, vi)
    await _say(page, "first one")
    await expect(page.locator("#messages")).to_contain_text("first one")
    await expect(page.locator("#chat-input")).to_have_value("")
    # the next message waits: the button counts down and the box keeps what was typed
    await page.locator("#chat-input").fill("second one")
    button = page.locator("#chat-send")
    await expect(button).to_be_disabled()
    await expect(button).to_have_text(re.compile(r"^Wait \d+ s$"))
    await expect(page.locator("#chat-countdown")).to_contain_text("you can send again in")
    await page.locator("#chat-input").press("Enter")
    await expect(page.locator("#chat-input")).to_have_value("second one")
    # after a reload the page does not know when it last sent: the room refuses, and the
    # refused text stays in the box with the countdown the room gave
    await page.reload()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    await _say(page, "third one")
    await expect(page.locator("#chat-send")).to_have_text(re.compile(r"^Wait \d+ s$"))
    await expect(page.locator("#chat-input")).to_have_value("third one")
    await expect(page.locator("#messages")).not_to_contain_text("third one")
    await expect(page.locator("#toasts > *")).to_have_count(0)
    await shot(page, "moderation-slow-mode")
    assert js_errors(page) == []
    await context.close()


async def test_a_masked_word_shows_as_dots_and_a_blocked_one_stays_in_the_box(
    browser: Browser, room: Room
) -> None:
    words = [{"word": "darn", "action": "mask"}, {"word": "scam", "action": "block"}]
    await room.command("SetRoomWordList", {"entries": words})
    vi = await room.join("Vi")
    context, page = await room.open_page(browser, vi)
    await _say(page, "DARN good price")
    await expect(page.locator("#messages")).to_contain_text(f"{MASK} good price")
    await expect(page.locator("#messages")).not_to_contain_text("DARN")
    await _say(page, "this is a sc\u200bam")
    note = page.locator("#chat-note")
    await expect(note).to_contain_text("Not sent")
    await expect(note).to_contain_text("“scam”")
    await expect(page.locator("#chat-input")).to_have_value("this is a sc\u200bam")
    await expect(page.locator("#messages")).not_to_contain_text("this is a")

    # staff see the rules and what the room blocked
    host_member = {**room.data["host"], "name": "Hana", "role": "host"}
    host_context, host = await room.open_page(browser, host_member)
    rules = host.locator("#word-rules")
    await rules.locator("summary").click()
    await expect(rules.locator("#word-list")).to_contain_text("darn")
    await expect(rules.locator("#word-list")).to_contain_text("scam")
    await host.locator("#word-input").fill("Heck")
    await host.locator("#word-action").select_option("mask")
    await rules.get_by_role("button", name="Add").click()
    await expect(rules.locator("#word-list")).to_contain_text("heck")
    await _say(page, "heck yes")
    await expect(page.locator("#messages")).to_contain_text(f"{MASK} yes")
    await _say(page, "scam")
    await expect(rules.locator("#mod-log")).to_contain_text("message blocked")
    await shot(host, "moderation-chat-rules")
    assert js_errors(page) == [] and js_errors(host) == []
    await host_context.close()
    await context.close()


async def test_three_blocked_messages_mute_the_viewer_for_a_while(
    browser: Browser, room: Room
) -> None:
    await room.command("SetRoomWordList", {"entries": [{"word": "scam"}]})
    vi = await room.join("Vi")
    context, page = await room.open_page(browser, vi)
    for i in range(3):
        await _say(page, f"scam {i}")
        await expect(page.locator("#chat-note")).to_contain_text("Not sent" if i < 2 else "muted")
    await expect(page.locator("#slow-notice")).to_contain_text("You are muted until")
    await context.close()


async def test_the_same_toast_is_shown_once_with_a_count(browser: Browser, room: Room) -> None:
    vi = await room.join("Vi")
    context, page = await room.open_page(browser, vi)
    await page.evaluate(
        "import('/static/js/util.js').then((m) => {"
        " for (let i = 0; i < 4; i++) m.toast('Slow down a little.', 'error'); m.toast('Other'); })"
    )
    toasts = page.locator("#toasts > .toast")
    await expect(toasts).to_have_count(2)
    await expect(toasts.first).to_contain_text("Slow down a little.")
    await expect(toasts.first).to_contain_text("\u00d74")  # a multiplication sign and 4
    assert js_errors(page) == []
    await context.close()
