"""Typed messages between processes: what a hub tells the other processes about a room.

The broker carries notifications, not the truth (docs/broker.md): committed event rows, relayed
signals, who is connected to a room on the sending process (its presence: a roster in group
rooms, a count in big ones), a question for that presence, and the head a process announces
after a publish it lost. They are encoded and decoded **here only**, as frozen dataclasses; the
hub publishes and reads them, the room actor handles them. The payload formats are those
earlier releases used (``events``: ``[[seq, type, data, at, actor], …]``; ``signal``: a map
with ``m``, ``n`` and ``s``, or ``head``, or ``p`` — now with ``c`` beside it — ), so processes
of two releases can share a broker; ``c`` alone (a count) and ``q`` (the question) are new, and
an earlier release drops them as unreadable.

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
    "PresenceChanged",
    "PresenceQuery",
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
class PresenceChanged:
    """Who is connected to the room on the sending process, now (shared brokers only).

    ``count``: distinct members with a socket there (0: nobody, the sender left the room).
    ``members``: their presence entries by member id (``{member_id, display_name, role,
    viewing}``), or None when the room is big there and only the count travels.
    Each message replaces the sender's previous one for the room.
    """

    count: int
    members: dict[str, dict[str, object]] | None


@dataclass(frozen=True, slots=True)
class PresenceQuery:
    """A process that just loaded the room (or reconnected) asks who is connected elsewhere;
    every process with members there answers with a :class:`PresenceChanged`."""


@dataclass(frozen=True, slots=True)
class HeadAnnounced:
    """The sender's last seq: after a lost publish, peers read the gap from the log."""

    seq: int


PeerMessage = EventsCommitted | SignalRelayed | PresenceChanged | PresenceQuery | HeadAnnounced


def encode(message: PeerMessage) -> tuple[str, bytes]:
    """The broker kind and payload of ``message``."""
    match message:
        case EventsCommitted(events):
            return "events", encode_msgpack(
                [[e.seq, e.type, e.data, e.at, e.actor] for e in events]
            )
        case SignalRelayed(member_id, name, signal):
            return "signal", encode_msgpack({"m": member_id, "n": name, "s": signal})
        case PresenceChanged(count, None):
            return "signal", encode_msgpack({"c": count})
        case PresenceChanged(count, members):
            return "signal", encode_msgpack({"p": members, "c": count})
        case PresenceQuery():
            return "signal", encode_msgpack({"q": 1})
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
            if "p" in data or "c" in data:
                return _presence(data)
            if "q" in data:
                return PresenceQuery()
            return SignalRelayed(str(data["m"]), str(data["n"]), dict(data["s"]))
    except PeerMessageError:
        raise
    except Exception as exc:
        raise PeerMessageError(f"unreadable {kind!r} message") from exc
    raise PeerMessageError(f"unknown message kind {kind!r}")


def _presence(data: dict[str, Any]) -> PresenceChanged:
    members: dict[str, dict[str, object]] | None = None
    if "p" in data:
        roster = data["p"]
        if not isinstance(roster, dict):
            raise PeerMessageError("a roster that is not a map")
        members = {str(k): _present_member(str(k), v) for k, v in roster.items()}
    count = data.get("c", len(members or {}))
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise PeerMessageError("a presence count that is not a count")
    return PresenceChanged(count, members)


def _present_member(member_id: str, entry: object) -> dict[str, object]:
    if not isinstance(entry, dict):
        raise PeerMessageError("a roster entry that is not a map")
    if "member_id" in entry:
        return dict(entry)
    # an earlier release's entry ({id, name, viewing}): the shape every member has now
    return {
        "member_id": str(entry.get("id", member_id)),
        "display_name": str(entry.get("name", "")),
        "role": "member",
        "viewing": entry.get("viewing"),
    }
