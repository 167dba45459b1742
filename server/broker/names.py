"""Names the broker uses on the wire and in Redis: channels, presence keys, ids they are built of.

Pure: no I/O. Both broker implementations validate ids here so they refuse the same inputs
(the contract tests rely on that).

- Room channel: ``{prefix}:room:{room_id}`` (classic pub/sub on one Redis server), or
  ``{prefix}:room:{<room_id>}`` (sharded pub/sub on Redis Cluster: same slot as the presence
  keys, so a room's traffic and keys live on one shard).
- Presence of one process in one room: ``{prefix}:presence:{<room_id>}:{process_id}`` (a hash
  member_id -> display name with a TTL).
- Index of processes with presence in a room: ``{prefix}:presence:{<room_id>}`` (a set).

The braces around the room id are a Redis Cluster hash tag: all presence keys of one room hash
to one slot, so they can be written in one MULTI and read in one pipeline. That is why a room id
may not contain ``{`` or ``}``; a process id may not contain ``:`` so the last segment of a
presence key is always the process id.
"""

from __future__ import annotations

import re

from server.broker.errors import InvalidName

__all__ = [
    "MAX_ROOM_ID_LEN",
    "check_prefix",
    "check_process_id",
    "check_room_id",
    "check_ttl",
    "presence_index_key",
    "presence_key",
    "room_channel",
    "room_shard_channel",
]

MAX_ROOM_ID_LEN = 200

_PROCESS_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_ROOM_FORBIDDEN = re.compile(r"[{}\s\x00-\x1f\x7f]")


def check_room_id(room_id: str) -> str:
    """Return ``room_id`` unchanged, or raise :class:`InvalidName`."""
    if not room_id or len(room_id) > MAX_ROOM_ID_LEN or _ROOM_FORBIDDEN.search(room_id):
        raise InvalidName(f"room id not usable by the broker: {room_id[:40]!r}")
    return room_id


def check_process_id(process_id: str) -> str:
    """Return ``process_id`` unchanged, or raise :class:`InvalidName`."""
    if not _PROCESS_ID.fullmatch(process_id):
        raise InvalidName(f"process id must match {_PROCESS_ID.pattern}: {process_id[:70]!r}")
    return process_id


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` unchanged, or raise :class:`InvalidName`."""
    if not _PREFIX.fullmatch(prefix):
        raise InvalidName(f"key prefix must match {_PREFIX.pattern}: {prefix[:70]!r}")
    return prefix


def check_ttl(ttl_s: int) -> int:
    """Return ``ttl_s`` unchanged; a presence TTL under one second is a programming error."""
    if ttl_s < 1:
        raise ValueError(f"presence ttl must be at least 1 second, not {ttl_s}")
    return ttl_s


def room_channel(prefix: str, room_id: str) -> str:
    return f"{prefix}:room:{room_id}"


def room_shard_channel(prefix: str, room_id: str) -> str:
    return f"{prefix}:room:{{{room_id}}}"


def presence_key(prefix: str, room_id: str, process_id: str) -> str:
    return f"{prefix}:presence:{{{room_id}}}:{process_id}"


def presence_index_key(prefix: str, room_id: str) -> str:
    return f"{prefix}:presence:{{{room_id}}}"
