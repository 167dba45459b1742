"""Wire codec: strict command/signal decoding, exact event round trips."""

from __future__ import annotations

from typing import Any

import pytest

from rooms import (
    CLIENT_COMMANDS,
    RoomError,
    command_from_wire,
    event_from_wire,
    event_to_wire,
    signal_from_wire,
)
from rooms import commands as c
from rooms import events as e
from rooms import signals as s
from rooms.commands import BaseCommand
from rooms.events import BaseEvent
from rooms.model import Role, RoomKind, RoomLimits
from rooms.state import OrderLine, PricingIssue, WordEntry


def _code(name: str, args: Any) -> RoomError:
    with pytest.raises(RoomError) as info:
        command_from_wire(name, args)
    return info.value


def test_client_commands_exclude_hub_and_system_commands() -> None:
    for name in (
        "Join",
        "BeginSettlement",
        "SettleOrder",
        "UpdateShare",
        "RecordHandoff",
        "ReportPricing",
        "SetMerchantWordList",
        "BeginViewerOrder",
        "ReleaseDropClaim",
        "SetShowEnded",
    ):
        assert name not in CLIENT_COMMANDS
        assert _code(name, {}).code == "unknown_command"
    assert {"AddLine", "PostMessage", "Vote", "LockCart", "Leave"} <= CLIENT_COMMANDS
    assert len(BaseCommand.registry) == len(CLIENT_COMMANDS) + 12


def test_decodes_commands() -> None:
    assert command_from_wire("AddLine", {"sku": "tee", "variant": "m", "quantity": 2}) == (
        c.AddLine("tee", "m", 2, "")
    )
    assert command_from_wire(
        "AddLine", {"sku": "mug", "variant": None, "quantity": 1, "note": "gift"}
    ) == c.AddLine("mug", None, 1, "gift")
    assert command_from_wire("OpenPoll", {"question": "q", "skus": ["a", "b"]}) == c.OpenPoll(
        "q", ("a", "b")
    )
    assert command_from_wire("SetFollowMode", {"mode": "free"}) == c.SetFollowMode("free")
    assert command_from_wire("PromoteMember", {"member_id": "m", "role": "cohost"}) == (
        c.PromoteMember("m", Role.COHOST)
    )
    assert command_from_wire("Leave", {}) == c.Leave()
    assert command_from_wire("SetStream", {"url": None}) == c.SetStream(None)


@pytest.mark.parametrize(
    ("name", "args", "field"),
    [
        ("AddLine", {"sku": "tee", "variant": None}, "quantity"),  # missing
        ("AddLine", {"sku": "tee", "variant": None, "quantity": 1, "price": 1}, "price"),  # extra
        ("AddLine", {"sku": "tee", "variant": None, "quantity": True}, "quantity"),  # bool
        ("AddLine", {"sku": "tee", "variant": None, "quantity": 1.0}, "quantity"),  # float
        ("AddLine", {"sku": "tee", "variant": None, "quantity": "1"}, "quantity"),
        ("AddLine", {"sku": None, "variant": None, "quantity": 1}, "sku"),  # null
        ("AddLine", {"sku": "x" * 65, "variant": None, "quantity": 1}, "sku"),  # oversized
        ("PostMessage", {"text": "x" * 1001}, "text"),
        ("OpenPoll", {"question": "q", "skus": "ab"}, "skus"),  # not an array
        ("OpenPoll", {"question": "q", "skus": ["a", 1]}, "skus[1]"),
        ("SetFollowMode", {"mode": "chaos"}, "mode"),  # not a literal
        ("PromoteMember", {"member_id": "m", "role": "king"}, "role"),  # not an enum value
        ("PromoteMember", {"member_id": "m", "role": 1}, "role"),
        ("ClosePoll", {"poll_id": "p", "add_winner_to_cart": 1}, "add_winner_to_cart"),
    ],
)
def test_refuses_malformed_commands(name: str, args: dict[str, object], field: str) -> None:
    error = _code(name, args)
    assert error.code == "bad_command"
    assert f"{name}.{field}" in error.message


def test_refuses_non_object_arguments_and_unknown_names() -> None:
    assert _code("AddLine", ["sku"]).code == "bad_command"
    assert _code("DropTable", {}).code == "unknown_command"


def test_signals_decode_strictly() -> None:
    assert signal_from_wire("Viewing", {"sku": "tee"}) == s.Viewing("tee")
    assert signal_from_wire("Viewing", {"sku": None}) == s.Viewing(None)
    assert signal_from_wire("Typing", {"active": True}) == s.Typing(True)
    assert signal_from_wire("React", {"emoji": "🔥"}) == s.React("🔥")
    for name, args, code in [
        ("Shout", {}, "unknown_signal"),
        ("Typing", {"active": 1}, "bad_signal"),
        ("Typing", {}, "bad_signal"),
        ("React", {"emoji": "x" * 65}, "bad_signal"),
        ("Viewing", "tee", "bad_signal"),
    ]:
        with pytest.raises(RoomError) as info:
            signal_from_wire(name, args)  # type: ignore[arg-type]  # malformed on purpose
        assert info.value.code == code


SAMPLE_EVENTS: list[e.Event] = [
    e.RoomOpened("r", RoomKind.LIVE, "t", "h", RoomLimits.for_kind(RoomKind.LIVE), False, 1),
    e.MemberJoined("m", "Mo", Role.VIEWER, True, 2),
    e.MemberLeft("m", 3),
    e.MemberKicked("m", "h", 3),
    e.MemberBanned("m", "h", 3),
    e.MemberUnbanned("m", "h"),
    e.MemberPromoted("m", Role.MODERATOR, "h"),
    e.FollowModeSet("follow_host", "h"),
    e.EveryoneBrought("tee", "h", 4),
    e.VoteCast("tee", "m", -1),
    e.PollOpened("p", "which?", ("a", "b"), "h", False, 5),
    e.PollVoteCast("p", "m", "a"),
    e.PollClosed("p", None, (0, 0), "h", 6),
    e.LineAdded("l", "tee", None, 2, "n", False, "m", "m", "T", 100, "EUR", 7),
    e.QuantityChanged("l", 3, "m"),
    e.LineRemoved("l", "m"),
    e.PayerAssigned("l", "h", "h"),
    e.MessagePosted("x", "m", "hi\nthere", False, 8),
    e.MessageDeleted("x", "h"),
    e.MemberMuted("m", None, "h"),
    e.MemberUnmuted("m", "h"),
    e.SlowModeSet(30, "h"),
    e.MessageBlocked("m", "Mo", ("bad",), 1, 8),
    e.WordListSet("room", (WordEntry("bad", "mask"),), "h"),
    e.ProductPinned("tee", "h"),
    e.ProductUnpinned("tee", "h"),
    e.Announced("a", "sale!", False, "h", 9),
    e.StreamSet("https://x/live.m3u8", "hls", "h"),
    e.ShowEnded(5_000, True),
    e.CartLocked("h", 10),
    e.CartUnlocked("h", 11),
    e.DeadlineSet(1_765_000_000_000, "h", 11),
    e.DeadlineSet(None, "system", 11),
    e.MemberNudged("m", "add", "h", 11),
    e.SettlementBegan("o", 1, 12),
    e.PricingReported(1, "USD", 100, False, (PricingIssue("l", "out_of_stock", available=0),), 12),
    e.ShareUpdated("o", "m", "paid", 500),
    e.OrderSettled("o", "paid", 13),
    e.HandoffRecorded("https://shop/cart", 14),
    e.HoldoutResolved("o", "m", "split_others", ("h", "x"), (), 15),
    e.HoldoutResolved("o", "m", "drop_lines", (), ("l",), 15),
    e.ViewerOrderBegan("v1", "m", (OrderLine("l", 2, 900),), 1800, "USD", 16),
    e.BuyTickerSet(True, "h"),
    e.PurchaseShown("Bea", "Tee", 1, 17),
    e.DropStarted("d1", "tee", None, "Tee", 900, 1500, "EUR", 50, 2, 60, 61_000, None, "h", 1),
    e.DropEnded("d1", "tee", "host", 3, "h", 2),
    e.DropClaimed("d1", "l1", "bob", "m", 1, 900, 120_003, 3),
    e.DropClaimReleased("d1", "l1", "bob", "not_paid", 4),
    e.DropRemaining("d1", 49, 0, 5),
]


def test_samples_cover_every_event_type() -> None:
    assert {type(event).__name__ for event in SAMPLE_EVENTS} == set(BaseEvent.registry)


@pytest.mark.parametrize("event", SAMPLE_EVENTS, ids=lambda ev: type(ev).__name__)
def test_event_round_trip(event: e.Event) -> None:
    import json

    wire = event_to_wire(event)
    assert wire["type"] == type(event).__name__
    assert event_from_wire(json.loads(json.dumps(wire))) == event


@pytest.mark.parametrize(
    "data",
    [
        {"member_id": "m", "at": 1},
        {"type": "Nope"},
        {"type": 3},
        {"type": "MemberLeft", "member_id": "m"},
        {"type": "MemberLeft", "member_id": "m", "at": 1, "x": 1},
        {
            "type": "RoomOpened",
            "room_id": "r",
            "kind": "group",
            "title": "t",
            "host_id": "h",
            "limits": [],
            "redacted": False,
            "at": 1,
        },
        {"type": "MemberMuted", "member_id": "m", "until": None, "by": None},
    ],
)
def test_malformed_events_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        event_from_wire(data)


def test_to_json_keeps_plain_values_and_converts_containers() -> None:
    import dataclasses
    from enum import Enum

    from rooms.jsoncodec import to_json

    class Tag(str):  # a str subclass that is not an enum passes as it is
        pass

    class Colour(Enum):
        RED = "red"

    tag = Tag("x")
    assert to_json(tag) is tag
    converted = to_json({"k": (Colour.RED, [1, None, 2.5, True])})
    assert converted == {"k": ["red", [1, None, 2.5, True]]}
    assert to_json(RoomLimits()) == dataclasses.asdict(RoomLimits())
