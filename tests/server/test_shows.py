"""Scheduled shows over REST: who may schedule, the public status, the .ics file, reminders (one
per person), going live, the merchant's list, the migration's tables, and the webhooks a
merchant receives for each fact (Standard Webhooks, verified by the library)."""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import icalendar
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from server.api.rooms import DEMO_MERCHANT
from server.api.shows import _moment
from server.db.engine import create_engine, database_url_for_data_dir, upgrade_engine
from server.storage.shows import reminders, shows
from tests.server.conftest import LiveServer
from tests.server.webhook_receiver import add_endpoint, receiver, verify_all

KEY = "ck_test_shows_" + "k" * 24
DEVICE = "d" * 40


def _diff(conn: Connection) -> list[Any]:
    own = MetaData(naming_convention=shows.metadata.naming_convention)
    shows.to_metadata(own)
    reminders.to_metadata(own)
    names = {shows.name, reminders.name}

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name in names

    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_name": include_name}
    )
    return list(compare_metadata(context, own))


async def test_the_migration_creates_exactly_the_declared_tables(tmp_path: Path) -> None:
    engine = create_engine(database_url_for_data_dir(tmp_path))
    try:
        await upgrade_engine(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def _room(http: httpx.AsyncClient, kind: str = "live") -> dict[str, Any]:
    r = await http.post(
        "/api/v1/rooms", json={"kind": kind, "title": "Sneaker drop", "host_name": "Ada"}
    )
    assert r.status_code == 201, r.text
    room: dict[str, Any] = r.json()
    return room


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_show_is_scheduled_reminded_started_and_listed(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    await live_server.app_state.registry.rotate_api_key(DEMO_MERCHANT, KEY)
    async with receiver() as rx:
        live_server.app_state.webhooks.worker.schedule = (0.05,)
        endpoint = await add_endpoint(
            http, KEY, rx.url, ["show.scheduled", "show.reminder_requested", "show.started"]
        )
        room = await _room(http)
        rid, host = room["room_id"], room["host"]["token"]
        url = f"/api/v1/rooms/{rid}/show"
        starts = (int(time.time()) + 86_400) * 1000
        body = {
            "title": "Friday sneakers",
            "starts_at": starts,
            "duration_min": 90,
            "cover_url": "https://cdn.example/cover.jpg",
            "description": "New drops",
        }

        # who may schedule
        assert (await http.put(url, json=body)).json()["code"] == "unauthorized"
        viewer = (
            await http.post(
                f"/api/v1/rooms/{rid}/join", json={"invite": room["invite"]["token"], "name": "Bo"}
            )
        ).json()
        r = await http.put(url, json=body, headers=_bearer(viewer["token"]))
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        group = await _room(http, "group")
        r = await http.put(
            f"/api/v1/rooms/{group['room_id']}/show", json=body, headers=_bearer(KEY)
        )
        assert r.status_code == 409 and r.json()["code"] == "not_a_live_room"
        # what is refused
        r = await http.put(url, json={**body, "starts_at": 1_000}, headers=_bearer(host))
        assert r.status_code == 409 and r.json()["code"] == "show_start_invalid"
        r = await http.put(url, json={**body, "cover_url": "ftp://x/y.jpg"}, headers=_bearer(host))
        assert r.status_code == 422 and r.json()["code"] == "invalid_url"
        r = await http.put(url, json={**body, "title": " "}, headers=_bearer(host))
        assert r.status_code == 422 and r.json()["field"] == "title"
        assert (await http.get(url)).json()["code"] == "show_not_found"

        # scheduled by the host, changed by the merchant
        r = await http.put(url, json=body, headers=_bearer(host))
        assert r.status_code == 201, r.text
        show = r.json()
        assert show["status"] == "scheduled" and show["version"] == 1
        assert (show["host_name"], show["shop"], show["ends_at"]) == (
            "Ada", "coshop demo shop", starts + 90 * 60_000,
        )  # fmt: skip
        assert show["join_url"] and show["page_url"].endswith(f"/r/{rid}/show")
        r = await http.put(
            url, json={**body, "starts_at": starts + 3_600_000}, headers=_bearer(KEY)
        )
        assert r.status_code == 200 and r.json()["version"] == 2
        public = (await http.get(url)).json()
        assert public["starts_at"] == starts + 3_600_000 and public["reminders"] == 0
        # the same viewer invite (its token is minted per answer, so compare where it leads)
        assert urlsplit(public["join_url"]).path == urlsplit(show["join_url"]).path

        # the calendar file
        r = await http.get(f"{url}.ics")
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/calendar; charset=utf-8"
        calendar = icalendar.Calendar.from_ical(r.content)
        (event,) = calendar.walk("VEVENT")
        start = datetime.datetime.fromtimestamp((starts + 3_600_000) / 1000, tz=datetime.UTC)
        assert event.decoded("dtstart") == start
        assert event.decoded("dtend") == start + datetime.timedelta(minutes=90)
        assert "TZID" not in event["dtstart"].params  # UTC, written with Z
        assert r.text.count(f"DTSTART:{start:%Y%m%dT%H%M%SZ}") == 1
        assert str(event["uid"]) == f"show-{rid}@127.0.0.1"
        assert str(event["url"]) == show["page_url"] and event.decoded("sequence") == 1
        assert "Friday sneakers" in str(event["summary"])

        # reminders: one per person
        remind = f"{url}/reminders"
        r = await http.post(remind, json={"device": DEVICE})
        assert r.status_code == 201 and r.json()["new"] is True
        r = await http.post(remind, json={"device": DEVICE, "email": "bo@example.com"})
        assert r.status_code == 200 and r.json()["new"] is False
        r = await http.post(remind, json={"email": "Cy@Example.com"})
        assert r.status_code == 201 and r.json()["email"] is True
        r = await http.post(remind, json={"email": "cy@example.com"})
        assert r.status_code == 200  # the same address, whatever its case
        for bad, code in (({"email": "nope"}, "invalid_email"), ({}, "invalid_field"),
                          ({"device": "short"}, "invalid_device")):  # fmt: skip
            r = await http.post(remind, json=bad)
            assert r.status_code == 422 and r.json()["code"] == code, bad
        assert (await http.get(url)).json()["reminders"] == 2

        # the merchant's list
        shows_url = f"/api/v1/merchants/{DEMO_MERCHANT}/shows"
        listed = (await http.get(shows_url, headers=_bearer(KEY))).json()["shows"]
        assert [(s["room_id"], s["reminders"]) for s in listed] == [(rid, 2)]
        assert (await http.get(shows_url)).status_code == 401
        for query in ("?limit=", "?status=soon", "?limit=0", "?page=2"):
            r = await http.get(shows_url + query, headers=_bearer(KEY))
            assert r.status_code == 400 and r.json()["code"] == "invalid_parameter", query
        r = await http.get(f"{shows_url}?status=ended", headers=_bearer(KEY))
        assert r.json()["shows"] == []

        # going live: reminders and schedule changes stop; a second start changes nothing
        r = await http.get(f"{url}/moments")
        assert r.status_code == 409 and r.json()["code"] == "show_not_started"
        r = await http.post(f"{url}/end", headers=_bearer(host))
        assert r.status_code == 409 and r.json()["code"] == "show_not_started"
        r = await http.post(f"{url}/start", headers=_bearer(viewer["token"]))
        assert r.status_code == 403
        r = await http.post(f"{url}/start", headers=_bearer(host))
        assert r.status_code == 200 and r.json()["status"] == "live"
        started_at = r.json()["started_at"]
        again = (await http.post(f"{url}/start", headers=_bearer(KEY))).json()
        assert again["started_at"] == started_at
        r = await http.post(remind, json={"device": "e" * 40})
        assert r.status_code == 409 and r.json()["code"] == "show_started"
        r = await http.put(url, json=body, headers=_bearer(host))
        assert r.status_code == 409 and r.json()["code"] == "show_started"
        live = (await http.get(f"{shows_url}?status=live", headers=_bearer(KEY))).json()["shows"]
        assert [s["status"] for s in live] == ["live"]

        # the waiting page's way in: the show's invite makes a viewer
        token = parse_qs(urlsplit(show["join_url"]).query)["invite"][0]
        r = await http.post(f"/api/v1/rooms/{rid}/join", json={"invite": token, "name": "Cy"})
        assert r.status_code == 201 and r.json()["role"] == "viewer"

        # the end, and the recording
        r = await http.put(
            f"{url}/replay", json={"url": "https://cdn.example/rec.m3u8", "offset_s": 12},
            headers=_bearer(host),
        )  # fmt: skip
        assert r.status_code == 200
        ended = r.json()
        assert ended["status"] == "ended" and ended["replay_offset_ms"] == 12_000
        assert ended["replay_url"] == "https://cdn.example/rec.m3u8"
        moments = (await http.get(f"{url}/moments")).json()
        assert moments["moments"] == [] and moments["replay_offset_ms"] == 12_000

        got = await rx.until_types(
            "show.scheduled", "show.scheduled", "show.reminder_requested",
            "show.reminder_requested", "show.started",
        )  # fmt: skip
        bodies = verify_all(got, endpoint["secret"])
        types = [b["type"] for b in bodies]
        assert sorted(types) == sorted(
            ["show.scheduled", "show.scheduled", "show.reminder_requested",
             "show.reminder_requested", "show.started"]
        )  # fmt: skip
        scheduled = [b["data"]["show"] for b in bodies if b["type"] == "show.scheduled"]
        assert [s["version"] for s in scheduled] == [1, 2]
        emails = [
            b["data"]["reminder"]["email"] for b in bodies if b["type"] == "show.reminder_requested"
        ]
        assert emails == [None, "Cy@Example.com"]
        started = next(b for b in bodies if b["type"] == "show.started")
        assert started["data"]["show"]["started_at"] == started_at
        assert started["data"]["room_id"] == rid


async def test_show_pages_render(live_server: LiveServer, http: httpx.AsyncClient) -> None:
    room = await _room(http)
    rid = room["room_id"]
    r = await http.get(f"/r/{rid}/show")
    assert r.status_code == 200 and "No show is scheduled here yet" in r.text
    assert "frame-ancestors" in r.headers["content-security-policy"]
    starts = (int(time.time()) + 3600) * 1000
    await http.put(
        f"/api/v1/rooms/{rid}/show",
        json={"title": "Late night <deals>", "starts_at": starts},
        headers=_bearer(room["host"]["token"]),
    )
    r = await http.get(f"/r/{rid}/show")
    assert "Late night &lt;deals&gt;" in r.text and "Remind me" in r.text
    r = await http.get(f"/r/{rid}/replay")
    assert r.status_code == 200 and "has not happened yet" in r.text
    assert (await http.get("/r/nope/show")).status_code == 404
    group = await _room(http, "group")
    assert (await http.get(f"/r/{group['room_id']}/show")).status_code == 404


def test_replay_moments_carry_only_what_every_viewer_saw() -> None:
    # a drop's start and end with its public terms; a claim (it names the claimant) never
    started = _moment(
        "DropStarted", {"drop_id": "d1", "sku": "x", "price_minor": 500, "by": "m1", "quantity": 50}
    )
    assert started == {
        "kind": "drop",
        "sku": "x",
        "drop": {"drop_id": "d1", "sku": "x", "price_minor": 500, "quantity": 50},
    }
    assert _moment("DropEnded", {"drop_id": "d1", "sku": "x"})["kind"] == "drop_ended"  # type: ignore[index]
    assert _moment("DropClaimed", {"drop_id": "d1", "member_id": "m2"}) is None
    assert _moment("MessagePosted", {"text": "hi"}) is None
    assert _moment("PollOpened", {"poll_id": "p", "question": "Q?", "options": ["a", "b"]}) == {
        "kind": "poll",
        "poll_id": "p",
        "question": "Q?",
        "options": ["a", "b"],
    }
