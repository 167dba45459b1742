"""Fair shares of a process's caps: no one client may hold more than its share of them.

A client is what :func:`server.http.ratelimit.client_address` makes of a connection: its address
(IPv6 by /64), as the trusted proxy says when there is one. The room cap (``COSHOP_MAX_ROOMS``)
and the connection cap (``COSHOP_MAX_CONNECTIONS``) are shared: one client loads at most
``client_share`` of the rooms and holds at most that share of the WebSockets, and never fewer
than ``client_share_floor`` of each (so a small server, or a test with tiny caps, still lets one
client do real work). What a greedy client cannot take stays free for everyone else.

A room counts against the client whose request loaded it, until it is unloaded. The client of
the request or socket being served is a context variable (:data:`current_client`), set by the
HTTP middleware and the WebSocket handler, so the hub learns it without every caller passing it.

This module keeps counts only; it never refuses by itself and does no I/O.
"""

from __future__ import annotations

from collections import Counter
from contextvars import ContextVar

__all__ = ["ClientShareExceeded", "ClientShares", "current_client"]

current_client: ContextVar[str | None] = ContextVar("coshop_client", default=None)
"""The client (address) on whose behalf the current request or socket runs, if any."""


class ClientShareExceeded(Exception):
    """One client asked for more than its share of a cap (``rate_limited``; try again later)."""

    code = "rate_limited"
    retry_after_s = 30


class ClientShares:
    """Per-client counts of loaded rooms and open sockets, and the share each may hold."""

    def __init__(self, share: float, floor: int) -> None:
        self.share = share
        self.floor = floor
        self.rooms: Counter[str] = Counter()
        self.sockets: Counter[str] = Counter()

    def cap(self, total: int) -> int:
        """How many of ``total`` one client may hold."""
        if self.share <= 0:
            return total
        return min(total, max(self.floor, int(total * self.share)))

    @staticmethod
    def take(counts: Counter[str], client: str, cap: int) -> bool:
        """Count one more for ``client`` if it stays within ``cap``; False (and nothing
        counted) if it would not."""
        if counts[client] >= cap:
            return False
        counts[client] += 1
        return True

    @staticmethod
    def give_back(counts: Counter[str], client: str) -> None:
        left = counts[client] - 1
        if left > 0:
            counts[client] = left
        else:
            del counts[client]
