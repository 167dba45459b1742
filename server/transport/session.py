"""One connected socket: its identity, its bounded outbox and its single writer task.

Fan-out never awaits a client (DESIGN.md §4): :meth:`Session.send` only appends an already
encoded frame to a bounded deque and wakes the writer. A client whose outbox overflows is closed
with 1013 ("try again later") and resumes from its last seq on reconnect. Errors for the client go
through the same outbox, so frames keep their order. This module knows nothing of rooms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from server.protocol.close import CloseCode
from server.transport.wire import Codec
from server.waiting import stop_task

__all__ = ["CLOSE_CODES", "RateLimiter", "Session"]

log = logging.getLogger("coshop.session")

# Kept for server/transport/ws.py and server/hub/: a thin alias of the one table,
# server.protocol.close.CloseCode (name -> code). New code uses CloseCode directly.
CLOSE_CODES: Mapping[str, CloseCode] = {code.wire_name: code for code in CloseCode} | {
    "too_slow": CloseCode.TRY_AGAIN_LATER,
}


@dataclass(slots=True)
class RateLimiter:
    """Token bucket: ``rate`` commands a second on average, bursts up to ``burst``."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    stamp: float = 0.0

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def allow(self, now: float, cost: float = 1.0) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


SendFrame = Callable[[str | bytes], Coroutine[Any, Any, None]]
CloseSocket = Callable[[int, str], Awaitable[None]]


class Session:
    """A member's socket as the hub sees it. Created by the transport after the hello frame.

    Fast path: while nothing is queued and the writer is idle (so order is kept), ``write_now``
    writes the frame straight to the socket (``server/transport/direct.py``). It declines when
    the socket is flow-controlled or closing, and does not exist on other ASGI servers; then the
    frame is queued and the writer task sends it through ASGI.

    The writer task (and its wake-up event) exist only once something had to be queued, so an
    idle member costs no writer task.

    ``_direct`` is ``write_now`` while the fast path is allowed (started, not closing, nothing
    queued, the writer idle) and None otherwise, kept up to date where those change: a fan-out
    calls :meth:`send` once per recipient, so the common case reads one attribute, not five.
    """

    __slots__ = (
        "_busy",
        "_close_sock",
        "_closing",
        "_direct",
        "_outbox",
        "_send_frame",
        "_started",
        "_wake",
        "_write_now",
        "_writer",
        "codec",
        "limiter",
        "member_id",
        "name",
        "on_evicted",
        "outbox_limit",
        "role",
        "room_id",
        "session_id",
        "viewing",
    )

    def __init__(
        self,
        *,
        session_id: str,
        room_id: str,
        member_id: str,
        name: str,
        role: str,
        codec: Codec,
        send_frame: SendFrame,
        close_socket: CloseSocket,
        outbox_limit: int,
        limiter: RateLimiter,
        write_now: Callable[[str | bytes], bool] | None = None,
    ) -> None:
        self.session_id = session_id
        self.room_id = room_id
        self.member_id = member_id
        self.name = name
        self.role = role
        self.codec = codec
        self.outbox_limit = outbox_limit
        self.limiter = limiter
        self.viewing: str | None = None
        self.on_evicted: Callable[[Session], None] | None = None
        self._send_frame = send_frame
        self._write_now = write_now
        self._close_sock = close_socket
        # made when something has to wait, dropped when drained: idle members hold none
        self._outbox: deque[str | bytes] | None = None
        self._busy = False  # the writer is in the middle of a send
        self._started = False
        self._wake: asyncio.Event | None = None
        self._closing: tuple[int, str] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._direct: Callable[[str | bytes], bool] | None = None  # write_now while allowed

    def _allow_direct(self) -> None:
        """Open the fast path again if nothing stands in its way (see the class docstring)."""
        if self._closing is None and not self._outbox and not self._busy and self._started:
            self._direct = self._write_now

    @property
    def closing(self) -> bool:
        return self._closing is not None

    def start(self) -> None:
        """Allow sending (the socket is accepted). The writer task starts when first needed."""
        self._started = True
        self._allow_direct()
        if self._outbox:
            self._kick()

    def _kick(self) -> None:
        """Wake the writer, creating it on first use."""
        if self._writer is None:
            self._wake = asyncio.Event()
            self._writer = asyncio.get_running_loop().create_task(
                self._write_loop(self._wake), name=f"writer:{self.session_id}"
            )
        assert self._wake is not None
        self._wake.set()

    def send(self, frame: str | bytes) -> bool:
        """Queue an encoded frame without waiting. False if the session is (now) closing."""
        direct = self._direct
        if direct is not None and direct(frame):
            return True  # the common case on uvicorn: straight into the transport
        return self._queue(frame)

    def _queue(self, frame: str | bytes) -> bool:
        if self._closing is not None:
            return False
        outbox = self._outbox
        if outbox is not None and len(outbox) >= self.outbox_limit:
            outbox.clear()
            self.close(CloseCode.TRY_AGAIN_LATER, "too far behind; reconnect and resume")
            if self.on_evicted is not None:
                self.on_evicted(self)
            return False
        if outbox is None:
            outbox = self._outbox = deque()
        outbox.append(frame)
        self._direct = None  # order: what follows waits behind this frame
        if self._started:
            self._kick()
        return True

    def send_message(self, message: object) -> bool:
        return self.send(self.codec.encode(message))

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued (an error frame before a close arrives)."""
        if self._closing is None:
            self._closing = (code, reason[:120])
            self._direct = None
            self._kick()

    async def _write_loop(self, wake: asyncio.Event) -> None:
        try:
            while True:
                await wake.wait()
                wake.clear()
                self._busy = True
                self._direct = None
                while self._outbox:
                    frame = self._outbox.popleft()
                    if not self._outbox:
                        self._outbox = None
                    await self._send_frame(frame)
                self._busy = False
                self._allow_direct()
                if self._closing is not None:
                    code, reason = self._closing
                    with contextlib.suppress(Exception):
                        await self._close_sock(code, reason)
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the peer went away mid-write; the reader will notice too
            log.debug("writer stopped: %s", type(exc).__name__)
            self._closing = self._closing or (CloseCode.GOING_AWAY, "")
            self._direct = None

    async def stop(self) -> None:
        self._outbox = None
        if self._writer is not None and not self._writer.done():
            with contextlib.suppress(Exception):  # a writer that failed has said so already
                await stop_task(self._writer)

    async def drain_and_wait(self, timeout: float) -> None:
        """Wait (bounded) for the writer to flush and close — used when the server kicks."""
        if self._writer is not None:  # asyncio.wait: the writer's own end never raises here
            await asyncio.wait({self._writer}, timeout=timeout)
