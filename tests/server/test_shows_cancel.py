"""A host cancels a scheduled show, and a viewer takes "Remind me" back, over real HTTP.

Cancelled: the public status says so, the .ics file carries STATUS:CANCELLED with a new
SEQUENCE and no alarm, no reminder, start or end is taken, the merchant's list files it under
``cancelled``; scheduling it again brings it back with its reminders. A reminder is taken back
by the id its own request answered; its e-mail address goes with it. Each writes its webhook
message (``show.cancelled`` once per cancellation, ``show.reminder_cancelled``) with the fact.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import icalendar
from sqlalchemy import select

from server.api.rooms import DEMO_MERCHANT
from server.storage.shows import reminders
from server.webhooks.tables import deliveries
from tests.server.conftest import LiveServer
from tests.server.webhook_receiver import add_endpoint

KEY = "ck_test_showcancel_" + "k" * 24


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _scheduled(http: httpx.AsyncClient) -> tuple[dict[str, Any], str]:
    r = await http.post(
        "/api/v1/rooms", json={"kind": "live", "title": "Boots week", "host_name": "Ada"}
    )
    room: dict[str, Any] = r.json()
    starts = (int(time.time()) + 86_400) * 1000
    r = await http.put(
        f"/api/v1/rooms/{room['room_id']}/show",
        json={"title": "Boots week", "starts_at": starts},
        headers=_bearer(room["host"]["token"]),
    )
    assert r.status_code == 201, r.text
    return room, f"/api/v1/rooms/{room['room_id']}/show"


async def test_a_host_cancels_a_scheduled_show(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    await live_server.app_state.registry.rotate_api_key(DEMO_MERCHANT, KEY)
    await add_endpoint(http, KEY, "https://hooks.example/coshop", ["*"])
    room, url = await _scheduled(http)
    rid, host = room["room_id"], room["host"]["token"]
    for device in ("d" * 40, "e" * 40):
        assert (await http.post(f"{url}/reminders", json={"device": device})).status_code == 201

    viewer = (
        await http.post(
            f"/api/v1/rooms/{rid}/join", json={"invite": room["invite"]["token"], "name": "Bo"}
        )
    ).json()
    r = await http.post(f"{url}/cancel", headers=_bearer(viewer["token"]))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert (await http.post(f"{url}/cancel")).json()["code"] == "unauthorized"
    r = await http.post(f"{url}/cancel?now=1", headers=_bearer(host))
    assert r.status_code == 400 and r.json()["code"] == "invalid_parameter"

    r = await http.post(f"{url}/cancel", headers=_bearer(host))
    assert r.status_code == 200, r.text
    cancelled = r.json()
    assert (cancelled["status"], cancelled["version"], cancelled["started_at"]) == (
        "cancelled", 2, None,
    )  # fmt: skip
    assert cancelled["reminders"] == 2  # kept: the merchant tells those people
    again = await http.post(f"{url}/cancel", headers=_bearer(KEY))  # twice: nothing changes
    assert again.status_code == 200 and again.json()["version"] == 2
    assert (await http.get(url)).json()["status"] == "cancelled"

    # what a cancelled show refuses
    r = await http.post(f"{url}/reminders", json={"device": "f" * 40})
    assert r.status_code == 409 and r.json()["code"] == "show_cancelled"
    for action in ("start", "end"):
        r = await http.post(f"{url}/{action}", headers=_bearer(host))
        assert r.status_code == 409 and r.json()["code"] == "show_cancelled", action
    r = await http.get(f"{url}/moments")
    assert r.status_code == 409 and r.json()["code"] == "show_not_started"

    # the calendar file takes the event out of a calendar that had it
    r = await http.get(f"{url}.ics")
    assert r.status_code == 200
    (event,) = icalendar.Calendar.from_ical(r.content).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED" and event.decoded("sequence") == 1
    assert str(event["summary"]).startswith("Cancelled: Boots week")
    assert event.walk("VALARM") == []

    # the pages say it
    page = await http.get(f"/r/{rid}/show")
    assert "This show was cancelled" in page.text and 'data-status="cancelled"' in page.text
    assert "This show was cancelled" in (await http.get(f"/r/{rid}/replay")).text

    # the merchant's list
    shows_url = f"/api/v1/merchants/{DEMO_MERCHANT}/shows"
    for status, found in (("cancelled", [rid]), ("upcoming", []), ("ended", []), ("all", [rid])):
        listed = (await http.get(f"{shows_url}?status={status}", headers=_bearer(KEY))).json()
        assert [s["room_id"] for s in listed["shows"]] == found, status

    # scheduled again: back, with its reminders; once live it cannot be cancelled
    starts = (int(time.time()) + 3600) * 1000
    r = await http.put(url, json={"starts_at": starts}, headers=_bearer(host))
    assert r.status_code == 200, r.text
    back = r.json()
    assert (back["status"], back["version"], back["ended_at"], back["reminders"]) == (
        "scheduled", 3, None, 2,
    )  # fmt: skip
    assert (await http.post(f"{url}/start", headers=_bearer(host))).json()["status"] == "live"
    r = await http.post(f"{url}/cancel", headers=_bearer(host))
    assert r.status_code == 409 and r.json()["code"] == "show_started"

    # one show.cancelled to the "*" endpoint, for the one cancellation (the second changed
    # nothing), carrying the cancelled show
    async with live_server.app_state.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(deliveries.c.message_id, deliveries.c.payload).where(
                    deliveries.c.event_type == "show.cancelled"
                )
            )
        ).all()
    assert [r.message_id for r in rows] == [f"msg_show_{rid}_cancelled_2"]
    data = json.loads(rows[0].payload)["data"]
    assert data["show"]["status"] == "cancelled" and data["room_id"] == rid


async def test_a_viewer_takes_remind_me_back(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    await live_server.app_state.registry.rotate_api_key(DEMO_MERCHANT, KEY)
    await add_endpoint(http, KEY, "https://hooks.example/coshop", ["show.reminder_cancelled"])
    room, url = await _scheduled(http)
    rid = room["room_id"]
    r = await http.post(f"{url}/reminders", json={"device": "d" * 40, "email": "bo@example.com"})
    assert r.status_code == 201
    mine = r.json()["reminder_id"]
    await http.post(f"{url}/reminders", json={"email": "cy@example.com"})
    assert (await http.get(url)).json()["reminders"] == 2
    # asked again: the same browser learns its id; someone typing the address does not
    r = await http.post(f"{url}/reminders", json={"device": "d" * 40})
    assert r.status_code == 200 and r.json()["reminder_id"] == mine
    r = await http.post(f"{url}/reminders", json={"email": "CY@example.com"})
    assert r.status_code == 200 and r.json()["reminder_id"] is None

    r = await http.delete(f"{url}/reminders/{mine}")
    assert r.status_code == 200, r.text
    assert r.json() == {"room_id": rid, "reminder_id": mine, "reminders": 1}
    assert (await http.get(url)).json()["reminders"] == 1
    async with live_server.app_state.engine.connect() as conn:
        emails = (await conn.scalars(select(reminders.c.email))).all()
    assert emails == ["cy@example.com"]  # the address went with it
    async with live_server.app_state.engine.connect() as conn:
        rows = (await conn.execute(select(deliveries.c.message_id, deliveries.c.payload))).all()
    assert [r.message_id for r in rows] == [f"msg_show_{rid}_reminder_cancelled_{mine}"]
    data = json.loads(rows[0].payload)["data"]
    assert data["reminder"] == {"reminder_id": mine} and data["room_id"] == rid

    # twice, or an id nobody was given
    for reminder_id in (mine, "rem_nobody"):
        r = await http.delete(f"{url}/reminders/{reminder_id}")
        assert r.status_code == 404 and r.json()["code"] == "reminder_not_found"
    r = await http.delete(f"{url}/reminders/{mine}?x=1")
    assert r.status_code == 400 and r.json()["code"] == "invalid_parameter"
    r = await http.delete(f"{url}/reminders/a%00b")
    assert r.status_code == 422
    r = await http.delete("/api/v1/rooms/nope/show/reminders/rem_x")
    assert r.status_code == 404 and r.json()["code"] == "room_not_found"
    other = (await http.post("/api/v1/rooms", json={"kind": "live", "host_name": "Ed"})).json()
    r = await http.delete(f"/api/v1/rooms/{other['room_id']}/show/reminders/{mine}")
    assert r.status_code == 404 and r.json()["code"] == "show_not_found"

    # asking again is a new reminder
    r = await http.post(f"{url}/reminders", json={"device": "d" * 40})
    assert r.status_code == 201 and r.json()["reminder_id"] != mine
