"""Fixtures that run the real coshop app: in the test's own event loop, on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from bench.proc import free_port as free_port  # tests import it from here
from server.app import create_app
from server.cli import uvicorn_config
from server.settings import Settings


@dataclass
class LiveServer:
    settings: Settings
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def base_url(self) -> str:
        return self.settings.public_url

    @property
    def ws_base(self) -> str:
        return self.base_url.replace("http", "ws", 1)

    app: Starlette

    @property
    def app_state(self) -> Any:
        return self.app.state

    def ws_url(self, room_id: str) -> str:
        return f"{self.ws_base}/ws/rooms/{room_id}"


def server_settings(tmp_path: Path, **changes: object) -> Settings:
    port = free_port()
    base = Settings(
        host="127.0.0.1",
        port=port,
        data_dir=tmp_path / "data",
        secret_key="t" * 48,
        demo=True,
        public_rooms=True,
        live_tick_ms=20,
        hello_timeout_s=2.0,
        # Tests make hundreds of rooms and joins from 127.0.0.1: no request windows here, but
        # tests/server/test_rate_limits.py turns them on with real limits.
        rate_limits=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]  # test-only field overrides


async def wait_ready(base: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until a coshop process started elsewhere answers /healthz (20 s at most).

    Given the process, a process that exits first fails at once, with its exit code.
    """
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(400):
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{base} exited with {proc.returncode} before it was ready")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{base} did not become ready")


def _bind(settings: Settings) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's own bind does
    try:
        sock.bind((settings.host, settings.port))
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def run_server(settings: Settings) -> AsyncIterator[LiveServer]:
    # The port is taken before the app starts (uvicorn would bind it only after the lifespan):
    # from free_port() to here no other test, worker or process can take it in between.
    with _bind(settings) as sock:  # closed at the end even if the server never started
        app = create_app(settings)
        server = uvicorn.Server(uvicorn_config(app, settings))
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        for _ in range(3000):  # a bound for a loaded machine (three workers on two cores)
            if server.started:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        else:  # pragma: no cover - a server that never starts fails the test here
            raise RuntimeError("server did not start")
        try:
            yield LiveServer(settings, server, task, app)
        finally:
            server.should_exit = True
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, 30)
            except TimeoutError:  # say what the shutdown still waits on, then fail
                for other in asyncio.all_tasks():
                    other.print_stack(limit=6, file=sys.stderr)
                raise


@pytest.fixture
async def live_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with run_server(server_settings(tmp_path)) as srv:
        yield srv


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=10) as client:
        yield client
