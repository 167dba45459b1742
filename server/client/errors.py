"""The client's one exception tree. Every error carries a stable ``code`` (see docs/protocol.md)::

    ClientError                 (code: str, message: str)
    ├── CommandRefused          the server answered an op with an ``err`` frame (code from the room
    │                           or the transport: forbidden, cart_locked, unknown_command, …)
    ├── CommandTimeout          no answer in time (also a TimeoutError); the op may still apply —
    │                           send it again with the same op id to learn its fate
    ├── ConnectionFailed        could not connect or lost the connection for good
    │   └── ServerClosed        the server closed with a code that says "do not retry"
    │                           (4401 unauthorized, 4403 forbidden, 4404 room_not_found, …);
    │                           ``close_code`` holds it
    ├── ApiError                a REST call answered with an ``application/problem+json`` error
    └── ProtocolViolation       the server sent a frame this client cannot understand

This module only names failures; it must not grow behaviour.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "ClientError",
    "CommandRefused",
    "CommandTimeout",
    "ConnectionFailed",
    "ProtocolViolation",
    "ServerClosed",
]


class ClientError(Exception):
    """Base of every client error; ``code`` is machine-readable, ``message`` is for humans."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class CommandRefused(ClientError):
    """An ``err`` frame answered the op: nothing was applied."""

    def __init__(self, code: str, message: str, op: str) -> None:
        super().__init__(code, message)
        self.op = op


class CommandTimeout(ClientError, TimeoutError):
    """No ``ack`` or ``err`` arrived in time. The op may still be applied later."""

    def __init__(self, op: str, timeout: float) -> None:
        super().__init__("timeout", f"no answer to op {op!r} within {timeout:g} s")
        self.op = op


class ConnectionFailed(ClientError):
    """The client cannot (or may no longer) talk to the server."""


class ServerClosed(ConnectionFailed):
    """The server closed the socket with a code that forbids reconnecting as-is."""

    def __init__(self, code: str, message: str, close_code: int) -> None:
        super().__init__(code, message)
        self.close_code = close_code


class ApiError(ClientError):
    """A REST error response (RFC 9457 problem details)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(code, message)
        self.status = status


class ProtocolViolation(ClientError):
    """A server frame that is not valid coshop protocol (a bug on one side)."""
