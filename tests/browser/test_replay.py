"""The shoppable replay in Chromium: a show's recording (an HLS VOD encoded by ffmpeg, served
from loopback as a CDN would) plays with the show's pins and announcement as markers at their
moments, built from the room's log; a viewer who never joined jumps to a moment, adds what was
on stage then (joining the room through the show's invite, a name once), picks a size for a
product with variants, and finds both lines in their cart in the room."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from server.api.rooms import DEMO_MERCHANT
from tests.browser.conftest import js_errors, new_page, shot
from tests.browser.test_accessibility import serious_violations
from tests.server.conftest import LiveServer
from tests.server.peers import Peer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

KEY = "ck_test_replay_" + "k" * 24


def _ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ffmpeg is required in CI (scripts/install-media.sh)")
        pytest.skip("ffmpeg is not installed (scripts/install-media.sh)")
    return found


class _Files(SimpleHTTPRequestHandler):
    """One folder, readable from any origin (a CDN's CORS)."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[str]:
    """A 30-second H.264 recording as an HLS VOD playlist, served on loopback: its URL."""
    folder = tmp_path / "vod"
    folder.mkdir()
    args = ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"]
    args += ["testsrc=size=320x180:rate=15", "-t", "30", "-c:v", "libx264", "-preset"]
    args += ["ultrafast", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", "30", "-f"]
    args += ["hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_segment_filename"]
    args += [str(folder / "seg%03d.ts"), str(folder / "show.m3u8")]
    subprocess.run([_ffmpeg(), *args], check=True, timeout=120)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Files, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/show.m3u8"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


async def _command(peer: Peer, op: str, name: str, **args: Any) -> None:
    await peer.send({"t": "cmd", "op": op, "name": name, "args": args})
    while True:
        msg = await peer.recv()
        if msg.get("op") == op and msg.get("t") in ("ack", "err"):
            assert msg["t"] == "ack", msg
            return


async def test_a_viewer_shops_the_replay_at_its_moments(
    browser: Browser, server: LiveServer, recording: str
) -> None:
    await server.app_state.registry.rotate_api_key(DEMO_MERCHANT, KEY)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        r = await http.post(
            "/api/v1/rooms", json={"kind": "live", "title": "Boots week", "host_name": "Ada"}
        )
        room = r.json()
        rid, host = room["room_id"], {"Authorization": f"Bearer {room['host']['token']}"}
        show = f"/api/v1/rooms/{rid}/show"
        r = await http.put(show, json={"starts_at": int(time.time() * 1000) + 60_000}, headers=host)
        assert r.status_code == 201, r.text
        assert (await http.post(f"{show}/start", headers=host)).status_code == 200

        # the show: a tent pinned with an announcement, then the boots instead
        peer = await Peer.open(server.ws_url(rid))
        await peer.hello(room["host"]["token"])
        await _command(peer, "o1", "PinProduct", sku="tent-2p")
        await _command(peer, "o2", "Announce", text="Tents 20% off tonight")
        # the moments must lie apart in the recording: a pause in the show, not a wait for it
        await asyncio.sleep(1.5)
        await _command(peer, "o3", "UnpinProduct", sku="tent-2p")
        await _command(peer, "o4", "PinProduct", sku="boots-trailbreaker")
        await _command(
            peer, "o5", "OpenPoll", question="Which colour next?", skus=["tent-2p", "tent-4p"]
        )
        await peer.close()
        r = await http.put(f"{show}/replay", json={"url": recording, "offset_s": 3}, headers=host)
        assert r.status_code == 200, r.text
        moments = (await http.get(f"{show}/moments")).json()["moments"]
        assert [m["kind"] for m in moments] == ["pin", "announcement", "unpin", "pin", "poll"]
        tent, boots = moments[0]["t_ms"], moments[3]["t_ms"]
        assert 3_000 <= tent < boots - 1_000

    ctx, viewer = await new_page(browser, phone=True)
    await viewer.goto(f"{server.base_url}/r/{rid}/replay")
    video = viewer.locator("#replay-video")
    await expect(video).to_have_attribute("data-engine", "hls.js")
    await expect(viewer.locator("#moments li")).to_have_count(4)
    # moments too close to tell apart on a phone's timeline share a marker; none is lost
    counts = await viewer.locator("#timeline .marker").evaluate_all(
        "nodes => nodes.map((n) => Number(n.dataset.count))"
    )
    assert sum(counts) == 4, counts
    await expect(viewer.locator("#moments")).to_contain_text("Poll: Which colour next?")
    await expect(viewer.locator("#moments")).to_contain_text("Pinned Ridgeline 2-Person Tent")
    await expect(viewer.locator("#stage-empty")).to_be_visible()  # 0:00: nothing pinned yet
    # markers sit at their moment of the 30-second recording (3 s in: a tenth of the way)
    await viewer.wait_for_function(
        "() => Math.abs(parseFloat(document.querySelector('#timeline .marker').style.left) - 10)"
        " < 3"
    )

    # the tent's moment: it is on stage, with the announcement
    await viewer.locator("#moments button", has_text="Pinned Ridgeline").click()
    card = viewer.locator("#on-stage .stage-product")
    await expect(card).to_have_count(1)
    await expect(card.locator("h3")).to_have_text("Ridgeline 2-Person Tent")
    await expect(viewer.locator("#stage-announce")).to_have_text("📣 Tents 20% off tonight")
    await viewer.wait_for_function(
        "() => document.querySelector('#replay-video').readyState >= 2"
    )  # frames of the recording decoded
    await card.get_by_role("button", name="Add to cart").click()
    # the recording waits while Cy types his name: the tent stays on stage for his add
    assert await viewer.evaluate("document.querySelector('#replay-video').paused")
    await viewer.get_by_label("Your name, to shop this show").fill("Cy")
    await viewer.get_by_role("button", name="Join and add").click()
    await expect(card.get_by_role("status")).to_contain_text("Added to your cart")
    await shot(viewer, "replay-phone")

    # the boots' moment: the tent left the stage; a size is picked
    await viewer.locator("#moments button", has_text="Pinned Trailbreaker").click()
    await expect(card.locator("h3")).to_have_text("Trailbreaker Hiking Boots")
    chips = card.locator("fieldset.sizes input:not([disabled])")
    second = await chips.nth(1).get_attribute("value")
    assert second is not None
    await chips.nth(1).check()  # a size chip, as the room's sheet has
    await card.get_by_role("button", name="Add to cart").click()
    await expect(card.get_by_role("status")).to_contain_text("Added to your cart")
    problems = await serious_violations(viewer, "replay (phone)")

    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        view = (
            await http.get(f"/api/v1/rooms/{rid}", headers={"Authorization": f"Bearer {KEY}"})
        ).json()["view"]
    lines = [(line["sku"], line["variant"]) for line in view["lines"]]
    assert lines == [("tent-2p", None), ("boots-trailbreaker", second)]

    # checkout happens in the room: the viewer's two lines are there
    await card.get_by_role("link", name="Check out in the room").click()
    await viewer.wait_for_url(f"**/r/{rid}")
    await expect(viewer.locator("#cart .line")).to_have_count(2)
    desk_ctx, desk = await new_page(browser)
    await desk.goto(f"{server.base_url}/r/{rid}/replay")
    await expect(desk.locator("#moments li")).to_have_count(4)  # the moments have loaded
    await desk.locator("#moments button", has_text="Pinned Trailbreaker").click()
    await expect(desk.locator("#on-stage h3")).to_have_text("Trailbreaker Hiking Boots")
    problems += await serious_violations(desk, "replay (desktop)")
    await shot(desk, "replay-desktop")
    assert problems == []
    assert js_errors(viewer) == [] and js_errors(desk) == []
    await ctx.close()
    await desk_ctx.close()
