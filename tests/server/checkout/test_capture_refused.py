"""A capture the provider refuses for good while the hold is still on the card: the share fails,
the order voids, and the hold is voided at the provider (not left until it lapses).

The provider is the sandbox, behind a proxy that answers chosen capture requests with Stripe's
400 ``invalid_request_error`` (``provider_rejected``: permanent), and passes everything else.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.server.checkout.support import (
    AUTH,
    Env,
    checkout_env,
    frozen_order,
    order_status,
    serve_app,
    stop_app,
)
from tests.server.checkout.test_outbox import eventually, quick_retries, rows
from tests.server.conftest import free_port


class RefusedCaptures:
    """Refuses the first ``refuse`` capture requests with a 400; forwards the rest."""

    def __init__(self, upstream: str, refuse: int) -> None:
        self.refuse = refuse
        self.refused: list[str] = []  # the capture paths refused
        self.client = httpx.AsyncClient(base_url=upstream, timeout=15)

    async def forward(self, request: Request) -> Response:
        if request.url.path.endswith("/capture") and len(self.refused) < self.refuse:
            self.refused.append(request.url.path)
            return JSONResponse(
                {"error": {"type": "invalid_request_error", "message": "card issuer refused"}},
                status_code=400,
            )
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


@contextlib.asynccontextmanager
async def refused_captures(
    upstream: str, refuse: int
) -> AsyncIterator[tuple[RefusedCaptures, str]]:
    proxy = RefusedCaptures(upstream, refuse)
    port = free_port()
    running = await serve_app(
        Starlette(routes=[Route("/{path:path}", proxy.forward, methods=["GET", "POST"])]), port
    )
    try:
        yield proxy, f"http://127.0.0.1:{port}"
    finally:
        await stop_app(*running)
        await proxy.client.aclose()


async def _intent(env: Env, payment_id: str) -> str:
    r = await env.sandbox.get(f"/v1/payment_intents/{payment_id}", headers=AUTH)
    status: str = r.json()["status"]
    return status


async def test_a_refused_capture_voids_the_hold(tmp_path: Path) -> None:
    sandbox_port = free_port()
    async with (
        refused_captures(f"http://127.0.0.1:{sandbox_port}", refuse=99) as (proxy, url),
        checkout_env(tmp_path, sandbox_port=sandbox_port, provider_url=url) as env,
    ):
        quick_retries(env.service)
        room, _, host, order = await frozen_order(env, all_or_nothing=True)
        rid, token, oid = room["room_id"], room["host"]["token"], order["order_id"]
        pay = await env.call("POST", f"/api/v1/rooms/{rid}/checkout/{oid}/pay", token)
        assert pay.status_code == 200, pay.text
        await env.pay_on_page(pay.json()["url"])  # authorized: the capture is due, and refused

        settled = await host.until_event("OrderSettled", order_id=oid, timeout=30)
        assert settled["outcome"] == "void"
        assert (await order_status(env, room))["status"] == "void"

        async def voided() -> bool:
            return any(r.kind == "void" and r.done_at is not None for r in await rows(env, oid))

        await eventually(voided)
        (capture,) = [r for r in await rows(env, oid) if r.kind == "capture"]
        (void,) = [r for r in await rows(env, oid) if r.kind == "void"]
        assert capture.dead and capture.last_error == "provider_rejected"
        assert not void.dead
        assert void.payload["payment_id"] == capture.payload["payment_id"]
        assert await _intent(env, str(capture.payload["payment_id"])) == "canceled"
    assert len(proxy.refused) == 1  # one capture, refused for good: never tried again


async def test_the_other_payers_holds_are_voided_too(tmp_path: Path) -> None:
    sandbox_port = free_port()
    async with (
        refused_captures(f"http://127.0.0.1:{sandbox_port}", refuse=99) as (proxy, url),
        checkout_env(tmp_path, sandbox_port=sandbox_port, provider_url=url) as env,
    ):
        quick_retries(env.service)
        room, (bea,), _host, order = await frozen_order(
            env, mode="equal_split", all_or_nothing=True, members=("Bea",)
        )
        rid, oid = room["room_id"], order["order_id"]
        for token in (room["host"]["token"], bea["token"]):
            pay = await env.call("POST", f"/api/v1/rooms/{rid}/checkout/{oid}/pay", token)
            assert pay.status_code == 200, pay.text
            await env.pay_on_page(pay.json()["url"])

        async def settled() -> bool:
            status: str = (await order_status(env, room))["status"]
            return status == "void"

        await eventually(settled)
        payments = {
            str(r.payload["payment_id"]) for r in await rows(env, oid) if r.kind == "capture"
        }
        assert len(payments) == 2

        async def no_hold_left() -> bool:
            return all([await _intent(env, p) == "canceled" for p in payments])

        await eventually(no_hold_left)
        assert not [r for r in await rows(env, oid) if r.kind == "void" and r.dead]
    assert proxy.refused  # at least the first capture was refused
