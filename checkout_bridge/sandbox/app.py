"""The sandbox payment provider's ASGI app factory, lifespan and runner.

The lifespan opens the sandbox's own SQLite store, then starts two background tasks: webhook
delivery and the sweep that expires sessions and settles delayed payments. Nothing is created
at import time. The app never logs request bodies (the hosted page receives card numbers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
import jinja2
import uvicorn
from starlette.applications import Starlette

from checkout_bridge.assets import templates_dir
from checkout_bridge.sandbox.api import api_routes
from checkout_bridge.sandbox.config import SandboxConfig
from checkout_bridge.sandbox.delivery import WebhookDispatcher
from checkout_bridge.sandbox.hosted import hosted_routes
from checkout_bridge.sandbox.service import SandboxService
from checkout_bridge.sandbox.store import SandboxStore

__all__ = ["TEMPLATES_DIR", "create_sandbox_app", "run_sandbox"]

logger = logging.getLogger(__name__)

_STOP_GRACE_S = 5.0  # as the server's loops (server/waiting.py), which this package cannot import
TEMPLATES_DIR = templates_dir() / "sandbox"  # the checkout's, or a wheel's installed copy


async def _sweep_forever(service: SandboxService, interval: float, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        try:
            await service.sweep()
        except Exception:
            logger.exception("sandbox sweep failed; retrying")
        with contextlib.suppress(TimeoutError):  # not asyncio.wait_for: server/waiting.py
            async with asyncio.timeout(interval):
                await stopping.wait()


def create_sandbox_app(config: SandboxConfig) -> Starlette:
    """The sandbox provider as an ASGI app; its storage lives in ``config.data_dir``."""
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = await SandboxStore.open(config.database_path)
        service = SandboxService(config, store)
        app.state.sandbox_config = config
        app.state.sandbox_store = store
        app.state.sandbox_service = service
        app.state.sandbox_templates = templates
        app.state.sandbox_idempotency_lock = asyncio.Lock()
        async with httpx.AsyncClient(transport=config.webhook_transport) as client:
            dispatcher = WebhookDispatcher(config, store, service, client)
            stopping = dispatcher.stopping
            tasks = [
                asyncio.create_task(dispatcher.run(), name="sandbox-webhooks"),
                asyncio.create_task(
                    _sweep_forever(service, config.sweep_interval, stopping),
                    name="sandbox-sweep",
                ),
            ]
            try:
                yield
            finally:
                # each loop finishes its pass: a query cancelled half way costs SQLAlchemy its
                # connection, and can leave a close behind that never ends (server/waiting.py)
                stopping.set()
                service.events_recorded.set()
                await asyncio.wait(tasks, timeout=_STOP_GRACE_S)
                for task in tasks:
                    task.cancel()
                await asyncio.wait(tasks)
                await store.close()

    return Starlette(routes=[*api_routes(), *hosted_routes()], lifespan=lifespan)


def run_sandbox(config: SandboxConfig, host: str, port: int) -> None:
    """Serve the sandbox with uvicorn until interrupted (``coshop sandbox-pay`` calls this)."""
    uvicorn.run(create_sandbox_app(config), host=host, port=port, log_level="info")
