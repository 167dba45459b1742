"""A scheduled show in Chromium: the host schedules it on the show page, a viewer waits with a
countdown, asks to be reminded and can add it to a calendar; when the host goes live the
waiting page moves the viewer into the show (the join page, then the room) without a reload
loop. Both pages pass axe-core."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.helpers import create_room
from tests.browser.test_accessibility import serious_violations
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]


async def test_a_viewer_waits_for_the_show_and_moves_in_when_it_goes_live(
    browser: Browser, server: LiveServer, tmp_path: Path
) -> None:
    problems: list[str] = []
    host_ctx, host = await new_page(browser)
    viewer_ctx, viewer = await new_page(browser, phone=True)
    room_id = await create_room(host, server, kind="live", title="Trail gear live", name="Ada")
    show_url = f"{server.base_url}/r/{room_id}/show"

    # the host schedules the show from its page (their token is in this browser)
    await host.goto(show_url)
    await expect(host.get_by_role("heading", name="Schedule this show")).to_be_visible()
    start = datetime.datetime.now() + datetime.timedelta(minutes=3)  # the form is local time
    await host.get_by_label("Title").fill("Trail gear: boots week")
    await host.get_by_label("Starts at (your time)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    await host.get_by_label("Cover picture URL").fill(
        f"{server.base_url}/static/demo/img/boots-trailbreaker.svg"
    )
    await host.get_by_label("What's on the show").fill("New boots, live demos, drops every 10 min.")
    await host.get_by_role("button", name="Save the schedule").click()
    await expect(host.locator("#show-title")).to_have_text("Trail gear: boots week")
    await expect(host.get_by_role("button", name="● Go live now")).to_be_visible()
    await expect(host.locator("#remind-form")).to_be_hidden()  # not reminded of their own show
    problems += await serious_violations(host, "show page, host")
    await shot(host, "show-host")

    # a viewer waits: countdown, remind me, calendar
    await viewer.goto(show_url)
    await expect(viewer.locator("#show-host")).to_have_text("Ada")
    await expect(viewer.locator("#countdown [data-unit=m]")).to_have_text(re.compile(r"^0[0-3]$"))
    await expect(viewer.locator("#show-state")).to_have_text(re.compile(r"Starts in \d min"))
    await expect(viewer.locator("#host-panel")).to_be_hidden()
    ics = await viewer.locator("#ics-link").get_attribute("href")
    assert ics is not None
    r = await viewer.request.get(ics)
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "BEGIN:VEVENT" in await r.text()
    await viewer.get_by_role("button", name="🔔 Remind me").click()
    await expect(viewer.locator("#remind-btn")).to_have_text("✓ We'll remind you")
    await expect(viewer.locator("#waiting-count")).to_have_text("1 waiting for this show")
    problems += await serious_violations(viewer, "show page, viewer (phone)")
    await shot(viewer, "show-viewer-phone")
    await viewer.reload()  # the reminder is remembered
    await expect(viewer.locator("#remind-btn")).to_have_attribute("aria-pressed", "true")

    # going live moves the waiting viewer into the show: the join page of the show's invite
    navigations: list[str] = []
    viewer.on("framenavigated", lambda frame: navigations.append(frame.url))
    await host.get_by_role("button", name="● Go live now").click()
    await expect(host.get_by_role("link", name="Open the show room")).to_be_visible()
    await viewer.wait_for_url(re.compile(r"/join/"), timeout=20_000)
    await viewer.get_by_label("Display name").fill("Bo")
    await viewer.get_by_role("button", name="Join room").click()
    await viewer.wait_for_url(f"**/r/{room_id}")
    await expect(viewer.locator("#conn")).to_have_attribute("data-state", "online")
    # the show page again, now that this browser is a member: straight into the room, once
    await viewer.goto(show_url)
    await viewer.wait_for_url(f"**/r/{room_id}")
    await expect(viewer.locator("#conn")).to_have_attribute("data-state", "online")
    assert sum("/show" in url for url in navigations) == 1, navigations

    assert problems == []
    assert js_errors(host) == [] and js_errors(viewer) == []
    await host_ctx.close()
    await viewer_ctx.close()


async def test_a_host_cancels_the_show_and_the_waiting_page_says_so(
    browser: Browser, server: LiveServer
) -> None:
    host_ctx, host = await new_page(browser)
    viewer_ctx, viewer = await new_page(browser, phone=True)
    room_id = await create_room(host, server, kind="live", title="Late deals", name="Ada")
    show_url = f"{server.base_url}/r/{room_id}/show"
    await host.goto(show_url)
    start = datetime.datetime.now() + datetime.timedelta(minutes=4)
    await host.get_by_label("Title").fill("Late deals")
    await host.get_by_label("Starts at (your time)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    await host.get_by_role("button", name="Save the schedule").click()
    await expect(host.get_by_role("button", name="● Go live now")).to_be_visible()
    # scheduled: the form folds away under "Change the schedule"
    await expect(host.get_by_label("Title")).to_be_hidden()
    await host.get_by_text("Change the schedule").click()
    await expect(host.get_by_label("Title")).to_have_value("Late deals")

    await viewer.goto(show_url)
    await expect(viewer.locator("#countdown [data-unit=d]")).to_be_hidden()  # no "0 days"
    await viewer.get_by_role("button", name="🔔 Remind me").click()
    await expect(viewer.locator("#waiting-count")).to_have_text("1 waiting for this show")

    # the host cancels (asked first); the waiting page reads it at its next poll
    host.once("dialog", lambda d: d.dismiss())
    await host.get_by_role("button", name="Cancel the show").click()
    await expect(host.get_by_role("button", name="● Go live now")).to_be_visible()  # not yet
    host.once("dialog", lambda d: d.accept())
    await host.get_by_role("button", name="Cancel the show").click()
    await expect(host.locator("#show-badge")).to_have_text("Cancelled")
    await expect(host.get_by_role("heading", name="Schedule this show again")).to_be_visible()
    await expect(host.get_by_role("button", name="● Go live now")).to_have_count(0)
    await expect(viewer.locator("#show-state")).to_have_text(
        re.compile("^This show was cancelled"), timeout=20_000
    )
    await expect(viewer.locator("#show-badge")).to_have_text("Cancelled")
    for gone in ("#remind-form", "#countdown", "#ics-link", "#waiting-count"):
        await expect(viewer.locator(gone)).to_be_hidden()
    ics = await viewer.request.get(f"{server.base_url}/api/v1/rooms/{room_id}/show.ics")
    assert "STATUS:CANCELLED" in await ics.text()
    problems = await serious_violations(viewer, "show page, cancelled (phone)")
    await shot(viewer, "show-cancelled-phone")
    await viewer.reload()  # the page as served says it too
    await expect(viewer.locator("#show-state")).to_have_text(re.compile("^This show was cancelled"))

    # scheduled again: back with its countdown
    later = datetime.datetime.now() + datetime.timedelta(minutes=30)
    await host.get_by_label("Starts at (your time)").fill(later.strftime("%Y-%m-%dT%H:%M"))
    await host.get_by_role("button", name="Save the schedule").click()
    await expect(host.locator("#sch-msg")).to_have_text("Scheduled again.")
    await expect(host.locator("#show-badge")).to_have_text("Upcoming show")
    await viewer.reload()
    await expect(viewer.locator("#show-state")).to_have_text(re.compile(r"Starts in \d+ min"))
    await expect(viewer.locator("#waiting-count")).to_have_text("1 waiting for this show")
    assert problems == []
    assert js_errors(host) == [] and js_errors(viewer) == []
    await host_ctx.close()
    await viewer_ctx.close()
