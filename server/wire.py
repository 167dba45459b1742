"""Wire codecs: the two WebSocket subprotocols carry the same messages.

``coshop.v1.json`` sends text frames of JSON; ``coshop.v1.msgpack`` sends binary frames of
msgpack. A message is a map whose ``t`` key names its type (``docs/protocol.md``). This is the only
module that imports msgpack (DESIGN.md §4). It decodes untrusted bytes: every failure is a
:class:`WireError`, never a foreign exception, and decoded values are plain JSON-like data.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Final

import msgpack

__all__ = [
    "CODECS",
    "JSON",
    "MSGPACK",
    "SUBPROTOCOLS",
    "Codec",
    "WireError",
    "decode_any",
    "encode_json",
    "encode_msgpack",
]


_MAX_SAFE_INT = 2**53 - 1


class WireError(Exception):
    """A frame that cannot be decoded. ``code`` is sent back to the client."""

    code = "bad_frame"


@dataclass(frozen=True, slots=True)
class Codec:
    """One subprotocol: its name, whether its frames are binary, and its two functions."""

    name: str
    binary: bool

    def encode(self, message: Any) -> str | bytes:
        return encode_msgpack(message) if self.binary else encode_json(message)

    def decode(self, frame: str | bytes) -> dict[str, Any]:
        return _decode(frame, binary=self.binary)


JSON: Final = Codec("coshop.v1.json", binary=False)
MSGPACK: Final = Codec("coshop.v1.msgpack", binary=True)
CODECS: Final = {c.name: c for c in (JSON, MSGPACK)}
SUBPROTOCOLS: Final = tuple(CODECS)


def encode_json(message: Any) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def encode_msgpack(message: Any) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def _decode(frame: str | bytes, *, binary: bool) -> dict[str, Any]:
    if binary:
        if not isinstance(frame, bytes):
            raise WireError("this subprotocol takes binary frames")
        try:
            # strict_map_key keeps keys strings; the length caps stop a tiny frame from
            # declaring a huge container.
            value = msgpack.unpackb(
                frame,
                raw=False,
                strict_map_key=True,
                max_array_len=10_000,
                max_map_len=1_000,
            )
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
            raise WireError("frame is not valid msgpack") from exc
        except Exception as exc:  # msgpack raises assorted types on corrupt input
            raise WireError("frame is not valid msgpack") from exc
    else:
        if not isinstance(frame, str):
            raise WireError("this subprotocol takes text frames")
        try:
            value = json.loads(frame)
        except (ValueError, RecursionError) as exc:
            raise WireError("frame is not valid JSON") from exc
    if not isinstance(value, dict):
        raise WireError("a frame must be a map")
    _check_plain(value, depth=0)
    return value


def _check_plain(value: Any, depth: int) -> None:
    """Refuse nesting deeper than any real message and non-JSON values (msgpack bin, ext)."""
    if depth > 8:
        raise WireError("frame nests too deeply")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise WireError("map keys must be strings")
            _check_plain(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_plain(v, depth + 1)
    elif isinstance(value, bool) or value is None or isinstance(value, str):
        return
    elif isinstance(value, int):
        # Integers a browser can hold exactly; bigger ones would also break msgpack peers.
        if not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            raise WireError("integers must be within ±(2**53 - 1)")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise WireError("numbers must be finite")
    else:
        raise WireError("frame holds a value of an unsupported type")


def decode_any(payload: bytes) -> Any:
    """Decode a msgpack payload produced by this process or a peer (broker messages)."""
    return msgpack.unpackb(payload, raw=False, strict_map_key=False)
