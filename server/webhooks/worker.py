"""The delivery worker: POST each due delivery, signed, until the endpoint answers 2xx.

Rows come from :class:`~server.webhooks.store.WebhookStore`. A pass takes the due deliveries
(a room's deliveries to one endpoint strictly in order), leases each (so two processes never
send one at once; a lease that runs out — a process killed mid-send — makes it due again) and
sends it with fresh Standard Webhooks headers (:mod:`server.webhooks.signing`). Then:

- a 2xx answer: delivered;
- anything else (another status, a timeout, a refused connection, a redirect — never followed):
  the attempt is logged and the delivery runs again after the next step of ``schedule``
  (Standard Webhooks' recommended one by default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; a
  tenth random either way); once the schedule is spent it is **failed** (dead) and the room's
  next delivery goes. "Resend" makes any delivery due again.

Rows survive restarts: :meth:`DeliveryWorker.start` sends what is due at once. In production a
URL is checked again before each send (its host must still resolve to public addresses).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence

import httpx

from server.webhooks.signing import headers
from server.webhooks.store import Attempt, Delivery, WebhookStore
from server.webhooks.urls import UrlRefused, resolve_public

__all__ = ["SCHEDULE", "DeliveryWorker"]

log = logging.getLogger("coshop.webhooks")

SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
"""Seconds before each retry (Standard Webhooks' recommendation); its length + 1 tries in all."""
_USER_AGENT = "coshop-webhooks/1"


class DeliveryWorker:
    def __init__(
        self,
        store: WebhookStore,
        *,
        production: bool,
        schedule: Sequence[float] = SCHEDULE,
        timeout_s: float = 15.0,
        lease_s: float = 60.0,
        poll_s: float = 5.0,
        batch: int = 32,
        concurrency: int = 8,
        keep_s: float = 30 * 24 * 3600.0,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.production = production
        self.schedule = tuple(schedule)
        self.timeout_s = timeout_s
        self.lease_ms = int(lease_s * 1000)
        self.poll_s = poll_s
        self.batch = batch
        self.keep_ms = int(keep_s * 1000)
        self._gate = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._jitter = jitter
        self._transport = transport
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        self._pruned_at: float | None = None

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def delay(self, attempts: int) -> float | None:
        """Seconds before the next try after ``attempts`` failed ones; None: give up."""
        if attempts > len(self.schedule):
            return None
        base = self.schedule[attempts - 1]
        return base * (0.9 + 0.2 * self._jitter())

    # ---- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._http = httpx.AsyncClient(
            timeout=self.timeout_s,
            follow_redirects=False,
            headers={"user-agent": _USER_AGENT},
            transport=self._transport,
        )
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-worker")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            wait = self.poll_s
            try:
                while await self.drain():
                    pass
                now = time.monotonic()
                if self._pruned_at is None or now - self._pruned_at > 3600:
                    self._pruned_at = now
                    await self.store.prune(self.now_ms() - self.keep_ms)
                due = await self.store.next_due()
                if due is not None:
                    wait = min(wait, max(0.0, (due - self.now_ms()) / 1000))
            except Exception:
                log.exception("webhook delivery pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def drain(self) -> int:
        """Send the due deliveries once each; how many were sent."""
        rows = await self.store.due(self.now_ms(), self.batch)
        return sum(await asyncio.gather(*(self._gated(row) for row in rows)))

    async def _gated(self, row: Delivery) -> bool:
        async with self._gate:
            return await self._run_one(row)

    # ---- one delivery ------------------------------------------------------------------------
    async def _run_one(self, row: Delivery) -> bool:
        if not await self.store.claim(row.delivery_id, self.now_ms(), self.lease_ms):
            return False
        try:
            attempt = await self._send(row)
        except asyncio.CancelledError:  # stopping: hand it back for the next process
            with contextlib.suppress(Exception):
                await self.store.release(row.delivery_id)
            raise
        tries = row.attempts + 1
        if attempt.status is not None and 200 <= attempt.status < 300:
            await self.store.settle(row.delivery_id, attempt, done=True)
            return True
        delay = self.delay(tries)
        extra = {
            "delivery_id": row.delivery_id,
            "endpoint_id": row.endpoint_id,
            "event_type": row.event_type,
            "status": attempt.status,
            "error": attempt.error,
            "attempts": tries,
        }
        if delay is None:
            log.error("webhook delivery failed for good", extra=extra)
            await self.store.settle(row.delivery_id, attempt, done=True, dead=True)
        else:
            log.warning("webhook delivery failed; retrying", extra={**extra, "retry_in_s": delay})
            next_at = self.now_ms() + int(delay * 1000)
            await self.store.settle(row.delivery_id, attempt, done=False, next_at=next_at)
        return True

    async def _send(self, row: Delivery) -> Attempt:
        started, at = time.perf_counter(), self.now_ms()

        def attempt(status: int | None, error: str | None, response: str | None = None) -> Attempt:
            took = int((time.perf_counter() - started) * 1000)
            return Attempt(0, at, status, error, took, response)

        endpoint = await self.store.endpoint(row.endpoint_id)
        if endpoint is None:  # deleted meanwhile: its deliveries went with it
            return attempt(None, "endpoint_deleted")
        assert self._http is not None, "start() first"
        try:
            if self.production:
                # check-then-connect: httpx resolves the name again, so a DNS answer that
                # changes in between (rebinding) is not caught here; the check stops the plain
                # case of a record pointed at a private address
                await resolve_public(endpoint.url)
            signed = headers(row.message_id, row.payload, endpoint.keys(at), at // 1000)
            answer = await self._http.post(
                endpoint.url,
                content=row.payload.encode(),
                headers={**signed, "content-type": "application/json"},
            )
        except UrlRefused as exc:
            return attempt(None, exc.code)
        except httpx.TimeoutException:
            return attempt(None, "timeout")
        except httpx.HTTPError as exc:
            return attempt(None, f"{type(exc).__name__}: {exc}"[:200])
        error = None if answer.is_success else f"http_{answer.status_code}"
        return attempt(answer.status_code, error, answer.text[:500])
