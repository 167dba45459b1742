"""One object per process that runs outbound webhooks: the store, the feed and the worker.

Built in the app's lifespan (:func:`server.app.create_app`) and kept as ``app.state.webhooks``.
The committer calls :meth:`WebhookService.rooms_committed` after each group commit and the
checkout service :meth:`WebhookService.order_changed` after each order change: both only note
what to read, on the caller's task, and never wait (a room's turn is never held by a webhook).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage import StoredEvent
from server.webhooks.feed import Feed
from server.webhooks.store import WebhookStore
from server.webhooks.worker import DeliveryWorker

__all__ = ["WebhookService"]


class WebhookService:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        production: bool,
        clock: Callable[[], float] = time.time,
        **worker_options: Any,
    ) -> None:
        self.production = production
        self.store = WebhookStore(engine)
        self.worker = DeliveryWorker(
            self.store, production=production, clock=clock, **worker_options
        )
        self.feed = Feed(engine, delivered=self.worker.wake, clock=clock)

    def rooms_committed(self, results: Sequence[tuple[StoredEvent, ...]]) -> None:
        self.feed.rooms_committed(results)

    def order_changed(self, order_id: str) -> None:
        self.feed.order_changed(order_id)

    def endpoints_changed(self, merchant_id: str) -> None:
        self.feed.endpoints_changed(merchant_id)
        self.worker.wake()

    async def start(self) -> None:
        """Start delivering (what an earlier run left is due at once) and feeding (a recovery
        pass first: logs that grew while no process fed them)."""
        await self.worker.start()
        await self.feed.start()

    async def close(self) -> None:
        await self.feed.close()
        await self.worker.close()
