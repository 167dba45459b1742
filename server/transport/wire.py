"""Wire codecs: the two WebSocket subprotocols carry the same messages.

``coshop.v1.json`` sends text frames of JSON; ``coshop.v1.msgpack`` sends binary frames of
msgpack. A message is a map whose ``t`` key names its type (``docs/protocol.md``). This is the only
module that imports msgpack (DESIGN.md §4). It decodes untrusted bytes: every failure is a
:class:`WireError`, never a foreign exception, and decoded values are plain JSON-like data whose
every string and key is well-formed Unicode: JSON's ``"\\ud800"`` escape makes a lone surrogate
that no UTF-8 encoder accepts, so such a frame is refused as ``invalid_text`` (msgpack's strict
UTF-8 decoding already refuses the same bytes as ``bad_frame``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Final

import msgpack

__all__ = [
    "CODECS",
    "JSON",
    "MSGPACK",
    "SUBPROTOCOLS",
    "Codec",
    "InvalidText",
    "WireError",
    "decode_any",
    "encode_json",
    "encode_msgpack",
]


_MAX_SAFE_INT = 2**53 - 1


class WireError(Exception):
    """A frame that cannot be decoded. ``code`` is sent back to the client."""

    code = "bad_frame"


class InvalidText(WireError):
    """A string or key of the frame is not well-formed Unicode (a lone surrogate)."""

    code = "invalid_text"

    def __init__(self) -> None:
        super().__init__("text is not well-formed Unicode")
        self.path: list[str] = []


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
    try:
        _check_plain(value, depth=0)
    except InvalidText as exc:
        path = "".join(exc.path).lstrip(".") or "frame"
        exc.args = (f"{path}: text is not well-formed Unicode (lone surrogate)",)
        raise
    return value


def _check_plain(value: Any, depth: int) -> None:
    """Refuse nesting deeper than any real message and non-JSON values (msgpack bin, ext)."""
    if depth > 8:
        raise WireError("frame nests too deeply")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise WireError("map keys must be strings")
            try:
                if _SURROGATE.search(k) is not None:
                    raise InvalidText
                _check_plain(v, depth + 1)
            except InvalidText as exc:  # name the path on the way out
                exc.path.insert(0, f".{_escaped(k)}")
                raise
    elif isinstance(value, list):
        for i, v in enumerate(value):
            try:
                _check_plain(v, depth + 1)
            except InvalidText as exc:
                exc.path.insert(0, f"[{i}]")
                raise
    elif isinstance(value, str):
        if _SURROGATE.search(value) is not None:
            raise InvalidText
    elif isinstance(value, bool) or value is None:
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
