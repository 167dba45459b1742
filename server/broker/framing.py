"""The frame a broker message travels in between processes: a tiny binary header + payload.

Pure: no I/O, no msgpack (only ``server.wire`` may import it). The payload is opaque bytes the
hub encoded; the broker never looks inside it.

Layout (version 1)::

    offset 0   1 byte   version (1)
    offset 1   1 byte   kind: 1 = "events", 2 = "signal"
    offset 2   1 byte   N = length of the origin process id (1..64)
    offset 3   N bytes  origin process id, ASCII
    offset 3+N ...      payload

A frame with an unknown version or kind raises :class:`InvalidFrame`; the listener drops it
(a newer coshop version speaking a newer frame is never misread as an old one).
"""

from __future__ import annotations

from server.broker.errors import InvalidFrame, UnknownKind

__all__ = ["FRAME_VERSION", "KINDS", "check_kind", "decode_frame", "encode_frame"]

FRAME_VERSION = 1
KINDS: tuple[str, ...] = ("events", "signal")

_KIND_CODES = {"events": 1, "signal": 2}
_CODE_KINDS = {code: kind for kind, code in _KIND_CODES.items()}


def check_kind(kind: str) -> str:
    """Return ``kind`` unchanged, or raise :class:`UnknownKind`."""
    if kind not in _KIND_CODES:
        raise UnknownKind(f"kind must be one of {KINDS}, not {kind[:40]!r}")
    return kind


def encode_frame(origin: str, kind: str, payload: bytes) -> bytes:
    """Frame ``payload``; ``origin`` must already be a checked process id."""
    origin_bytes = origin.encode("ascii")
    assert 0 < len(origin_bytes) < 256, "process ids are checked to be 1..64 ASCII chars"
    header = bytes((FRAME_VERSION, _KIND_CODES[check_kind(kind)], len(origin_bytes)))
    return header + origin_bytes + payload


def decode_frame(frame: bytes) -> tuple[str, str, bytes]:
    """Return ``(origin, kind, payload)`` or raise :class:`InvalidFrame`."""
    if len(frame) < 3:
        raise InvalidFrame("frame shorter than its header")
    version, kind_code, origin_len = frame[0], frame[1], frame[2]
    if version != FRAME_VERSION:
        raise InvalidFrame(f"unsupported frame version {version}")
    kind = _CODE_KINDS.get(kind_code)
    if kind is None:
        raise InvalidFrame(f"unknown kind code {kind_code}")
    end = 3 + origin_len
    if origin_len == 0 or len(frame) < end:
        raise InvalidFrame("truncated origin")
    try:
        origin = frame[3:end].decode("ascii")
    except UnicodeDecodeError as exc:
        raise InvalidFrame("origin is not ASCII") from exc
    return origin, kind, frame[end:]
