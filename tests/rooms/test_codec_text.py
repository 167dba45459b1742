"""Client text is well-formed: lone surrogates and control characters are refused as
``invalid_text`` naming the field, and no error message echoes ill-formed text."""

from __future__ import annotations

from typing import Any

import pytest

from rooms import RoomError, command_from_wire, event_from_wire, event_to_wire, signal_from_wire
from rooms import commands as c
from rooms import events as e
from rooms import signals as s
from rooms.jsoncodec import DecodeError, check_text, decode


def _refusal(fn: Any, name: str, args: dict[str, object]) -> RoomError:
    with pytest.raises(RoomError) as info:
        fn(name, args)
    message = info.value.message
    message.encode("utf-8")  # the message itself is well-formed: it can be sent back
    return info.value


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("x\ud800", "lone surrogate"),
        ("\udfffx", "lone surrogate"),
        ("bell\x07", "U+0007"),
        ("nul\x00", "U+0000"),
        ("cr\r\n", "U+000D"),
        ("del\x7f", "U+007F"),
        ("c1\x85", "U+0085"),
    ],
)
def test_ill_formed_text_is_invalid_text(text: str, problem: str) -> None:
    err = _refusal(command_from_wire, "PostMessage", {"text": text})
    assert err.code == "invalid_text"
    assert err.message.startswith("PostMessage.text: ")
    assert problem in err.message


def test_newline_tab_and_any_well_formed_character_pass() -> None:
    text = "a\n\tb é 😀 \u200d \ufeff"
    assert command_from_wire("PostMessage", {"text": text}) == c.PostMessage(text)


def test_every_string_field_is_checked_not_only_free_text() -> None:
    err = _refusal(
        command_from_wire, "AddLine", {"sku": "tee", "variant": "m\ud83d", "quantity": 1}
    )
    assert (err.code, err.message.split(":")[0]) == ("invalid_text", "AddLine.variant")
    err = _refusal(command_from_wire, "OpenPoll", {"question": "q", "skus": ["a", "b\x1b"]})
    assert (err.code, err.message.split(":")[0]) == ("invalid_text", "OpenPoll.skus[1]")
    err = _refusal(signal_from_wire, "React", {"emoji": "\ud83d"})
    assert (err.code, err.message.split(":")[0]) == ("invalid_text", "React.emoji")
    assert signal_from_wire("React", {"emoji": "😀"}) == s.React("😀")
    # a value that would have to name an enum member or a literal option
    err = _refusal(command_from_wire, "PromoteMember", {"member_id": "m", "role": "host\ud800"})
    assert (err.code, err.message.split(":")[0]) == ("invalid_text", "PromoteMember.role")
    err = _refusal(command_from_wire, "SetFollowMode", {"mode": "\x00"})
    assert (err.code, err.message.split(":")[0]) == ("invalid_text", "SetFollowMode.mode")
    assert _refusal(command_from_wire, "SetFollowMode", {"mode": "nope"}).code == "bad_command"
    assert _refusal(command_from_wire, "SetFollowMode", {"mode": 1}).code == "bad_command"


def test_an_ill_formed_key_is_invalid_text_and_never_echoed_raw() -> None:
    err = _refusal(command_from_wire, "PostMessage", {"text": "hi", "x\ud800": 1})
    assert err.code == "invalid_text"
    assert "x\\ud800" in err.message
    err = _refusal(signal_from_wire, "Typing", {"active": True, "\x00": 1})
    assert err.code == "invalid_text"
    # a well-formed unknown key stays a plain bad_command / bad_signal
    assert _refusal(command_from_wire, "PostMessage", {"text": "hi", "x": 1}).code == (
        "bad_command"
    )
    assert _refusal(signal_from_wire, "Typing", {"active": True, "x": 1}).code == "bad_signal"


def test_check_text_and_decode_name_the_path() -> None:
    assert check_text("fine\n", "p") == "fine\n"
    with pytest.raises(DecodeError) as info:
        check_text("\x01", "a.b")
    assert (info.value.code, info.value.path) == ("invalid_text", "a.b")
    with pytest.raises(DecodeError) as info:
        decode(dict[str, int], {"k\ud800": 1}, "m")
    assert (info.value.code, info.value.path) == ("invalid_text", "m.k\\ud800")
    with pytest.raises(DecodeError) as info:
        decode(int, "1", "n")
    assert info.value.code == "bad_value"


def test_the_servers_own_events_reload_without_the_text_check() -> None:
    # The log holds what this server accepted; a reload never refuses its own history.
    event = e.MessagePosted(message_id="m1", author="a", text="x\x07", redacted=False, at=1)
    assert event_from_wire(event_to_wire(event)) == event
    assert decode(dict[str, int], {"k\x07": 1}, "m", text=False) == {"k\x07": 1}
