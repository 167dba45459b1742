"""Direct frame writes for the fan-out hot path (docs/performance.md, "the send path").

A live room sends the same frame to thousands of sockets. Through ASGI every copy costs a
coroutine, Starlette's state checks, uvicorn's ``send`` and a fresh WebSocket frame header — about
two thirds of coshop's CPU per delivered frame. Server-to-client frames are never masked and
coshop negotiates no extensions (compression is off), so the bytes on the wire are the same for
every recipient: :class:`FrameCache` builds them once with websockets' own ``Frame.serialize``
and :func:`direct_writer` hands them to the socket's transport, as ``websockets.broadcast()``
does, minus the per-socket serialisation.

This is only used when coshop runs on uvicorn's ``websockets-sansio`` implementation (what
``coshop serve`` configures); anything else (another ASGI server, the test client) keeps the
plain ASGI path. A direct write is refused — and the caller falls back to ASGI, which waits and
keeps order — whenever the socket is not open or not writable (flow control), and never used for
the handshake or the close.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

from websockets.frames import Frame, Opcode
from websockets.protocol import State

__all__ = [
    "DirectWriter",
    "FrameCache",
    "direct_writer",
    "limit_send_buffer",
    "release_handshake",
]

log = logging.getLogger("coshop.direct")

DirectWriter = Callable[[str | bytes], bool]


class FrameCache:
    """The serialised WebSocket frame of the payloads being fanned out right now.

    Keyed by the payload object's identity: a fan-out passes one encoded object to every
    session, so all but the first recipient hit. One slot per frame type (text for JSON,
    binary for msgpack), because sessions of both subprotocols interleave. The cache holds a
    reference to the payload, so its id cannot be reused while it is cached.
    """

    __slots__ = ("_bin", "_bin_frame", "_text", "_text_frame")

    def __init__(self) -> None:
        self._text: str | None = None
        self._text_frame = b""
        self._bin: bytes | None = None
        self._bin_frame = b""

    def frame(self, payload: str | bytes) -> bytes:
        if isinstance(payload, str):
            if payload is not self._text:
                self._text_frame = Frame(Opcode.TEXT, payload.encode()).serialize(mask=False)
                self._text = payload
            return self._text_frame
        if payload is not self._bin:
            self._bin_frame = Frame(Opcode.BINARY, payload).serialize(mask=False)
            self._bin = payload
        return self._bin_frame


FRAMES = FrameCache()


# What the direct path reads of uvicorn's protocol and of its websockets connection. uvicorn is
# pinned to the range these were tested with (pyproject.toml); a release that renames one of them
# makes every socket fall back to the ordinary ASGI send instead of failing.
_PROTOCOL_ATTRIBUTES = (
    "conn",
    "writable",
    "transport",
    "close_sent",
    "disconnected",
    "config",
    "handshake_complete",
)
_CONNECTION_ATTRIBUTES = ("state", "expect_continuation_frame")


def _protocol(asgi_send: object) -> Any:
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import (
            WebSocketsSansIOProtocol,
        )
    except ImportError:  # pragma: no cover - uvicorn is a dependency; another server may host us
        return None
    proto = getattr(asgi_send, "__self__", None)
    if not isinstance(proto, WebSocketsSansIOProtocol):
        return None
    if not all(hasattr(proto, name) for name in _PROTOCOL_ATTRIBUTES):
        return None
    if not all(hasattr(proto.conn, name) for name in _CONNECTION_ATTRIBUTES):
        return None
    if not hasattr(proto.config, "ws_per_message_deflate"):
        return None
    return proto


def limit_send_buffer(asgi_send: object, nbytes: int) -> bool:
    """Cap the kernel's send buffer of this socket (``SO_SNDBUF``); False if not possible.

    Linux autotunes a TCP send buffer up to 4 MiB: a client that stops reading would hold that
    much kernel memory and take minutes to show up in the session's outbox (and be closed with
    1013). A live room needs tens of KB/s per socket, so a few hundred KiB are plenty.
    """
    proto = _protocol(asgi_send)
    if proto is None or nbytes <= 0:
        return False
    sock = proto.transport.get_extra_info("socket")
    if sock is None:  # pragma: no cover - a TCP transport always has one
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, nbytes)
    except OSError:  # the peer is already gone: nothing to bound
        return False
    return True


# uvicorn keeps the handshake's request and response (their headers: about 3.5 KiB a socket)
# for the connection's whole life, and never reads them once the socket is accepted.
_HANDSHAKE_ATTRIBUTES = ("request", "response")


def release_handshake(asgi_send: object) -> bool:
    """Let go of the accepted handshake's request and response; False if not uvicorn's.

    Call only after the socket was accepted (``websocket.accept``): uvicorn builds the 101
    response from them. Memory per idle member, docs/performance.md.
    """
    proto = _protocol(asgi_send)
    if proto is None or not proto.handshake_complete:
        return False
    for name in _HANDSHAKE_ATTRIBUTES:
        if hasattr(proto, name):
            setattr(proto, name, None)
    return True


def direct_writer(asgi_send: object, cache: FrameCache = FRAMES) -> DirectWriter | None:
    """A synchronous writer for this socket, or None when the server is not the one we know.

    The writer returns False (nothing written) when the socket is closing, closed or applying
    back-pressure; the caller then uses the ordinary ASGI send, which waits for the socket.
    """
    proto = _protocol(asgi_send)
    if proto is None or proto.config.ws_per_message_deflate:
        return None
    # a closure, not a slotted object with __call__: this runs once per frame of every fan-out,
    # and reading cells is about 50 ns cheaper per call than reading attributes. For the same
    # reason the cache's hit is read here (one fan-out, one payload: every recipient but the
    # first hits) and its method only called on a miss.
    conn = proto.conn
    writable = proto.writable
    transport = proto.transport
    frame = cache.frame
    is_open = State.OPEN

    def write(payload: str | bytes) -> bool:
        if (
            conn.state is not is_open
            or proto.close_sent
            or proto.disconnected
            or not writable.is_set()
            or conn.expect_continuation_frame
        ):
            return False
        if payload is cache._text:
            transport.write(cache._text_frame)
        elif payload is cache._bin:
            transport.write(cache._bin_frame)
        else:
            transport.write(frame(payload))
        return True

    return write
