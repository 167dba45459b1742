"""Webhook delivery: a background loop that posts due events to the receiver and retries.

Each attempt is signed afresh (``Stripe-Signature: t=<time of this attempt>,v1=...``) except a
replay, which resends an old header verbatim. A non-2xx answer or a connection error schedules
the next attempt after the next wait in ``webhook_retry_schedule``; when the schedule is used up
the delivery is marked failed. Everything is in the store, so a restarted sandbox continues
where it stopped. This module decides nothing about events; it only sends what is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from checkout_bridge.sandbox.config import SandboxConfig
from checkout_bridge.sandbox.service import SandboxService
from checkout_bridge.sandbox.store import Delivery, SandboxStore
from checkout_bridge.webhooks import SIGNATURE_HEADER, sign_payload

__all__ = ["WRONG_SECRET", "WebhookDispatcher"]

logger = logging.getLogger(__name__)

WRONG_SECRET = "whsec_sandbox_wrong_secret"  # noqa: S105 - a deliberately wrong test secret
_MAX_IDLE = 1.0


class WebhookDispatcher:
    def __init__(
        self,
        config: SandboxConfig,
        store: SandboxStore,
        service: SandboxService,
        client: httpx.AsyncClient,
    ) -> None:
        self._config = config
        self._store = store
        self._service = service
        self._client = client
        self.stopping = asyncio.Event()  # set (and events_recorded with it) to stop the loop

    async def run(self) -> None:
        """Deliver until told to stop (or cancelled)."""
        while not self.stopping.is_set():
            try:
                await self.deliver_due()
            except Exception:
                logger.exception("sandbox webhook delivery loop failed; retrying")
            await self._wait()

    async def _wait(self) -> None:
        async with self._store.transaction() as tx:
            next_due = await tx.next_due()
        timeout = _MAX_IDLE
        if next_due is not None:
            timeout = min(_MAX_IDLE, max(0.0, next_due - self._config.clock()))
        wake = self._service.events_recorded
        with contextlib.suppress(TimeoutError):  # not wait_for: see server/waiting.py
            async with asyncio.timeout(timeout):
                await wake.wait()
        wake.clear()

    async def deliver_due(self) -> None:
        async with self._store.transaction() as tx:
            due = await tx.due_deliveries(self._config.clock())
        for delivery in due:
            await self._attempt(delivery)

    async def _attempt(self, delivery: Delivery) -> None:
        url = self._config.webhook_url
        if url is None:
            return
        async with self._store.transaction() as tx:
            body = await tx.event_body(delivery.event_id)
        assert body is not None
        now = self._config.clock()
        header = delivery.fixed_header
        if header is None:
            secret = WRONG_SECRET if delivery.wrong_secret else self._config.webhook_secret
            header = sign_payload(body, secret, int(now)) if secret else None
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if header is not None:
            headers[SIGNATURE_HEADER] = header
        status: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(
                url, content=body, headers=headers, timeout=self._config.webhook_timeout
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempts = delivery.attempts + 1
        schedule = self._config.webhook_retry_schedule
        if status is not None and 200 <= status < 300:
            state, due_at = "delivered", delivery.due_at
        elif attempts <= len(schedule):
            state, due_at = "pending", now + schedule[attempts - 1]
        else:
            state, due_at = "failed", delivery.due_at
        if error is None and state != "delivered":
            error = f"receiver answered {status}"
        async with self._store.transaction() as tx:
            await tx.record_attempt(
                delivery.id,
                state=state,
                attempts=attempts,
                due_at=due_at,
                status=status,
                error=error,
                header=header,
                at=now,
            )
