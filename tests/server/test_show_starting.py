"""``show.starting``: written once per show version, ten minutes before the start, by a periodic
pass (server/webhooks/shows.py) in a transaction that marks the show announced.

- On both databases with a fake clock: nothing before the lead time, one message at it, none
  again (same process or another); a change that keeps the start time sends none, a new start
  time one more; the message carries the show object ``show.scheduled`` carries and
  ``starts_in_s``, signed as Standard Webhooks says.
- Which shows get one: scheduled soon (at once), late but not over (``starts_in_s`` 0); none
  for a show live, ended, over, or not yet within the lead time.
- Several processes running the pass at once announce each show once.
- The app runs the pass: a show scheduled 5 minutes ahead reaches a receiver (verified by the
  standardwebhooks library) right after its ``show.scheduled``, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from server.api.rooms import DEMO_MERCHANT
from server.api.shows import _describe
from server.storage.shows import Show, ShowStore, shows
from server.webhooks.shows import SHOW_STARTING_LEAD_S, StartingPass, show_outbox
from server.webhooks.store import Endpoint, WebhookStore
from server.webhooks.tables import deliveries
from tests.server.conftest import LiveServer, run_server, server_settings
from tests.server.test_webhooks_postgres import pg_database
from tests.server.webhook_db import SECRET, T0, Answers, Clock, Db, add_endpoint, db, worker
from tests.server.webhook_receiver import add_endpoint as add_rest_endpoint
from tests.server.webhook_receiver import receiver, verify_all

__all__ = ["db", "pg_database"]  # the fixtures

BASE = "https://coshop.test"
LEAD_MS = SHOW_STARTING_LEAD_S * 1000
MIN = 60_000
KEY = "ck_test_show_starting_" + "s" * 20


def _show(room_id: str, starts_at: int, now: int, **changes: Any) -> Show:
    show = Show(
        room_id=room_id, merchant_id="shop", title="Friday sneakers", description="New drops",
        host_name="Ada", cover_url=None, starts_at=starts_at, duration_min=60,
        invite_id=f"inv_{room_id}", version=1, started_at=None, ended_at=None, replay_url=None,
        replay_offset_ms=0, created_at=now, updated_at=now,
    )  # fmt: skip
    return replace(show, **changes)


def _store(engine: AsyncEngine, clock: Clock) -> ShowStore:
    return ShowStore(engine, outbox=show_outbox(lambda s: _describe(s, BASE), lambda: clock.ms))


class Woken:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> None:
        self.n += 1


def _pass(engine: AsyncEngine, clock: Clock, **options: Any) -> tuple[StartingPass, Woken]:
    woken = Woken()
    return StartingPass(_store(engine, clock), delivered=woken, clock=clock, **options), woken


async def _messages(engine: AsyncEngine, endpoint_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The endpoint's deliveries in delivery order: (message id, parsed body)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(deliveries.c.message_id, deliveries.c.payload)
            .where(deliveries.c.endpoint_id == endpoint_id)
            .order_by(deliveries.c.position, deliveries.c.delivery_id)
        )
        return [(str(m), json.loads(p)) for m, p in rows]


def _iso(ms: int) -> str:
    when = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def test_sent_once_at_the_lead_time_and_again_for_a_new_start_time(db: Db) -> None:
    engine, other_engine = db.engine(), db.engine()
    clock = Clock(T0)
    hooks = WebhookStore(engine)
    await add_endpoint(hooks, "we_all", T0)
    scheduled_only = Endpoint(
        endpoint_id="we_sched", merchant_id="shop", url="http://receiver.test/s",
        events=("show.scheduled",), description="", secret=SECRET, previous_secret=None,
        previous_until=None, enabled=True, created_at=T0, updated_at=T0,
    )  # fmt: skip
    await hooks.create_endpoint(scheduled_only)
    store = _store(engine, clock)
    starting, woken = _pass(engine, clock)
    other, _ = _pass(other_engine, clock)  # a second process on the same data

    starts = T0 + 30 * MIN
    await store.schedule(_show("room1", starts, T0))
    assert await starting.run_once() == 0
    clock.ms = starts - LEAD_MS - 1
    assert await starting.run_once() == 0 and woken.n == 0
    clock.ms = starts - LEAD_MS
    assert await starting.run_once() == 1 and woken.n == 1
    assert await starting.run_once() == 0
    assert await other.run_once() == 0
    announced_at = clock.ms

    # a change that keeps the start time: show.scheduled, no second show.starting
    clock.ms += MIN
    changed = await store.schedule(_show("room1", starts, clock.ms, title="Friday kicks"))
    assert changed.version == 2 and changed.starting_version == 2
    assert await starting.run_once() == 0 and await other.run_once() == 0
    # a new start time: announced again, when it is ten minutes away
    clock.ms += 1
    later = starts + 5 * MIN
    moved = await store.schedule(_show("room1", later, clock.ms, title="Friday kicks"))
    assert moved.version == 3 and moved.starting_version is None
    assert await starting.run_once() == 0
    clock.ms = later - LEAD_MS + 20_000  # a pass 20 s late
    assert await other.run_once() == 1 and await starting.run_once() == 0
    async with engine.connect() as conn:
        marked = await conn.scalar(select(shows.c.starting_version))
    assert marked == 3

    got = await _messages(engine, "we_all")
    assert [(m, b["type"]) for m, b in got] == [
        ("msg_show_room1_scheduled_1", "show.scheduled"),
        ("msg_show_room1_starting_1", "show.starting"),
        ("msg_show_room1_scheduled_2", "show.scheduled"),
        ("msg_show_room1_scheduled_3", "show.scheduled"),
        ("msg_show_room1_starting_3", "show.starting"),
    ]
    bodies = [b for _, b in got]
    first = bodies[1]
    assert first["timestamp"] == _iso(announced_at)
    assert first["data"] == {
        "room_id": "room1", "merchant_id": "shop", "show": bodies[0]["data"]["show"],
        "starts_in_s": 600,
    }  # fmt: skip
    assert first["data"]["show"]["starts_at"] == starts
    assert first["data"]["show"]["page_url"] == f"{BASE}/r/room1/show"
    last = bodies[4]["data"]
    assert last["show"] == bodies[3]["data"]["show"]
    assert (last["show"]["version"], last["show"]["starts_at"]) == (3, later)
    assert last["starts_in_s"] == 580
    # the endpoint that did not subscribe to show.starting got none
    assert [m for m, _ in await _messages(engine, "we_sched")] == [
        "msg_show_room1_scheduled_1", "msg_show_room1_scheduled_2", "msg_show_room1_scheduled_3",
    ]  # fmt: skip

    # delivered in that order, each signed as Standard Webhooks says
    answers = Answers(200)
    sender = worker(engine, answers, clock)
    await sender.open()
    try:
        while await sender.drain():
            pass
    finally:
        await sender.close()
    hook = Webhook(SECRET)
    sent = [r for r in answers.requests if r.url.path == "/we_all"]
    assert [r.headers["webhook-id"] for r in sent] == [m for m, _ in got]
    for request in sent:
        stamp = datetime.datetime.fromtimestamp(
            int(request.headers["webhook-timestamp"]), tz=datetime.UTC
        )
        signature = hook.sign(request.headers["webhook-id"], stamp, request.content.decode())
        assert request.headers["webhook-signature"] == signature
        assert base64.b64decode(signature.split(",", 1)[1])  # v1,<base64>


async def test_which_shows_get_show_starting(db: Db) -> None:
    engine, clock = db.engine(), Clock(T0)
    await add_endpoint(WebhookStore(engine), "we_1", T0)
    store = _store(engine, clock)
    starting, _ = _pass(engine, clock)
    await store.schedule(_show("soon", T0 + 5 * MIN, T0 - MIN))  # less than 10 minutes ahead
    await store.schedule(_show("edge", T0 + LEAD_MS, T0 - MIN))  # exactly 10 minutes
    await store.schedule(_show("far", T0 + LEAD_MS + 1, T0 - MIN))  # not yet
    await store.schedule(_show("late", T0 - 30 * MIN, T0 - 40 * MIN))  # not live, not over
    await store.schedule(_show("over", T0 - 61 * MIN, T0 - 70 * MIN))  # 60 minutes long
    await store.schedule(_show("live", T0 + 2 * MIN, T0 - MIN))
    await store.start("live", T0 - 1)
    await store.schedule(_show("ended", T0 + 3 * MIN, T0 - MIN))
    await store.start("ended", T0 - 2)
    await store.end("ended", T0 - 1)

    assert await starting.run_once() == 3
    got = {m: b["data"] for m, b in await _messages(engine, "we_1") if "_starting_" in m}
    assert {m: d["starts_in_s"] for m, d in got.items()} == {
        "msg_show_soon_starting_1": 300,
        "msg_show_edge_starting_1": 600,
        "msg_show_late_starting_1": 0,
    }
    assert all(d["show"]["status"] == "scheduled" for d in got.values())
    # a minute later: "far" is due; "soon", live since, is not announced again
    await store.start("soon", T0 + 1)
    clock.advance(MIN)
    assert await starting.run_once() == 1
    announced = [m for m, _ in await _messages(engine, "we_1") if "_starting_" in m]
    assert len(announced) == 4 and announced[-1] == "msg_show_far_starting_1"


async def test_several_processes_announce_each_show_once(db: Db) -> None:
    engines = [db.engine() for _ in range(3)]
    clock = Clock(T0)
    hooks = WebhookStore(engines[0])
    await add_endpoint(hooks, "we_1", T0)
    await add_endpoint(hooks, "we_2", T0)
    store = _store(engines[0], clock)
    rooms = [f"room{i}" for i in range(20)]
    for i, room_id in enumerate(rooms):
        await store.schedule(_show(room_id, T0 + 2 * MIN + i, T0 - MIN))
    passes = [_pass(engine, clock, batch=3)[0] for engine in engines]
    counts = await asyncio.gather(*(one.run_once() for one in passes + passes))
    assert sum(counts) == len(rooms)
    async with engines[0].connect() as conn:
        rows = (
            await conn.execute(
                select(deliveries.c.endpoint_id, deliveries.c.message_id).where(
                    deliveries.c.event_type == "show.starting"
                )
            )
        ).all()
        marks = (await conn.execute(select(shows.c.starting_version))).scalars().all()
    assert len(rows) == len(set(rows)) == 2 * len(rooms)
    assert {m for _, m in rows} == {f"msg_show_{r}_starting_1" for r in rooms}
    assert marks == [1] * len(rooms)


# ---- the app runs the pass -------------------------------------------------------------------
async def _through_the_app(http: httpx.AsyncClient, server: LiveServer) -> None:
    await server.app_state.registry.rotate_api_key(DEMO_MERCHANT, KEY)
    async with receiver() as rx:
        server.app_state.webhooks.worker.schedule = (0.05,)
        endpoint = await add_rest_endpoint(http, KEY, rx.url, ["show.scheduled", "show.starting"])
        r = await http.post(
            "/api/v1/rooms", json={"kind": "live", "title": "Sneaker drop", "host_name": "Ada"}
        )
        assert r.status_code == 201, r.text
        rid, host = r.json()["room_id"], r.json()["host"]["token"]
        url = f"/api/v1/rooms/{rid}/show"
        auth = {"Authorization": f"Bearer {host}"}
        starts = int(time.time() * 1000) + 5 * MIN
        body = {"title": "Friday sneakers", "starts_at": starts, "duration_min": 30}
        assert (await http.put(url, json=body, headers=auth)).status_code == 201
        got = await rx.until_types("show.scheduled", "show.starting")
        # the same start with a new title: no second show.starting; a new start: one more
        assert (
            await http.put(url, json={**body, "title": "Kicks"}, headers=auth)
        ).status_code == 200
        body = {**body, "title": "Kicks", "starts_at": starts + MIN}
        assert (await http.put(url, json=body, headers=auth)).status_code == 200
        got = await rx.until_types(*["show.scheduled"] * 3, *["show.starting"] * 2)
        bodies = verify_all(got, endpoint["secret"])
        assert [(b["type"], b["data"]["show"]["version"]) for b in bodies] == [
            ("show.scheduled", 1), ("show.starting", 1), ("show.scheduled", 2),
            ("show.scheduled", 3), ("show.starting", 3),
        ]  # fmt: skip
        assert bodies[1]["data"]["show"] == bodies[0]["data"]["show"]
        assert 0 < bodies[1]["data"]["starts_in_s"] <= 300
        assert bodies[4]["data"]["show"]["starts_at"] == starts + MIN
        assert [r.id for r in got][1] == f"msg_show_{rid}_starting_1"


async def test_the_app_sends_show_starting_for_a_show_scheduled_soon(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    await _through_the_app(http, live_server)


@pytest.mark.postgres
async def test_the_app_sends_show_starting_on_postgres(pg_database: str, tmp_path: Path) -> None:
    async with (
        run_server(server_settings(tmp_path, database_url=pg_database)) as srv,
        httpx.AsyncClient(base_url=srv.base_url, timeout=10) as http,
    ):
        await _through_the_app(http, srv)
