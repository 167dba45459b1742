"""Serving limits: a connection cap below the open-file limit, slow clients cut, a quiet log.

This module is for what uvicorn does not do on its own, at the TCP/HTTP level, for every
connection (REST calls, pages, WebSocket handshakes alike):

* **A connection cap that fires before the operating system's limit.** The cap is the lower of
  ``COSHOP_MAX_CONNECTIONS`` and the process's open-file limit minus a reserve for the
  database, the broker, log files and refusals in flight (:func:`derive_limits`). A connection
  over the cap is answered at once — ``503`` with a ``server_full`` problem body, written as soon
  as it is accepted, before its request is read — and closed after a short linger that reads and
  discards what the client still sends (so the close is a FIN, not a reset that could destroy
  the answer). At most :attr:`ServingLimits.refusing_max` refusals linger at once; the oldest
  is closed to make room, so a flood cannot eat the reserve and ``accept()`` keeps working.
* **Slow clients cut.** The request line and headers must be complete within
  ``header_timeout_s`` of the connection (or of the first byte of a later keep-alive request);
  a body gets ``body_timeout_s`` and one more second per ``body_min_rate`` bytes received
  (Apache's ``mod_reqtimeout`` ``body=15,MinRate=500``). A client cut with bytes sent gets
  ``408`` with a ``request_timeout`` problem body; one that sent nothing is just closed.
  Idle keep-alive stays uvicorn's (``timeout_keep_alive``); WebSockets, once upgraded, are
  not this module's business.
* **A quiet accept-error log.** When ``accept()`` fails for want of descriptors, asyncio logs
  ``socket.accept() out of system resource`` at ERROR for every attempt (thousands a second on
  Python 3.11); :class:`AcceptErrorThrottle` lets one line through per interval and says how
  many it held back. Refusals and cuts are logged the same way, one line per interval.

It must not: know about rooms, members or routes, or decide anything for a request that has
reached the application. The protocol is uvicorn's h11 protocol with three hooks added; coshop
always serves HTTP/1.1 through h11 (httptools is not a dependency).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import resource
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from server.settings import Settings

__all__ = [
    "LOG_INTERVAL_S",
    "REFUSAL_LINGER_S",
    "AcceptErrorThrottle",
    "GuardedH11Protocol",
    "ServingLimits",
    "ServingStats",
    "Throttle",
    "derive_limits",
    "install_accept_error_throttle",
    "open_descriptors",
    "open_file_limit",
    "protocol_class",
    "raise_open_file_limit",
]

log = logging.getLogger("coshop.serving")

REFUSAL_LINGER_S = 1.0
"""How long a refused connection is kept to read what its client still sends (then closed)."""

LOG_INTERVAL_S = 10.0
"""At most one accept-error line, one refusal line and one cut line per this many seconds."""

MIN_RESERVE = 128
"""Descriptors kept back from connections at least (the reserve is 10 % of the limit above)."""


def open_file_limit() -> int:
    """The process's soft limit on open files (``RLIMIT_NOFILE``)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return int(soft) if soft != resource.RLIM_INFINITY else 1 << 20


def raise_open_file_limit() -> int:
    """Lift the soft open-file limit to the hard limit (as nginx's ``worker_rlimit_nofile``).

    Distributions start processes with a soft limit of 1,024 and a hard limit far above; a
    server holding one socket per member needs the hard one. Returns the soft limit after.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
    if soft == resource.RLIM_INFINITY or soft >= target:
        return open_file_limit()
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return open_file_limit()


def open_descriptors() -> int:
    """How many descriptors this process has open (Linux ``/proc``; 0 where it is missing)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


@dataclass(frozen=True)
class ServingLimits:
    """The limits one server enforces; derived once at start-up (:func:`derive_limits`)."""

    connection_cap: int  # TCP connections served at once (HTTP and WebSocket)
    header_timeout_s: float
    body_timeout_s: float
    body_min_rate: int  # bytes per second that extend a body's deadline by one second
    open_file_limit: int
    reserve: int  # descriptors kept back: database, broker, logs, refusals in flight
    refusing_max: int  # refusals lingering at once
    backlog: int  # the listen backlog, and how many connections one loop tick accepts
    per_client_cap: int = 0  # TCP connections one peer address may hold at once; 0 = no cap

    def describe(self) -> str:
        return (
            f"connection cap {self.connection_cap} (open-file limit {self.open_file_limit}, "
            f"reserve {self.reserve}); header timeout {self.header_timeout_s:g} s, body timeout "
            f"{self.body_timeout_s:g} s + 1 s per {self.body_min_rate} bytes; "
            f"per address {self.per_client_cap or 'no cap'}"
        )


def derive_limits(settings: Settings, limit: int | None = None) -> ServingLimits:
    """The effective limits for ``settings`` under an open-file ``limit`` (default: ours).

    Reserve: ``COSHOP_FD_RESERVE`` if set, else 10 % of the limit and at least
    :data:`MIN_RESERVE`. Cap: ``COSHOP_MAX_CONNECTIONS`` if lower than limit - reserve.
    A limit too small for the reserve (under about 150) leaves half of it to connections.

    The reserve holds the process's own descriptors (about 16 on SQLite, plus one per
    database and Redis connection), the lingering refusals (an eighth of it) and sockets
    accepted but not yet refused: asyncio accepts up to :attr:`ServingLimits.backlog` (the
    reserve, 128 to 2,048; also the listen backlog) per loop tick before any protocol sees
    them. A burst bigger than the reserve in one instant can still make an ``accept()`` fail:
    asyncio tries again a second later, and the log says so once per interval. A smaller
    backlog would avoid that but drop SYNs, which costs every client a one-second retry.
    """
    limit = open_file_limit() if limit is None else limit
    reserve = settings.fd_reserve or max(MIN_RESERVE, limit // 10)
    by_files = limit - reserve
    if by_files < 16:
        reserve = limit - limit // 2
        by_files = limit // 2
    cap = max(1, min(settings.max_connections, by_files))
    # One address may hold at most its share of the cap (COSHOP_CLIENT_SHARE, the same share
    # as of rooms and WebSockets): one greedy client cannot take every connection. Behind a
    # trusted proxy every peer is the proxy, so the share is counted per client further in
    # (server/http/ratelimit.py, server/hub/shares.py) and not here.
    per_client = 0
    if settings.client_share > 0 and not settings.trusted_proxies:
        per_client = min(cap, max(settings.client_share_floor, int(cap * settings.client_share)))
    return ServingLimits(
        connection_cap=cap,
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        body_min_rate=settings.body_min_rate,
        open_file_limit=limit,
        reserve=reserve,
        # asyncio accepts up to ``backlog`` sockets per loop tick before any protocol can
        # refuse one: a batch and the lingering refusals should fit in the reserve
        refusing_max=max(4, reserve // 8),
        backlog=min(2048, max(128, reserve)),
        per_client_cap=per_client,
    )


class Throttle:
    """One event in ``interval_s`` goes through; :meth:`allow` says how many were held back."""

    def __init__(self, interval_s: float = LOG_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._next = 0.0
        self._held = 0

    def allow(self, now: float | None = None) -> int | None:
        """None: hold this one back; else the number held back since the last one let through."""
        now = time.monotonic() if now is None else now
        if now < self._next:
            self._held += 1
            return None
        held, self._held = self._held, 0
        self._next = now + self.interval_s
        return held


ACCEPT_ERROR = "socket.accept() out of system resource"


class AcceptErrorThrottle(logging.Filter):
    """Let one asyncio accept-error line through per interval, shortened, with a count."""

    def __init__(self, interval_s: float = LOG_INTERVAL_S) -> None:
        super().__init__()
        self.throttle = Throttle(interval_s)

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(ACCEPT_ERROR):
            return True
        held = self.throttle.allow()
        if held is None:
            return False
        exc = record.exc_info[1] if record.exc_info else None
        record.msg = f"{ACCEPT_ERROR}: %s (%d more in the last %.0f s; raise the open-file limit)"
        record.args = (exc, held, self.throttle.interval_s)
        record.exc_info = None  # one line, not a traceback per interval
        record.exc_text = None
        return True


def install_accept_error_throttle() -> None:
    """Throttle asyncio's accept-error lines (idempotent)."""
    target = logging.getLogger("asyncio")
    if not any(isinstance(f, AcceptErrorThrottle) for f in target.filters):
        target.addFilter(AcceptErrorThrottle())


@dataclass
class ServingStats:
    """What the protocol did, for ``/metrics`` (read when it renders; plain integers)."""

    limits: ServingLimits
    refused: int = 0
    refused_client: int = 0  # refused because their address held its share
    per_client: dict[str, int] = field(default_factory=dict)  # open connections per address
    cut_header: int = 0
    cut_body: int = 0
    connections: set[Any] = field(default_factory=set)  # uvicorn's own set, once known
    refusing: dict[Any, None] = field(default_factory=dict)  # lingering refusals, oldest first
    linked: bool = False  # handed to the app's Metrics (see _link_metrics)
    refusal_log: Throttle = field(default_factory=Throttle)
    cut_log: Throttle = field(default_factory=Throttle)

    @property
    def open_connections(self) -> int:
        return len(self.connections)


def _problem(status: int, reason: str, code: str, detail: str, extra: str = "") -> bytes:
    body = json.dumps(
        {
            "type": f"https://coshop.dev/problems/{code}",
            "title": code.replace("_", " ").capitalize(),
            "status": status,
            "code": code,
            "detail": detail,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        f"{extra}"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


SERVER_FULL = _problem(
    503,
    "Service Unavailable",
    "server_full",
    "this server holds as many connections as it can; try again shortly",
    "retry-after: 5\r\n",
)
CLIENT_SHARE_TAKEN = _problem(
    429,
    "Too Many Requests",
    "rate_limited",
    "this address holds its share of this server's connections; close some or try again shortly",
    "retry-after: 5\r\n",
)
REQUEST_TIMEOUT = _problem(
    408, "Request Timeout", "request_timeout", "the request did not arrive in time"
)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the connection cap and the slow-client deadlines."""

    limits: ClassVar[ServingLimits]
    stats: ClassVar[ServingStats]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._refusing = False
        self._upgraded = False
        self._reading_body = False
        self._body_started = 0.0
        self._body_bytes = 0
        self._peer: str | None = None  # counted in stats.per_client while connected

    # --- the cap -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        stats = self.stats
        if not stats.linked:
            _link_metrics(self)
        if len(self.connections) >= self.limits.connection_cap:
            self._refuse(transport, SERVER_FULL)
            return
        if self.limits.per_client_cap:
            peer = transport.get_extra_info("peername")
            address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
            held = stats.per_client.get(address, 0)
            if held >= self.limits.per_client_cap:
                stats.refused_client += 1
                self._refuse(transport, CLIENT_SHARE_TAKEN)
                return
            stats.per_client[address] = held + 1
            self._peer = address
        super().connection_made(transport)
        self._arm(self.limits.header_timeout_s, self._header_timeout)

    def _refuse(self, transport: asyncio.Transport, answer: bytes) -> None:
        stats = self.stats
        self._refusing = True
        self.transport = transport
        stats.refused += 1
        while len(stats.refusing) >= self.limits.refusing_max:
            oldest = next(iter(stats.refusing))
            oldest._close_refused()
        stats.refusing[self] = None
        transport.write(answer)
        if transport.can_write_eof():
            transport.write_eof()
        self._timer = self.loop.call_later(REFUSAL_LINGER_S, self._close_refused)
        if (held := stats.refusal_log.allow()) is not None:
            log.warning(
                "refusing connections over the cap of %d (or one address's share, %d) "
                "(%d more refused in the last %.0f s)",
                self.limits.connection_cap,
                self.limits.per_client_cap,
                held,
                stats.refusal_log.interval_s,
            )

    def _close_refused(self) -> None:
        self.stats.refusing.pop(self, None)
        self._cancel()
        self.transport.close()

    # --- input ---------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refusing:
            return  # read and dropped: the answer is already on its way
        super().data_received(data)
        if self._upgraded or self.transport.is_closing():
            self._cancel()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            # a request has begun and is not complete: its deadline runs from its first byte
            if self._timer is None:
                self._arm(self.limits.header_timeout_s, self._header_timeout)
        elif state is h11.SEND_BODY:
            if not self._reading_body:
                self._reading_body = True
                self._body_started = self.loop.time()
                self._body_bytes = 0
                self._arm(self.limits.body_timeout_s, self._body_timeout)
            else:
                self._body_bytes += len(data)
        else:
            self._reading_body = False
            self._cancel()

    def eof_received(self) -> None:
        if self._refusing:
            self._close_refused()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._upgraded = True
        self._cancel()
        # The WebSocket protocol takes the transport over and this protocol never hears of
        # its end: release the address's slot now. Open WebSockets count against the
        # address's share of sockets in the hub instead (server/hub/shares.py).
        self._release_peer()
        super().handle_websocket_upgrade(event)

    def _release_peer(self) -> None:
        if self._peer is not None:
            counts = self.stats.per_client
            left = counts.get(self._peer, 1) - 1
            if left > 0:
                counts[self._peer] = left
            else:
                counts.pop(self._peer, None)
            self._peer = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        self._release_peer()
        if self._refusing:
            self.stats.refusing.pop(self, None)
            return
        super().connection_lost(exc)

    # --- deadlines -----------------------------------------------------------------------

    def _arm(self, delay: float, callback: Any) -> None:
        self._cancel()
        self._timer = self.loop.call_later(delay, callback)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _header_timeout(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        pending, _closed = self.conn.trailing_data
        self._cut("header", answer=bool(pending))

    def _body_timeout(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.SEND_BODY:
            return
        now = self.loop.time()
        cycle = self.cycle
        if self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue):
            # the application is not reading yet: the client is not the slow one
            self._body_started, self._body_bytes = now, 0
            self._arm(self.limits.body_timeout_s, self._body_timeout)
            return
        deadline = (
            self._body_started
            + self.limits.body_timeout_s
            + self._body_bytes / max(1, self.limits.body_min_rate)
        )
        if now < deadline:
            self._arm(deadline - now, self._body_timeout)
            return
        self._cut("body", answer=cycle is None or not cycle.response_started)

    def _cut(self, phase: str, *, answer: bool) -> None:
        stats = self.stats
        if phase == "header":
            stats.cut_header += 1
        else:
            stats.cut_body += 1
        if self.cycle is not None:
            # the application sees a disconnect; anything it still sends is dropped
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if answer:
            self.transport.write(REQUEST_TIMEOUT)
        self.transport.close()
        if (held := stats.cut_log.allow()) is not None:
            log.warning(
                "cut a slow client (%s) after its deadline (%d more in the last %.0f s)",
                phase,
                held,
                stats.cut_log.interval_s,
            )


def _link_metrics(protocol: GuardedH11Protocol) -> None:
    """Hand the stats to the app's :class:`~server.metrics.Metrics` once it exists.

    The app builds its Metrics in its lifespan, after uvicorn's configuration was made; the
    first connection after start-up finds it on ``app.state`` and links the two.
    """
    stats = protocol.stats
    stats.connections = protocol.connections
    state = getattr(protocol.config.app, "state", None)
    metrics = getattr(state, "metrics", None)
    if metrics is not None and hasattr(metrics, "watch_serving"):
        metrics.watch_serving(stats)
        stats.linked = True


def protocol_class(limits: ServingLimits) -> type[H11Protocol]:
    """An HTTP protocol class for ``uvicorn.Config(http=...)`` enforcing ``limits``."""

    class CoshopH11Protocol(GuardedH11Protocol):
        pass

    CoshopH11Protocol.limits = limits
    CoshopH11Protocol.stats = ServingStats(limits)
    return CoshopH11Protocol
