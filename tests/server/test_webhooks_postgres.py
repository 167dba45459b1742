"""Outbound webhooks on PostgreSQL.

- The end-to-end webhook tests (and the shows' webhook test) run again with coshop on a
  PostgreSQL database of their own (created and dropped per test; the fixture checks that the
  test's coshop really ran on it).
- A restarted coshop on PostgreSQL sends what the stopped one left, and finds a log nobody fed.
- On both databases, with two engines as two processes: two workers draining at once send each
  delivery once; two feeds feeding the same logs at once write each message once; a receiver's
  answer with NUL bytes is logged (PostgreSQL's text refuses NUL).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select

import tests.server.checkout.support as support
from server.api.rooms import DEMO_MERCHANT
from server.settings import Settings
from server.webhooks.feed import Feed
from server.webhooks.store import WebhookStore
from server.webhooks.tables import attempts, deliveries, feed
from tests.server import test_shows as show_suite
from tests.server import test_webhooks as room_suite
from tests.server import test_webhooks_api as api_suite
from tests.server import test_webhooks_disable as disable_suite
from tests.server import test_webhooks_orders as order_suite
from tests.server.conftest import free_port, run_server, server_settings
from tests.server.webhook_db import (
    T0,
    Answers,
    Clock,
    Db,
    add_delivery,
    add_endpoint,
    add_room,
    db,
    worker,
)
from tests.server.webhook_receiver import add_endpoint as add_rest_endpoint
from tests.server.webhook_receiver import receiver, verify_all
from tests.services import POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, postgres_url, unique_name

__all__ = ["db"]  # the fixture

KEY = "ck_test_pg_webhooks_" + "p" * 20


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own (its URL); afterwards it must hold coshop's
    tables and the demo merchant (the test's coshop really ran on it), then it is dropped."""
    base = postgres_url()
    name = unique_name("coshop_wh")
    admin = await asyncpg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user=POSTGRES_USER, database="postgres"
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield base.rsplit("/", 1)[0] + "/" + name
        conn = await asyncpg.connect(
            host=POSTGRES_HOST, port=POSTGRES_PORT, user=POSTGRES_USER, database=name
        )
        try:
            used = await conn.fetchval("SELECT count(*) FROM merchants")
        finally:
            await conn.close()
        assert used > 0, "the test's coshop did not run on PostgreSQL"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def on_postgres(pg_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``checkout_env`` starts coshop on ``pg_database`` instead of its SQLite file."""

    def settings(tmp_path: Path, **changes: Any) -> Settings:
        # the checkout support passes a database_url of its own: this one wins
        return server_settings(tmp_path, **{**changes, "database_url": pg_database})

    monkeypatch.setattr(support, "server_settings", settings)
    return pg_database


# ---- the end-to-end tests, again on PostgreSQL ------------------------------------------------
@pytest.mark.postgres
async def test_room_events_in_order_with_a_retry(on_postgres: str, tmp_path: Path) -> None:
    await room_suite.test_room_events_arrive_signed_in_order_and_a_500_is_retried(tmp_path)


@pytest.mark.postgres
async def test_only_subscribed_events_and_nothing_from_before(
    on_postgres: str, tmp_path: Path
) -> None:
    await room_suite.test_an_endpoint_gets_only_its_events_and_nothing_from_before_it(tmp_path)


@pytest.mark.postgres
async def test_endpoints_rest_surface(on_postgres: str, tmp_path: Path) -> None:
    await api_suite.test_endpoints_are_validated_listed_updated_rotated_and_deleted(tmp_path)


@pytest.mark.postgres
async def test_order_paid_in_the_merchants_system(on_postgres: str, tmp_path: Path) -> None:
    await order_suite.test_order_paid_makes_one_order_with_a_payment_per_payer(tmp_path)


@pytest.mark.postgres
async def test_void_then_refund(on_postgres: str, tmp_path: Path) -> None:
    await order_suite.test_a_canceled_order_sends_void_then_the_refund_of_the_paid_share(tmp_path)


@pytest.mark.postgres
async def test_disabled_and_enabled_again(on_postgres: str, tmp_path: Path) -> None:
    await disable_suite.test_the_merchant_sees_the_disabled_endpoint_and_enables_it_again(tmp_path)


@pytest.mark.postgres
async def test_show_messages_written_with_their_fact(pg_database: str, tmp_path: Path) -> None:
    async with (
        run_server(server_settings(tmp_path, database_url=pg_database)) as srv,
        httpx.AsyncClient(base_url=srv.base_url, timeout=10) as http,
    ):
        await show_suite.test_a_show_is_scheduled_reminded_started_and_listed(srv, http)


# ---- restarts on PostgreSQL -------------------------------------------------------------------
async def _delivery_log(base_url: str, endpoint_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        r = await http.get(
            f"/api/v1/merchant/webhooks/{endpoint_id}/deliveries",
            headers={"Authorization": f"Bearer {KEY}"},
        )
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["deliveries"]
    return found


@pytest.mark.postgres
async def test_a_delivery_a_stopped_process_left_is_sent_by_the_next(
    pg_database: str, tmp_path: Path
) -> None:
    settings = server_settings(tmp_path, database_url=pg_database)
    port = free_port()
    async with run_server(settings) as first:
        await first.app_state.registry.rotate_api_key(DEMO_MERCHANT, KEY)
        first.app_state.webhooks.worker.schedule = (0.3,) * 50
        async with httpx.AsyncClient(base_url=first.base_url) as http:
            url = f"http://127.0.0.1:{port}/hook"  # nobody listens there yet
            endpoint = await add_rest_endpoint(http, KEY, url, ["room.created"])
            r = await http.post("/api/v1/rooms", json={"title": "Left behind"})
            assert r.status_code == 201
            room_id = r.json()["room_id"]
        async with asyncio.timeout(20):
            while not [d for d in await _delivery_log(first.base_url, endpoint["id"])
                       if d["attempts"] >= 1 and d["status"] == "retrying"]:  # fmt: skip
                await asyncio.sleep(0.05)
    async with receiver(port) as rx, run_server(settings) as second:
        second.app_state.webhooks.worker.schedule = (0.3,) * 50
        (got,) = await rx.until_types("room.created")
        verify_all(rx.received, endpoint["secret"])
        assert got.json["data"]["room_id"] == room_id
        async with asyncio.timeout(20):
            while True:
                (delivery,) = await _delivery_log(second.base_url, endpoint["id"])
                if delivery["status"] == "delivered":
                    break
                await asyncio.sleep(0.05)
        assert delivery["message_id"] == got.id and delivery["attempts"] >= 2


@pytest.mark.postgres
async def test_a_log_nobody_fed_is_found_by_the_next_start(
    pg_database: str, tmp_path: Path
) -> None:
    settings = server_settings(tmp_path, database_url=pg_database)
    async with receiver() as rx:
        async with run_server(settings) as first:
            await first.app_state.registry.rotate_api_key(DEMO_MERCHANT, KEY)
            async with httpx.AsyncClient(base_url=first.base_url) as http:
                endpoint = await add_rest_endpoint(
                    http, KEY, rx.url, ["room.created", "member.joined"]
                )
                first.app_state.hub.committer.committed = None  # died before the feed ran
                r = await http.post("/api/v1/rooms", json={"title": "Unfed"})
                assert r.status_code == 201
                room_id = r.json()["room_id"]
            assert await _delivery_log(first.base_url, endpoint["id"]) == []
        async with run_server(settings):
            got = await rx.until_types("room.created", "member.joined")
    verify_all(rx.received, endpoint["secret"])
    assert [r.json["type"] for r in got] == ["room.created", "member.joined"]
    assert {r.json["data"]["room_id"] for r in got} == {room_id}


# ---- two processes at once, on both databases ------------------------------------------------
async def test_two_workers_draining_at_once_send_each_delivery_once(db: Db) -> None:
    first_engine, second_engine = db.engine(), db.engine()
    clock, answers = Clock(T0 + 30), Answers(200)
    store = WebhookStore(first_engine)
    await add_endpoint(store, "we_1", T0)
    ids = [
        await add_delivery(first_engine, "we_1", f"msg_{i}", T0 + i, room_id=f"r{i % 6}")
        for i in range(30)
    ]
    one = worker(first_engine, answers, clock, batch=50)
    two = worker(second_engine, answers, clock, batch=50)
    await one.open()
    await two.open()
    try:
        for _ in range(10):  # a room's next delivery is due once its previous one is done
            await asyncio.gather(one.drain(), two.drain())
    finally:
        await one.close()
        await two.close()
    assert sorted(answers.ids()) == sorted(f"msg_{i}" for i in range(30))
    for i in range(6):  # each room's messages arrived in order
        room = [m for m in answers.ids() if int(m.split("_")[1]) % 6 == i]
        assert room == sorted(room, key=lambda m: int(m.split("_")[1]))
    async with first_engine.connect() as conn:
        tries = await conn.scalar(select(func.count()).select_from(attempts))
        done = await conn.scalar(
            select(func.count()).where(
                deliveries.c.done_at.is_not(None), deliveries.c.dead.is_(False)
            )
        )
    assert tries == len(ids) and done == len(ids)


async def test_two_feeds_feeding_the_same_logs_write_each_message_once(db: Db) -> None:
    first_engine, second_engine = db.engine(), db.engine()
    store = WebhookStore(first_engine)
    await add_endpoint(store, "we_1", T0)
    await add_endpoint(store, "we_2", T0)
    rooms = [f"room{i}" for i in range(12)]
    for room_id in rooms:
        await add_room(first_engine, room_id, T0 + 1)
    clock = Clock(T0 + 2)
    feeds = [
        Feed(engine, delivered=lambda: None, clock=clock)
        for engine in (first_engine, second_engine)
    ]
    for one in feeds:
        await one.recover()  # each finds every log behind its cursor
    results = await asyncio.gather(*(one.drain() for one in feeds))
    assert results == [True, True]
    async with first_engine.connect() as conn:
        rows = (await conn.execute(select(deliveries.c.endpoint_id, deliveries.c.message_id))).all()
        found = await conn.execute(
            select(feed.c.stream_id, feed.c.seq).where(feed.c.source == "room")
        )
        cursors = {str(stream_id): int(seq) for stream_id, seq in found}
    assert len(rows) == len(set(rows)) == 2 * 5 * len(rooms)  # opened + 4 joined, 2 endpoints
    assert cursors == dict.fromkeys(rooms, 5)


async def test_an_answer_with_nul_bytes_is_logged(db: Db) -> None:
    engine, clock = db.engine(), Clock()
    answers = Answers(502, body=b"bad\x00gateway")
    store = WebhookStore(engine)
    await add_endpoint(store, "we_1", T0)
    did = await add_delivery(engine, "we_1", "msg_a", T0)
    sender = worker(engine, answers, clock)
    await sender.open()
    try:
        assert await sender.drain() == 1
    finally:
        await sender.close()
    (attempt,) = await store.attempts(did)
    assert attempt.status == 502 and attempt.response == "bad\ufffdgateway"
    delivery = await store.delivery(did)
    assert delivery is not None and delivery.status == "retrying" and delivery.attempts == 1
