"""Live pacing: when a big room's frames go out (docs/performance.md).

A live room (or a crowded group room) does not send a frame per event. A quiet room sends at
once and opens a tick window (``live_tick_ms``); what arrives within it waits for the tick and
goes out as one batch. A window that carried ``BUSY_EVENTS_PER_S`` or more makes the room
*busy*: its next window is the longer ``live_busy_tick_ms`` (fewer, fuller frames), and commands
arriving during it are held and decided when it fires (the actor's side of this is
``RoomActor.hold``). The room returns to the short window as soon as one sees fewer events.
Reactions are summed per tick, acks wait for the events they acknowledge, and the viewer count
goes out at most once per ``COUNT_INTERVAL_S``.

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

__all__ = ["BUSY_EVENTS_PER_S", "COUNT_INTERVAL_S", "CallLater", "LivePacer", "Timer"]

BUSY_EVENTS_PER_S = 40.0  # a live room this busy coalesces over live_busy_tick_ms
COUNT_INTERVAL_S = 1.0  # viewer counts at most this often


class Timer(Protocol):
    """What ``loop.call_later`` returns, as far as pacing uses it."""

    def cancel(self) -> None: ...


CallLater = Callable[[float, Callable[[], None]], Timer]
"""``loop.call_later(delay_s, callback)`` or a fake clock's equivalent."""


class LivePacer:
    """One room's tick window, busy flag, pending events and acks, reactions and count."""

    __slots__ = (
        "_busy_tick_ms",
        "_call_later",
        "_clock",
        "_count_at",
        "_handle",
        "_last_count",
        "_on_timer",
        "_tick_ms",
        "after",
        "busy",
        "events",
        "reactions",
        "window_ms",
    )

    def __init__(
        self,
        tick_ms: int,
        busy_tick_ms: int,
        on_timer: Callable[[], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        call_later: CallLater | None = None,
    ) -> None:
        self._tick_ms = tick_ms
        self._busy_tick_ms = busy_tick_ms
        self._on_timer = on_timer
        self._clock = clock
        self._call_later = call_later
        self._handle: Timer | None = None
        self.events: list[Item] = []  # committed events waiting for the tick
        self.after: list[tuple[Session, dict[str, Any]]] = []  # acks that follow them
        self.reactions: dict[str, int] = {}  # emoji -> count since the last tick
        self.window_ms = 0  # the tick window now open (0: none yet)
        self.busy = False  # the open window follows a busy one: commands wait for its tick
        self._last_count = (-1, -1)  # (online, members) last sent
        self._count_at = float("-inf")

    @property
    def scheduled(self) -> bool:
        """A tick is pending."""
        return self._handle is not None

    @property
    def holding(self) -> bool:
        """Commands arriving now wait for the pending tick (a busy window is open)."""
        return self.busy and self._handle is not None

    def schedule(self, window_ms: int | None = None) -> None:
        """Open a tick window (the short one unless told) if none is open."""
        if self._handle is None:
            self.window_ms = window_ms or self._tick_ms
            call_later = self._call_later or asyncio.get_running_loop().call_later
            self._handle = call_later(self.window_ms / 1000, self._fire)

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
        """A tick sent ``flushed`` events: still busy keeps coalescing, longer if very busy."""
        if flushed:
            busy = flushed >= 3 and flushed * 1000 >= BUSY_EVENTS_PER_S * self.window_ms
            self.schedule(self._busy_tick_ms if busy else self._tick_ms)
            self.busy = busy
        else:
            self.busy = False

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

    def recount(self) -> None:
        """The next tick sends the count even if it looks unchanged."""
        self._last_count = (-1, -1)
