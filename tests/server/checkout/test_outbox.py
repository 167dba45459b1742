"""Durable checkout effects end to end: real faults, real processes, the sandbox provider.

- The room's storage refuses writes (a SQLite trigger on ``room_events`` for that room only):
  the order is paid, the room update waits in the outbox and arrives once writes work again.
- The provider refuses the capture twice (a proxy in front of the sandbox answers 503 with
  ``Stripe-Should-Retry: false``): the outbox retries, the third capture succeeds.
- SIGKILL between the webhook's commit and the room update (the room refusing writes keeps the
  row pending; see ``test_outbox_crash.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.checkout import CheckoutService
from server.checkout.outbox_store import OutboxRow
from tests.server.checkout.support import (
    AUTH,
    Env,
    checkout_env,
    frozen_order,
    order_status,
    serve_app,
    stop_app,
)
from tests.server.conftest import free_port

TRIGGER = "coshop_test_room_storage_down"


def refuse_room_writes(database: Path, room_id: str) -> None:
    """Make the room's event log refuse every write: its storage is down, other rooms' is not."""
    assert room_id.replace("_", "").replace("-", "").isalnum()  # safe inside the DDL below
    with sqlite3.connect(database, timeout=30) as conn:
        conn.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON room_events "
            f"WHEN NEW.room_id = '{room_id}' "
            "BEGIN SELECT RAISE(ABORT, 'room storage unavailable'); END"
        )


def allow_room_writes(database: Path) -> None:
    with sqlite3.connect(database, timeout=30) as conn:
        conn.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


def quick_retries(service: CheckoutService) -> None:
    """Retry after 50-500 ms instead of 1 s-5 min, and poll often: the tests wait less."""
    service.outbox.base_s, service.outbox.max_s, service.outbox.poll_s = 0.05, 0.5, 0.05


async def rows(env: Env, order_id: str) -> list[OutboxRow]:
    return await env.service.store.outbox.rows(order_id)


async def room_view(env: Env, room: dict[str, Any]) -> dict[str, Any]:
    r = await env.call("GET", f"/api/v1/rooms/{room['room_id']}", room["host"]["token"])
    assert r.status_code == 200, r.text
    view: dict[str, Any] = r.json()["view"]
    return view


async def test_the_room_update_waits_while_the_room_cannot_be_written_then_settles(
    tmp_path: Path,
) -> None:
    async with checkout_env(tmp_path) as env:
        quick_retries(env.service)
        room, _, host, order = await frozen_order(env)
        rid, token, oid = room["room_id"], room["host"]["token"], order["order_id"]
        database = env.data_dir / "coshop.db"
        await asyncio.to_thread(refuse_room_writes, database, rid)  # the server shares this loop
        try:
            pay = await env.call("POST", f"/api/v1/rooms/{rid}/checkout/{oid}/pay", token)
            assert pay.status_code == 200, pay.text  # the room update failing fails nothing
            await env.pay_on_page(pay.json()["url"])

            async def paid_and_waiting() -> bool:
                waiting = [r for r in await rows(env, oid) if r.done_at is None]
                return (await order_status(env, room))["status"] == "paid" and any(
                    r.payload.get("name") == "SettleOrder" for r in waiting
                )

            await eventually(paid_and_waiting)

            async def retried() -> bool:
                return any(r.attempts >= 2 for r in await rows(env, oid) if r.done_at is None)

            await eventually(retried)
            # The order is paid, the room has not heard: it still shows the order in progress.
            assert (await room_view(env, room))["checkout"]["phase"] == "settling"
            pending = [r for r in await rows(env, oid) if r.done_at is None]
            assert all(r.kind == "room_command" and not r.dead for r in pending)
            # Tried and refused by the room's storage; the later ones wait their turn (FIFO).
            assert {r.last_error for r in pending if r.attempts} == {"write_refused"}
            assert {r.last_error for r in pending if not r.attempts} <= {None}

            async def counted() -> bool:
                text = (await env.http.get("/metrics")).text
                return "coshop_checkout_outbox_depth 0.0" not in text

            await eventually(counted)
            metrics = (await env.http.get("/metrics")).text
            assert "coshop_checkout_outbox_oldest_age_seconds" in metrics
        finally:
            await asyncio.to_thread(allow_room_writes, database)

        settled = await host.until_event("OrderSettled", order_id=oid, timeout=30)
        assert settled["outcome"] == "paid"
        view = await room_view(env, room)
        assert view["checkout"]["phase"] == "open" and view["lines"] == []
        assert view["checkout"]["last_order"] == {"order_id": oid, "outcome": "paid"}
        assert (await order_status(env, room))["status"] == "paid"

        async def all_done() -> bool:  # a row is marked done just after the room took it
            return all(r.done_at is not None for r in await rows(env, oid))

        await eventually(all_done)
        assert not any(r.dead for r in await rows(env, oid))


class FlakyCaptures:
    """A proxy in front of the sandbox that refuses the first ``failures`` captures with 503."""

    def __init__(self, upstream: str, failures: int) -> None:
        self.upstream = upstream
        self.failures = failures
        self.captures: list[int] = []  # the status answered to each capture request
        self.keys: list[str | None] = []  # the Idempotency-Key of each capture request
        self.client = httpx.AsyncClient(base_url=upstream, timeout=15)
        self.url = ""  # where it listens, once served

    async def forward(self, request: Request) -> Response:
        if request.url.path.endswith("/capture"):
            self.keys.append(request.headers.get("idempotency-key"))
            if len(self.captures) < self.failures:
                self.captures.append(503)
                return JSONResponse(
                    {"error": {"type": "api_error", "message": "capture is down for a bit"}},
                    status_code=503,
                    headers={"Stripe-Should-Retry": "false"},  # one request per outbox attempt
                )
            self.captures.append(200)
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
        answer = await self.client.request(
            request.method,
            request.url.path,
            params=str(request.query_params),
            content=await request.body(),
            headers=headers,
        )
        drop = {"content-length", "content-encoding", "transfer-encoding", "connection"}
        return Response(
            answer.content,
            status_code=answer.status_code,
            headers={k: v for k, v in answer.headers.items() if k.lower() not in drop},
        )

    def app(self) -> Starlette:
        methods = ["GET", "POST", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", self.forward, methods=methods)])


@contextlib.asynccontextmanager
async def flaky_captures(upstream: str, failures: int) -> AsyncIterator[FlakyCaptures]:
    proxy = FlakyCaptures(upstream, failures)
    port = free_port()
    running = await serve_app(proxy.app(), port)
    proxy.url = f"http://127.0.0.1:{port}"
    try:
        yield proxy
    finally:
        await stop_app(*running)
        await proxy.client.aclose()


async def test_a_capture_that_fails_twice_is_retried_and_the_third_succeeds(
    tmp_path: Path,
) -> None:
    sandbox_port = free_port()
    async with (
        flaky_captures(f"http://127.0.0.1:{sandbox_port}", failures=2) as proxy,
        checkout_env(tmp_path, sandbox_port=sandbox_port, provider_url=proxy.url) as env,
    ):
        quick_retries(env.service)
        room, _, host, order = await frozen_order(env, all_or_nothing=True)
        rid, token, oid = room["room_id"], room["host"]["token"], order["order_id"]
        pay = await env.call("POST", f"/api/v1/rooms/{rid}/checkout/{oid}/pay", token)
        assert pay.status_code == 200, pay.text
        await env.pay_on_page(pay.json()["url"])  # authorized: the capture is due

        settled = await host.until_event("OrderSettled", order_id=oid, timeout=30)
        assert settled["outcome"] == "paid"
        assert (await order_status(env, room))["status"] == "paid"

        async def all_done() -> bool:  # the capture row is marked done after its facts applied
            return all(r.done_at is not None for r in await rows(env, oid))

        await eventually(all_done)
        (capture,) = [r for r in await rows(env, oid) if r.kind == "capture"]
        assert (capture.attempts, capture.dead) == (3, False)
        intent = await env.sandbox.get(
            f"/v1/payment_intents/{capture.payload['payment_id']}", headers=AUTH
        )
        assert intent.json()["status"] == "succeeded"
    assert proxy.captures == [503, 503, 200]
    # Every attempt named the same effect: the provider treats a repeat as one capture.
    assert proxy.keys == [f"coshop-fx-{capture.id}"] * 3


async def test_a_capture_refused_for_good_is_dead_counted_and_the_order_voids(
    tmp_path: Path,
) -> None:
    sandbox_port = free_port()
    async with (
        flaky_captures(f"http://127.0.0.1:{sandbox_port}", failures=1) as proxy,
        checkout_env(tmp_path, sandbox_port=sandbox_port, provider_url=proxy.url) as env,
    ):
        quick_retries(env.service)
        env.service.outbox.base_s = env.service.outbox.max_s = 2.0  # 1-2 s to act in
        room, _, host, order = await frozen_order(env, all_or_nothing=True)
        rid, token, oid = room["room_id"], room["host"]["token"], order["order_id"]
        pay = await env.call("POST", f"/api/v1/rooms/{rid}/checkout/{oid}/pay", token)
        await env.pay_on_page(pay.json()["url"])

        async def first_capture_refused() -> bool:
            return proxy.captures == [503]

        await eventually(first_capture_refused)
        (capture,) = [r for r in await rows(env, oid) if r.kind == "capture"]
        # Meanwhile the authorization is voided at the provider: no capture can ever succeed.
        r = await env.sandbox.post(
            f"/v1/payment_intents/{capture.payload['payment_id']}/cancel", headers=AUTH
        )
        assert r.status_code == 200, r.text

        settled = await host.until_event("OrderSettled", order_id=oid, timeout=30)
        assert settled["outcome"] == "void"
        assert (await order_status(env, room))["status"] == "void"

        async def dead() -> bool:
            (row,) = [r for r in await rows(env, oid) if r.kind == "capture"]
            return row.dead

        await eventually(dead)
        (capture,) = [r for r in await rows(env, oid) if r.kind == "capture"]
        assert (capture.attempts, capture.last_error) == (2, "provider_rejected")
        metrics = (await env.http.get("/metrics")).text
        assert "coshop_checkout_outbox_dead_total 1.0" in metrics
    assert proxy.captures == [503, 200]  # the second reached the provider, which refused it
