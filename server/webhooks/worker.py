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

An endpoint whose every attempt failed for ``disable_after_s`` (5 days by default, as Svix and
Stripe do) is disabled with the reason ``failing`` (:meth:`WebhookStore.settle` follows the run
of failures in the attempt's transaction): it gets no new messages and its pending ones wait
until the merchant enables it again (``PATCH … {"enabled": true}``).

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

from server.metrics import Metrics
from server.waiting import STOP_GRACE_S, stop_task, wait_event
from server.webhooks.signing import headers
from server.webhooks.store import Attempt, Delivery, WebhookStore
from server.webhooks.urls import UrlRefused, resolve_public

__all__ = ["DISABLE_AFTER_S", "SCHEDULE", "DeliveryWorker"]

log = logging.getLogger("coshop.webhooks")

SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
"""Seconds before each retry (Standard Webhooks' recommendation); its length + 1 tries in all."""
DISABLE_AFTER_S = 5 * 24 * 3600.0
"""How long an endpoint may fail every attempt before it is disabled."""
_USER_AGENT = "coshop-webhooks/1"
_DELETED = "endpoint_deleted"
_OBSERVE_S = 1.0  # the metrics' gauges are read at most this often


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
        disable_after_s: float = DISABLE_AFTER_S,
        metrics: Metrics | None = None,
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
        self.disable_after_ms = int(disable_after_s * 1000)
        self.metrics = metrics
        self._gate = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._jitter = jitter
        self._transport = transport
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._http: httpx.AsyncClient | None = None
        self._pruned_at: float | None = None
        self._observed_at = -_OBSERVE_S

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def delay(self, attempts: int) -> float | None:
        """Seconds before the next try after ``attempts`` failed ones; None: give up."""
        if attempts > len(self.schedule):
            return None
        base = self.schedule[attempts - 1]
        return base * (0.9 + 0.2 * self._jitter())

    # ---- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        """Ready to send (:meth:`drain` by hand); :meth:`start` also runs the passes."""
        self._http = httpx.AsyncClient(
            timeout=self.timeout_s,
            follow_redirects=False,
            headers={"user-agent": _USER_AGENT},
            transport=self._transport,
        )

    async def start(self) -> None:
        await self.open()
        self._stopping = False  # a worker closed and started again runs again
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-worker")

    async def close(self) -> None:
        self._stopping = True  # the pass in progress finishes first (server/waiting.py)
        self._wake.set()
        if self._task is not None:
            await stop_task(self._task, grace_s=STOP_GRACE_S)
            self._task = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            wait = self.poll_s
            try:
                due = await self.store.next_due()
                if due is not None and due <= self.now_ms():
                    # something is due: send it (an idle pass reads one minimum, not two)
                    while not self._stopping and await self.drain():
                        pass
                    due = await self.store.next_due()
                now = time.monotonic()
                if self._pruned_at is None or now - self._pruned_at > 3600:
                    self._pruned_at = now
                    await self.store.prune(self.now_ms() - self.keep_ms)
                if self.metrics is not None and now - self._observed_at >= _OBSERVE_S:
                    self._observed_at = now  # one aggregate read a second at most
                    await self.observe()
                if due is not None:
                    wait = min(wait, max(0.0, (due - self.now_ms()) / 1000))
            except Exception:
                log.exception("webhook delivery pass failed; retrying")
            await wait_event(self._wake, wait)

    async def observe(self) -> None:
        """Set the pending, oldest-pending and disabled gauges from the tables."""
        if self.metrics is None:
            return
        stats = await self.store.stats()
        m = self.metrics
        m.webhook_pending.set(stats.pending)
        age = 0.0
        if stats.oldest_pending_at is not None:
            age = max(0.0, (self.now_ms() - stats.oldest_pending_at) / 1000)
        m.webhook_oldest_pending_age.set(age)
        for reason in ("merchant", "failing"):
            m.webhook_endpoints_disabled.labels(reason).set(stats.disabled.get(reason, 0))

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.webhook_deliveries.labels(outcome).inc()

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
        if attempt.error == _DELETED:  # its deliveries went with it: nothing to settle
            return True
        tries = row.attempts + 1
        if attempt.status is not None and 200 <= attempt.status < 300:
            await self.store.settle(row.delivery_id, attempt, done=True)
            self._count("delivered")
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
        after = self.disable_after_ms
        if delay is None:
            log.error("webhook delivery failed for good", extra=extra)
            disabled = await self.store.settle(
                row.delivery_id, attempt, done=True, dead=True, disable_after_ms=after
            )
            self._count("failed")
        else:
            log.warning("webhook delivery failed; retrying", extra={**extra, "retry_in_s": delay})
            next_at = self.now_ms() + int(delay * 1000)
            disabled = await self.store.settle(
                row.delivery_id, attempt, done=False, next_at=next_at, disable_after_ms=after
            )
            self._count("retrying")
        if disabled:
            log.warning(
                "webhook endpoint disabled: every attempt failed for too long",
                extra={"endpoint_id": row.endpoint_id, "disable_after_s": after // 1000},
            )
        return True

    async def _send(self, row: Delivery) -> Attempt:
        started, at = time.perf_counter(), self.now_ms()

        def attempt(status: int | None, error: str | None, response: str | None = None) -> Attempt:
            took = int((time.perf_counter() - started) * 1000)
            return Attempt(0, at, status, error, took, response)

        endpoint = await self.store.endpoint(row.endpoint_id)
        if endpoint is None:  # deleted meanwhile: its deliveries went with it
            return attempt(None, _DELETED)
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
