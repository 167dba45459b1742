"""An endpoint that fails every attempt for days is disabled (reason ``failing``), shown as such
to its merchant and enabled again with PATCH; the webhook metrics follow. The store and the
worker run on SQLite and PostgreSQL with a fake clock: days pass without waiting."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

import httpx
from alembic import command
from sqlalchemy import Connection, inspect
from standardwebhooks import Webhook

from server.db.engine import alembic_config, upgrade_engine
from server.metrics import Metrics
from server.webhooks.store import WebhookStore
from server.webhooks.worker import DISABLE_AFTER_S
from tests.server.checkout.support import checkout_env
from tests.server.webhook_db import (
    DAY_MS,
    SECRET,
    T0,
    Answers,
    Clock,
    Db,
    add_delivery,
    add_endpoint,
    db,
    worker,
)
from tests.server.webhook_receiver import add_endpoint as add_rest_endpoint
from tests.server.webhook_receiver import demo_key, receiver, verify_all

__all__ = ["db"]  # the fixture


def _sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def _metrics_showing(http: httpx.AsyncClient, line: str) -> str:
    async with asyncio.timeout(30):
        while True:
            text = (await http.get("/metrics")).text
            if line in text.splitlines():
                return text
            await asyncio.sleep(0.1)


async def test_five_days_of_failed_attempts_disable_the_endpoint(db: Db) -> None:
    assert DISABLE_AFTER_S == 5 * 24 * 3600  # the documented default
    engine, clock, answers, metrics = db.engine(), Clock(), Answers(500), Metrics()
    store = WebhookStore(engine)
    sender = worker(engine, answers, clock, metrics=metrics)
    await sender.open()
    try:
        await add_endpoint(store, "we_1", T0)
        await add_delivery(engine, "we_1", "msg_a", T0, room_id="r1")
        assert await sender.drain() == 1
        assert (await store.endpoint("we_1")).failing_since == T0  # type: ignore[union-attr]

        # every day another message fails too: still enabled just short of five days
        for day in range(1, 5):
            clock.advance(DAY_MS)
            await add_delivery(engine, "we_1", f"msg_day{day}", clock.ms, room_id=f"r{day + 1}")
            await sender.drain()
        clock.advance(DAY_MS - 1)
        await add_delivery(engine, "we_1", "msg_late", clock.ms, room_id="r9")
        await sender.drain()
        endpoint = await store.endpoint("we_1")
        assert endpoint is not None and endpoint.enabled and endpoint.disabled_reason is None

        clock.advance(1)  # five days after the first failure
        await add_delivery(engine, "we_1", "msg_last", clock.ms, room_id="r10")
        assert await sender.drain() == 1
        endpoint = await store.endpoint("we_1")
        assert endpoint is not None and not endpoint.enabled
        assert endpoint.disabled_reason == "failing" and endpoint.disabled_at == clock.ms
        assert endpoint.failing_since == T0
        # nothing more is sent to it: its deliveries wait, out of the pending figure
        clock.advance(DAY_MS)
        sent = len(answers.requests)
        assert await sender.drain() == 0 and len(answers.requests) == sent
        await sender.observe()
        assert _sample(metrics, "coshop_webhook_endpoints_disabled", reason="failing") == 1
        assert _sample(metrics, "coshop_webhook_endpoints_disabled", reason="merchant") == 0
        assert _sample(metrics, "coshop_webhook_pending") == 0
        assert _sample(metrics, "coshop_webhook_deliveries_total", outcome="retrying") == sent
        assert _sample(metrics, "coshop_webhook_deliveries_total", outcome="delivered") == 0
        # every request was signed as Standard Webhooks says (at the fake clock's time)
        for request in answers.requests:
            h = request.headers
            when = datetime.datetime.fromtimestamp(int(h["webhook-timestamp"]), tz=datetime.UTC)
            signed = Webhook(SECRET).sign(h["webhook-id"], when, request.content.decode())
            assert h["webhook-signature"] == signed
    finally:
        await sender.close()


async def test_one_delivered_attempt_starts_the_count_again(db: Db) -> None:
    engine, clock, answers, metrics = db.engine(), Clock(), Answers(500), Metrics()
    store = WebhookStore(engine)
    sender = worker(engine, answers, clock, metrics=metrics, schedule=(60.0,) * 20)
    await sender.open()
    try:
        await add_endpoint(store, "we_1", T0)
        await add_delivery(engine, "we_1", "msg_a", T0, room_id="r1")
        await sender.drain()  # fails at T0
        clock.advance(3 * DAY_MS)
        answers.status = 200
        await add_delivery(engine, "we_1", "msg_b", clock.ms, room_id="r2")
        await sender.drain()  # msg_a's retry and msg_b delivered: the run of failures ends
        endpoint = await store.endpoint("we_1")
        assert endpoint is not None and endpoint.failing_since is None
        assert _sample(metrics, "coshop_webhook_deliveries_total", outcome="delivered") == 2

        answers.status = 503
        clock.advance(DAY_MS)
        failing_from = clock.ms
        await add_delivery(engine, "we_1", "msg_c", clock.ms, room_id="r3")
        await sender.drain()
        clock.advance(4 * DAY_MS)  # 8 days after the first failure, 4 after the last success
        await add_delivery(engine, "we_1", "msg_d", clock.ms, room_id="r4")
        await sender.drain()
        endpoint = await store.endpoint("we_1")
        assert endpoint is not None and endpoint.enabled
        assert endpoint.failing_since == failing_from

        await sender.observe()
        assert _sample(metrics, "coshop_webhook_pending") == 2  # msg_c and msg_d wait to retry
        oldest = _sample(metrics, "coshop_webhook_oldest_pending_age_seconds")
        assert oldest == (clock.ms - failing_from) / 1000

        clock.advance(DAY_MS)
        await add_delivery(engine, "we_1", "msg_e", clock.ms, room_id="r5")
        await sender.drain()
        endpoint = await store.endpoint("we_1")
        assert endpoint is not None and endpoint.disabled_reason == "failing"
    finally:
        await sender.close()


async def test_a_delivery_given_up_on_counts_as_failed(db: Db) -> None:
    engine, clock, answers, metrics = db.engine(), Clock(), Answers(410), Metrics()
    store = WebhookStore(engine)
    sender = worker(engine, answers, clock, metrics=metrics, schedule=(1.0,))
    await sender.open()
    try:
        await add_endpoint(store, "we_1", T0)
        did = await add_delivery(engine, "we_1", "msg_a", T0)
        await sender.drain()
        clock.advance(1000)
        await sender.drain()
        delivery = await store.delivery(did)
        assert delivery is not None and delivery.status == "failed"
        assert _sample(metrics, "coshop_webhook_deliveries_total", outcome="retrying") == 1
        assert _sample(metrics, "coshop_webhook_deliveries_total", outcome="failed") == 1
        endpoint = await store.endpoint("we_1")  # one failed second is not five days
        assert endpoint is not None and endpoint.enabled and endpoint.failing_since == T0
    finally:
        await sender.close()


async def test_the_merchant_sees_the_disabled_endpoint_and_enables_it_again(
    tmp_path: Path,
) -> None:
    async with checkout_env(tmp_path) as env, receiver() as rx:
        service = env.app.state.webhooks
        service.worker.schedule = (0.05,) * 5
        service.worker.disable_after_ms = 0  # the first failure disables (the setting, shrunk)
        service.worker.metrics = env.app.state.metrics
        key = await demo_key(env)
        auth = {"Authorization": f"Bearer {key}"}
        endpoint = await add_rest_endpoint(env.http, key, rx.url, ["room.created"])
        assert endpoint["disabled_reason"] is None and endpoint["failing_since"] is None
        one = f"/api/v1/merchant/webhooks/{endpoint['id']}"
        rx.statuses = [500]
        first, _ = await env.room()

        async with asyncio.timeout(30):
            while (await env.http.get(one, headers=auth)).json()["enabled"]:
                await asyncio.sleep(0.05)
        shown = (await env.http.get("/api/v1/merchant/webhooks", headers=auth)).json()
        (listed,) = shown["webhooks"]
        assert listed["enabled"] is False and listed["disabled_reason"] == "failing"
        assert listed["failing_since"] is not None and listed["disabled_at"] is not None
        # the worker's pass reads the gauges (at most once a second)
        text = await _metrics_showing(
            env.http, 'coshop_webhook_endpoints_disabled{reason="failing"} 1.0'
        )
        assert 'coshop_webhook_deliveries_total{outcome="retrying"} 1.0' in text
        assert "coshop_webhook_pending 0.0" in text  # its delivery waits, but not as pending

        # switched off by the merchant instead: the reason says so
        r = await env.http.patch(one, json={"enabled": "yes"}, headers=auth)
        assert r.status_code == 422 and r.json()["field"] == "enabled"
        r = await env.http.patch(one, json={"enabled": True}, headers=auth)
        assert r.status_code == 200, r.text
        back = r.json()
        assert back["enabled"] is True and back["disabled_reason"] is None
        assert back["disabled_at"] is None and back["failing_since"] is None
        # the delivery that waited goes now, with the same webhook-id
        (got,) = await rx.until_types("room.created")
        assert got.json["data"]["room_id"] == first["room_id"]
        assert rx.received[0].id == got.id
        verify_all(rx.received, endpoint["secret"])

        r = await env.http.patch(one, json={"enabled": False}, headers=auth)
        assert r.json()["disabled_reason"] == "merchant" and r.json()["enabled"] is False
        text = await _metrics_showing(
            env.http, 'coshop_webhook_endpoints_disabled{reason="merchant"} 1.0'
        )
        assert 'coshop_webhook_endpoints_disabled{reason="failing"} 0.0' in text


async def test_the_migration_goes_down_and_up_and_keeps_paused_endpoints(db: Db) -> None:
    """0016 adds the three columns; an endpoint switched off before it reads as disabled by its
    merchant afterwards; its downgrade drops them and keeps the rows."""
    engine = db.engine()
    store = WebhookStore(engine)
    await add_endpoint(store, "we_on", T0)
    await add_endpoint(store, "we_off", T0)
    await store.update_endpoint("we_off", {"enabled": False, "updated_at": T0 + 5})

    def _downgrade(sync_conn: Connection) -> list[str]:
        config = alembic_config()
        config.attributes["connection"] = sync_conn
        command.downgrade(config, "0015_merchant_store")
        return [c["name"] for c in inspect(sync_conn).get_columns("webhook_endpoints")]

    async with engine.begin() as conn:
        columns = await conn.run_sync(_downgrade)
    assert "disabled_reason" not in columns and "failing_since" not in columns
    await upgrade_engine(engine)
    on, off = await store.endpoint("we_on"), await store.endpoint("we_off")
    assert on is not None and on.enabled and on.disabled_reason is None
    assert off is not None and not off.enabled
    assert off.disabled_reason == "merchant" and off.disabled_at == T0 + 5
