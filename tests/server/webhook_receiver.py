"""A merchant's webhook receiver for the tests: a tiny Starlette app under uvicorn on loopback.

It keeps every request (headers and raw body) and answers with the next status of ``statuses``
(200 once they run out). Tests verify what arrived with the ``standardwebhooks`` library.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.rooms import DEMO_MERCHANT
from tests.server.checkout.support import Env, serve_app, stop_app
from tests.server.conftest import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    port: int
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        status = self.statuses.pop(0) if self.statuses else 200
        self.received.append(Received(dict(request.headers), body, status))
        self._changed.set()
        return Response(b"ok" if status < 300 else b"try later", status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self._handle, methods=["POST"])])

    def delivered(self) -> list[Received]:
        """Requests answered 2xx, once per webhook-id, in arrival order."""
        seen: dict[str, Received] = {}
        for r in self.received:
            if 200 <= r.status < 300 and r.id not in seen:
                seen[r.id] = r
        return list(seen.values())

    async def until(self, check: Callable[[], bool], timeout: float = 60.0) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                self._changed.clear()
                await self._changed.wait()

    async def until_types(self, *types: str, timeout: float = 60.0) -> list[Received]:
        def done() -> bool:
            got = [r.json["type"] for r in self.delivered()]
            return all(got.count(t) >= types.count(t) for t in set(types))

        await self.until(done, timeout)
        return self.delivered()


def verify_all(received: list[Received], secret: str) -> list[dict[str, Any]]:
    """Every request verified by the standardwebhooks library; their parsed bodies."""
    hook = Webhook(secret)
    return [hook.verify(r.body, r.headers) for r in received]


@contextlib.asynccontextmanager
async def receiver(port: int | None = None) -> AsyncIterator[Receiver]:
    rx = Receiver(port or free_port())
    served = await serve_app(rx.app(), rx.port)
    try:
        yield rx
    finally:
        await stop_app(*served)


async def demo_key(env: Env) -> str:
    """An API key for the demo merchant (whose rooms the tests create anonymously)."""
    key = "ck_test_webhooks_" + "k" * 20
    await env.app.state.registry.rotate_api_key(DEMO_MERCHANT, key)
    return key


async def add_endpoint(
    http: httpx.AsyncClient, key: str, url: str, events: list[str]
) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/merchant/webhooks",
        json={"url": url, "events": events},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data
