"""Product cards in chat: PostMessage.product checked against the catalogue, a snapshot kept."""

from __future__ import annotations

from rooms import ProductFacts, Role, RoomKind, StaticCatalog
from rooms import commands as c
from rooms import events as e
from rooms.cardgate import PLACEHOLDER
from rooms.codec import command_from_wire, event_from_wire, event_to_wire
from rooms.state import ProductRef, SharedProduct, WordEntry
from tests.rooms.support import Driver

TEE = SharedProduct("tee", "m", "T-shirt", 1500, "EUR", None)


def test_a_shared_product_is_a_card_with_the_catalogue_snapshot() -> None:
    d = Driver()
    d.join("ann")
    (posted,) = d.do("ann", c.PostMessage(product=ProductRef("tee", "m")))
    assert posted == e.MessagePosted("id2", "ann", "", False, d.now, "Ann", "member", product=TEE)
    (with_text,) = d.do("ann", c.PostMessage("  look!  ", ProductRef("mug")))
    assert isinstance(with_text, e.MessagePosted)
    assert (with_text.text, with_text.product) == (
        "look!",
        SharedProduct("mug", None, "Mug", 900, "EUR", None),
    )


def test_the_snapshot_is_the_price_when_shared_and_carries_the_image() -> None:
    d = Driver()
    d.catalog = StaticCatalog([ProductFacts("bag", "Bag", 3000, "EUR", image="/img/bag.jpg")])
    (before,) = d.do("host", c.PostMessage(product=ProductRef("bag")))
    d.catalog = StaticCatalog([ProductFacts("bag", "Bag", 2500, "EUR", image="/img/bag.jpg")])
    (after,) = d.do("host", c.PostMessage(product=ProductRef("bag")))
    assert isinstance(before, e.MessagePosted) and isinstance(after, e.MessagePosted)
    assert before.product == SharedProduct("bag", None, "Bag", 3000, "EUR", "/img/bag.jpg")
    assert after.product is not None and after.product.price_minor == 2500


def test_a_shared_variant_shows_its_own_price() -> None:
    d = Driver()
    d.catalog = StaticCatalog(
        [
            ProductFacts(
                "bag",
                "Bag",
                22900,
                "USD",
                variants=("reg", "long"),
                variant_facts=(("long", 24900, 2),),
            )
        ]
    )
    prices = [
        ev.product.price_minor
        for variant in ("long", "reg", None)
        for ev in d.do("host", c.PostMessage(product=ProductRef("bag", variant)))
        if isinstance(ev, e.MessagePosted) and ev.product is not None
    ]
    assert prices == [24900, 22900, 22900]


def test_unknown_product_and_wrong_variant_are_refused() -> None:
    d = Driver()
    d.join("ann")
    d.refuse("ann", c.PostMessage("see", ProductRef("nope")), "unknown_product")
    d.refuse("ann", c.PostMessage(product=ProductRef("tee", "xl")), "invalid_variant")
    d.refuse("ann", c.PostMessage(product=ProductRef("mug", "m")), "invalid_variant")
    # a product with variants may be shared as a whole: the reader picks one on Add
    (whole,) = d.do("ann", c.PostMessage(product=ProductRef("tee")))
    assert isinstance(whole, e.MessagePosted) and whole.product is not None
    assert whole.product.variant is None


def test_text_without_a_product_still_needs_words() -> None:
    d = Driver()
    d.refuse("host", c.PostMessage(), "invalid_text")
    d.refuse("host", c.PostMessage("   "), "invalid_text")
    d.refuse("host", c.PostMessage("x" * 501, ProductRef("mug")), "invalid_text")


def test_card_gate_and_word_lists_apply_to_the_text_of_a_card() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("v", Role.VIEWER)
    d.do("host", c.SetRoomWordList((WordEntry("scam"), WordEntry("darn", "mask"))))
    (gated,) = d.do("v", c.PostMessage("pay 4242 4242 4242 4242", ProductRef("mug")))
    assert isinstance(gated, e.MessagePosted)
    assert (gated.text, gated.redacted) == (f"pay {PLACEHOLDER}", True)
    (masked,) = d.do("v", c.PostMessage("darn cheap", ProductRef("mug")))
    assert isinstance(masked, e.MessagePosted) and masked.text == "••• cheap"
    (blocked,) = d.do("v", c.PostMessage("scam", ProductRef("mug")))
    assert isinstance(blocked, e.MessageBlocked)
    d.refuse("host", c.PostMessage("scam", ProductRef("mug")), "blocked_word")


def test_a_muted_member_cannot_share_a_product() -> None:
    d = Driver(RoomKind.LIVE)
    d.join("v", Role.VIEWER)
    d.do("host", c.MuteMember("v", None))
    d.refuse("v", c.PostMessage(product=ProductRef("mug")), "muted")


def test_wire_product_is_optional_and_round_trips() -> None:
    assert command_from_wire("PostMessage", {"text": "hi"}) == c.PostMessage("hi")
    assert command_from_wire(
        "PostMessage", {"text": "", "product": {"sku": "tee", "variant": "m"}}
    ) == c.PostMessage("", ProductRef("tee", "m"))
    assert command_from_wire("PostMessage", {"product": {"sku": "mug"}}) == c.PostMessage(
        product=ProductRef("mug")
    )
    event = e.MessagePosted("m1", "ann", "", False, 5, "Ann", "member", product=TEE)
    wire = event_to_wire(event)
    assert wire["product"] == {
        "sku": "tee",
        "variant": "m",
        "title": "T-shirt",
        "price_minor": 1500,
        "currency": "EUR",
        "image": None,
    }
    assert event_from_wire(wire) == event
    old = {k: v for k, v in wire.items() if k != "product"}  # logged before cards existed
    assert event_from_wire(old) == e.MessagePosted("m1", "ann", "", False, 5, "Ann", "member")


def test_the_view_keeps_the_card_in_the_chat_history() -> None:
    d = Driver()
    d.do("host", c.PostMessage("this one?", ProductRef("tee", "m")))
    d.do("host", c.PostMessage("plain"))
    first, second = d.room.view("host")["chat"]["messages"]
    assert first["product"] == {
        "sku": "tee",
        "variant": "m",
        "title": "T-shirt",
        "price_minor": 1500,
        "currency": "EUR",
        "image": None,
    }
    assert second["product"] is None
    assert d.replayed().messages == d.room.messages
