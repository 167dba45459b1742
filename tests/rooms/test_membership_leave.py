"""Leaving a group room: what happens to the member's lines is explicit and nobody is billed for
someone who left."""

from __future__ import annotations

from rooms import SYSTEM_ACTOR
from rooms import commands as c
from rooms import events as e
from tests.rooms.support import Driver


def test_leaving_removes_own_lines_returns_paid_for_lines_and_keeps_lines_others_pay() -> None:
    d = Driver()
    d.join("bob")
    d.join("cat")
    own = d.add("bob", "mug")  # Bob's, Bob pays: removed
    for_cat = d.add("cat", "bag")  # Cat's, Bob claims it: back to Cat
    d.do("bob", c.ClaimLine(for_cat))
    given = d.add("bob", "pen")  # Bob's, Cat pays: stays, Cat pays
    d.do("host", c.AssignPayer(given, "cat"))
    events = d.do("bob", c.Leave())
    assert events == [
        e.LineRemoved(own, "bob"),
        e.PayerAssigned(for_cat, "cat", "bob"),
        e.MemberLeft("bob", d.now),
    ]
    assert set(d.room.lines) == {for_cat, given}
    assert {line.payer for line in d.room.lines.values()} == {"cat"}
    assert "bob" not in d.room.members


def test_a_line_whose_adder_left_too_goes_to_the_host() -> None:
    d = Driver()
    d.join("bob")
    d.join("cat")
    line = d.add("cat", "mug")
    d.do("bob", c.ClaimLine(line))
    d.do("cat", c.Leave())  # Cat's line stays: Bob pays for it
    assert d.room.lines[line].payer == "bob"
    d.do("bob", c.Leave())
    assert d.room.lines[line].payer == "host"


def test_a_payer_stays_while_the_cart_is_checked_out() -> None:
    d = Driver()
    d.join("bob")
    d.join("cat")
    d.add("bob", "mug")
    d.do("host", c.LockCart())
    d.refuse("bob", c.Leave(), "pays_in_checkout")
    assert d.do("cat", c.Leave()) == [e.MemberLeft("cat", d.now)]  # pays nothing: may go
    d.do(SYSTEM_ACTOR, c.BeginSettlement("o1", 1))
    d.do(SYSTEM_ACTOR, c.UpdateShare("o1", "host", "pending", 900))
    d.refuse("bob", c.Leave(), "pays_in_checkout")
    d.do(SYSTEM_ACTOR, c.SettleOrder("o1", "void"))  # the cart opens again: Bob may go
    assert [type(ev) for ev in d.do("bob", c.Leave())] == [e.LineRemoved, e.MemberLeft]


def test_the_host_cannot_leave() -> None:
    d = Driver()
    d.refuse("host", c.Leave(), "host_cannot_leave")
