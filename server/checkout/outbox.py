"""The outbox worker: run every effect of a committed order fact until it is acknowledged.

Rows come from :mod:`server.checkout.outbox_store`. The worker drains the due rows, claims
each one (a lease, so two processes never run one effect at once), hands it to ``deliver`` and
then:

- ``deliver`` returns: the row is done;
- it raises :class:`EffectFailed` with ``permanent=True`` (a provider's 4xx that can never
  succeed, a room command the room will never take): the row is done and **dead**, with the
  error code, logged and counted (``coshop_checkout_outbox_dead_total``);
- it raises anything else (or a non-permanent :class:`EffectFailed`): the row runs again after
  an exponential back-off with jitter, ``base_s · 2^(attempts-1)`` capped at ``max_s``, half of
  it random.

Delivered rows are deleted after ``keep_s`` (a week); dead ones stay. Rows not done survive a
restart: :meth:`OutboxWorker.start` drains them first. The worker wakes
when this process writes rows (:meth:`OutboxWorker.wake`) and polls every ``poll_s`` for rows
other processes wrote or whose back-off ran out. It also keeps the depth and oldest-age gauges.

Knows nothing of what an effect means: that is ``deliver``'s business (the checkout service).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence

from server.checkout.outbox_store import OutboxRow, OutboxStore
from server.metrics import Metrics
from server.waiting import STOP_GRACE_S, stop_task, wait_event

__all__ = ["EffectFailed", "OutboxWorker"]

log = logging.getLogger("coshop.checkout.outbox")

Deliver = Callable[[OutboxRow], Awaitable[None]]


class EffectFailed(Exception):
    """An effect did not happen; ``permanent`` ones are never retried."""

    def __init__(self, code: str, *, permanent: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.permanent = permanent


class OutboxWorker:
    def __init__(
        self,
        store: OutboxStore,
        deliver: Deliver,
        *,
        base_s: float = 1.0,
        max_s: float = 300.0,
        lease_s: float = 60.0,
        poll_s: float = 1.0,
        batch: int = 32,
        concurrency: int = 8,
        keep_s: float = 7 * 24 * 3600.0,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        metrics: Metrics | None = None,
    ) -> None:
        assert 0 < base_s <= max_s, "the back-off needs 0 < base_s <= max_s"
        self.store = store
        self._deliver = deliver
        self.base_s = base_s
        self.max_s = max_s
        self.lease_ms = int(lease_s * 1000)
        self.poll_s = poll_s
        self.batch = batch
        self._gate = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._jitter = jitter
        self._metrics = metrics
        self.keep_ms = int(keep_s * 1000)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._pruned_at: int | None = None

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed run: half fixed, half random."""
        ceiling = min(self.max_s, self.base_s * 2.0 ** min(max(attempts - 1, 0), 40))
        return ceiling / 2 + ceiling / 2 * self._jitter()

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False  # a worker closed and started again runs again
        self._task = asyncio.get_running_loop().create_task(self._run(), name="checkout-outbox")

    async def close(self) -> None:
        """Let the pass in progress finish (a query cancelled half way costs its connection,
        server/waiting.py), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await stop_task(self._task, grace_s=STOP_GRACE_S)
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            wait = self.poll_s
            try:
                stats = await self.store.stats()
                if stats.next_due_at is not None and stats.next_due_at <= self.now_ms():
                    # something is due: run it (an idle pass is this one query, not two)
                    while not self._stopping and await self.drain():
                        pass
                    stats = await self.store.stats()
                now = self.now_ms()
                if self._pruned_at is None or now - self._pruned_at > 3_600_000:
                    self._pruned_at = now  # hourly: delivered rows are kept ``keep_s``
                    await self.store.prune(now - self.keep_ms)
                if self._metrics is not None:
                    self._metrics.checkout_outbox_depth.set(stats.depth)
                    age = 0.0 if stats.oldest_at is None else max(0, now - stats.oldest_at) / 1000
                    self._metrics.checkout_outbox_oldest_age.set(age)
                if stats.next_due_at is not None:
                    wait = min(wait, max(0.0, (stats.next_due_at - now) / 1000))
            except Exception:
                log.exception("checkout outbox drain failed; retrying")
            await wait_event(self._wake, wait)

    # ---- running rows ----------------------------------------------------------------------
    async def drain(self, ids: Sequence[str] | None = None) -> int:
        """Run the due rows (only ``ids`` if given) once each; return how many were run.

        The worker's passes run at most ``concurrency`` rows at a time. A caller delivering the
        rows it just wrote (``ids``) is not held by that bound: it may be one of those rows,
        feeding a provider's answer back, and must not wait for its own slot.
        """
        if ids is None:
            rows = await self.store.due(self.now_ms(), self.batch)
            return sum(await asyncio.gather(*(self._gated(row) for row in rows)))
        ran, left = 0, set(ids)
        while left:  # in turns: a room's later row is due once its earlier one is done
            rows = await self.store.due(self.now_ms(), self.batch, sorted(left))
            done = [row.id for row in rows if await self._run_row(row)]
            if not done:
                break
            ran += len(done)
            left.difference_update(done)
        if left:
            self.wake()  # failed or held elsewhere: the worker takes over
        return ran

    async def _gated(self, row: OutboxRow) -> bool:
        async with self._gate:
            return await self._run_row(row)

    async def _run_row(self, row: OutboxRow) -> bool:
        if not await self.store.claim(row.id, self.now_ms(), self.lease_ms):
            return False  # another process (or task) has it
        attempts = row.attempts + 1
        try:
            await self._deliver(row)
        except asyncio.CancelledError:  # shutting down: hand the row back at once
            with contextlib.suppress(Exception):
                await self.store.retry(row.id, self.now_ms(), "interrupted")
            raise
        except EffectFailed as exc:
            if exc.permanent:
                await self._dead(row, exc.code)
            else:
                await self._retry(row, attempts, exc.code)
        except Exception as exc:  # a failure of any kind: try again later
            code = str(getattr(exc, "code", "") or type(exc).__name__)
            await self._retry(row, attempts, code)
        else:
            await self.store.finish(row.id, self.now_ms())
        return True

    async def _retry(self, row: OutboxRow, attempts: int, code: str) -> None:
        delay = self.backoff(attempts)
        log.warning(
            "checkout effect failed; retrying",
            extra={
                "effect_id": row.id,
                "kind": row.kind,
                "code": code,
                "attempts": attempts,
                "retry_in_s": round(delay, 3),
            },
        )
        await self.store.retry(row.id, self.now_ms() + int(delay * 1000), code)

    async def _dead(self, row: OutboxRow, code: str) -> None:
        log.error(
            "checkout effect failed for good",
            extra={"effect_id": row.id, "kind": row.kind, "code": code, "order_id": row.order_id},
        )
        await self.store.finish(row.id, self.now_ms(), error=code[:64], dead=True)
        if self._metrics is not None:
            self._metrics.checkout_outbox_dead.inc()
