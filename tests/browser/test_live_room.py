"""A live room: the host's stage and controls, an audience of viewers, moderation."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room, invite_url, join
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


async def test_live_room_host_and_audience(browser: Browser, server: LiveServer) -> None:
    ctx_h, host = await new_page(browser)
    await create_room(host, server, kind="live", title="Gear drop", name="Hana")
    url = await invite_url(host)

    # the host attaches a stream, pins a product and announces
    await host.get_by_label("Stream URL (HLS .m3u8 or embed URL)").fill(
        "https://video.example/live/gear.m3u8"
    )
    await host.get_by_role("button", name="Set stream").click()
    await expect(host.locator("#stream video")).to_have_attribute(
        "data-src", re.compile(r"\.m3u8$")
    )
    await (
        host.locator('.product[data-sku="tent-2p"]')
        .get_by_role("button", name=re.compile("^View"))
        .click()
    )
    await host.get_by_role("button", name="Pin to stage").click()
    await expect(host.locator('#pins .pin[data-sku="tent-2p"]')).to_be_visible()
    await (
        host.locator('.product[data-sku="jacket-squall"]')
        .get_by_role("button", name=re.compile("^View"))
        .click()
    )
    await host.get_by_role("button", name="Pin to stage").click()
    await expect(host.locator("#pins .pin")).to_have_count(2)

    viewers = []
    for name in ("Vic", "Val", "Vera"):
        ctx, page = await new_page(browser, phone=name == "Vera")
        await join(page, url, name)
        viewers.append((ctx, page))
    vic, val, vera = (p for _c, p in viewers)

    await expect(host.locator("#viewer-count")).to_contain_text("4 watching")
    for page in (vic, val, vera):
        await expect(page.locator('#pins .pin[data-sku="tent-2p"]')).to_be_visible()
        await expect(page.locator("#stream video")).to_be_attached()
        await expect(page.locator("#host-tools")).to_be_hidden()

    await host.get_by_label("Announcement").fill("20% off tents for the next hour")
    await host.get_by_role("button", name="Announce").click()
    await expect(vera.locator("#announcements")).to_contain_text("20% off tents")

    # a viewer adds the pinned product to their own cart; others do not see that line
    await (
        vic.locator('#pins .pin[data-sku="tent-2p"]')
        .get_by_role("button", name=re.compile("^Add to cart"))
        .click()
    )
    await expect(vic.locator("#cart .line")).to_have_count(1)
    await expect(host.locator("#cart .line")).to_have_count(1)  # staff see all lines
    assert await val.locator("#cart .line").count() == 0

    # on a phone, the pinned jacket's one button asks for the size (the variant sheet), and the
    # video under which it sits is not rebuilt by any of it
    await vera.locator("#stream video").evaluate("node => { node.coshopMark = 'kept'; }")
    await (
        vera.locator('#pins .pin[data-sku="jacket-squall"]')
        .get_by_role("button", name="Add to cart: Squall Rain Jacket")
        .click()
    )
    sheet = vera.locator("#variant-sheet")
    await expect(sheet).to_be_visible()
    await shot(vera, "live-viewer-phone-sheet", full=False)
    await sheet.locator('label[for="sheet-v-jacket-squall-l"]').click()
    await sheet.locator("#sheet-add").click()
    await expect(sheet).to_be_hidden()
    line = vera.locator("#cart .line")
    await expect(line).to_have_count(1)
    await expect(line.locator(".line-title")).to_have_text("Squall Rain Jacket — L")
    assert await vera.locator("#stream video").evaluate("node => node.coshopMark === 'kept'")

    # chat and reactions; the video element is never rebuilt by them (it would restart)
    await vera.locator("#stream video").evaluate("node => { node.dataset.mark = 'kept'; }")
    await val.get_by_label("Message", exact=True).fill("love it")
    await val.keyboard.press("Enter")
    await vic.get_by_label("Message", exact=True).fill("buy buy buy")
    await vic.keyboard.press("Enter")
    await expect(host.locator("#messages .msg")).to_have_count(2)
    await expect(host.locator("#messages .msg").first.locator(".author")).to_have_text("Val")
    await vera.get_by_role("button", name="React 🔥").click()
    await expect(host.locator("#reaction-burst .bubble").first).to_be_attached()
    await expect(vera.locator("#messages .msg")).to_have_count(2)
    await expect(vera.locator("#stream video")).to_have_attribute("data-mark", "kept")

    # a viewer's tools come from the server (view.you.may): their own message only, no moderation
    others = vic.locator("#messages .msg", has_text="love it")
    await expect(others.get_by_role("button")).to_have_count(0)
    mine = vic.locator("#messages .msg", has_text="buy buy buy")
    await expect(mine.get_by_role("button", name="Delete message")).to_be_visible()
    await expect(mine.get_by_role("button", name=re.compile("^(Mute|Ban)"))).to_have_count(0)

    # slow mode: the audience is told
    await host.get_by_label("Slow mode").select_option("15")
    await expect(vera.locator("#slow-notice")).to_contain_text("one message every 15 s")

    # moderation: delete a message, mute one viewer, ban another
    msg = host.locator("#messages .msg", has_text="buy buy buy")
    await msg.get_by_role("button", name="Delete message").click()
    await expect(val.locator("#messages")).not_to_contain_text("buy buy buy")
    await (
        host.locator("#messages .msg", has_text="love it")
        .get_by_role("button", name="Mute Val")
        .click()
    )
    await expect(val.locator("#slow-notice")).to_contain_text("You are muted")
    await val.get_by_label("Message", exact=True).fill("hello?")
    await val.keyboard.press("Enter")
    # refused: the text is given back to fix or send later, and nobody else sees it
    await expect(val.get_by_label("Message", exact=True)).to_have_value("hello?")
    await expect(host.locator("#messages .msg")).to_have_count(1)
    await expect(host.locator("#messages")).not_to_contain_text("hello?")
    host.once("dialog", lambda d: d.accept())
    await (
        host.locator("#messages .msg", has_text="love it")
        .get_by_role("button", name="Ban Val")
        .click()
    )
    # one honest count, the same for everyone: the ban took Val out of it (what Val sees then
    # is the moderation's, tested with it)
    for page in (host, vic, vera):
        await expect(page.locator("#viewer-count")).to_have_text("3 watching")
    await expect(vera.locator(".badge.live")).to_have_count(1)
    await expect(vera.get_by_text("Live", exact=True)).to_have_count(1)

    # a reconnect is not a second viewer; a leave is one fewer; coming back is one more
    await vic.evaluate("() => window.coshopRoom.conn.ws.close()")
    await expect(vic.locator("#conn")).to_have_attribute("data-state", "online")
    for page in (host, vic, vera):
        await expect(page.locator("#viewer-count")).to_have_text("3 watching")
    vera_url = vera.url
    await vera.close()
    for page in (host, vic):
        await expect(page.locator("#viewer-count")).to_have_text("2 watching")
    vera = await viewers[2][0].new_page()
    await vera.goto(vera_url)
    # (a slow machine may take a retry or two to say hello)
    await expect(vera.locator("#conn")).to_have_attribute("data-state", "online", timeout=30_000)
    for page in (host, vic, vera):
        await expect(page.locator("#viewer-count")).to_have_text("3 watching")

    # the video stays in sight while the page scrolls to the catalogue, on a phone and a desktop
    for page in (host, vic, vera):
        await page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        await expect(page.locator("#stage .player")).to_be_in_viewport(ratio=0.9)
        await expect(page.locator('#pins .pin[data-sku="tent-2p"]')).to_be_in_viewport()
    await shot(vera, "live-viewer-phone-scrolled", full=False)
    await shot(vic, "live-viewer-desktop-scrolled", full=False)
    for page in (host, vic, vera):
        await page.evaluate("() => window.scrollTo(0, 0)")
    await shot(host, "live-host", full=False)
    await shot(vic, "live-viewer-desktop", full=False)
    await shot(vera, "live-viewer-phone", full=False)
    for page in (host, vic):
        assert js_errors(page) == []
    for ctx, _page in viewers:
        await ctx.close()
    await ctx_h.close()
