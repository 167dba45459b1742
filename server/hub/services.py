"""What a room actor uses of its process: the few services the hub hands every actor.

An actor receives this, not the hub: it can commit, read the log and its merchant's catalogue,
tell other processes about its room, read their presence, count, and say it stopped — and
nothing else (it cannot reach another room or the hub's caps). The hub builds one per process;
tests build one with fakes for what they do not exercise and a fake clock for pacing.

It must not: hold state of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from server.hub.catalogs import CatalogCache
from server.hub.committer import Committer
from server.hub.pacing import CallLater
from server.hub.peers import PeerMessage
from server.metrics import Metrics
from server.storage import EventStore

__all__ = ["RoomServices"]


@dataclass(frozen=True, slots=True)
class RoomServices:
    store: EventStore
    committer: Committer
    catalogs: CatalogCache
    metrics: Metrics
    publish: Callable[[str, PeerMessage], None]
    """Tell other processes about a room (the hub drops what nobody else listens to)."""
    remote_presence: Callable[[str], dict[str, dict[str, object]]]
    """Members of a group room connected to other processes, by member id."""
    remote_count: Callable[[str], int]
    """How many members of a room are connected to other processes."""
    unloaded: Callable[[str, object], None]
    """``(room id, actor)``: the actor found its room idle and stopped."""
    snapshot_every: int
    replay_limit: int
    live_tick_ms: int
    live_busy_tick_ms: int
    live_window_us_per_viewer: int = 10
    clock: Callable[[], float] = time.monotonic
    call_later: CallLater | None = None  # None: the running loop's ``call_later``
