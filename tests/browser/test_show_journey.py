"""Journey 2, a live show sells (JOURNEYS.md), played whole in Chromium: a host and three viewers.

The host schedules the show on its page (title, time, cover); Ana waits on it on her phone
(countdown, the .ics, "Remind me"); Ben reminds and takes it back. The host goes live and Ana's
waiting page moves her into the show; the host sets the stream (an HLS VOD ffmpeg made, served
from loopback as a CDN would), pins a tent and a jacket and announces. Ana buys the tent with
"Buy now" and Ben the jacket in a size (the variant sheet), each paying on the sandbox's hosted
page in a tab of its own; the host sees two orders and the revenue. Cy spams the chat and the
host bans him: Cy's page says so and he cannot come back, by the room, the show page or the
invite. The host ends the show and publishes its recording — an MP4 (the replay's first MP4 in a
browser), served with byte ranges as a CDN does — and Ana shops the replay: markers at the pins
and the announcement, a jump to the jacket's, a size, "Add to cart", checkout in the room, paid.

Between the pin and the purchases the host runs a drop (JOURNEYS 2.4): two tents at a drop price
with a countdown; everyone sees it, Ben claims one, closes the payment tab, reloads (the card
still says how long he has to pay) and pays; the count goes down for everyone and the host sees
it claimed and paid. When the host ends the show, the open room pages say so and then link the
replay, where the drop is a marker too.

Each step is a function of its own over the shared cast, called in the journey's order.
Screenshots: ``artifacts/screenshots/journey-*.png``.
"""

from __future__ import annotations

import datetime
import functools
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room
from tests.browser.test_accessibility import serious_violations
from tests.server.checkout.support import Env, checkout_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

RECORDING_S = 60
OFFSET_S = 2  # the encoder started two seconds before the host pressed "Go live"


# ---- the video: one ffmpeg recording, as an MP4 and as an HLS playlist, behind a "CDN" --------


def _ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ffmpeg is required in CI (scripts/install-media.sh)")
        pytest.skip("ffmpeg is not installed (scripts/install-media.sh)")
    return found


class _Cdn(SimpleHTTPRequestHandler):
    """One folder, readable from any origin, answering byte ranges (``Range: bytes=a-b``) as a
    CDN does: a browser seeks in an MP4 with them."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def do_GET(self) -> None:
        wanted = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if wanted is None or not path.is_file():
            super().do_GET()
            return
        data = path.read_bytes()
        first = int(wanted.group(1) or 0)
        last = min(int(wanted.group(2) or len(data) - 1), len(data) - 1)
        if first > last:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.end_headers()
            return
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
        self.send_header("Content-Length", str(last - first + 1))
        self.end_headers()
        self.wfile.write(data[first : last + 1])

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass(frozen=True)
class Media:
    stream: str  # the "live" stream: HLS
    recording: str  # the show's recording: MP4


@pytest.fixture
def media(tmp_path: Path) -> Iterator[Media]:
    folder = tmp_path / "cdn"
    folder.mkdir()
    ffmpeg = [_ffmpeg(), "-hide_banner", "-loglevel", "error"]
    source = ["-f", "lavfi", "-i", f"testsrc=size=320x180:rate=15:duration={RECORDING_S}"]
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline"]
    h264 += ["-pix_fmt", "yuv420p", "-g", "15"]
    mp4 = folder / "show.mp4"
    subprocess.run([*ffmpeg, *source, *h264, "-movflags", "+faststart", str(mp4)], check=True)
    hls = ["-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"]
    hls += ["-hls_segment_filename", str(folder / "seg%03d.ts"), str(folder / "live.m3u8")]
    subprocess.run([*ffmpeg, "-i", str(mp4), *hls], check=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Cdn, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield Media(stream=f"{base}/live.m3u8", recording=f"{base}/show.mp4")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# ---- the cast ------------------------------------------------------------------------------


@dataclass
class Person:
    name: str
    ctx: BrowserContext
    page: Page


@dataclass
class Cast:
    env: Env
    media: Media
    host: Person
    ana: Person  # waits on her phone, buys the tent, shops the replay
    ben: Person  # buys the jacket in a size
    cy: Person  # spams, is banned
    room_id: str = ""
    show_url: str = ""
    room_url: str = ""
    invite_url: str = ""
    joined: dict[str, int] = field(default_factory=dict)

    @property
    def people(self) -> tuple[Person, ...]:
        return (self.host, self.ana, self.ben, self.cy)


async def _person(browser: Browser, name: str, *, phone: bool = False) -> Person:
    ctx, page = await new_page(browser, phone=phone)
    return Person(name, ctx, page)


async def _join_from_show_page(cast: Cast, who: Person) -> None:
    """A viewer who never joined opens the show's page while it is live: moved to the join
    page of the show's invite, a name, then the room."""
    page = who.page
    await page.wait_for_url(re.compile(r"/join/"), timeout=20_000)
    cast.invite_url = page.url
    await page.get_by_label("Display name").fill(who.name)
    await page.get_by_role("button", name="Join room").click()
    await page.wait_for_url(f"**/r/{cast.room_id}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online")


async def _pay(cast: Cast, who: Person, start: Locator, tag: str) -> None:
    """Tap ``start``; pay with the test card on the hosted page in the tab it opens; back."""
    async with who.ctx.expect_page() as opened:
        await start.click()
    tab = await opened.value
    await tab.wait_for_url(f"{cast.env.sandbox_url}/**")
    await tab.get_by_label("Card number").fill("4242 4242 4242 4242")
    await tab.get_by_label("Expiry (MM/YY)").fill("12/39")
    await tab.get_by_label("CVC").fill("123")
    await shot(tab, f"journey-{tag}-hosted-page", full=False)
    await tab.get_by_role("button", name=re.compile(r"^Pay \$[0-9]")).click()
    await tab.wait_for_url(f"{cast.env.base_url}/checkout/return**")
    await tab.close()
    sheet = who.page.locator("#order-sheet")
    await expect(sheet).to_be_visible()
    await expect(sheet.locator(".order-card").first).to_contain_text("Paid ✔")


_OVERLAPS = """() => {
  // what sits on the picture, each measured as if shown (a ticker item hides after 6 s, the
  // sound button while the video is unmuted): none may cover another
  const boxes = [];
  const measure = (name, node) => {
    if (!node) return;
    const hidden = node.hidden, gone = node.classList.contains("gone");
    node.hidden = false; node.classList.remove("gone");
    const r = node.getBoundingClientRect();
    node.hidden = hidden; if (gone) node.classList.add("gone");
    if (r.width && r.height) boxes.push([name, r]);
  };
  measure("live badge", document.querySelector("#stage .on-air"));
  measure("tap for sound", document.querySelector("#stage .player-unmute"));
  measure("announcement", document.querySelector("#announcements .announcement"));
  measure("ticker", [...document.querySelectorAll("#buy-ticker-feed .buy-ticker-item")].pop());
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, ra] = boxes[i], [b, rb] = boxes[j];
    const apart = ra.right <= rb.left || rb.right <= ra.left
      || ra.bottom <= rb.top || rb.bottom <= ra.top;
    if (!apart) out.push(a + " / " + b);
  }
  return [boxes.map(([name]) => name), out];
}"""


async def _nothing_overlaps_on_the_video(page: Page) -> None:
    names, overlaps = await page.evaluate(_OVERLAPS)
    assert {"live badge", "tap for sound", "ticker"} <= set(names), names
    assert overlaps == [], overlaps


# ---- the steps -----------------------------------------------------------------------------


async def _schedule(cast: Cast) -> None:
    """The host makes the live room and schedules its show on the show's page."""
    host = cast.host.page
    cast.room_id = await create_room(
        host, cast.env.base_url, kind="live", title="Trail gear live", name="Hana"
    )
    cast.room_url = f"{cast.env.base_url}/r/{cast.room_id}"
    cast.show_url = f"{cast.room_url}/show"
    await host.get_by_role("link", name=re.compile("^The show's page")).click()
    await host.wait_for_url(cast.show_url)
    await expect(host.get_by_role("heading", name="Schedule this show")).to_be_visible()
    start = datetime.datetime.now() + datetime.timedelta(minutes=3)  # the form is local time
    await host.get_by_label("Title").fill("Boots & shells: trail week")
    await host.get_by_label("Starts at (your time)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    await host.get_by_label("Cover picture URL").fill(
        f"{cast.env.base_url}/static/demo/img/boots-trailbreaker.svg"
    )
    await host.get_by_label("What's on the show").fill(
        "Rain shells in every size, a 2-person tent."
    )
    await host.get_by_role("button", name="Save the schedule").click()
    await expect(host.locator("#show-title")).to_have_text("Boots & shells: trail week")
    await expect(host.get_by_role("button", name="● Go live now")).to_be_visible()
    await expect(host.get_by_role("button", name="Cancel the show")).to_be_visible()
    await shot(host, "journey-01-host-scheduled")


async def _wait_for_it(cast: Cast) -> None:
    """Ana waits on her phone: countdown, calendar, Remind me. Ben reminds, then takes it back."""
    ana, ben = cast.ana.page, cast.ben.page
    await ana.goto(cast.show_url)
    await expect(ana.locator("#show-host")).to_have_text("Hana")
    await expect(ana.locator("#show-cover")).to_be_visible()
    await expect(ana.locator("#countdown [data-unit=m]")).to_have_text(re.compile(r"^0[0-3]$"))
    await expect(ana.locator("#show-state")).to_have_text(re.compile(r"Starts in \d min"))
    await expect(ana.locator("#host-panel")).to_be_hidden()
    ics = await ana.get_by_role("link", name="📅 Add to calendar").get_attribute("href")
    assert ics is not None
    r = await ana.request.get(ics)
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    text = await r.text()
    assert "BEGIN:VEVENT" in text and "Boots & shells: trail week" in text
    assert "STATUS:CANCELLED" not in text
    await ana.get_by_role("button", name="🔔 Remind me").click()
    await expect(ana.locator("#remind-btn")).to_have_text("✓ We'll remind you")
    await expect(ana.locator("#waiting-count")).to_have_text("1 waiting for this show")

    await ben.goto(cast.show_url)
    await ben.get_by_role("button", name="🔔 Remind me").click()
    await expect(ben.locator("#waiting-count")).to_have_text("2 waiting for this show")
    await ben.locator("#remind-btn").click()  # changed his mind: pressed again, taken back
    await expect(ben.locator("#remind-btn")).to_have_attribute("aria-pressed", "false")
    await expect(ben.locator("#remind-btn")).to_have_text("🔔 Remind me")
    await expect(ben.locator("#remind-msg")).to_contain_text("No reminder")
    await expect(ben.locator("#waiting-count")).to_have_text("1 waiting for this show")
    await ben.reload()  # and it stays taken back
    await expect(ben.locator("#remind-btn")).to_have_attribute("aria-pressed", "false")
    await shot(ana, "journey-02-viewer-waiting-phone")


async def _go_live(cast: Cast) -> None:
    """The host goes live: Ana's waiting page moves her in; the host opens the room and sets
    the stream; Ben and Cy arrive by the show's page."""
    host, ana = cast.host.page, cast.ana.page
    await host.get_by_role("button", name="● Go live now").click()
    await expect(host.get_by_role("link", name="Open the show room")).to_be_visible()
    await _join_from_show_page(cast, cast.ana)  # moved by her waiting page's poll
    await host.get_by_role("link", name="Open the show room").click()
    await host.wait_for_url(cast.room_url)
    await expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    await host.get_by_label("Stream URL (HLS .m3u8 or embed URL)").fill(cast.media.stream)
    await host.get_by_role("button", name="Set stream").click()
    for who in (cast.ben, cast.cy):
        await who.page.goto(cast.show_url)
        await _join_from_show_page(cast, who)
    for page in (host, ana):
        await expect(page.locator("#viewer-count")).to_have_text("4 watching")
    # the stream plays through hls.js on Ana's phone
    await ana.wait_for_function(
        "() => { const v = document.querySelector('#stream video');"
        " return v && v.readyState >= 2 && v.currentTime > 0; }",
        timeout=20_000,
    )
    await ana.locator("#stream video").evaluate("node => { node.coshopMark = 'kept'; }")
    await shot(ana, "journey-03-viewer-live-phone", full=False)


async def _pin(cast: Cast) -> None:
    """The host pins the tent and the jacket and announces; everyone sees them under the video."""
    host = cast.host.page
    for sku in ("tent-2p", "jacket-squall"):
        await (
            host.locator(f'.product[data-sku="{sku}"]')
            .get_by_role("button", name=re.compile("^View"))
            .click()
        )
        await host.get_by_role("button", name="Pin to stage").click()
        await expect(host.locator(f'#pins .pin[data-sku="{sku}"]')).to_be_visible()
    await host.get_by_label("Announcement").fill("Squall shells 20% off tonight")
    await host.get_by_role("button", name="Announce").click()
    await host.locator("#buy-ticker").check()
    for who in (cast.ana, cast.ben, cast.cy):
        await expect(who.page.locator("#pins .pin")).to_have_count(2)
        await expect(who.page.locator("#announcements")).to_contain_text("20% off")
        # said once, on the video: no toast repeats it (on a phone it covered the order sheet)
        await expect(who.page.locator("#toasts")).not_to_contain_text("20% off")
    # the host's "Audience carts" speaks to the host, not as a viewer's empty cart
    await expect(host.locator("#cart .empty")).to_have_text(
        re.compile("^No viewer has added anything yet")
    )
    # a desktop viewer (1280x900) reaches both products beside the video: both Buy now buttons
    # lie inside the pinned column, in sight, and no "more below" hint is needed for two
    ben = cast.ben.page
    column = await ben.locator("#pins").bounding_box()
    assert column is not None
    for title in ("Ridgeline 2-Person Tent", "Squall Rain Jacket"):
        buy = await ben.get_by_role("button", name=f"Buy now: {title}").bounding_box()
        assert buy is not None and buy["height"] > 0, title
        bottom = buy["y"] + buy["height"]
        assert column["y"] <= buy["y"] and bottom <= column["y"] + column["height"], title
        assert bottom <= 900, title
    await expect(ben.locator("#pins-more")).to_be_hidden()
    await expect(ben.locator("#pins-h")).to_have_text("Shop the show · 2")
    await shot(ben, "journey-04-viewer-pinned-desktop", full=False)


DROP_UNITS = 2


async def _drop(cast: Cast) -> None:
    """The host starts a drop on the pinned tent: two at $199 instead of $289, one per buyer, a
    two-minute countdown. Everyone sees the card; Ben claims one, closes the payment tab and
    reloads (still "pay within N min"), then pays; the count goes down for everyone and the host
    sees it claimed and paid."""
    host, ana, ben, cy = cast.host.page, cast.ana.page, cast.ben.page, cast.cy.page
    form = host.locator("#drop-form")
    await form.get_by_label("Product").select_option("tent-2p")
    await form.get_by_label("Drop price").fill("199")
    await form.get_by_label("Units").fill(str(DROP_UNITS))
    await form.get_by_label("Per buyer").fill("1")
    await form.get_by_label("Countdown").select_option("120")
    await form.get_by_role("button", name="Start drop").click()
    for page in (ana, ben, cy):
        card = page.locator("#drop-card")
        await expect(card).to_be_visible()
        await expect(card.locator(".drop-price")).to_have_text("$199.00")
        await expect(card.locator(".drop-regular")).to_have_text("$289.00")
        await expect(card.locator("#drop-remaining")).to_have_text(str(DROP_UNITS))
        await expect(card).to_contain_text(f"of {DROP_UNITS} left · limit 1 per buyer")
        await expect(card.locator("#drop-countdown")).to_have_text(re.compile(r"^[12]:\d\d$"))
    await expect(host.locator("#drop-stats")).to_contain_text("0 claimed")
    await expect(host.get_by_role("button", name="A drop is running")).to_be_disabled()
    await shot(ana, "journey-04b-drop-phone", full=False)

    # Ben claims: the room decides, his order opens at the drop price in a new tab; he closes it
    async with cast.ben.ctx.expect_page() as opened:
        await ben.get_by_role("button", name=re.compile("^⚡ Claim")).click()
    tab = await opened.value
    await tab.wait_for_url(f"{cast.env.sandbox_url}/**")
    await tab.close()
    won = ben.locator("#drop-card")
    await expect(won).to_contain_text(re.compile(r"You got it — pay within \d+ min"))
    for page in (ana, cy):
        await expect(page.locator("#drop-remaining")).to_have_text(str(DROP_UNITS - 1))
    await expect(host.locator("#drop-stats")).to_contain_text("1 claimed")
    # a reload keeps the deadline: the room's order carries it
    await ben.reload()
    await expect(ben.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(won).to_contain_text(re.compile(r"You got it — pay within (2\d|30) min"))
    await shot(ben, "journey-04c-ben-drop-won-after-reload", full=False)
    # the drop's card sits above the pinned column, which now scrolls: it says so, and its
    # button brings the jacket into sight
    more = ben.locator("#pins-more")
    await expect(more).to_have_text("↓ 1 more")
    await more.click()
    jacket = ben.get_by_role("button", name="Buy now: Squall Rain Jacket")
    await ben.wait_for_function(
        "() => { const b = document.querySelector('[data-fk=\"pin-buy-jacket-squall\"]')"
        ".getBoundingClientRect(); const l = document.querySelector('#pins')"
        ".getBoundingClientRect(); return b.bottom <= l.bottom + 1 && b.top >= l.top - 1; }"
    )
    await expect(jacket).to_be_visible()
    await expect(more).to_be_hidden()
    await _pay(cast, cast.ben, ben.locator("#drop-pay"), "04d-ben-drop")
    await expect(won).to_contain_text("It's yours")
    stats = host.locator("#drop-stats")
    for part in ("1 claimed", "1 paid", f"{DROP_UNITS - 1} left"):
        await expect(stats).to_contain_text(part)
    for page in (ana, ben, cy):
        await expect(page.locator("#drop-remaining")).to_have_text(str(DROP_UNITS - 1))
    await expect(host.locator("#sales-orders")).to_have_text("1")
    await expect(host.locator("#sales-revenue")).to_have_text("$199.00")
    await shot(host, "journey-04e-host-drop-stats", full=False)


async def _buy(cast: Cast) -> None:
    """Ana buys the tent with Buy now (no options: straight to payment); Ben buys the jacket in
    size L (the sheet asks). Both pay; the host sees two orders and the revenue."""
    ana, ben, host = cast.ana.page, cast.ben.page, cast.host.page
    await _pay(
        cast, cast.ana, ana.get_by_role("button", name="Buy now: Ridgeline 2-Person Tent"), "05-ana"
    )
    assert await ana.locator("#stream video").evaluate("node => node.coshopMark") == "kept"
    await expect(ana.locator("#buy-ticker-feed")).to_contain_text("Ana just bought")
    for page in (ana, ben):  # a phone and a desktop: the ticker clears "Tap for sound"
        await _nothing_overlaps_on_the_video(page)
    await shot(ana, "journey-05-ana-paid-phone", full=False)
    await ben.get_by_role("button", name="Buy now: Squall Rain Jacket").click()
    sheet = ben.locator("#variant-sheet")
    await expect(sheet).to_be_visible()
    await sheet.locator('label[for="sheet-v-jacket-squall-l"]').click()
    await shot(ben, "journey-06-ben-variant-sheet", full=False)
    await _pay(cast, cast.ben, sheet.locator("#sheet-add"), "06-ben")
    await expect(ben.locator("#order-sheet")).to_contain_text("Squall Rain Jacket")
    await expect(host.locator("#sales-orders")).to_have_text("3")
    await expect(host.locator("#sales-revenue")).to_have_text("$637.00")  # $199 + $289 + $149
    await expect(cast.cy.page.locator("#buy-ticker-feed")).to_contain_text("just bought")
    await shot(host, "journey-07-host-sales", full=False)


async def _ban(cast: Cast) -> None:
    """Cy spams the chat; the host bans him from his message. Cy reads that he is banned and
    cannot come back: not by a reload, the show's page, nor the invite with another name."""
    cy, host = cast.cy.page, cast.host.page
    await cy.get_by_label("Message", exact=True).fill("FREE FOLLOWERS click my profile!!!")
    await cy.keyboard.press("Enter")
    spam = host.locator("#messages .msg", has_text="FREE FOLLOWERS")
    await expect(spam).to_be_visible()
    host.once("dialog", lambda d: d.accept())
    await spam.get_by_role("button", name="Ban Cy").click()
    removed = cy.locator("#removed")
    await expect(removed.get_by_role("heading")).to_have_text("You can't rejoin this room")
    await expect(cy.locator("#main")).to_be_hidden()
    for page in (host, cast.ana.page, cast.ben.page):
        await expect(page.locator("#viewer-count")).to_have_text("3 watching")
        # his messages leave the chat with him, for the host and the viewers alike
        await expect(page.locator("#messages")).not_to_contain_text("FREE FOLLOWERS")
    await shot(cy, "journey-08-cy-banned", full=False)
    await cy.goto(cast.show_url)  # the show's page sends him to the room, which says no
    await expect(cy.locator("#removed")).to_contain_text("banned")
    await cy.goto(cast.invite_url)  # the show's invite: the page says no before any name
    notice = cy.locator("#removed-notice")
    await expect(notice.get_by_role("heading")).to_have_text("You can't join this room")
    await expect(notice).to_contain_text("blocked you from coming back")
    await expect(cy.locator("#join-form")).to_be_hidden()
    await shot(cy, "journey-09-cy-refused", full=False)


async def _end(cast: Cast) -> None:
    """The host ends the show on its page and publishes the recording (MP4)."""
    host = cast.host.page
    await host.get_by_role("link", name=re.compile("^The show's page")).click()
    await host.wait_for_url(cast.show_url)
    await host.get_by_role("button", name="End the show").click()
    await expect(host.locator("#show-badge")).to_have_text("Ended")
    # the viewers' open room pages learn it at once: no more LIVE, stream or announcement
    for who in (cast.ana, cast.ben):
        page = who.page
        ended = page.locator("#show-ended")
        await expect(ended).to_contain_text("The show has ended")
        await expect(page.locator("#stage .on-air .badge")).to_have_text("Ended")
        await expect(page.locator("#stream video")).to_be_hidden()
        await expect(page.locator("#announcements")).to_be_empty()
        # the drop still running ends with the show: nobody claims from a show that is over
        await expect(page.get_by_role("button", name=re.compile("Claim"))).to_have_count(0)
        await expect(ended.get_by_role("link", name="▶ Watch the replay")).to_have_count(0)
    await shot(cast.ana.page, "journey-10a-ana-room-ended-phone", full=False)
    await host.get_by_label("Recording URL (HLS .m3u8 or MP4)").fill(cast.media.recording)
    await host.get_by_label("The show starts this many seconds into the recording").fill(
        str(OFFSET_S)
    )
    await host.get_by_role("button", name="Publish the replay").click()
    await expect(host.locator("#replay-msg")).to_have_text("The replay is published.")
    await expect(host.get_by_role("link", name="Open the replay")).to_be_visible()
    await shot(host, "journey-10-host-ended")
    for who in (cast.ana, cast.ben):  # and then link the replay
        link = who.page.locator("#show-ended").get_by_role("link", name="▶ Watch the replay")
        await expect(link).to_have_attribute("href", f"/r/{cast.room_id}/replay")
    await shot(cast.ben.page, "journey-10b-ben-room-replay-link", full=False)


async def _replay(cast: Cast) -> None:
    """Ana opens the replay: markers at the pins and the announcement; she jumps to the
    jacket's, picks a size, adds it, checks out in the room and pays."""
    ana = cast.ana.page
    await ana.goto(cast.show_url)
    await ana.get_by_role("link", name="▶ Watch the replay").click()
    await ana.wait_for_url(f"**/r/{cast.room_id}/replay")
    video = ana.locator("#replay-video")
    await expect(video).not_to_have_attribute("data-engine", "hls.js")  # the browser plays MP4
    moments = ana.locator("#moments li")
    await expect(moments).to_have_count(4)
    await expect(moments.nth(0)).to_contain_text("Pinned Ridgeline 2-Person Tent")
    await expect(moments.nth(1)).to_contain_text("Pinned Squall Rain Jacket")
    await expect(moments.nth(2)).to_contain_text("Squall shells 20% off tonight")
    await expect(moments.nth(3)).to_contain_text("Drop: Ridgeline 2-Person Tent at $199.00")
    await ana.wait_for_function(
        f"() => document.querySelector('#replay-video').duration > {RECORDING_S - 2}"
    )
    # the markers sit at their moments, after the offset and inside the recording; moments
    # seconds apart share one (a phone's timeline cannot tell them apart), none is lost
    markers = ana.locator("#timeline .marker")
    placed = await markers.evaluate_all(
        "nodes => nodes.map((n) => [parseFloat(n.style.left), Number(n.dataset.count)])"
    )
    assert sum(count for _left, count in placed) == 4, placed
    kinds = await markers.evaluate_all("nodes => nodes.map((n) => n.textContent).join('')")
    assert "⚡" in kinds, kinds  # the drop is on the timeline
    lefts = [left for left, _count in placed]
    assert all(100 * OFFSET_S / RECORDING_S <= left < 100 for left in lefts), placed
    assert lefts == sorted(lefts), placed

    # the first marker goes to the tent's pin (the tent on stage); the list, to the jacket's
    await markers.first.click()
    await ana.wait_for_function(
        "() => { const v = document.querySelector('#replay-video');"
        " const t = Number(document.querySelector('#timeline .marker').dataset.t);"
        " return v.currentTime * 1000 >= t - 500 && v.currentTime * 1000 < t + 5000; }"
    )
    cards = ana.locator("#on-stage .stage-product")
    await expect(cards.first.locator("h3")).to_have_text("Ridgeline 2-Person Tent")
    await moments.nth(1).get_by_role("button").click()
    await expect(cards).to_have_count(2)
    await ana.wait_for_function(
        "() => { const v = document.querySelector('#replay-video');"
        " const t = Number(document.querySelectorAll('#moments li')[1].dataset.t);"
        " return v.currentTime * 1000 >= t - 500 && v.readyState >= 2; }"
    )  # the recording is there, decoded
    jacket = ana.locator('#on-stage .stage-product[data-sku="jacket-squall"]')
    await expect(jacket.locator("h3")).to_have_text("Squall Rain Jacket")
    await expect(jacket.get_by_label("XL, sold out")).to_be_disabled()
    await jacket.get_by_label("M", exact=True).check()
    await jacket.get_by_role("button", name="Add to cart").click()
    await expect(jacket.get_by_role("status")).to_contain_text("Added to your cart")
    await shot(ana, "journey-11-replay-phone")
    assert await serious_violations(ana, "replay, MP4 (phone)") == []
    await jacket.get_by_role("link", name="Check out in the room").click()
    await ana.wait_for_url(cast.room_url)
    line = ana.locator("#cart .line")
    await expect(line).to_have_count(1)
    await expect(line.locator(".line-title")).to_have_text("Squall Rain Jacket — M")
    await _pay(cast, cast.ana, ana.locator("#check-out-mine"), "12-ana-replay")
    await expect(ana.locator("#cart .line")).to_have_count(0)
    await shot(ana, "journey-12-ana-replay-paid", full=False)


async def _sold(cast: Cast) -> None:
    """What sold: four paid orders — the drop's tent, the tent, the jacket in L, the jacket in M."""
    host = cast.host.page
    await host.goto(cast.room_url)
    await expect(host.locator("#sales-orders")).to_have_text("4")
    await expect(host.locator("#sales-revenue")).to_have_text("$786.00")  # + the jacket in M
    await shot(host, "journey-13-host-after", full=False)


async def test_a_live_show_from_its_schedule_to_a_sale_from_its_replay(
    browser: Browser, tmp_path: Path, media: Media
) -> None:
    async with checkout_env(tmp_path) as env:
        cast = Cast(
            env,
            media,
            host=await _person(browser, "Hana"),
            ana=await _person(browser, "Ana", phone=True),
            ben=await _person(browser, "Ben"),
            cy=await _person(browser, "Cy", phone=True),
        )
        await _schedule(cast)
        await _wait_for_it(cast)
        await _go_live(cast)
        await _pin(cast)
        await _drop(cast)
        await _buy(cast)
        await _ban(cast)
        await _end(cast)
        await _replay(cast)
        await _sold(cast)
        for who in cast.people:
            assert js_errors(who.page) == [], (who.name, js_errors(who.page))
        for who in cast.people:
            await who.ctx.close()
