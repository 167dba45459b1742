"""Typed views of the frames a coshop server sends, and the decoding of raw frames.

The client decodes with :mod:`server.wire` (the only module that imports msgpack). Server frames
are decoded without the inbound limits the server applies to untrusted clients: a room view or a
resume batch may legitimately be large. Parsing checks just enough structure to fail with a
:class:`ProtocolViolation` instead of a ``KeyError`` deep in the client. No I/O here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from server.client.errors import ProtocolViolation
from server.transport.wire import Codec, decode_any

__all__ = ["Ack", "Event", "Notice", "ServerError", "Welcome", "decode_frame"]


@dataclass(frozen=True, slots=True)
class Welcome:
    """The server's answer to ``hello``. ``view`` is None when the client resumed from its seq.

    ``member`` is ``{member_id, display_name, role}``: a member's shape everywhere on the wire.
    """

    room: Mapping[str, Any]
    member: Mapping[str, Any]
    seq: int
    resumed: bool
    view: Mapping[str, Any] | None

    @property
    def member_id(self) -> str:
        return str(self.member["member_id"])

    @property
    def display_name(self) -> str:
        return str(self.member["display_name"])

    @property
    def role(self) -> str:
        return str(self.member["role"])

    @classmethod
    def parse(cls, msg: Mapping[str, Any]) -> Welcome:
        room, member, seq, view = (
            msg.get("room"),
            msg.get("member"),
            msg.get("seq"),
            msg.get("view"),
        )
        if not isinstance(room, dict) or not isinstance(member, dict) or not _is_int(seq):
            raise ProtocolViolation("bad_welcome", "welcome needs room, member and seq")
        if not all(isinstance(member.get(k), str) for k in ("member_id", "display_name", "role")):
            raise ProtocolViolation(
                "bad_welcome", "welcome member needs member_id, display_name and role"
            )
        if view is not None and not isinstance(view, dict):
            raise ProtocolViolation("bad_welcome", "welcome view must be a map or null")
        return cls(room, member, seq, msg.get("resumed") is True, view)


@dataclass(frozen=True, slots=True)
class Event:
    """One durable event: ``data`` is the wire form of the room event (``data["type"]``)."""

    seq: int
    at: int
    actor: str
    data: Mapping[str, Any]

    @property
    def type(self) -> str:
        return str(self.data.get("type", ""))

    @classmethod
    def parse(cls, msg: Mapping[str, Any]) -> Event:
        seq, at, actor, data = msg.get("seq"), msg.get("at"), msg.get("actor"), msg.get("ev")
        if not _is_int(seq) or not _is_int(at) or not isinstance(data, dict):
            raise ProtocolViolation("bad_event", "ev needs an integer seq and at, and an ev map")
        return cls(seq, at, str(actor), data)


@dataclass(frozen=True, slots=True)
class Ack:
    """A command was committed as events ``first_seq..last_seq`` ((0, 0): it changed nothing).

    ``duplicate`` is true when the server had already applied this op: this is its first answer.
    """

    op: str
    first_seq: int
    last_seq: int
    duplicate: bool = False

    @classmethod
    def parse(cls, msg: Mapping[str, Any]) -> Ack:
        op, rng = msg.get("op"), msg.get("seq")
        if (
            not isinstance(op, str)
            or not isinstance(rng, list)
            or len(rng) != 2
            or not all(_is_int(x) for x in rng)
        ):
            raise ProtocolViolation("bad_ack", "ack needs an op and a [first, last] seq pair")
        return cls(op, rng[0], rng[1], msg.get("dup") is True)


@dataclass(frozen=True, slots=True)
class ServerError:
    """An ``err`` frame. ``op`` is None for errors not tied to a command (signals, limits)."""

    code: str
    message: str
    op: str | None

    @classmethod
    def parse(cls, msg: Mapping[str, Any]) -> ServerError:
        op = msg.get("op")
        return cls(
            str(msg.get("code", "")),
            str(msg.get("message", "")),
            op if isinstance(op, str) else None,
        )


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the member should be told (e.g. ``card_number_redacted``); not an error."""

    code: str
    message: str

    @classmethod
    def parse(cls, msg: Mapping[str, Any]) -> Notice:
        return cls(str(msg.get("code", "")), str(msg.get("message", "")))


def decode_frame(codec: Codec, frame: str | bytes) -> dict[str, Any]:
    """Decode one server frame of ``codec``'s subprotocol into a message map."""
    try:
        if codec.binary:
            if not isinstance(frame, bytes):
                raise ProtocolViolation("bad_frame", "expected a binary frame")
            value = decode_any(frame)
        else:
            if not isinstance(frame, str):
                raise ProtocolViolation("bad_frame", "expected a text frame")
            value = json.loads(frame)
    except ProtocolViolation:
        raise
    except Exception as exc:  # msgpack and json raise assorted types on corrupt input
        raise ProtocolViolation("bad_frame", f"undecodable frame ({type(exc).__name__})") from exc
    if not isinstance(value, dict) or not isinstance(value.get("t"), str):
        raise ProtocolViolation("bad_frame", "a frame must be a map with a string 't'")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    return type(value) is int
