"""Cart etiquette as room rules: only the line's adder, its payer and staff change or remove it;
being made payer is something you are told about and can decline."""

from __future__ import annotations

import pytest

from rooms import Role, RoomKind
from rooms import commands as c
from rooms import events as e
from tests.rooms.support import Driver


def _group() -> tuple[Driver, str]:
    d = Driver()
    for member in ("bob", "cat"):
        d.join(member)
    d.join("sam", Role.ASSOCIATE)
    d.join("mo", Role.MODERATOR)
    return d, d.add("bob", "cap", 1)


@pytest.mark.parametrize("command", ["qty", "remove"])
def test_a_friend_may_not_change_someone_elses_line(command: str) -> None:
    d, line = _group()
    edit = c.SetQuantity(line, 2) if command == "qty" else c.RemoveLine(line)
    error = d.refuse("cat", edit, "not_your_line")
    assert "who pays for it" in error.message
    # the payer may, once Cat pays for it
    d.do("cat", c.ClaimLine(line))
    assert d.do("cat", edit)


@pytest.mark.parametrize("staff", ["host", "sam", "mo"])
def test_staff_change_any_line(staff: str) -> None:
    d, line = _group()
    assert d.do(staff, c.SetQuantity(line, 2)) == [e.QuantityChanged(line, 2, staff)]
    assert d.do(staff, c.RemoveLine(line)) == [e.LineRemoved(line, staff)]


def test_the_adder_still_changes_a_line_someone_else_pays() -> None:
    d, line = _group()
    d.do("host", c.AssignPayer(line, "cat"))
    assert d.do("bob", c.SetQuantity(line, 3))


def test_a_payer_made_by_the_host_is_told_and_may_decline() -> None:
    d, line = _group()
    d.do("host", c.AssignPayer(line, "cat"))
    shown = d.room.view("cat")["lines"][0]
    assert (shown["payer"], shown["assigned_by"]) == ("cat", "host")
    d.refuse("bob", c.DeclinePayment(line), "not_your_line")  # only the payer declines
    assert d.do("cat", c.DeclinePayment(line)) == [e.PayerAssigned(line, "bob", "cat")]
    back = d.room.lines[line]
    assert (back.payer, back.assigned_by) == ("bob", "cat")  # Bob is told Cat gave it back
    d.refuse("bob", c.DeclinePayment(line), "nothing_to_decline")  # his own line
    d.do("cat", c.ClaimLine(line))  # a claim is one's own choice: nothing to tell
    assert d.room.lines[line].assigned_by == ""


def test_a_declined_line_whose_adder_left_goes_to_the_host() -> None:
    d, line = _group()
    d.do("cat", c.ClaimLine(line))
    d.do("bob", c.Leave())  # Cat keeps paying for Bob's line
    d.refuse("host", c.DeclinePayment(line), "not_your_line")
    assert d.do("cat", c.DeclinePayment(line)) == [e.PayerAssigned(line, "host", "cat")]


def test_declining_is_refused_while_the_cart_is_locked() -> None:
    d, line = _group()
    d.do("host", c.AssignPayer(line, "cat"))
    d.do("host", c.LockCart())
    d.refuse("cat", c.DeclinePayment(line), "cart_locked")


def test_in_a_live_room_nobody_is_told_of_a_payer_change() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("v1", Role.VIEWER)
    line = d.add("v1", "mug")
    d.do("host", c.AssignPayer(line, "host"))
    assert d.room.lines[line].assigned_by == ""
