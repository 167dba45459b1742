"""The broker frame: round trip, and refusal of anything that is not a frame we wrote."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.broker.errors import InvalidFrame, UnknownKind
from server.broker.framing import KINDS, decode_frame, encode_frame

process_ids = st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True)


@given(origin=process_ids, kind=st.sampled_from(KINDS), payload=st.binary(max_size=2048))
def test_round_trip(origin: str, kind: str, payload: bytes) -> None:
    assert decode_frame(encode_frame(origin, kind, payload)) == (origin, kind, payload)


def test_layout_is_a_three_byte_header_then_origin_then_payload() -> None:
    assert encode_frame("p1", "events", b"xyz") == b"\x01\x01\x02p1xyz"
    assert encode_frame("p1", "signal", b"") == b"\x01\x02\x02p1"


def test_unknown_kind_is_refused_when_encoding() -> None:
    with pytest.raises(UnknownKind):
        encode_frame("p1", "gossip", b"")


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x01\x01",  # header cut short
        b"\x02\x01\x02p1",  # future version
        b"\x01\x09\x02p1",  # unknown kind
        b"\x01\x01\x00",  # empty origin
        b"\x01\x01\x05p1",  # origin longer than the frame
        b"\x01\x01\x02\xff\xfe",  # origin not ASCII
    ],
)
def test_malformed_frames_are_refused(frame: bytes) -> None:
    with pytest.raises(InvalidFrame) as excinfo:
        decode_frame(frame)
    assert excinfo.value.code == "broker_frame_invalid"
