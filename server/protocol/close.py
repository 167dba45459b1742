"""WebSocket close codes and what a client must do after each one (docs/protocol.md §9).

Modelled on websockets' ``frames.CloseCode``: one :class:`CloseCode` ``IntEnum`` whose members
carry their number, their name, the :class:`CloseAction` a client takes, when the server sends
them and what the client should do in words. Every other table derives from it: the transport's
``CLOSE_CODES``, the Python client's ``CLOSE_ACTIONS``, ``static/js/protocol.js`` and the table in
``docs/protocol.md``. A pure module: no I/O.

A code missing from the enum (a proxy's, a future server's) means :data:`UNKNOWN_ACTION`:
stop, because reconnecting on a code nobody understands is how a reconnect storm starts.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import NamedTuple

__all__ = [
    "UNKNOWN_ACTION",
    "CloseAction",
    "CloseCode",
    "action_for",
    "close_table_markdown",
]


class CloseAction(StrEnum):
    """What a client does when its socket closes with a given code."""

    RESUME = "resume"  # reconnect with jittered exponential back-off, hello with last_seq
    BACK_OFF = "back_off"  # the same, but wait a longer pause first (>= 1 s) and slow down
    STOP = "stop"  # do not reconnect by itself; tell the person why


UNKNOWN_ACTION = CloseAction.STOP


class _Info(NamedTuple):
    action: CloseAction
    sent_when: str
    advice: str


class CloseCode(IntEnum):
    """Every close code a coshop client may see; names are the wire/JS names in upper case."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    NO_STATUS = 1005
    CONNECTION_LOST = 1006
    POLICY = 1008
    TOO_BIG = 1009
    SERVER_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    BAD_HELLO = 4400
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    ROOM_NOT_FOUND = 4404
    HELLO_TIMEOUT = 4408
    REPLACED = 4409
    RATE_LIMITED = 4429

    @property
    def wire_name(self) -> str:
        """The snake_case name clients use (``replaced``, ``rate_limited``)."""
        return self.name.lower()

    @property
    def action(self) -> CloseAction:
        return _INFO[self].action

    @property
    def sent_when(self) -> str:
        """One line: when the server sends it (or when a client sees it)."""
        return _INFO[self].sent_when

    @property
    def advice(self) -> str:
        """One line: what the client should do, in words."""
        return _INFO[self].advice


_R, _B, _S = CloseAction.RESUME, CloseAction.BACK_OFF, CloseAction.STOP
_RESUME = "reconnect with back-off and resume"

_INFO: dict[CloseCode, _Info] = {
    CloseCode.NORMAL_CLOSURE: _Info(_R, "(not sent by coshop) a peer ended the session", _RESUME),
    CloseCode.GOING_AWAY: _Info(_R, "the server is shutting down or restarting", _RESUME),
    CloseCode.PROTOCOL_ERROR: _Info(
        _S, "a WebSocket protocol violation (from the WebSocket layer)", "stop: a client bug"
    ),
    CloseCode.NO_STATUS: _Info(
        _R, "(never sent) a close frame without a code, e.g. from a proxy", _RESUME
    ),
    CloseCode.CONNECTION_LOST: _Info(
        _R, "(never sent) the connection dropped without a close frame", _RESUME
    ),
    CloseCode.POLICY: _Info(
        _S,
        "(before the upgrade, seen as HTTP 403) Origin not allowed or no known subprotocol",
        "stop: fix the Origin or subprotocol",
    ),
    CloseCode.TOO_BIG: _Info(
        _S, "a frame over the frame-size limit", "stop: do not resend that frame"
    ),
    CloseCode.SERVER_ERROR: _Info(
        _R, "the server could not store a join or encode a frame", _RESUME
    ),
    CloseCode.SERVICE_RESTART: _Info(
        _R, "(from a proxy or load balancer) the service is restarting", _RESUME
    ),
    CloseCode.TRY_AGAIN_LATER: _Info(
        _B,
        "the outbox overflowed (too slow) or the server is full",
        "reconnect after a pause (≥ 1 s) with back-off and resume",
    ),
    CloseCode.BAD_GATEWAY: _Info(_R, "(from a proxy) the upstream server failed", _RESUME),
    CloseCode.BAD_HELLO: _Info(_S, "the first frame was not a valid `hello`", "stop: a client bug"),
    CloseCode.UNAUTHORIZED: _Info(
        _S, "the token is invalid, expired or for another room", "stop; get a new token"
    ),
    CloseCode.FORBIDDEN: _Info(
        _S,
        "refused at join (banned, room full, …) or no longer a member (kicked, banned)",
        "stop; do not reconnect with the same token",
    ),
    CloseCode.ROOM_NOT_FOUND: _Info(_S, "the room does not exist or is closed", "stop"),
    CloseCode.HELLO_TIMEOUT: _Info(_R, "no `hello` in time", "reconnect and send `hello` first"),
    CloseCode.REPLACED: _Info(
        _S,
        "the same member opened more than 5 sockets; this, the oldest, was replaced",
        "stop and say so; reconnect only when the person asks (that replaces another socket)",
    ),
    CloseCode.RATE_LIMITED: _Info(
        _B,
        "50 rate-limited frames in a row",
        "reconnect after a pause (≥ 1 s) and slow down",
    ),
}
assert set(_INFO) == set(CloseCode), "every close code needs its action and words"


def action_for(code: int | None) -> CloseAction:
    """What a client does after a close with ``code`` (``None``: no close frame, as 1006)."""
    if code is None:
        return CloseCode.CONNECTION_LOST.action
    try:
        return CloseCode(code).action
    except ValueError:
        return UNKNOWN_ACTION


def close_table_markdown() -> str:
    """docs/protocol.md §9's table; a test checks that the page contains it exactly."""
    rows = [
        "| Code | Name | Sent when | Action | Client should |",
        "| --- | --- | --- | --- | --- |",
    ]
    rows += [
        f"| {int(c)} | `{c.wire_name}` | {c.sent_when} | `{c.action}` | {c.advice} |"
        for c in CloseCode
    ]
    return "\n".join(rows)
