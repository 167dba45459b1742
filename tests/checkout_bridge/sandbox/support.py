"""Helpers for the sandbox tests: run the app in the test's loop, a webhook receiver, forms."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, MutableMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout_bridge.sandbox import SandboxConfig, create_sandbox_app

API_KEY = "sk_test_sandbox"
SECRET = "whsec_test_secret"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@contextlib.asynccontextmanager
async def run_lifespan(app: Starlette) -> AsyncIterator[None]:
    """Drive an ASGI app's lifespan protocol in the current loop (no extra dependency)."""
    receive_queue: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
    send_queue: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()

    async def receive() -> MutableMapping[str, Any]:
        return await receive_queue.get()

    async def send(message: MutableMapping[str, Any]) -> None:
        await send_queue.put(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, receive, send))
    await receive_queue.put({"type": "lifespan.startup"})
    started = await send_queue.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await receive_queue.put({"type": "lifespan.shutdown"})
        stopped = await send_queue.get()
        assert stopped["type"] == "lifespan.shutdown.complete", stopped
        await task


@dataclass
class Receiver:
    """A real webhook endpoint: records each delivery, answers ``fail_first`` times with 500."""

    fail_first: int = 0
    received: list[tuple[bytes, str | None]] = field(default_factory=list)
    attempts: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    attempted: asyncio.Event = field(default_factory=asyncio.Event)

    async def endpoint(self, request: Request) -> Response:
        self.attempts += 1
        self.attempted.set()
        if self.attempts <= self.fail_first:
            return Response("not yet", status_code=500)
        self.received.append((await request.body(), request.headers.get("stripe-signature")))
        self.arrived.set()
        return Response("ok")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.endpoint, methods=["POST"])])

    async def wait_for(self, count: int, limit: float = 10.0) -> None:
        """Wait (at most ``limit`` seconds) until ``count`` deliveries were accepted."""
        async with asyncio.timeout(limit):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


@dataclass
class Sandbox:
    client: httpx.AsyncClient
    config: SandboxConfig
    receiver: Receiver


SandboxFactory = Callable[..., contextlib.AbstractAsyncContextManager[Sandbox]]


def make_sandbox_factory(tmp_path: Path) -> SandboxFactory:
    @contextlib.asynccontextmanager
    async def make(receiver: Receiver | None = None, **overrides: Any) -> AsyncIterator[Sandbox]:
        receiver = receiver or Receiver()
        config = SandboxConfig(
            data_dir=tmp_path / "sandbox",
            public_url="http://sandbox.test",
            webhook_url="http://receiver.test/hook",
            webhook_secret=SECRET,
            webhook_retry_schedule=(0.01, 0.02, 0.04),
            sweep_interval=0.02,
            async_payment_delay=0.05,
            webhook_transport=httpx.ASGITransport(app=receiver.app()),
        )
        config = replace(config, **overrides)
        app = create_sandbox_app(config)
        async with (
            run_lifespan(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test"
            ) as client,
        ):
            yield Sandbox(client=client, config=config, receiver=receiver)

    return make


def session_form(**extra: str) -> dict[str, str]:
    form = {
        "mode": "payment",
        "success_url": "https://shop.test/done?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.test/cancelled",
        "client_reference_id": "order_1:share_a",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "1299",
        "line_items[0][price_data][product_data][name]": "Tent",
        "line_items[0][quantity]": "2",
        "line_items[1][price_data][currency]": "usd",
        "line_items[1][price_data][unit_amount]": "500",
        "line_items[1][price_data][product_data][name]": "Mug <b>",
        "line_items[1][quantity]": "1",
        "metadata[order]": "order_1",
    }
    form.update(extra)
    return form


async def create_session(client: httpx.AsyncClient, **extra: str) -> dict[str, Any]:
    response = await client.post("/v1/checkout/sessions", data=session_form(**extra), headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def card_form(number: str = "4242 4242 4242 4242", scenario: str = "pay") -> dict[str, str]:
    return {"card_number": number, "expiry": "12/39", "cvc": "123", "scenario": scenario}
