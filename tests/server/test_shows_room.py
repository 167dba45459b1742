"""The show's end reaches its room, and the replay places a drop's end (docs/live.md).

Ending the show (``POST …/show/end``) and publishing its recording (``PUT …/show/replay``) tell
the room through the hub (``SetShowEnded``): the room's view says when the show ended and
whether its replay is set, for viewers and staff alike, so every open page of the room
switches to "The show has ended" with the replay's link. A drop whose countdown ran out has no
end event until the next drop or the host closes it: the replay's moments end it at its
``ends_at``.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from sqlalchemy import select

from server.api.shows import _drop_ends
from server.storage.tables import room_events
from tests.server.conftest import LiveServer


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _view(http: httpx.AsyncClient, rid: str, token: str) -> dict[str, Any]:
    r = await http.get(f"/api/v1/rooms/{rid}", headers=_bearer(token))
    assert r.status_code == 200, r.text
    view: dict[str, Any] = r.json()["view"]
    return view


async def test_ending_the_show_and_publishing_its_replay_reach_the_room(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    r = await http.post(
        "/api/v1/rooms", json={"kind": "live", "title": "Trail week", "host_name": "Hana"}
    )
    room = r.json()
    rid, host = room["room_id"], room["host"]["token"]
    url = f"/api/v1/rooms/{rid}/show"
    starts = (int(time.time()) + 600) * 1000
    r = await http.put(url, json={"title": "Shells", "starts_at": starts}, headers=_bearer(host))
    assert r.status_code == 201, r.text
    assert (await http.post(f"{url}/start", headers=_bearer(host))).status_code == 200
    invite = r.json()["join_url"].split("invite=")[1]
    r = await http.post(f"/api/v1/rooms/{rid}/join", json={"invite": invite, "name": "Ana"})
    viewer = r.json()["token"]
    for token in (host, viewer):  # live: nothing ended yet
        stage = (await _view(http, rid, token))["checkout"]["show"]
        assert (stage["ended_at"], stage["replay"]) == (None, False)

    ended = (await http.post(f"{url}/end", headers=_bearer(host))).json()
    for token in (host, viewer):
        stage = (await _view(http, rid, token))["checkout"]["show"]
        assert (stage["ended_at"], stage["replay"]) == (ended["ended_at"], False)

    r = await http.put(
        f"{url}/replay", json={"url": "https://cdn.example/rec.mp4", "offset_s": 3},
        headers=_bearer(host),
    )  # fmt: skip
    assert r.status_code == 200
    for token in (host, viewer):
        stage = (await _view(http, rid, token))["checkout"]["show"]
        assert (stage["ended_at"], stage["replay"]) == (ended["ended_at"], True)
    # the room's log has one end and one "replay set", not one per request
    assert (await _types(live_server, rid)).count("ShowEnded") == 2
    await http.put(
        f"{url}/replay", json={"url": "https://cdn.example/rec.mp4", "offset_s": 3},
        headers=_bearer(host),
    )  # fmt: skip
    assert (await _types(live_server, rid)).count("ShowEnded") == 2


async def _types(live_server: LiveServer, rid: str) -> list[str]:
    query = select(room_events.c.type).where(room_events.c.room_id == rid)
    async with live_server.app_state.engine.connect() as conn:
        return [str(t) for t in (await conn.execute(query)).scalars()]


def _drop(drop_id: str, at: int, ends_at: int) -> dict[str, Any]:
    return {"kind": "drop", "sku": "tent", "at": at,
            "drop": {"drop_id": drop_id, "sku": "tent", "ends_at": ends_at}}  # fmt: skip


def _ended(drop_id: str, at: int) -> dict[str, Any]:
    return {"kind": "drop_ended", "sku": "tent", "at": at, "drop": {"drop_id": drop_id}}


def test_a_drop_whose_countdown_ran_out_ends_at_its_ends_at_on_the_replay() -> None:
    pin = {"kind": "pin", "sku": "tent", "at": 1_000}
    # ran out, never closed: its end is placed at ends_at, in time order
    moments = _drop_ends(
        [pin, _drop("d1", 2_000, 62_000), {"kind": "pin", "sku": "x", "at": 90_000}], None
    )
    assert [(m["kind"], m["at"]) for m in moments] == [
        ("pin", 1_000), ("drop", 2_000), ("drop_ended", 62_000), ("pin", 90_000),
    ]  # fmt: skip
    assert moments[2]["drop"] == {"drop_id": "d1", "sku": "tent"}
    # closed "by time" when the next drop started, minutes later: read at its ends_at
    later = _drop_ends(
        [_drop("d1", 2_000, 62_000), _ended("d1", 300_000), _drop("d2", 300_000, 330_000)], 400_000
    )
    assert [(m["kind"], m["drop"]["drop_id"], m["at"]) for m in later] == [
        ("drop", "d1", 2_000), ("drop_ended", "d1", 62_000), ("drop", "d2", 300_000),
        ("drop_ended", "d2", 330_000),
    ]  # fmt: skip
    # the host ended it early: the end event stands; a countdown past the show's end adds none
    early = _drop_ends([_drop("d1", 2_000, 62_000), _ended("d1", 10_000)], None)
    assert [(m["kind"], m["at"]) for m in early] == [("drop", 2_000), ("drop_ended", 10_000)]
    assert [m["kind"] for m in _drop_ends([_drop("d1", 2_000, 62_000)], 30_000)] == ["drop"]
