"""Every text field of every command is card-gated, checked against the room, or a URL.

Free text is redacted (with the number's expiry and code); the stream URL is refused, because a
redacted URL would not work; ids must name something the room already has, so a card number in
one is refused as ``not_found`` and never becomes an event.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest

from rooms import SYSTEM_ACTOR, Role, RoomKind, open_room
from rooms import commands as c
from rooms import events as e
from rooms._fields import MaxLen
from rooms.cardgate import CODE_PLACEHOLDER, EXPIRY_PLACEHOLDER, PLACEHOLDER, luhn_valid
from tests.rooms.support import Driver

CARD_TEXT = "card 4242\u00a04242\n4242.4242 exp 12/29 cvc 123"
REDACTED = f"card {PLACEHOLDER} exp {EXPIRY_PLACEHOLDER} cvc {CODE_PLACEHOLDER}"

# How each string field of a client command is kept free of card numbers.
GATED_TEXT = {
    ("Join", "display_name"),
    ("OpenPoll", "question"),
    ("AddLine", "note"),
    ("PostMessage", "text"),
    ("Announce", "text"),
}
URLS = {("SetStream", "url"), ("RecordHandoff", "url")}
# Ids must name a member, product, variant, line, poll or message the room knows.
CHECKED_IDS = {
    ("Kick", "member_id"),
    ("Ban", "member_id"),
    ("Unban", "member_id"),
    ("PromoteMember", "member_id"),
    ("BringEveryoneHere", "sku"),
    ("Vote", "sku"),
    ("OpenPoll", "skus"),
    ("CastPollVote", "poll_id"),
    ("CastPollVote", "sku"),
    ("ClosePoll", "poll_id"),
    ("AddLine", "sku"),
    ("AddLine", "variant"),
    ("ClosePoll", "variant"),
    ("SetQuantity", "line_id"),
    ("RemoveLine", "line_id"),
    ("ClaimLine", "line_id"),
    ("AssignPayer", "line_id"),
    ("AssignPayer", "member_id"),
    ("DeclinePayment", "line_id"),
    ("DeleteMessage", "message_id"),
    ("MuteMember", "member_id"),
    ("UnmuteMember", "member_id"),
    ("PinProduct", "sku"),
    ("UnpinProduct", "sku"),
    ("Nudge", "member_id"),
    ("StartDrop", "sku"),
    ("StartDrop", "variant"),
    ("EndDrop", "drop_id"),
    ("ClaimDrop", "drop_id"),
    ("ClaimDrop", "variant"),
}
# Built by the server or the checkout bridge, never by a person (client = False).
SERVER_MADE = {
    ("BeginSettlement", "order_id"),
    ("SettleOrder", "order_id"),
    ("UpdateShare", "order_id"),
    ("UpdateShare", "payer"),
    ("UpdateShare", "status"),
    ("ReportPricing", "currency"),
    ("RecordHoldout", "order_id"),
    ("RecordHoldout", "payer"),
    ("RecordHoldout", "choice"),
    ("RecordHoldout", "covered_by"),
    ("RecordHoldout", "dropped_line_ids"),
    ("BeginViewerOrder", "order_id"),
    ("BeginViewerOrder", "payer"),
    ("BeginViewerOrder", "currency"),
    ("ReleaseDropClaim", "line_id"),
    ("ReleaseDropClaim", "reason"),
}


def _holds_text(hint: object) -> bool:
    if typing.get_origin(hint) is typing.Annotated:
        return any(isinstance(extra, MaxLen) for extra in typing.get_args(hint)[1:])
    return any(_holds_text(arg) for arg in typing.get_args(hint))


def test_every_text_field_of_every_command_is_accounted_for() -> None:
    found = set()
    for name, cls in c.BaseCommand.registry.items():
        hints = typing.get_type_hints(cls, include_extras=True)
        for field in dataclasses.fields(cls):  # type: ignore[arg-type]  # registry holds dataclasses
            if _holds_text(hints[field.name]):
                found.add((name, field.name))
    assert found == GATED_TEXT | URLS | CHECKED_IDS | SERVER_MADE
    assert all(not c.BaseCommand.registry[name].client for name, _ in SERVER_MADE)


def test_free_text_fields_redact_every_separator_style_with_expiry_and_code() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("mod", Role.MODERATOR)
    (joined,) = d.do("eve", c.Join("Eve 4242-4242-4242-4242", Role.VIEWER))
    assert joined == e.MemberJoined("eve", f"Eve {PLACEHOLDER}", Role.VIEWER, True, d.now)
    (posted,) = d.do("mod", c.PostMessage(CARD_TEXT))
    assert isinstance(posted, e.MessagePosted) and (posted.text, posted.redacted) == (
        REDACTED,
        True,
    )
    (announced,) = d.do("mod", c.Announce(CARD_TEXT))
    assert isinstance(announced, e.Announced) and announced.text == REDACTED
    (poll,) = d.do("host", c.OpenPoll("which? 3782\u2013822463\u201310005", ("tee", "mug")))
    assert isinstance(poll, e.PollOpened) and poll.question == f"which? {PLACEHOLDER}"


def test_cart_notes_and_room_titles_are_redacted() -> None:
    d = Driver()
    (line,) = d.do("host", c.AddLine("mug", None, 1, "pay with 5555_5555_5555_4444 12/29"))
    assert isinstance(line, e.LineAdded)
    assert line.note == f"pay with {PLACEHOLDER} {EXPIRY_PLACEHOLDER}"
    opened, _host = open_room("r", RoomKind.GROUP, "Trip 6011/1111/1111/1117", "h", "Hal", 1)
    assert isinstance(opened, e.RoomOpened) and opened.title == f"Trip {PLACEHOLDER}"
    assert opened.redacted


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example/live/4242424242424242/index.m3u8",
        "https://cdn.example/live/4242-4242-4242-4242.m3u8",
        "https://cdn.example/4242/4242/4242/4242/index.m3u8",
        "https://cdn.example/live.m3u8?card=4242.4242.4242.4242",
        "https://cdn.example/live.m3u8?c=4242+4242+4242+4242",
        "https://cdn.example/live/4242%204242%204242%204242",
        "https://cdn.example/live/4242%E2%80%934242%E2%80%934242%E2%80%934242",
        "https://user:4242424242424242@cdn.example/live",
    ],
)
def test_a_stream_url_holding_a_card_number_is_refused(url: str) -> None:
    d = Driver(RoomKind.LIVE)
    error = d.refuse("host", c.SetStream(url), "invalid_url")
    assert "card number" in error.message
    assert "4242" not in error.message
    assert d.room.stream is None


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example/live/1765080000125/index.m3u8",  # a Luhn-valid ms timestamp
        "https://cdn.example/v/550e8400-e29b-41d4-a716-446655440000.m3u8",
        "https://cdn.example/live/4242424242424241.m3u8",  # Luhn-invalid
        "https://www.youtube.com/embed/dQw4w9WgXcQ?start=120",
        "https://player.vimeo.com/video/123456789",
    ],
)
def test_stream_urls_with_timestamps_and_ids_are_accepted(url: str) -> None:
    d = Driver(RoomKind.LIVE)
    (event,) = d.do("host", c.SetStream(url))
    assert isinstance(event, e.StreamSet) and event.url == url


def test_the_server_made_handoff_url_is_not_card_gated() -> None:
    variant = "4012345678901"
    variant += next(digit for digit in "0123456789" if luhn_valid(variant + digit))
    d = Driver()
    d.add("host")
    d.do("host", c.LockCart())
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 1))
    url = f"https://shop.example/cart/{variant}:1"
    assert d.do(SYSTEM_ACTOR, c.RecordHandoff(url)) == [e.HandoffRecorded(url, d.now)]


@pytest.mark.parametrize(
    "command",
    [
        c.Kick("4242424242424242"),
        c.PromoteMember("4242 4242 4242 4242", Role.MODERATOR),
        c.AssignPayer("4242424242424242", "host"),
        c.DeleteMessage("4242424242424242"),
        c.UnpinProduct("4242424242424242"),
        c.CastPollVote("4242424242424242", "tee"),
    ],
)
def test_a_card_number_in_an_id_is_refused_as_unknown(command: c.Command) -> None:
    d = Driver()
    d.refuse("host", command, "not_found")


def test_a_wire_cap_is_published_as_max_length() -> None:
    assert MaxLen(64).json_schema() == {"maxLength": 64}
