"""Messages between processes (server/hub/peers.py): every kind survives the broker's bytes,
in the formats earlier releases published, and anything else is refused as such."""

from __future__ import annotations

import pytest

from server.hub import peers
from server.hub.peers import (
    EventsCommitted,
    HeadAnnounced,
    PresenceChanged,
    PresenceQuery,
    SignalRelayed,
)
from server.storage import StoredEvent
from server.transport.wire import decode_any, encode_msgpack

_EVENTS = [
    StoredEvent("r1", 7, "MessagePosted", {"type": "MessagePosted", "text": "hi"}, 1_000, "ann"),
    StoredEvent("r1", 8, "VoteCast", {"type": "VoteCast", "sku": "tee"}, 1_001, "bob"),
]


@pytest.mark.parametrize(
    "message",
    [
        EventsCommitted(_EVENTS),
        SignalRelayed("ann", "Ann", {"type": "Viewing", "sku": "tee"}),
        PresenceChanged(
            1,
            {"ann": {"member_id": "ann", "display_name": "Ann", "role": "host", "viewing": None}},
        ),
        PresenceChanged(4_000, None),  # a big room: only the count
        PresenceChanged(0, {}),  # nobody left there (or the process stopped)
        PresenceQuery(),
        HeadAnnounced(42),
    ],
)
def test_every_message_reads_back_as_itself(message: peers.PeerMessage) -> None:
    kind, payload = peers.encode(message)
    back = peers.decode("r1", kind, payload)
    if isinstance(message, EventsCommitted):
        assert isinstance(back, EventsCommitted) and list(back.events) == _EVENTS
    else:
        assert back == message


def test_the_payloads_are_those_earlier_releases_published() -> None:
    # a process of the previous release reads these, and sends them
    assert peers.encode(EventsCommitted(_EVENTS[:1])) == (
        "events",
        encode_msgpack([[7, "MessagePosted", _EVENTS[0].data, 1_000, "ann"]]),
    )
    kind, payload = peers.encode(SignalRelayed("ann", "Ann", {"type": "React", "emoji": "x"}))
    assert kind == "signal"
    assert decode_any(payload) == {"m": "ann", "n": "Ann", "s": {"type": "React", "emoji": "x"}}
    assert decode_any(peers.encode(HeadAnnounced(3))[1]) == {"head": 3}
    # a roster is still ``p`` (with its count beside it), so an earlier release reads it
    assert decode_any(peers.encode(PresenceChanged(0, {}))[1]) == {"p": {}, "c": 0}


def test_an_earlier_releases_roster_reads_in_the_member_shape_of_today() -> None:
    old = encode_msgpack({"p": {"ann": {"id": "ann", "name": "Ann", "viewing": "tee"}}})
    assert peers.decode("r1", "signal", old) == PresenceChanged(
        1,
        {"ann": {"member_id": "ann", "display_name": "Ann", "role": "member", "viewing": "tee"}},
    )


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("events", b"\xc1"),  # not msgpack
        ("events", encode_msgpack([[1, "T"]])),  # a row too short
        ("signal", encode_msgpack({"head": "7"})),  # a head that is not a seq
        ("signal", encode_msgpack({"head": True})),
        ("signal", encode_msgpack({"m": "ann"})),  # a signal without its name and body
        ("signal", encode_msgpack([1, 2])),
        ("signal", encode_msgpack({"c": -1})),  # a count that is not one
        ("signal", encode_msgpack({"c": "3"})),
        ("signal", encode_msgpack({"p": ["ann"]})),  # a roster that is not a map
        ("signal", encode_msgpack({"p": {"ann": "Ann"}})),
        ("gossip", encode_msgpack({})),  # a kind nobody sends
    ],
)
def test_anything_else_is_refused_as_such(kind: str, payload: bytes) -> None:
    with pytest.raises(peers.PeerMessageError):
        peers.decode("r1", kind, payload)
