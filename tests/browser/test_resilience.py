"""Connection resilience: visible state, commands queued while offline, resume, no duplicates."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, Route, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


async def test_offline_commands_are_queued_and_applied_once(
    browser: Browser, server: LiveServer
) -> None:
    ctx_a, ada = await new_page(browser)
    ctx_b, bob = await new_page(browser)
    await create_room(ada, server, kind="group", title="Resilience", name="Ada")
    await join(bob, await invite_url(ada), "Bob")

    await bob.get_by_label("Message", exact=True).fill("before")
    await bob.keyboard.press("Enter")
    await expect(ada.locator("#messages .msg")).to_have_count(1)
    # Ada can see "before" a moment before Bob's own ack arrives: the outbox must be empty first,
    # else "before" is one of the changes waiting (and is sent again, harmlessly, on resume)
    await bob.wait_for_function("() => window.coshopRoom.conn.outbox.size === 0")

    # Bob loses the network: the page says so and keeps his changes
    await ctx_b.set_offline(True)
    await expect(bob.locator("#conn")).not_to_have_attribute("data-state", "online")
    for text in ("one", "two"):
        await bob.get_by_label("Message", exact=True).fill(text)
        await bob.keyboard.press("Enter")
    await bob.locator('.product[data-sku="tent-2p"] .add').click()
    await expect(bob.locator("#conn")).to_contain_text("3 changes waiting")
    await shot(bob, "offline", full=False)

    # meanwhile Ada keeps chatting: Bob must catch up on resume
    await ada.get_by_label("Message", exact=True).fill("while you were away")
    await ada.keyboard.press("Enter")

    await ctx_b.set_offline(False)
    await expect(bob.locator("#conn")).to_have_attribute("data-state", "online", timeout=15_000)
    for page in (ada, bob):
        await expect(page.locator("#messages .msg")).to_have_count(4)
        await expect(page.locator("#cart .line")).to_have_count(1)
    texts = await bob.locator("#messages .msg .text").all_text_contents()
    assert sorted(texts) == sorted(["before", "while you were away", "one", "two"])

    # a reload resumes from a fresh snapshot with the same state
    await bob.reload()
    await expect(bob.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(bob.locator("#messages .msg")).to_have_count(4)
    await expect(bob.locator("#cart .line")).to_have_count(1)
    assert js_errors(ada) == [] and js_errors(bob) == []
    await ctx_a.close()
    await ctx_b.close()


async def test_a_command_whose_ack_was_lost_is_retried_not_repeated(
    browser: Browser, server: LiveServer
) -> None:
    ctx, ada = await new_page(browser)
    await create_room(ada, server, kind="group", title="Retry", name="Ada")
    # send a command and drop the socket at once: the ack is lost, the op stays in the outbox,
    # and after the reconnect it is sent again with retry:true under the same op id
    sent = await ada.evaluate(
        """() => {
            const conn = window.coshopRoom.conn;
            const frames = [];
            const original = WebSocket.prototype.send;
            WebSocket.prototype.send = function (data) {
                frames.push(String(data));
                return original.call(this, data);
            };
            conn.command("PostMessage", { text: "exactly once" });
            conn.ws.close();
            window.sentFrames = frames;
            return frames.length;
        }"""
    )
    assert sent == 1
    await expect(ada.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(ada.locator("#messages .msg")).to_have_count(1)
    frames = await ada.evaluate("() => window.sentFrames.filter((f) => f.includes('exactly once'))")
    assert len(frames) == 2 and '"retry":true' in frames[1]
    await ada.reload()
    await expect(ada.locator("#messages .msg")).to_have_count(1)
    assert js_errors(ada) == []
    await ctx.close()


async def test_nothing_typed_before_the_scripts_load_is_lost_or_sent_natively(
    browser: Browser, server: LiveServer
) -> None:
    """A slow network: the visitor types before the page's module has run.

    The submit buttons wait for the module (so Enter cannot submit the form natively and put the
    text into a query string), and a name typed meanwhile is not replaced by the remembered one.
    """
    ctx_a, ada = await new_page(browser)
    await create_room(ada, server, kind="group", title="Slow network", name="Ada")
    url = await invite_url(ada)

    ctx_b, bob = await new_page(browser)
    # a remembered name from an earlier visit must not replace what Bob types now
    await bob.goto(server.base_url + "/healthz")
    await bob.evaluate("() => localStorage.setItem('coshop.name', 'Old name')")
    release = asyncio.Event()

    async def slow_module(route: Route) -> None:
        await release.wait()
        await route.continue_()

    await bob.route("**/static/js/join.js", slow_module)
    await bob.goto(url, wait_until="commit")  # module scripts hold DOMContentLoaded back
    join_button = bob.get_by_role("button", name="Join room")
    await expect(join_button).to_be_disabled()
    await bob.get_by_label("Display name").fill("Bob")
    await bob.keyboard.press("Enter")  # implicit submission is blocked while the button waits
    await asyncio.sleep(0.2)
    assert bob.url == url  # no native GET with ?name=Bob
    release.set()
    await expect(join_button).to_be_enabled()
    await expect(bob.get_by_label("Display name")).to_have_value("Bob")
    await join_button.click()
    await bob.wait_for_url("**/r/*")
    await expect(bob.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(bob.locator("#me-name")).to_have_text("You: Bob")
    assert js_errors(ada) == [] and js_errors(bob) == []
    await ctx_a.close()
    await ctx_b.close()
