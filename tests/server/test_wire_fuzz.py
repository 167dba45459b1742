"""Frame → command decoding, fuzzed in process with thousands of examples.

A frame goes through the session's codec (``server.wire``) and, for ``cmd``/``sig`` frames, the
room core's strict decoder (``rooms.command_from_wire`` / ``signal_from_wire``), as
``server/ws.py`` does. Whatever arrives — ill-formed Unicode (JSON ``\\ud800`` escapes, invalid
UTF-8 in msgpack), control characters, wrong types, huge or non-finite numbers, deep nesting —
only the documented errors come out (``WireError``, ``RoomError``), and whatever decodes is
well-formed: every string encodes to UTF-8 and holds no control character but newline and tab,
and the decoded command or signal encodes back onto both subprotocols.
"""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Any, Literal, get_args, get_origin, get_type_hints

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rooms import CLIENT_COMMANDS, RoomError, command_from_wire, signal_from_wire
from rooms.commands import BaseCommand
from rooms.jsoncodec import to_json
from rooms.signals import BaseSignal
from server.transport.wire import JSON, MSGPACK, WireError, encode_msgpack

_NASTY = ["\ud800", "\udbff", "\udc00", "\udfff", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f"]
_FINE = ["\n", "\t", " ", "a", "é", "😀", "\u200d", "\ufeff", "4"]
_NAMES = sorted(CLIENT_COMMANDS) + sorted(BaseSignal.registry) + ["Join", "Nope", ""]
_CLASSES: dict[str, Any] = {**BaseCommand.registry, **BaseSignal.registry}
_FIELDS = sorted({f.name for cls in _CLASSES.values() for f in dataclasses.fields(cls)})

# Half the strings are clean text, half mix in lone surrogates and control characters.
texts = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=["Cs", "Cc"]), max_size=12),
    st.text(
        alphabet=st.one_of(st.characters(), st.sampled_from(_NASTY), st.sampled_from(_FINE)),
        max_size=12,
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
keys = st.one_of(st.sampled_from(_FIELDS), texts)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(keys, st.one_of(scalars, st.lists(scalars, max_size=2)), max_size=3),
)


def _options(hint: Any) -> set[object]:
    """Literal options and enum values anywhere in a field's type hint."""
    if isinstance(hint, type) and issubclass(hint, Enum):
        return {member.value for member in hint}
    if get_origin(hint) is Literal:
        return set(get_args(hint))
    return {option for arg in get_args(hint) for option in _options(arg)}


_CHOICES = sorted(
    {
        str(option)
        for cls in _CLASSES.values()
        for hint in get_type_hints(cls, include_extras=True).values()
        for option in _options(hint)
    }
)
plausible = st.one_of(
    texts,
    st.sampled_from(_CHOICES),
    st.integers(min_value=-5, max_value=10**6),
    st.booleans(),
    st.none(),
    st.lists(st.one_of(texts, st.sampled_from(_CHOICES)), max_size=3),
)


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly cmd/sig frames naming a real command with its own fields, some of them wrong."""
    kind = draw(st.sampled_from(["cmd"] * 6 + ["sig"] * 3 + ["ping", "hello", "x\ud800", 7]))
    msg: dict[str, Any] = {"t": kind}
    if kind == "cmd" or draw(st.booleans()):
        msg["op"] = draw(st.one_of(st.sampled_from(["op-1", "o2"]), texts))
    name = draw(st.sampled_from(_NAMES))
    msg["name"] = name if draw(st.integers(0, 9)) else draw(st.one_of(texts, values))
    cls = _CLASSES.get(name)
    args: dict[str, Any] = {}
    for field in dataclasses.fields(cls) if cls is not None else ():
        if draw(st.integers(0, 9)):  # now and then a field is missing
            args[field.name] = draw(plausible)
    if not draw(st.integers(0, 4)):
        args[draw(keys)] = draw(values)
    msg["args"] = args if draw(st.integers(0, 9)) else draw(values)
    return msg


def _json_frame(msg: dict[str, Any]) -> str:
    # ensure_ascii: a lone surrogate travels as its \\uXXXX escape, as a browser would send it
    return json.dumps(msg, ensure_ascii=True, allow_nan=True)


def _msgpack_frame(msg: dict[str, Any]) -> bytes:
    try:
        return encode_msgpack(msg)
    except (UnicodeEncodeError, OverflowError, TypeError, ValueError):
        # what msgpack cannot pack: send its would-be bytes with invalid UTF-8 in a str
        return b"\x81\xa1t\xa3\xed\xa0\x80"


frames = st.one_of(
    messages().map(lambda m: (JSON, _json_frame(m))),
    messages().map(lambda m: (JSON, _json_frame(m))),
    messages().map(lambda m: (MSGPACK, _msgpack_frame(m))),
    st.binary(max_size=64).map(lambda b: (MSGPACK, b)),
    texts.map(lambda t: (JSON, t)),
    st.integers(min_value=1, max_value=2_000).map(lambda n: (JSON, '{"a":' * n + "1" + "}" * n)),
)


_ROOM_CODES = ("unknown_command", "bad_command", "unknown_signal", "bad_signal", "invalid_text")


def _well_formed(value: Any, path: str = "") -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # raises on a lone surrogate
        bad = [ch for ch in value if (ord(ch) < 32 and ch not in "\n\t") or 0x7F <= ord(ch) < 0xA0]
        assert not bad, (path, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _well_formed(key, path)
            _well_formed(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for item in value:
            _well_formed(item, path)


def _decode(codec: Any, frame: str | bytes) -> object | None:
    """What ``server/ws.py`` does with a frame, up to handing it to the room."""
    msg = codec.decode(frame)  # WireError only
    for key, value in msg.items():
        key.encode("utf-8")
        if isinstance(value, str):
            value.encode("utf-8")
    name, args = msg.get("name"), msg.get("args", {})
    if not isinstance(name, str) or not isinstance(args, dict):
        return None
    if msg.get("t") == "cmd":
        return command_from_wire(name, args)  # RoomError only
    if msg.get("t") == "sig":
        return signal_from_wire(name, args)
    return None


@settings(
    max_examples=6_000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(frame=frames)
def test_decoding_any_frame_raises_only_documented_errors(
    frame: tuple[Any, str | bytes],
) -> None:
    codec, raw = frame
    refused: WireError | RoomError | None = None
    decoded: object | None = None
    try:
        decoded = _decode(codec, raw)
    except (WireError, RoomError) as exc:
        refused = exc
    event(
        f"refused: {refused.code}" if refused is not None else f"decoded: {type(decoded).__name__}"
    )
    if isinstance(refused, WireError):
        assert refused.code in ("bad_frame", "invalid_text")
        str(refused).encode("utf-8")  # the error frame itself can be sent
        return
    if isinstance(refused, RoomError):
        assert refused.code in _ROOM_CODES
        refused.message.encode("utf-8")
        return
    if decoded is None:
        return
    wire = to_json(decoded)
    _well_formed(wire)
    assert JSON.decode(JSON.encode({"t": "x", "v": wire}))["v"] == wire
    assert MSGPACK.decode(MSGPACK.encode({"t": "x", "v": wire}))["v"] == wire


def test_a_lone_surrogate_in_a_json_frame_is_invalid_text_naming_the_field() -> None:
    frame = '{"t":"cmd","op":"o1","name":"PostMessage","args":{"text":"x\\ud800"}}'
    with pytest.raises(WireError) as info:
        JSON.decode(frame)
    assert info.value.code == "invalid_text"
    assert str(info.value).startswith("args.text:")
    with pytest.raises(WireError) as info:
        JSON.decode('{"t":"sig","args":{"k\\udc00":[1,"\\ud800"]}}')
    assert info.value.code == "invalid_text"
    assert str(info.value).startswith("args.k\\udc00:")
    with pytest.raises(WireError) as info:
        JSON.decode('{"t":"sig","args":{"v":[1,"\\ud800"]}}')
    assert str(info.value).startswith("args.v[1]:")
    # the same bytes in msgpack are invalid UTF-8: refused by the decoder itself
    with pytest.raises(WireError) as info:
        MSGPACK.decode(b"\x81\xa1t\xa3\xed\xa0\x80")
    assert info.value.code == "bad_frame"
    # a well-formed pair of surrogate escapes is one character and decodes
    assert JSON.decode('{"t":"x","v":"\\ud83d\\ude00"}')["v"] == "\U0001f600"
