"""Rows stored before the one JSON codec (``rooms.jsoncodec``) still read, and still write the same.

``stored_rows_v1.json`` was written by the code before the codec was shared: the text of a
``checkout_snapshots.data`` row, the REST body's key order, the snapshot digest, and one
``checkout_order_events.data`` row per order event type. Each must decode to exactly the values
below, and encoding those values again must give the same text, byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest

from checkout_bridge.errors import OrderError, PricingError
from checkout_bridge.orders import (
    CaptureDue,
    CheckoutCanceled,
    CheckoutOpened,
    CompensationDue,
    Order,
    OrderEvent,
    OrderOpened,
    OrderPaid,
    OrderVoided,
    PaymentRef,
    ShareAuthorized,
    ShareExpired,
    ShareFailed,
    SharePaid,
    ShareRefunded,
    ShareSpec,
    SharesReplanned,
    event_from_dict,
    event_to_dict,
)
from checkout_bridge.pricing import CartSnapshot, LineIssue, PricedLine

FIXTURE: dict[str, Any] = json.loads(
    (Path(__file__).parent / "stored_rows_v1.json").read_text(encoding="utf-8")
)

SNAPSHOT = CartSnapshot(
    version=4,
    currency="EUR",
    lines=(
        PricedLine("l1", "mug", None, "Tasse à café ☕", 2, 1250, 2500, "ann", "ann"),
        PricedLine("l2", "tee", "M", 'Tee "classic"', 1, 2000, 2000, "bob", "ann"),
    ),
    changes=(
        LineIssue("l1", "mug", "price_changed", old_price_minor=1100, new_price_minor=1250),
        LineIssue("l3", "cap", "out_of_stock", requested=1, available=0),
        LineIssue("l4", "gone", "unknown_product"),
    ),
    total_minor=4500,
)
REF = PaymentRef("o1-1", "cs_1", "pi_1", 2500)
REF2 = PaymentRef("o1-2", "cs_2", None, 2000)
EVENTS: list[OrderEvent] = [
    OrderOpened(
        "o1", "r1", FIXTURE["snapshot_digest"], 4, "EUR", "own_lines", True,
        1_900_000_000, 1_800_000_000,
        (ShareSpec("o1-1", "ann", 2500, ("l1",)), ShareSpec("o1-2", "bob", 2000, ("l2",))),
    ),
    CheckoutOpened("o1-1", "cs_1"),
    CheckoutCanceled("o1-1", "cs_1"),
    ShareExpired("o1-2", "cs_0"),
    ShareFailed("o1-2", "cs_2", "card_declined — ünicode"),
    ShareAuthorized("o1-1", "cs_1", "pi_1"),
    ShareAuthorized("o1-2", "cs_2", None),
    CaptureDue((REF, REF2)),
    SharePaid("o1-1", "cs_1", "pi_1", 2500),
    SharePaid("o1-2", "cs_2", None, 2000),
    ShareRefunded("o1-1", "re_1", 500),
    OrderPaid("o1"),
    OrderVoided("deadline_passed", (REF,), (REF2,), ("cs_3", "cs_4")),
    OrderVoided("canceled", (), (), ()),
    CompensationDue("refund", REF),
]  # fmt: skip


def stored_text(data: object) -> str:
    """How ``server/checkout/store.py`` writes a row's ``data`` column."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


AFTER_V1 = {SharesReplanned}  # event types added since; tests/checkout_bridge/test_holdout.py


def test_the_fixture_holds_every_order_event_type() -> None:
    assert {type(event) for event in EVENTS} == set(get_args(OrderEvent)) - AFTER_V1
    assert len(FIXTURE["order_event_rows"]) == len(EVENTS)


def test_an_old_snapshot_row_reads_and_writes_the_same_text() -> None:
    decoded = CartSnapshot.from_dict(json.loads(FIXTURE["snapshot_row"]))
    assert decoded == SNAPSHOT
    assert stored_text(SNAPSHOT.to_dict()) == FIXTURE["snapshot_row"]
    assert SNAPSHOT.digest() == FIXTURE["snapshot_digest"]


def test_the_rest_body_keeps_its_key_order() -> None:
    body = json.dumps(SNAPSHOT.to_dict(), ensure_ascii=False, separators=(",", ":"))
    assert body == FIXTURE["snapshot_rest"]
    assert list(SNAPSHOT.to_dict()) == ["version", "currency", "total_minor", "lines", "changes"]


@pytest.mark.parametrize("index", range(len(EVENTS)), ids=lambda i: type(EVENTS[i]).__name__)
def test_an_old_order_event_row_reads_and_writes_the_same_text(index: int) -> None:
    row = FIXTURE["order_event_rows"][index]
    assert event_from_dict(json.loads(row)) == EVENTS[index]
    assert stored_text(event_to_dict(EVENTS[index])) == row


def test_the_old_log_replays() -> None:
    order = Order.replay(event_from_dict(json.loads(row)) for row in FIXTURE["order_event_rows"])
    assert order.status == "void"
    assert [share.status for share in order.shares] == ["partially_refunded", "paid"]


def test_a_field_with_a_default_may_be_missing_from_an_old_row() -> None:
    # Rows written before a field existed take its default, which lets a later field be added.
    row = json.loads(FIXTURE["snapshot_row"])
    for change in row["changes"]:
        if change["kind"] == "unknown_product":
            for name in ("old_price_minor", "new_price_minor", "requested", "available"):
                del change[name]
    assert CartSnapshot.from_dict(row) == SNAPSHOT


@pytest.mark.parametrize(
    "mutate",
    [
        lambda row: row.update(extra=1),
        lambda row: row["lines"][0].update(extra=1),
        lambda row: row["lines"][0].pop("title"),
        lambda row: row["changes"][0].update(kind="free"),
        lambda row: row["changes"][0].update(old_price_minor=None),
        lambda row: row["changes"][1].update(new_price_minor=5),
        lambda row: row["changes"][2].update(available=3),
        lambda row: row.update(currency="euro"),
        lambda row: row.update(version=4.0),
    ],
)
def test_a_damaged_snapshot_row_is_refused(mutate: Any) -> None:
    row = json.loads(FIXTURE["snapshot_row"])
    mutate(row)
    with pytest.raises(PricingError) as exc:
        CartSnapshot.from_dict(row)
    assert exc.value.code == "snapshot_invalid"


def test_a_lower_case_currency_reads_as_its_code() -> None:
    row = json.loads(FIXTURE["snapshot_row"])
    row["currency"] = "eur"
    assert CartSnapshot.from_dict(row).currency == "EUR"


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"type": None},
        {"type": "OrderPaid", "order_id": "o1", "extra": 1},
        {"type": "ShareFailed", "share_id": "s", "session_id": "c", "reason": 1},
    ],
)
def test_a_damaged_event_row_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(OrderError) as exc:
        event_from_dict(data)
    assert exc.value.code == "event_malformed"
