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

A room started with a **publishable key** (``POST /api/v1/shopper-rooms``) also counts against
that key, whoever loads it: a scraped key used from many addresses gets at most
``publishable_share`` of the rooms (never fewer than the floor), each of its addresses still at
most its own share. The shopper-room route names the key for the rest of its request
(:data:`current_key`); the hub calls :meth:`ClientShares.started` when it opens the room, which
remembers the key of the last rooms started through this process (:data:`REMEMBER_FACTOR` times
the room cap, at least :data:`REMEMBER_MIN`), so a room unloaded and loaded again still counts
against it. A room started through another process counts against its address only here.

This module keeps counts only; it never refuses by itself and does no I/O.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass

from server.settings import Settings

__all__ = [
    "REMEMBER_FACTOR",
    "REMEMBER_MIN",
    "ClientShareExceeded",
    "ClientShares",
    "RoomHolders",
    "current_client",
    "current_key",
    "key_identity",
]

current_client: ContextVar[str | None] = ContextVar("coshop_client", default=None)
"""The client (address) on whose behalf the current request or socket runs, if any."""

current_key: ContextVar[str | None] = ContextVar("coshop_publishable_key", default=None)
"""The publishable key (as :func:`key_identity` names it) the current request starts a room
with, if any."""

REMEMBER_FACTOR = 4
REMEMBER_MIN = 1024


def key_identity(publishable_key: str) -> str:
    """How shares and rate windows name a publishable key: never the key itself (it would sit in
    Redis and in memory dumps), and never equal to an address."""
    return "pk:" + hashlib.sha256(publishable_key.encode("utf-8", "replace")).hexdigest()[:32]


class ClientShareExceeded(Exception):
    """One client asked for more than its share of a cap (``rate_limited``; try again later)."""

    code = "rate_limited"
    retry_after_s = 30


@dataclass(frozen=True)
class RoomHolders:
    """Who a loaded room counts against: the address that loaded it and the key that started
    it (either may be None)."""

    address: str | None
    key: str | None


_NOBODY = RoomHolders(None, None)


class ClientShares:
    """Per-client counts of loaded rooms and open sockets, and the share each may hold."""

    def __init__(
        self, share: float, floor: int, key_share: float = 0.0, remember: int = REMEMBER_MIN
    ) -> None:
        self.share = share
        self.floor = floor
        self.key_share = key_share
        self.rooms: Counter[str] = Counter()  # by address
        self.sockets: Counter[str] = Counter()  # by address
        self.key_rooms: Counter[str] = Counter()  # by publishable key (key_identity)
        self._remember = max(1, remember)
        self._started: OrderedDict[str, str] = OrderedDict()  # room -> the key that started it

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientShares:
        remember = max(REMEMBER_MIN, REMEMBER_FACTOR * settings.max_rooms)
        return cls(
            settings.client_share,
            settings.client_share_floor,
            settings.publishable_share,
            remember,
        )

    @staticmethod
    def _of(share: float, floor: int, total: int) -> int:
        if share <= 0:
            return total
        return min(total, max(floor, int(total * share)))

    def cap(self, total: int) -> int:
        """How many of ``total`` one client (address) may hold."""
        return self._of(self.share, self.floor, total)

    def key_cap(self, total: int) -> int:
        """How many of ``total`` rooms the rooms of one publishable key may be."""
        return self._of(self.key_share, self.floor, total)

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

    # ---- rooms: the address that loads them and the key that started them ----------------

    def started(self, room_id: str) -> None:
        """A room is being opened: remember the key of the request opening it, if it has one."""
        key = current_key.get()
        if key is None:
            return
        self._started[room_id] = key
        while len(self._started) > self._remember:
            self._started.popitem(last=False)

    def holders(self, room_id: str) -> RoomHolders:
        """Whom loading ``room_id`` now would count against. Work no client asked for (no
        :data:`current_client`) counts against nobody and is never refused."""
        address = current_client.get()
        if address is None:
            return _NOBODY
        return RoomHolders(address, self._started.get(room_id) or current_key.get())

    def key_full(self, key: str, total: int) -> bool:
        """Whether the rooms of ``key`` already fill its share of ``total``."""
        return self.key_rooms[key] >= self.key_cap(total)

    def take_room(self, holders: RoomHolders, total: int) -> str | None:
        """Count one more loaded room against its holders if each stays within its share of
        ``total``; else count nothing and say whose share is full."""
        address, key = holders.address, holders.key
        if address is not None and self.rooms[address] >= self.cap(total):
            return "this client has loaded its share of this server's rooms; try again later"
        if key is not None and self.key_full(key, total):
            return (
                "the rooms started with this shop's publishable key fill its share of this "
                "server's rooms; try again later"
            )
        if address is not None:
            self.rooms[address] += 1
        if key is not None:
            self.key_rooms[key] += 1
        return None

    def give_back_room(self, holders: RoomHolders | None) -> None:
        """A room counted by :meth:`take_room` was unloaded (or failed to load)."""
        if holders is None:
            return
        if holders.address is not None:
            self.give_back(self.rooms, holders.address)
        if holders.key is not None:
            self.give_back(self.key_rooms, holders.key)
