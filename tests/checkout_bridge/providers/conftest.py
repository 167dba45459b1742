"""Real processes for the adapter tests: the sandbox and a webhook receiver under uvicorn."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout_bridge.sandbox import SandboxConfig, create_sandbox_app

API_KEY = "sk_test_sandbox"
SECRET = "whsec_adapter_test"


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def serve(app: Starlette, sock: socket.socket | None = None) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on ``sock`` (default: a free loopback port)."""
    sock = sock or bound_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, access_log=False, ws="none", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class Receiver:
    """A webhook endpoint in another thread: keeps every raw body and signature header."""

    received: list[tuple[bytes, str | None]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        with self.changed:
            self.received.append((body, request.headers.get("stripe-signature")))
            self.changed.notify_all()
        return Response("ok")

    def wait_for(self, count: int, limit: float = 10.0) -> list[tuple[bytes, str | None]]:
        """Blocking: call through ``asyncio.to_thread``."""
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.received) >= count, limit)
            return list(self.received)


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    receiver: Receiver


@pytest.fixture
def running_sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    receiver = Receiver()
    receiver_app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
    with serve(receiver_app) as receiver_url:
        sock = bound_socket()
        config = SandboxConfig(
            data_dir=tmp_path / "sandbox",
            public_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
            webhook_url=f"{receiver_url}/hook",
            webhook_secret=SECRET,
            webhook_retry_schedule=(0.05, 0.1),
            sweep_interval=0.05,
        )
        with serve(create_sandbox_app(config), sock) as sandbox_url:
            yield RunningSandbox(url=sandbox_url, receiver=receiver)
