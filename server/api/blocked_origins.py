"""Recording the sites a merchant's widget was refused on, for the console's "blocked sites".

When the widget's start page (``/start?key=…&parent=…``, ``server.pages``) or a shopper-room
request (``POST /api/v1/shopper-rooms``, ``server.api.shopper_rooms``) is refused because the
page's origin is not one of the merchant's registered origins, that code calls
:func:`note_blocked_origin`. The console lists what was recorded with a one-click "Register"
(``GET /api/v1/merchant/blocked-origins``, ``server.api.stores``).

What may be recorded, so a hostile page cannot fill the list or the database:

- only with a merchant to attribute it to (a valid publishable key named it), only a well-formed
  origin (``scheme://host[:port]``), never coshop's own origin;
- at most :data:`WRITES_PER_MINUTE` writes per merchant and process (a flood costs nothing
  beyond that: the refusal itself is still answered), and at most :data:`NEW_PER_HOUR` *new*
  origins per merchant and process; an origin already listed is still counted;
- at most :data:`server.storage.stores.KEEP_BLOCKED` origins per merchant (the least recently
  seen is dropped).

It must not refuse or slow down the request it records: a storage failure is logged and
forgotten (the answer the shopper sees is the refusal, recorded or not).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.requests import Request

from server.api.common import normalize_origin, now_ms
from server.settings import Settings
from server.storage import StorageError
from server.storage.stores import StoreStore

__all__ = ["NEW_PER_HOUR", "WRITES_PER_MINUTE", "Budget", "note_blocked_origin"]

log = logging.getLogger("coshop.stores")

WRITES_PER_MINUTE = 60
"""Refusals recorded per merchant per minute and process (the rest go uncounted)."""
NEW_PER_HOUR = 10
"""New blocked origins recorded per merchant per hour and process."""
_MAX_KEYS = 10_000  # fixed windows kept in memory before the oldest are forgotten


class Budget:
    """Fixed-window counters per key, in this process (``clock`` in seconds, monotonic)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def _now(self) -> float:
        return self._clock()

    def left(self, key: str, limit: int, window_s: float) -> int:
        start, used = self._windows.get(key, (0.0, 0))
        if self._now() - start >= window_s:
            return limit
        return max(0, limit - used)

    def take(self, key: str, limit: int, window_s: float) -> bool:
        """Use one of ``limit`` per ``window_s`` for ``key``; False when none is left."""
        now = self._now()
        start, used = self._windows.get(key, (now, 0))
        if now - start >= window_s:
            start, used = now, 0
        if used >= limit:
            return False
        if key not in self._windows and len(self._windows) >= _MAX_KEYS:
            self._windows.pop(next(iter(self._windows)))
        self._windows[key] = (start, used + 1)
        return True


def _budget(request: Request) -> Budget:
    state = request.app.state
    budget = getattr(state, "blocked_origin_budget", None)
    if not isinstance(budget, Budget):
        budget = Budget()
        state.blocked_origin_budget = budget
    return budget


def _own_origin(settings: Settings) -> str:
    return normalize_origin(settings.public_url.rstrip("/")) or ""


async def note_blocked_origin(request: Request, merchant_id: str, origin: str | None) -> None:
    """Record that ``merchant_id``'s widget was refused on ``origin`` (see the module doc)."""
    site = normalize_origin(origin) if origin else None
    settings: Settings = request.app.state.settings
    if site is None or site == _own_origin(settings):
        return
    budget = _budget(request)
    if not budget.take(f"w:{merchant_id}", WRITES_PER_MINUTE, 60.0):
        return
    may_add = budget.left(f"n:{merchant_id}", NEW_PER_HOUR, 3600.0) > 0
    try:
        outcome = await StoreStore(request.app.state.engine).note_blocked(
            merchant_id, site, now_ms(), may_add=may_add
        )
    except StorageError as exc:
        log.warning("blocked origin not recorded: %s", exc)
        return
    if outcome == "added":
        budget.take(f"n:{merchant_id}", NEW_PER_HOUR, 3600.0)
