"""Live pacing: when a big room's frames go out (docs/performance.md).

A live room (or a crowded group room) does not send a frame per event. A quiet room sends at
once and opens a tick window; what arrives within it waits for the tick and goes out as one
batch. The window grows with the audience on this process: ``US_PER_VIEWER`` per connected
socket (``COSHOP_LIVE_WINDOW_US_PER_VIEWER``), at least ``QUICK_TICK_MS`` and at most
``live_tick_ms``: 10 ms up to 1,000 viewers, 20 ms at 2,000, the full 50 ms from 5,000. A room
of 1,000 viewers at 20 events a second thus sends each event alone, within about 10 ms; its CPU
per delivered event is then about ``websockets.broadcast()``'s, because both pay the same
kernel ``send`` per frame (docs/performance.md, issue 18). From a few thousand viewers, where
one frame's fan-out takes tens of milliseconds, coalescing keeps the room up with its events.
An operator who would rather trade latency for CPU raises the setting (50: the full window from
1,000 viewers, about 20 % fewer frames there at 20 events a second, a 40 ms median).

A room that saw ``BUSY_EVENTS_PER_S`` or more over its last whole ``RATE_WINDOW_S`` is *busy*:
its next window is the longer ``live_busy_tick_ms`` (fewer, fuller frames), and commands
arriving during it are held and decided when it fires (the actor's side of this is
``RoomActor.hold``). The room returns to the short window when a rate window sees fewer events,
or when a window closes empty. Only a *sustained* rate counts: a burst — 500 viewers claiming a
drop in the same instant — is decided as it comes, its events coalesced by the short windows
(holding it for the long one doubled a drop's decision time: docs/performance.md), and a frame
to 5,000 sockets that takes longer than its window is no burst either.
Reactions are summed per tick, acks wait for the events they acknowledge, and the viewer count
goes out at most once per ``COUNT_INTERVAL_S``.

A frame whose events are all for others (viewers joining, one viewer's claim) would only move
the audience's cursors: the audience gets none while their cursors lag the room by less than
``CURSOR_INTERVAL_S`` and ``CURSOR_LAG_EVENTS``. The range they skipped is kept
(``quiet_from``): the next frame of any class starts there, and a timer moves every cursor when
the interval is up. During an arrival storm each tick sent every viewer such a frame, O(room)
per tick (docs/performance.md, issue 18).

:class:`LivePacer` keeps these windows, buffers and counters. It reads time only through the
``clock`` and ``call_later`` it is given, so tests drive it with a fake clock. It must not: send
anything itself (the actor composes and sends the frames) or await.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from server.hub.fanout import Item
from server.transport.session import Session

__all__ = [
    "BUSY_EVENTS_PER_S",
    "COUNT_INTERVAL_S",
    "CURSOR_INTERVAL_S",
    "CURSOR_LAG_EVENTS",
    "QUICK_TICK_MS",
    "RATE_WINDOW_S",
    "US_PER_VIEWER",
    "CallLater",
    "LivePacer",
    "Timer",
]

BUSY_EVENTS_PER_S = 40.0  # a live room this busy coalesces over live_busy_tick_ms
RATE_WINDOW_S = 0.25  # ... over a whole window of this length (10 events in 250 ms)
COUNT_INTERVAL_S = 1.0  # viewer counts at most this often
# An audience's cursor lags the room by at most this long and this many events (half the
# in-memory resume window, pipeline.RECENT_EVENTS: a viewer who reconnects is still resumed).
CURSOR_INTERVAL_S = 1.0
CURSOR_LAG_EVENTS = 256
# The window after a frame: 10 µs per socket on this process, 10 ms to live_tick_ms.
US_PER_VIEWER = 10
QUICK_TICK_MS = 10


class Timer(Protocol):
    """What ``loop.call_later`` returns, as far as pacing uses it."""

    def cancel(self) -> None: ...


CallLater = Callable[[float, Callable[[], None]], Timer]
"""``loop.call_later(delay_s, callback)`` or a fake clock's equivalent."""


class LivePacer:
    """One room's tick window, busy flag, pending events and acks, reactions and count."""

    __slots__ = (
        "_audience",
        "_busy_tick_ms",
        "_call_later",
        "_clock",
        "_count_at",
        "_cursor_handle",
        "_for_events",
        "_handle",
        "_last_commit",
        "_last_count",
        "_on_cursor",
        "_on_timer",
        "_rate_busy",
        "_rate_from",
        "_rate_seen",
        "_tick_ms",
        "_us_per_viewer",
        "after",
        "busy",
        "events",
        "quiet_from",
        "reactions",
        "sent_to",
        "window_ms",
    )

    def __init__(
        self,
        tick_ms: int,
        busy_tick_ms: int,
        on_timer: Callable[[], None],
        *,
        on_cursor: Callable[[], None] = lambda: None,
        audience: Callable[[], int] = lambda: 0,
        us_per_viewer: int = US_PER_VIEWER,
        clock: Callable[[], float] = time.monotonic,
        call_later: CallLater | None = None,
    ) -> None:
        self._tick_ms = tick_ms
        self._busy_tick_ms = busy_tick_ms
        self._on_timer = on_timer
        self._on_cursor = on_cursor  # the audience's cursor is due: send them quiet_from..sent_to
        self._audience = audience  # how many sockets this process sends the room's frames to
        self._us_per_viewer = us_per_viewer
        self._clock = clock
        self._call_later = call_later
        self._handle: Timer | None = None
        self._for_events = False  # the open window follows a frame of events
        self.events: list[Item] = []  # committed events waiting for the tick
        self.after: list[tuple[Session, dict[str, Any]]] = []  # acks that follow them
        self.reactions: dict[str, int] = {}  # emoji -> count since the last tick
        self.window_ms = 0  # the tick window now open (0: none yet)
        self.busy = False  # the open window follows a busy one: commands wait for its tick
        self._last_count = (-1, -1)  # (online, members) last sent
        self._count_at = float("-inf")
        self._rate_from = float("-inf")  # when the rate window now counting began
        self._rate_seen = 0  # events committed since then
        self._rate_busy = False  # the last whole rate window was busy
        self._last_commit = float("-inf")
        self.sent_to = 0  # the last seq a frame of events covered
        self.quiet_from: int | None = None  # the first seq the audience's cursor has not passed
        self._cursor_handle: Timer | None = None

    @property
    def scheduled(self) -> bool:
        """A tick is pending."""
        return self._handle is not None

    @property
    def holding(self) -> bool:
        """Commands arriving now wait for the pending tick (a busy window is open)."""
        return self.busy and self._handle is not None

    def window(self) -> int:
        """The short window for the room's audience now, in ms (see the module's doc)."""
        per_viewer = self._audience() * self._us_per_viewer // 1000
        return min(self._tick_ms, max(QUICK_TICK_MS, per_viewer))

    def committed(self, count: int) -> None:
        """``count`` events were committed (they are in ``events``): keep the room's rate."""
        now = self._clock()
        if now - self._last_commit >= max(RATE_WINDOW_S, 1.5 * self._busy_tick_ms / 1000):
            # Quiet for a whole rate window (and longer than a busy room, which commits once a
            # tick, ever is): whatever came before was a burst, not a rate.
            self._rate_busy = False
            self._rate_from, self._rate_seen = now, 0
        self._last_commit = now
        self._rate_seen += count  # a busy room's commands are committed together at its tick
        elapsed = now - self._rate_from
        if elapsed >= RATE_WINDOW_S:
            # A rate window ended: it decides until the next one does. A busy room commits once
            # a tick, so its windows end up to a tick late; one that ended later than that (a
            # burst, then quiet) says nothing about the rate now.
            self._rate_busy = (
                elapsed <= RATE_WINDOW_S + self._busy_tick_ms / 1000
                and self._rate_seen >= BUSY_EVENTS_PER_S * elapsed
            )
            self._rate_from, self._rate_seen = now, 0

    def send_now(self) -> bool:
        """Whether events committed now go out at once; False: they wait for a tick.

        Events wait only for a window that follows events. A busy room opens its long window
        here (and holds commands until it fires). The caller of a True answer sends, then
        calls ``sent``.
        """
        if self._handle is not None and self._for_events:
            return False
        if self._rate_busy:
            self.cancel()  # a window for reactions or a count: the long one replaces it
            self.busy = True
            self._open(self._busy_tick_ms, for_events=True)
            return False
        return True

    def sent(self) -> None:
        """Events just went out at once: open the short window for what follows. It replaces
        a window open for reactions or a count, which its tick sends instead."""
        self.cancel()
        self._open(self.window(), for_events=True)

    def schedule(self) -> None:
        """Open a window for reactions or a count (``live_tick_ms``) if none is open."""
        if self._handle is None:
            self._open(self._tick_ms, for_events=False)

    def _open(self, window_ms: int, *, for_events: bool) -> None:
        self.window_ms, self._for_events = window_ms, for_events
        call_later = self._call_later or asyncio.get_running_loop().call_later
        self._handle = call_later(window_ms / 1000, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._on_timer()

    def cancel(self) -> None:
        """Close the pending window without its timer (ticking early, or stopping)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def take_events(self) -> list[Item]:
        items = self.events
        if items:
            self.events = []
        return items

    def window_closed(self, flushed: int) -> None:
        """A tick sent ``flushed`` events: events keep a window open for what follows (the
        long one while busy); an empty window ends it."""
        if flushed:
            busy = self._rate_busy
            self._open(self._busy_tick_ms if busy else self.window(), for_events=True)
            self.busy = busy
        else:  # a whole window without events: whatever the last rate window saw is over
            self.busy = self._rate_busy = False

    def react(self, emoji: str) -> None:
        self.reactions[emoji] = self.reactions.get(emoji, 0) + 1
        self.schedule()

    def take_reactions(self) -> dict[str, int]:
        counts = self.reactions
        if counts:
            self.reactions = {}
        return counts

    def take_after(self) -> list[tuple[Session, dict[str, Any]]]:
        after = self.after
        if after:
            self.after = []
        return after

    def count_due(self, online: int, members: int) -> bool:
        """Whether to send this count now: it changed, and the last one is old enough.

        A change that comes too soon opens a window, so a later tick sends it.
        """
        if (online, members) == self._last_count:
            return False
        now = self._clock()
        if now - self._count_at >= COUNT_INTERVAL_S:
            self._last_count, self._count_at = (online, members), now
            return True
        self.schedule()
        return False

    def skip_audience(self, first: int, last: int) -> bool:
        """Whether the audience may go without a frame for ``first``..``last``, none of whose
        events is theirs: True while their cursor would lag fewer than ``CURSOR_LAG_EVENTS``
        events (the interval is kept by a timer). The caller then sends the others their
        frames from ``frame_from(first)`` and calls ``covered(last, audience=False)``."""
        if self.quiet_from is None:
            if last - first + 1 >= CURSOR_LAG_EVENTS:
                return False
            self.quiet_from = first
            call_later = self._call_later or asyncio.get_running_loop().call_later
            self._cursor_handle = call_later(CURSOR_INTERVAL_S, self._cursor_due)
            return True
        return last - self.quiet_from + 1 < CURSOR_LAG_EVENTS

    def frame_from(self, first: int) -> int:
        """Where a frame of events from ``first`` starts: the audience's cursor may lag."""
        return first if self.quiet_from is None else self.quiet_from

    def covered(self, last: int, *, audience: bool) -> None:
        """Frames up to ``last`` went out, to the audience too (``audience``) or not."""
        self.sent_to = max(self.sent_to, last)
        if audience:
            self.cursors_moved()

    def cursors_moved(self) -> None:
        """Every cursor is at ``sent_to``: nothing lags."""
        self.quiet_from = None
        if self._cursor_handle is not None:
            self._cursor_handle.cancel()
            self._cursor_handle = None

    def _cursor_due(self) -> None:
        self._cursor_handle = None
        if self.quiet_from is not None:
            self._on_cursor()

    def close(self) -> None:
        """Stop both timers (the room is stopping)."""
        self.cancel()
        if self._cursor_handle is not None:
            self._cursor_handle.cancel()
            self._cursor_handle = None

    def recount(self) -> None:
        """The next tick sends the count even if it looks unchanged."""
        self._last_count = (-1, -1)
