"""Real processes on loopback for the checkout tests: the sandbox provider and coshop.

The sandbox runs under uvicorn on its own free port with its own data directory and delivers
signed webhooks to coshop's ``/webhooks/stripe``. coshop is ``create_app(settings)`` with the
checkout routes and service added the way ``server/app.py`` wires them. Every log record and
every WebSocket frame the test clients receive is kept, for the card-data boundary test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from checkout_bridge.sandbox import SandboxConfig, create_sandbox_app
from checkout_bridge.webhooks import sign_payload
from server.app import create_app
from server.checkout import CheckoutService
from tests.server.conftest import free_port, server_settings
from tests.server.peers import Peer

SECRET = "whsec_checkout_test"
API_KEY = "sk_test_sandbox"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
CARD = "4242424242424242"


class LogSink(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        extra = {
            k: v
            for k, v in record.__dict__.items()
            if k not in logging.LogRecord("", 0, "", 0, "", (), None).__dict__
        }
        self.lines.append(f"{record.name} {record.getMessage()} {extra!r} {record.exc_text or ''}")


class RecordingPeer(Peer):
    """A peer that keeps every raw frame it received."""

    frames: list[bytes | str]

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):  # not wait_for: it swallows cancels (waiting.py)
            frame = await self.ws.recv()
        if not hasattr(self, "frames"):
            self.frames = []
        self.frames.append(frame)
        return self.codec.decode(frame)

    async def until_event(self, etype: str, timeout: float = 15.0, **match: Any) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.recv(timeout)
                evs = (
                    [msg]
                    if msg.get("t") == "ev"
                    else msg.get("evs", [])
                    if msg.get("t") == "batch"
                    else []
                )
                for ev in evs:
                    data = ev["ev"]
                    if data["type"] == etype and all(data.get(k) == v for k, v in match.items()):
                        return dict(data)


async def serve_app(app: Starlette, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws="websockets-sansio", lifespan="on",
        log_config=None, access_log=False, ws_per_message_deflate=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task


async def stop_app(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)
    except TimeoutError:  # say what the shutdown still waits on, then fail
        for other in asyncio.all_tasks():
            other.print_stack(limit=6, file=sys.stderr)
        raise


@dataclass
class Env:
    base_url: str
    sandbox_url: str
    data_dir: Path
    http: httpx.AsyncClient
    sandbox: httpx.AsyncClient
    logs: LogSink
    app: Starlette
    peers: list[RecordingPeer] = field(default_factory=list)
    responses: list[bytes] = field(default_factory=list)

    @property
    def service(self) -> CheckoutService:
        service: CheckoutService = self.app.state.checkout
        return service

    async def peer(self, room_id: str, token: str) -> RecordingPeer:
        ws = self.base_url.replace("http", "ws", 1) + f"/ws/rooms/{room_id}"
        opened = await RecordingPeer.open(ws)
        assert isinstance(opened, RecordingPeer)
        peer = opened
        self.peers.append(peer)
        await peer.hello(token)
        return peer

    async def room(
        self, members: tuple[str, ...] = ()
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        r = await self.http.post(
            "/api/v1/rooms", json={"kind": "group", "title": "Trip", "host_name": "Ada"}
        )
        assert r.status_code == 201, r.text
        room = r.json()
        joined = []
        for name in members:
            j = await self.http.post(
                f"/api/v1/rooms/{room['room_id']}/join",
                json={"invite": room["invite"]["token"], "name": name},
            )
            assert j.status_code == 201, j.text
            joined.append(j.json())
        return room, joined

    async def call(
        self, method: str, url: str, token: str, *, via: httpx.AsyncClient | None = None, **kw: Any
    ) -> httpx.Response:
        client = self.http if via is None else via
        r = await client.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kw)
        self.responses.append(r.content)
        return r

    @contextlib.asynccontextmanager
    async def devices(self, count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
        """``count`` more clients, for crowds: each shopper's own device, as it were.

        One httpx client scans every request it has queued against every connection each time
        one finishes: a crowd of 500 calls through one client cost the test more CPU than the
        server spent answering them (and, 100 connections at most, never really arrived at
        once). Spread over clients of ~50 calls each, all of them reach the server together.
        """
        async with contextlib.AsyncExitStack() as stack:
            yield [
                await stack.enter_async_context(
                    httpx.AsyncClient(base_url=self.base_url, timeout=15)
                )
                for _ in range(count)
            ]

    async def pay_on_page(
        self, url: str, card: str = "4242 4242 4242 4242", scenario: str = "pay"
    ) -> httpx.Response:
        """What a shopper's browser does: open the hosted page, submit the form, follow back."""
        page = await self.sandbox.get(url)
        assert page.status_code == 200, page.text
        done = await self.sandbox.post(
            url, data={"card_number": card, "expiry": "12/39", "cvc": "123", "scenario": scenario}
        )
        assert done.status_code == 303, done.text
        back = await self.http.get(done.headers["location"])
        self.responses.append(back.content)
        return back

    async def deliver(
        self,
        body: dict[str, Any],
        *,
        secret: str = SECRET,
        at: int | None = None,
        header: str | None = None,
    ) -> httpx.Response:
        raw = json.dumps(body).encode()
        sig = (
            header
            if header is not None
            else sign_payload(raw, secret, int(time.time()) if at is None else at)
        )
        return await self.http.post(
            "/webhooks/stripe",
            content=raw,
            headers={"Stripe-Signature": sig, "Content-Type": "application/json"},
        )

    async def session(self, session_id: str) -> dict[str, Any]:
        r = await self.sandbox.get(f"/v1/checkout/sessions/{session_id}", headers=AUTH)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data


@contextlib.asynccontextmanager
async def checkout_env(
    tmp_path: Path,
    *,
    payment_window_s: int = 3600,
    webhook_secret: str = SECRET,
    sandbox_port: int | None = None,
    provider_url: str | None = None,
    database_url: str = "",
) -> AsyncIterator[Env]:
    """coshop and the sandbox; coshop calls the provider at ``provider_url`` (default: the
    sandbox itself, or a proxy in front of it the test runs on ``sandbox_port``'s behalf)."""
    sink = LogSink()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(sink)
    root.setLevel(logging.INFO)
    sport, cport = sandbox_port or free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sport}"
    sandbox_config = SandboxConfig(
        data_dir=tmp_path / "sandbox",
        public_url=sandbox_url,
        webhook_url=f"http://127.0.0.1:{cport}/webhooks/stripe",
        webhook_secret=SECRET,
        webhook_retry_schedule=(0.05, 0.1, 0.2, 0.5),
        sweep_interval=0.05,
        async_payment_delay=0.1,
    )
    settings = server_settings(
        tmp_path,
        port=cport,
        public_url=f"http://127.0.0.1:{cport}",
        sandbox_url=provider_url or sandbox_url,
        webhook_secret=webhook_secret,
        handoff_shop="shop.example.com",
        payment_window_s=payment_window_s,
        checkout_sweep_s=0.1,
        database_url=database_url,
    )
    app = create_app(settings)
    sbx = await serve_app(create_sandbox_app(sandbox_config), sport)
    srv = await serve_app(app, cport)
    try:
        async with (
            httpx.AsyncClient(base_url=settings.public_url, timeout=15) as http,
            httpx.AsyncClient(base_url=sandbox_url, timeout=15) as sandbox,
        ):
            env = Env(settings.public_url, sandbox_url, settings.data_dir, http, sandbox, sink, app)
            try:
                yield env
            finally:
                for peer in env.peers:
                    with contextlib.suppress(Exception):
                        await peer.close()
    finally:
        try:
            await stop_app(*srv)
        finally:  # the sandbox stops even when coshop did not stop in time
            try:
                await stop_app(*sbx)
            finally:
                root.removeHandler(sink)
                root.setLevel(old_level)


async def add_line(
    peer: Peer, op: str, sku: str, quantity: int = 1, **extra: Any
) -> dict[str, Any]:
    await peer.send(
        {
            "t": "cmd",
            "op": op,
            "name": "AddLine",
            "args": {"sku": sku, "variant": None, "quantity": quantity, **extra},
        }
    )
    while True:
        msg = await peer.recv()
        if msg.get("op") == op and msg.get("t") in ("ack", "err"):
            return msg


async def command(peer: Peer, op: str, name: str, **args: Any) -> dict[str, Any]:
    await peer.send({"t": "cmd", "op": op, "name": name, "args": args})
    while True:
        msg = await peer.recv()
        if msg.get("op") == op and msg.get("t") in ("ack", "err"):
            return msg


async def frozen_order(
    env: Env,
    *,
    mode: str = "host_pays",
    all_or_nothing: bool = False,
    members: tuple[str, ...] = (),
) -> tuple[dict[str, Any], list[dict[str, Any]], RecordingPeer, dict[str, Any]]:
    """A room with two lines, locked and checked out: (room, members, host peer, order)."""
    room, joined = await env.room(members)
    rid, token = room["room_id"], room["host"]["token"]
    host = await env.peer(rid, token)
    for member in joined:  # members join the room by connecting
        await env.peer(rid, member["token"])
        await host.until_event("MemberJoined", member_id=member["member_id"])
    assert (await add_line(host, "x1", "tent-2p", 1))["t"] == "ack"
    assert (await add_line(host, "x2", "tent-4p", 1))["t"] == "ack"
    assert (await command(host, "x3", "LockCart"))["t"] == "ack"
    # an equal split among everyone here: the host picks the members too (by default only who
    # added or pays for a line is billed, and the host added both lines)
    everyone = [room["host"]["member_id"], *(m["member_id"] for m in joined)]
    r = await env.call(
        "POST", f"/api/v1/rooms/{rid}/checkout", token,
        json={"mode": mode, "all_or_nothing": all_or_nothing,
              "participants": everyone if mode == "equal_split" else None},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return room, joined, host, r.json()["order"]


async def order_status(env: Env, room: dict[str, Any]) -> dict[str, Any]:
    r = await env.call("GET", f"/api/v1/rooms/{room['room_id']}/checkout", room["host"]["token"])
    data: dict[str, Any] = r.json()["order"]
    return data
