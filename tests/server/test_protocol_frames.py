"""Client frames are read in one place (``server.protocol.frames``), and agree with their schemas.

In-process fuzzing with thousands of maps: :func:`read_frame` returns a typed value or raises
:class:`FrameError` with a transport code, never anything else; a frame the published ``cmd``,
``sig`` or ``ping`` schema accepts is always read (what its ``args`` mean is the codec's
business, tested in ``test_asyncapi.py``).
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.api.asyncapi import frame_schema
from server.protocol import frames
from server.protocol.frames import Cmd, FrameError, Hello, Ping, Sig, read_frame, read_hello

_CODES = {e.code for e in frames.TRANSPORT_ERRORS}


@functools.cache
def _client(t: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(frame_schema(t, client=True))


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=70), st.floats(allow_nan=False)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_ops = st.one_of(st.text(max_size=70), st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True))
_frames = st.fixed_dictionaries(
    {"t": st.sampled_from(["cmd", "sig", "ping", "hello", "pong", "", "CMD"])},
    optional={
        "op": _ops | _values,
        "name": st.sampled_from(["AddLine", "PostMessage", "Typing", "Nope"]) | _values,
        "args": st.dictionaries(st.text(max_size=8), _values, max_size=3) | _values,
        "retry": _values,
        "extra": _values,
    },
)


@settings(max_examples=3_000, deadline=None, derandomize=True)
@given(msg=_frames)
def test_reading_a_frame_gives_a_typed_value_or_a_transport_code(msg: dict[str, Any]) -> None:
    refusal: FrameError | None = None
    try:
        read = read_frame(msg)
    except FrameError as exc:
        refusal = exc
    if refusal is not None:
        assert refusal.code in _CODES
        assert refusal.op is None or refusal.op == msg.get("op")
        assert frames.err(refusal.code, refusal.message, refusal.op) == refusal.frame()
        return
    match read:
        case Cmd():
            assert (
                msg["t"] == "cmd"
                and read.op == msg["op"]
                and read.retry is (msg.get("retry") is True)
            )
            assert read.args == msg.get("args", {})
        case Sig():
            assert msg["t"] == "sig" and read.name == msg["name"]
        case Ping():
            assert msg["t"] == "ping"


@settings(max_examples=1_000, deadline=None, derandomize=True)
@given(msg=_frames)
def test_a_frame_its_schema_accepts_is_read(msg: dict[str, Any]) -> None:
    t = msg["t"]
    if t not in ("cmd", "sig", "ping") or not _client(t).is_valid(msg):
        return
    read = read_frame(msg)
    assert {Cmd: "cmd", Sig: "sig", Ping: "ping"}[type(read)] == t


def test_a_schema_valid_command_frame_is_read_with_its_op_and_retry() -> None:
    msg = {"t": "cmd", "op": "o-1", "name": "PostMessage", "args": {"text": "hi"}, "retry": True}
    assert _client("cmd").is_valid(msg)
    assert read_frame(msg) == Cmd("o-1", "PostMessage", {"text": "hi"}, True)
    assert read_frame({"t": "sig", "name": "Typing"}) == Sig("Typing", {})
    assert read_frame({"t": "ping"}) == Ping()


@pytest.mark.parametrize(
    ("msg", "code"),
    [
        ({"t": "cmd", "op": "", "name": "Leave"}, "bad_op"),
        ({"t": "cmd", "op": "o", "name": 3}, "bad_command"),
        ({"t": "cmd", "op": "o", "name": "Leave", "args": []}, "bad_command"),
        ({"t": "sig", "name": "Typing", "args": "x"}, "bad_signal"),
        ({"t": "hello", "token": "x"}, "unknown_type"),
    ],
)
def test_a_malformed_frame_names_its_code(msg: dict[str, Any], code: str) -> None:
    with pytest.raises(FrameError) as caught:
        read_frame(msg)
    assert caught.value.code == code
    if msg["t"] != "hello":  # a hello is a valid frame, only not after the first
        assert not _client(str(msg["t"])).is_valid(msg)


@pytest.mark.parametrize(
    ("msg", "hello"),
    [
        ({"t": "hello", "token": "tok"}, Hello("tok", None)),
        ({"t": "hello", "token": "tok", "last_seq": 7}, Hello("tok", 7)),
        ({"t": "hello", "token": "tok", "last_seq": None}, Hello("tok", None)),
    ],
)
def test_a_hello_is_read(msg: dict[str, Any], hello: Hello) -> None:
    assert read_hello(msg) == hello
    assert _client("hello").is_valid(msg)


@pytest.mark.parametrize(
    "msg",
    [
        {"t": "cmd", "token": "tok"},
        {"t": "hello", "token": "tok", "last_seq": -1},
        {"t": "hello", "token": "tok", "last_seq": True},
        {"t": "hello", "token": "tok", "last_seq": 1.5},
    ],
)
def test_a_bad_hello_is_refused_by_the_reader_and_the_schema(msg: dict[str, Any]) -> None:
    with pytest.raises(FrameError) as caught:
        read_hello(msg)
    assert caught.value.code == "bad_hello"
    assert not _client("hello").is_valid(msg)
