"""Identity in the browser: a guest browser is one member, bans stick to it, customers sign in.

The host acts over a bare WebSocket peer and REST; the guests are Chromium contexts (each its
own storage: its own device secret). A documented limit: an anonymous ban is as strong as a
browser profile (a fresh context is a new guest); a customers-only room makes bans as strong as
the shop's accounts.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import jwt
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.server.conftest import LiveServer
from tests.server.peers import Peer

pytestmark = pytest.mark.browser


async def _invite(http: httpx.AsyncClient, room: dict[str, Any]) -> str:
    r = await http.post(
        f"/api/v1/rooms/{room['room_id']}/invites",
        json={"role": "viewer"},
        headers={"authorization": f"Bearer {room['host']['token']}"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


async def _member_id(page: Page, room_id: str) -> str:
    raw = await page.evaluate(f"localStorage.getItem('coshop.member.{room_id}')")
    return str(json.loads(raw)["member_id"])


async def _submit(page: Page, url: str, name: str | None) -> None:
    await page.goto(url)
    if name is not None:
        await page.get_by_label("Display name").fill(name)
    await page.get_by_role("button", name="Join room").click()


async def _enter(page: Page, url: str, name: str | None) -> None:
    await _submit(page, url, name)
    await page.wait_for_url("**/r/*")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online")


async def test_a_guest_browser_is_one_member_and_a_ban_follows_it(
    browser: Browser, server: LiveServer
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        r = await http.post(
            "/api/v1/rooms", json={"kind": "live", "title": "Drop", "host_name": "H"}
        )
        room = r.json()
        rid = room["room_id"]
        host = await Peer.open(server.ws_url(rid))
        await host.hello(room["host"]["token"])
        context, page = await new_page(browser)
        await _enter(page, room["invite"]["url"], "Gus")
        gus = await _member_id(page, rid)
        # the same browser through another invite: the same member
        await _enter(page, await _invite(http, room), "Gus again")
        assert await _member_id(page, rid) == gus
        # banned: every invite of the room refuses this browser, with a message that says so
        await host.send({"t": "cmd", "op": "b", "name": "Ban", "args": {"member_id": gus}})
        assert (await host.recv_until("ack"))["op"] == "b"
        fresh_invite = await _invite(http, room)
        # (the page asks before anyone types a name: no form to fill, the ban said first)
        await page.goto(fresh_invite)
        await expect(page.locator("#removed-notice")).to_contain_text("blocked you from coming")
        await expect(page.locator("#join-form")).to_be_hidden()
        # and the join itself refuses this browser under another name
        r = await http.post(
            f"/api/v1/rooms/{rid}/join",
            json={
                "invite": fresh_invite.split("invite=")[1],
                "name": "Not Gus",
                "device": await page.evaluate("localStorage.getItem('coshop.device')"),
            },
        )
        assert r.status_code == 403 and r.json()["code"] == "banned"
        await shot(page, "identity-banned", full=False)
        # a fresh browser profile is a new guest (the documented limit of anonymous bans)
        other_context, other = await new_page(browser)
        await _enter(other, fresh_invite, "Newcomer")
        assert await _member_id(other, rid) != gus
        assert js_errors(page) == [] and js_errors(other) == []
        await other_context.close()
        await context.close()
        await host.close()


async def test_a_customers_only_room_asks_for_sign_in_and_admits_a_signed_in_customer(
    browser: Browser, server: LiveServer
) -> None:
    registry = server.app_state.registry
    secret = "cs_" + "s" * 43
    await registry.rotate_signing_secret("demo", secret, int(time.time() * 1000))
    await registry.set_sign_in_url("demo", "https://shop.example/login")
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        r = await http.post(
            "/api/v1/rooms",
            json={"kind": "live", "title": "Members night", "join_policy": "customers_only"},
        )
        assert r.status_code == 201, r.text
        room = r.json()
    context, page = await new_page(browser)
    await _submit(page, room["invite"]["url"], "Anon")
    await expect(page.locator("#customers-only")).to_be_visible()
    await expect(page.locator("#join-form")).to_have_attribute("data-refused", "sign_in_required")
    await expect(page.locator("#join-error")).to_contain_text("only for signed-in customers")
    link = page.locator("#sign-in-link")
    await expect(link).to_have_attribute(
        "href", re.compile(r"^https://shop\.example/login\?return_to=http")
    )
    await shot(page, "identity-sign-in", full=False)
    # back from the shop's sign-in with a token in the fragment: joins under the signed name
    token = jwt.encode(
        {"iss": "demo", "sub": "cust-9", "name": "Carla", "exp": int(time.time()) + 600}, secret
    )
    await page.goto("about:blank")  # a new document, not a same-page jump to a fragment
    await _enter(page, f"{room['invite']['url']}#customer_token={token}", None)
    assert "customer_token" not in page.url
    raw = await page.evaluate(f"localStorage.getItem('coshop.member.{room['room_id']}')")
    assert json.loads(raw)["name"] == "Carla"
    assert js_errors(page) == []
    await context.close()
