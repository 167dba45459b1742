"""Typed messages between processes: what a hub tells the other processes about a room.

The broker carries notifications, not the truth (docs/broker.md): committed event rows, relayed
signals, a process's roster of a group room, and the head a process announces after a publish
it lost. They are encoded and decoded **here only**, as frozen dataclasses; the hub publishes
and reads them, the room actor handles them. The payload formats are those every release so
far has used (``events``: ``[[seq, type, data, at, actor], …]``; ``signal``: a map with ``m``,
``n`` and ``s``, or ``head``, or ``p``), so processes of two releases can share a broker.

This module must not: touch a socket or a room's state, or await anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, assert_never

from server.storage import StoredEvent
from server.transport.wire import decode_any, encode_msgpack

__all__ = [
    "EventsCommitted",
    "HeadAnnounced",
    "PeerMessage",
    "PeerMessageError",
    "RosterChanged",
    "SignalRelayed",
    "decode",
    "encode",
]


class PeerMessageError(ValueError):
    """A broker payload that is no message of ours (dropped by the hub, never applied)."""


@dataclass(frozen=True, slots=True)
class EventsCommitted:
    """Events another process committed, in seq order."""

    events: Sequence[StoredEvent]


@dataclass(frozen=True, slots=True)
class SignalRelayed:
    """A signal a member connected to another process sent (browsing, typing, a reaction)."""

    member_id: str
    name: str
    signal: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RosterChanged:
    """Who is connected to the sending process (group rooms with a shared broker only)."""

    members: dict[str, dict[str, object]]


@dataclass(frozen=True, slots=True)
class HeadAnnounced:
    """The sender's last seq: after a lost publish, peers read the gap from the log."""

    seq: int


PeerMessage = EventsCommitted | SignalRelayed | RosterChanged | HeadAnnounced


def encode(message: PeerMessage) -> tuple[str, bytes]:
    """The broker kind and payload of ``message``."""
    match message:
        case EventsCommitted(events):
            return "events", encode_msgpack(
                [[e.seq, e.type, e.data, e.at, e.actor] for e in events]
            )
        case SignalRelayed(member_id, name, signal):
            return "signal", encode_msgpack({"m": member_id, "n": name, "s": signal})
        case RosterChanged(members):
            return "signal", encode_msgpack({"p": members})
        case HeadAnnounced(seq):
            return "signal", encode_msgpack({"head": seq})
        case _:  # pragma: no cover - the type checker proves this unreachable
            assert_never(message)


def decode(room_id: str, kind: str, payload: bytes) -> PeerMessage:
    """The message a peer published for ``room_id``; ``PeerMessageError`` if it is none."""
    try:
        data = decode_any(payload)
        if kind == "events":
            return EventsCommitted(
                [StoredEvent(room_id, r[0], r[1], r[2], r[3], r[4]) for r in data]
            )
        if kind == "signal" and isinstance(data, dict):
            if "head" in data:
                head = data["head"]
                if not isinstance(head, int) or isinstance(head, bool):
                    raise PeerMessageError("a head that is not a seq")
                return HeadAnnounced(head)
            if "p" in data:
                return RosterChanged(dict(data["p"]))
            return SignalRelayed(str(data["m"]), str(data["n"]), dict(data["s"]))
    except PeerMessageError:
        raise
    except Exception as exc:
        raise PeerMessageError(f"unreadable {kind!r} message") from exc
    raise PeerMessageError(f"unknown message kind {kind!r}")
