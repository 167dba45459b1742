"""Share reports from the checkout bridge: "processing" for everyone, told once, never backwards."""

from __future__ import annotations

from rooms import SYSTEM_ACTOR
from rooms import commands as c
from rooms import events as e
from tests.rooms.support import Driver


def _settling() -> Driver:
    d = Driver()
    d.join("bob")
    d.add("bob", "mug", 2)
    d.do("host", c.LockCart())
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 1))
    return d


def test_processing_is_a_share_state_every_member_sees() -> None:
    d = _settling()
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "checkout_open", 1800))
    assert d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "processing", 1800)) == [
        e.ShareUpdated("o1", "bob", "processing", 1800)
    ]
    assert d.room.view("host")["checkout"]["shares"] == [
        {"payer": "bob", "status": "processing", "amount_minor": 1800}
    ]


def test_a_repeated_report_tells_the_room_nothing_new() -> None:
    d = _settling()
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "processing", 1800))
    assert d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "processing", 1800)) == []
    # the same status with another amount is news (a re-planned share)
    assert d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "processing", 900))


def test_a_late_processing_report_never_takes_back_a_payment() -> None:
    d = _settling()
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "paid", 1800))
    assert d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "bob", "processing", 1800)) == []
    assert d.room.shares["bob"].status == "paid"
    # a failed payment retried with a delayed method is processing again
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "host", "failed", 100))
    assert d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "host", "processing", 100))
