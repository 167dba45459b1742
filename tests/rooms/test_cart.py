"""Group cart: add, merge, bounds, stock, quantity, remove, claim, assign, live ownership."""

from __future__ import annotations

from rooms import Role, RoomKind, RoomLimits, StaticCatalog
from rooms import commands as c
from rooms import events as e
from rooms.cardgate import PLACEHOLDER
from tests.rooms.support import Driver


def test_add_line_records_catalogue_facts_and_actor() -> None:
    d = Driver()
    d.join("bob")
    (event,) = d.do("bob", c.AddLine("tee", "m", 2, " for Tom "))
    assert event == e.LineAdded(
        line_id=event.line_id if isinstance(event, e.LineAdded) else "",
        sku="tee",
        variant="m",
        quantity=2,
        note="for Tom",
        redacted=False,
        added_by="bob",
        payer="bob",
        title="T-shirt",
        price_minor=1500,
        currency="EUR",
        at=d.now,
    )
    line = next(iter(d.room.lines.values()))
    assert (line.quantity, line.added_by, line.payer) == (2, "bob", "bob")


def test_add_line_validation() -> None:
    d = Driver()
    d.refuse("host", c.AddLine("nope", None, 1), "unknown_product")
    d.refuse("host", c.AddLine("tee", None, 1), "invalid_variant")
    d.refuse("host", c.AddLine("tee", "xl", 1), "invalid_variant")
    d.refuse("host", c.AddLine("mug", "m", 1), "invalid_variant")
    d.refuse("host", c.AddLine("mug", None, 0), "invalid_quantity")
    d.refuse("host", c.AddLine("mug", None, 100), "invalid_quantity")
    d.refuse("host", c.AddLine("mug", None, -1), "invalid_quantity")
    d.refuse("host", c.AddLine("mug", None, 1, "n" * 141), "invalid_text")
    d.refuse("host", c.AddLine("cap", None, 4), "out_of_stock")
    d.refuse("host", c.AddLine("sold", None, 1), "out_of_stock")
    d.refuse("stranger", c.AddLine("mug", None, 1), "not_member")


def test_note_is_card_gated() -> None:
    d = Driver()
    (event,) = d.do("host", c.AddLine("mug", None, 1, "card 378282246310005"))
    assert isinstance(event, e.LineAdded)
    assert (event.note, event.redacted) == (f"card {PLACEHOLDER}", True)


def test_same_item_merges_unless_noted() -> None:
    d = Driver()
    d.join("bob")
    first = d.add("host", "mug", 2)
    (merged,) = d.do("host", c.AddLine("mug", None, 3))
    assert merged == e.QuantityChanged(first, 5, "host")
    d.refuse("host", c.AddLine("mug", None, 95), "invalid_quantity")
    d.add("bob", "mug", 1)  # another member: another line
    d.add("host", "mug", 1, note="gift wrap")  # a note: another line
    d.do("host", c.AddLine("cap", None, 2))
    d.refuse("host", c.AddLine("cap", None, 2), "out_of_stock")
    assert len(d.room.lines) == 4


def test_line_caps() -> None:
    d = Driver(limits=RoomLimits(max_lines=3, max_lines_per_member=2))
    d.join("bob")
    d.add("host", "mug")
    d.add("host", "bag")
    d.refuse("host", c.AddLine("pen", None, 1), "too_many_lines")
    d.add("bob", "pen")
    d.refuse("bob", c.AddLine("ink", None, 1), "too_many_lines")


def test_set_quantity_remove_claim_assign() -> None:
    d = Driver()
    d.join("bob")
    line = d.add("bob", "cap", 1)
    assert d.do("bob", c.SetQuantity(line, 1)) == []
    assert d.do("bob", c.SetQuantity(line, 3)) == [e.QuantityChanged(line, 3, "bob")]
    d.refuse("bob", c.SetQuantity(line, 4), "out_of_stock")
    d.refuse("bob", c.SetQuantity(line, 0), "invalid_quantity")
    d.refuse("bob", c.SetQuantity("nope", 1), "not_found")
    d.do("bob", c.SetQuantity(line, 2))
    assert d.room.lines[line].quantity == 2
    d.do("host", c.AssignPayer(line, "host"))
    assert d.do("bob", c.ClaimLine(line)) == [e.PayerAssigned(line, "bob", "bob")]
    assert d.do("bob", c.ClaimLine(line)) == []
    d.refuse("bob", c.AssignPayer(line, "host"), "forbidden")
    d.refuse("host", c.AssignPayer(line, "ghost"), "not_found")
    d.refuse("host", c.AssignPayer("nope", "host"), "not_found")
    assert d.do("host", c.AssignPayer(line, "bob")) == []
    d.do("host", c.AssignPayer(line, "host"))
    assert d.room.lines[line].payer == "host"
    d.do("bob", c.RemoveLine(line))
    assert line not in d.room.lines
    d.refuse("bob", c.RemoveLine(line), "not_found")
    d.refuse("bob", c.ClaimLine(line), "not_found")


def test_live_audience_edits_only_own_lines() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("v1", Role.VIEWER)
    d.join("v2", Role.VIEWER)
    d.join("staff", Role.ASSOCIATE)
    mine = d.add("v1", "mug")
    theirs = d.add("v2", "bag")
    d.do("v1", c.SetQuantity(mine, 2))
    d.refuse("v1", c.SetQuantity(theirs, 2), "not_your_line")
    d.refuse("v1", c.RemoveLine(theirs), "not_your_line")
    d.refuse("v1", c.ClaimLine(theirs), "not_your_line")
    d.do("staff", c.SetQuantity(theirs, 2))
    assert d.room.lines[theirs].quantity == 2


def test_live_per_member_cap() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("v", Role.VIEWER)
    for sku in ("mug", "bag", "pen", "ink", "cap"):
        d.add("v", sku)
    for note in ("a", "b", "c", "d", "e"):
        d.add("v", "mug", note=note)
    d.refuse("v", c.AddLine("mug", None, 1, "f"), "too_many_lines")


def test_quantity_decrease_needs_no_catalogue_entry() -> None:
    d = Driver()
    line = d.add("host", "cap", 3)
    d.catalog = StaticCatalog()  # the product left the catalogue
    d.do("host", c.SetQuantity(line, 1))
    d.refuse("host", c.SetQuantity(line, 2), "unknown_product")
