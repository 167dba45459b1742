"""Webhook deliveries of show facts, written in the fact's own transaction.

A show fact (scheduled, a reminder asked for or taken back, starting soon, went live,
cancelled) is a row in ``shows`` or ``show_reminders`` (:mod:`server.storage.shows`), not an
entry of a room's log, so the feed (:mod:`server.webhooks.feed`) does not read it. Instead
:func:`show_outbox` makes the store's ``outbox``: on the connection that writes the fact it
adds one delivery per enabled endpoint of the merchant that wants the message's type. The
worker then delivers them like any other (retries, order per room, resend). A message id is
made from the fact (``msg_show_<room>_scheduled_<version>``, ``…_starting_<version>``,
``…_started``, ``…_cancelled_<version>``, ``…_reminder_<id>``, ``…_reminder_cancelled_<id>``),
so one fact is one message.

``show.starting`` has no request behind it: :class:`StartingPass` (started and stopped by the
app's lifespan, in every process) looks every ``STARTING_PASS_S`` for shows whose start is
``SHOW_STARTING_LEAD_S`` or less away and announces each in one transaction that marks it
(``shows.starting_version``) and writes its deliveries
(:meth:`~server.storage.shows.ShowStore.announce_starting`). The mark is a conditional
``UPDATE``, so of several processes (or a pass after a restart) one writes the message; a
rescheduled start is a new version, announced again; a show already live or ended, or whose
start passed more than its duration ago, gets none.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.storage.shows import Show, ShowOutbox, ShowStore
from server.waiting import STOP_GRACE_S, stop_task, wait_event
from server.webhooks.events import envelope, show_message
from server.webhooks.store import delivery_id, endpoints_of, insert_deliveries

__all__ = ["SHOW_STARTING_LEAD_S", "STARTING_PASS_S", "StartingPass", "show_outbox"]

log = logging.getLogger("coshop.webhooks")

SHOW_STARTING_LEAD_S = 600
"""``show.starting`` is sent this long before a show's start (at once when scheduled later)."""
STARTING_PASS_S = 20.0
"""How often each process looks for shows whose ``show.starting`` is due."""
LONGEST_SHOW_MS = 720 * 60_000
"""The longest duration a show may have (``server.api.shows`` passes its own bound)."""


def _message_id(kind: str, show: Show, extra: dict[str, Any]) -> str:
    # a show cancelled, scheduled again and cancelled again is two cancellations: by version
    if kind in ("scheduled", "starting", "cancelled"):
        return f"msg_show_{show.room_id}_{kind}_{show.version}"
    if kind == "reminder_requested":
        return f"msg_show_{show.room_id}_reminder_{extra['reminder_id']}"
    if kind == "reminder_cancelled":
        return f"msg_show_{show.room_id}_reminder_cancelled_{extra['reminder_id']}"
    return f"msg_show_{show.room_id}_{kind}"


def show_outbox(describe: Callable[[Show], dict[str, Any]], clock: Callable[[], int]) -> ShowOutbox:
    """The store's outbox: ``describe`` turns a show into the object messages carry (the REST
    API's), ``clock`` gives now in ms. The caller wakes the worker after the commit."""

    async def outbox(conn: AsyncConnection, kind: str, show: Show, extra: dict[str, Any]) -> None:
        listeners = await endpoints_of(conn, show.merchant_id)
        now = clock()
        at = {
            "scheduled": show.updated_at,
            "started": show.started_at,
            "reminder_requested": extra.get("requested_at"),
            "starting": extra.get("at"),
            "cancelled": show.ended_at,  # a cancelled show is one that ended without a start
        }.get(kind) or now
        details = extra
        if kind == "starting":
            details = {"starts_in_s": max(0, (show.starts_at - int(at)) // 1000)}
        message = show_message(kind, describe(show), details, at=int(at))
        message_id = _message_id(kind, show, extra)
        body = json.dumps(envelope(message), separators=(",", ":"), sort_keys=True)
        # a show.starting written in the same millisecond as its show.scheduled still follows it
        position = now * 1000 + (1 if kind == "starting" else 0)
        rows = [
            {
                "delivery_id": delivery_id(endpoint.endpoint_id, message_id),
                "endpoint_id": endpoint.endpoint_id,
                "message_id": message_id,
                "event_type": message.type,
                "room_id": show.room_id,
                "position": position,
                "payload": body,
                "created_at": now,
            }
            for endpoint in listeners
            if endpoint.wants(message.type)
        ]
        await insert_deliveries(conn, rows)

    return outbox


class StartingPass:
    """Writes ``show.starting`` for every show whose start is ``lead_s`` or less away, once per
    show version, every ``interval_s`` (and at once on :meth:`wake`). ``delivered`` is called
    after a pass wrote messages (the worker's wake); ``clock`` gives now in seconds."""

    def __init__(
        self,
        shows: ShowStore,
        *,
        delivered: Callable[[], None],
        lead_s: float = SHOW_STARTING_LEAD_S,
        interval_s: float = STARTING_PASS_S,
        batch: int = 100,
        longest_ms: int = LONGEST_SHOW_MS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.shows = shows
        self.lead_ms = int(lead_s * 1000)
        self.interval_s = interval_s
        self.batch = batch
        self.longest_ms = longest_ms
        self._delivered = delivered
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def run_once(self) -> int:
        """Announce every show due now; how many this call announced (another process may
        have announced some first)."""
        now = self.now_ms()
        announced = 0
        for _ in range(1000):  # batches: a bound, in case rows keep changing under the pass
            due = await self.shows.starting_due(
                now, self.lead_ms, longest_ms=self.longest_ms, limit=self.batch
            )
            for show in due:
                if await self.shows.announce_starting(show, now):
                    announced += 1
            if len(due) < self.batch:
                break
        if announced:
            self._delivered()
        return announced

    # ---- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False  # a worker closed and started again runs again
        self._task = asyncio.get_running_loop().create_task(self._run(), name="show-starting")

    async def close(self) -> None:
        """Let the pass in progress finish (a query cancelled half way costs its connection,
        server/waiting.py), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await stop_task(self._task, grace_s=STOP_GRACE_S)
            self._task = None

    def wake(self) -> None:
        """Look now (a show was just scheduled: it may start within the lead time)."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("show.starting pass failed; retrying")
            await wait_event(self._wake, self.interval_s)
