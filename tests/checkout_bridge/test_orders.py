"""The order state machine: happy paths, out-of-order and duplicate facts, mismatches, voids."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkout_bridge.errors import OrderError
from checkout_bridge.orders import (
    Authorized,
    CancelCheckout,
    CancelOrder,
    CaptureDue,
    CheckDeadline,
    CheckoutCanceled,
    CheckoutOpened,
    CompensationDue,
    OpenCheckout,
    Order,
    OrderEvent,
    OrderInput,
    OrderOpened,
    OrderPaid,
    OrderVoided,
    PaymentFailed,
    PaymentRef,
    Refunded,
    SessionCompleted,
    SessionExpired,
    ShareAuthorized,
    ShareExpired,
    ShareFailed,
    SharePaid,
    ShareRefunded,
    event_from_dict,
    event_to_dict,
    plan_order,
)
from checkout_bridge.pricing import CartLineInput, freeze_cart
from checkout_bridge.splits import PaymentMode
from rooms.catalog import ProductFacts, StaticCatalog

NOW = 1_000
DEADLINE = 2_000
CATALOG = StaticCatalog([ProductFacts("mug", "Mug", 1000, "EUR")])


class Log:
    """Drives an order like the server would: decide, persist, apply; replay must agree."""

    def __init__(self, *, mode: PaymentMode = "equal_split", aon: bool = False) -> None:
        snap = freeze_cart([CartLineInput("l1", "mug", None, 3, "ann")], CATALOG, version=4)
        opened = plan_order(
            "o1", "r1", snap, mode, host="ann", participants=["ann", "bob"],
            all_or_nothing=aon, deadline=DEADLINE, now=NOW,
        )  # fmt: skip
        self.events: list[OrderEvent] = [opened]
        self.order = Order.opened(opened)

    def do(self, command: OrderInput, now: int = NOW) -> list[OrderEvent]:
        events = self.order.decide(command, now=now)
        for event in events:
            self.order = self.order.apply(event)
        self.events.extend(events)
        assert Order.replay(self.events) == self.order
        for event in events:
            assert event_from_dict(event_to_dict(event)) == event
        return events

    def refused(self, command: OrderInput, code: str, now: int = NOW) -> None:
        before = self.order
        with pytest.raises(OrderError) as exc:
            self.order.decide(command, now=now)
        assert exc.value.code == code
        assert self.order == before

    def status(self, n: int) -> str:
        return self.order.shares[n - 1].status


def paid(session: str, share: str, amount: int = 1500, currency: str = "eur") -> SessionCompleted:
    return SessionCompleted(session, amount, currency, share, f"pi_{session}")


def auth(session: str, share: str, amount: int = 1500) -> Authorized:
    return Authorized(session, amount, "EUR", share, f"pi_{session}")


def test_plan_order() -> None:
    log = Log()
    opened = log.events[0]
    assert isinstance(opened, OrderOpened)
    assert [(s.share_id, s.payer, s.amount_minor) for s in opened.shares] == [
        ("o1-1", "ann", 1500),
        ("o1-2", "bob", 1500),
    ]
    assert opened.snapshot_version == 4
    assert len(opened.snapshot_digest) == 64
    assert log.order.status == "collecting"
    assert log.order.total_minor == 3000
    assert log.order.unpaid_payers == ("ann", "bob")


def test_plan_order_refusals() -> None:
    snap = freeze_cart([CartLineInput("l1", "mug", None, 1, "ann")], CATALOG, version=1)
    with pytest.raises(OrderError) as exc:
        plan_order("o", "r", snap, "host_pays", host="a", participants=[],
                   all_or_nothing=False, deadline=NOW, now=NOW)  # fmt: skip
    assert exc.value.code == "invalid_order"
    free = freeze_cart(
        [CartLineInput("l1", "pin", None, 1, "ann")],
        StaticCatalog([ProductFacts("pin", "Pin", 0, "EUR")]),
        version=1,
    )
    with pytest.raises(OrderError) as exc:
        plan_order("o", "r", free, "host_pays", host="a", participants=[],
                   all_or_nothing=False, deadline=DEADLINE, now=NOW)  # fmt: skip
    assert exc.value.code == "nothing_to_pay"


def test_everyone_pays_and_the_order_is_paid() -> None:
    log = Log()
    assert log.do(OpenCheckout("o1-1", "cs_a")) == [CheckoutOpened("o1-1", "cs_a")]
    assert log.do(OpenCheckout("o1-1", "cs_a")) == []  # same session reported twice
    log.do(OpenCheckout("o1-2", "cs_b"))
    assert log.do(paid("cs_a", "o1-1")) == [SharePaid("o1-1", "cs_a", "pi_cs_a", 1500)]
    assert log.order.paid_payers == ("ann",)
    assert log.order.unpaid_payers == ("bob",)
    assert log.do(paid("cs_a", "o1-1")) == []  # duplicate webhook applied once
    events = log.do(paid("cs_b", "o1-2"))
    assert events == [SharePaid("o1-2", "cs_b", "pi_cs_b", 1500), OrderPaid("o1")]
    assert log.order.status == "paid"
    assert log.order.paid_minor == 3000
    # Late facts never undo a payment.
    assert log.do(SessionExpired("cs_a")) == []
    assert log.do(PaymentFailed("cs_b", "card_declined")) == []
    assert log.do(CheckDeadline(), now=DEADLINE + 1) == []
    log.refused(OpenCheckout("o1-1", "cs_c"), "order_closed")


def test_mismatched_facts_are_refused() -> None:
    log = Log()
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.do(OpenCheckout("o1-2", "cs_b"))
    log.refused(paid("cs_a", "o1-1", amount=1), "amount_mismatch")
    log.refused(paid("cs_a", "o1-1", amount=True), "amount_mismatch")
    log.refused(paid("cs_a", "o1-1", currency="usd"), "currency_mismatch")
    log.refused(paid("cs_a", "o1-1", currency="euro"), "currency_mismatch")
    log.refused(paid("cs_a", "o1-2"), "reference_mismatch")
    log.refused(paid("cs_zz", "o1-1"), "unknown_session")
    log.refused(SessionExpired("cs_zz"), "unknown_session")
    log.refused(auth("cs_a", "o1-1"), "unexpected_authorization")


def test_expired_then_completed_is_reconciled_as_paid() -> None:
    log = Log()
    log.do(OpenCheckout("o1-1", "cs_a"))
    assert log.do(SessionExpired("cs_a")) == [ShareExpired("o1-1", "cs_a")]
    assert log.status(1) == "expired"
    assert log.do(SessionExpired("cs_a")) == []
    assert log.do(paid("cs_a", "o1-1")) == [SharePaid("o1-1", "cs_a", "pi_cs_a", 1500)]
    assert log.status(1) == "paid"


def test_failed_share_is_retried_with_a_new_session() -> None:
    log = Log()
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.refused(OpenCheckout("o1-1", "cs_b"), "checkout_already_open")
    log.refused(OpenCheckout("o1-2", "cs_a"), "session_in_use")
    assert log.do(PaymentFailed("cs_a", "card_declined")) == [
        ShareFailed("o1-1", "cs_a", "card_declined")
    ]
    assert log.order.shares[0].failure_reason == "card_declined"
    assert log.order.status == "collecting"
    log.do(OpenCheckout("o1-1", "cs_b"))
    retried = log.order.shares[0]
    assert retried.sessions == ("cs_a", "cs_b")
    assert retried.failure_reason is None
    # The old session's late expiry or failure changes nothing.
    assert log.do(SessionExpired("cs_a")) == []
    assert log.do(PaymentFailed("cs_a")) == []
    log.do(paid("cs_b", "o1-1"))
    log.refused(OpenCheckout("o1-1", "cs_c"), "share_not_retryable")
    log.refused(OpenCheckout("o1-9", "cs_c"), "unknown_share")


def test_cancel_checkout_then_retry() -> None:
    log = Log()
    log.refused(CancelCheckout("o1-1"), "share_not_open")
    log.do(OpenCheckout("o1-1", "cs_a"))
    assert log.do(CancelCheckout("o1-1")) == [CheckoutCanceled("o1-1", "cs_a")]
    assert log.status(1) == "canceled"
    log.do(OpenCheckout("o1-1", "cs_b"))
    assert log.status(1) == "checkout_open"


def test_second_session_paid_for_one_share_is_refunded() -> None:
    log = Log()
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.do(SessionExpired("cs_a"))
    log.do(OpenCheckout("o1-1", "cs_b"))
    log.do(paid("cs_b", "o1-1"))
    ref = PaymentRef("o1-1", "cs_a", "pi_cs_a", 1500)
    assert log.do(paid("cs_a", "o1-1")) == [CompensationDue("refund", ref)]
    assert log.do(paid("cs_a", "o1-1")) == []
    assert log.order.shares[0].paid_session_id == "cs_b"
    # The compensation's refund does not touch the share.
    assert log.do(Refunded("cs_a", "re_x", 1500, "EUR")) == []
    assert log.status(1) == "paid"


def test_deadline_voids_and_lists_what_to_undo() -> None:
    log = Log()
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.do(OpenCheckout("o1-2", "cs_b"))
    log.do(paid("cs_a", "o1-1"))
    assert log.do(CheckDeadline(), now=DEADLINE - 1) == []
    log.refused(OpenCheckout("o1-2", "cs_c"), "deadline_passed", now=DEADLINE)
    events = log.do(CheckDeadline(), now=DEADLINE)
    assert events == [
        OrderVoided(
            "deadline_passed",
            voids=(),
            refunds=(PaymentRef("o1-1", "cs_a", "pi_cs_a", 1500),),
            expire_sessions=("cs_b",),
        )
    ]
    assert log.order.status == "void"
    assert log.order.void_reason == "deadline_passed"
    assert [s.status for s in log.order.shares] == ["paid", "canceled"]
    assert log.do(CheckDeadline(), now=DEADLINE + 5) == []
    # The provider says the expired-by-us session was already paid: recorded, then refunded.
    ref = PaymentRef("o1-2", "cs_b", "pi_cs_b", 1500)
    assert log.do(paid("cs_b", "o1-2")) == [
        SharePaid("o1-2", "cs_b", "pi_cs_b", 1500),
        CompensationDue("refund", ref),
    ]
    assert log.do(paid("cs_b", "o1-2")) == []
    assert log.order.status == "void"
    log.do(Refunded("cs_b", "re_1", 1500, "EUR"))
    assert log.status(2) == "refunded"


def test_partial_refund_touches_only_its_share() -> None:
    log = Log()
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.do(OpenCheckout("o1-2", "cs_b"))
    log.do(paid("cs_a", "o1-1"))
    log.do(paid("cs_b", "o1-2"))
    other = log.order.shares[1]
    log.refused(Refunded("cs_a", "re_1", 1501, "EUR"), "refund_exceeds_paid")
    log.refused(Refunded("cs_a", "re_1", 0, "EUR"), "invalid_amount")
    log.refused(Refunded("cs_a", "re_1", 10, "JPY"), "currency_mismatch")
    assert log.do(Refunded("cs_a", "re_1", 500, "EUR")) == [ShareRefunded("o1-1", "re_1", 500)]
    assert log.do(Refunded("cs_a", "re_1", 500, "EUR")) == []  # duplicate
    assert log.status(1) == "partially_refunded"
    assert log.order.shares[1] == other
    assert log.order.status == "paid"
    assert log.order.paid_minor == 2500
    log.do(Refunded("cs_a", "re_2", 1000, "EUR"))
    assert log.status(1) == "refunded"
    log.refused(Refunded("cs_a", "re_3", 1, "EUR"), "refund_exceeds_paid")


def test_refund_of_an_unpaid_share_is_refused() -> None:
    log = Log()
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.refused(Refunded("cs_a", "re_1", 100, "EUR"), "share_not_paid")


def test_host_cancels_the_order() -> None:
    log = Log()
    log.do(OpenCheckout("o1-1", "cs_a"))
    assert log.do(CancelOrder("changed_mind")) == [OrderVoided("changed_mind", (), (), ("cs_a",))]
    log.refused(CancelOrder(), "order_closed")
    log.refused(CancelCheckout("o1-1"), "order_closed")
    assert log.do(SessionExpired("cs_a")) == []


def test_all_or_nothing_authorizes_then_captures() -> None:
    log = Log(aon=True)
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.do(OpenCheckout("o1-2", "cs_b"))
    assert log.do(auth("cs_a", "o1-1")) == [ShareAuthorized("o1-1", "cs_a", "pi_cs_a")]
    assert log.do(auth("cs_a", "o1-1")) == []
    assert log.status(1) == "authorized"
    assert log.order.unpaid_payers == ("ann", "bob")
    events = log.do(auth("cs_b", "o1-2"))
    assert events == [
        ShareAuthorized("o1-2", "cs_b", "pi_cs_b"),
        CaptureDue(
            (
                PaymentRef("o1-1", "cs_a", "pi_cs_a", 1500),
                PaymentRef("o1-2", "cs_b", "pi_cs_b", 1500),
            )
        ),
    ]
    assert log.order.all_in
    # Every share is in: the deadline no longer voids while captures run.
    assert log.do(CheckDeadline(), now=DEADLINE + 1) == []
    log.do(paid("cs_a", "o1-1"))
    assert log.do(auth("cs_a", "o1-1")) == []  # a late duplicate after the capture
    assert log.do(paid("cs_b", "o1-2"))[-1] == OrderPaid("o1")
    assert log.order.status == "paid"


def test_all_or_nothing_share_paid_directly_completes_the_set() -> None:
    log = Log(aon=True)
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.do(OpenCheckout("o1-2", "cs_b"))
    log.do(auth("cs_a", "o1-1"))
    events = log.do(paid("cs_b", "o1-2"))
    assert events[-1] == CaptureDue((PaymentRef("o1-1", "cs_a", "pi_cs_a", 1500),))


def test_all_or_nothing_failure_keeps_the_holds_for_a_retry_or_the_groups_choice() -> None:
    log = Log(aon=True)
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.do(OpenCheckout("o1-2", "cs_b"))
    log.do(auth("cs_a", "o1-1"))
    # a payment that fails before it is authorized does not void the order: the payer may try
    # again, or the group decides (ResolveHoldout, tests/checkout_bridge/test_holdout.py)
    events = log.do(PaymentFailed("cs_b", "card_declined"))
    assert events == [ShareFailed("o1-2", "cs_b", "card_declined")]
    assert log.order.status == "collecting"
    assert [s.status for s in log.order.shares] == ["authorized", "failed"]
    # ... until the deadline, which voids the held authorization
    events = log.do(CheckDeadline(), now=DEADLINE)
    assert events == [
        OrderVoided("deadline_passed", (PaymentRef("o1-1", "cs_a", "pi_cs_a", 1500),), (), ())
    ]
    assert [s.status for s in log.order.shares] == ["canceled", "failed"]
    # A late authorization for the void order is voided at once.
    ref = PaymentRef("o1-2", "cs_b", "pi_cs_b", 1500)
    assert log.do(auth("cs_b", "o1-2")) == [CompensationDue("void", ref)]
    assert log.do(auth("cs_b", "o1-2")) == []


def test_all_or_nothing_capture_failure_voids() -> None:
    log = Log(aon=True)
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.do(OpenCheckout("o1-2", "cs_b"))
    log.do(auth("cs_a", "o1-1"))
    log.do(auth("cs_b", "o1-2"))
    log.do(paid("cs_a", "o1-1"))
    events = log.do(PaymentFailed("cs_b", "authorization_expired"))
    assert events[-1] == OrderVoided(
        "share_failed", (), (PaymentRef("o1-1", "cs_a", "pi_cs_a", 1500),), ()
    )


def test_all_or_nothing_deadline_voids_authorizations() -> None:
    log = Log(aon=True)
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.do(auth("cs_a", "o1-1"))
    events = log.do(CheckDeadline(), now=DEADLINE)
    assert events == [
        OrderVoided("deadline_passed", (PaymentRef("o1-1", "cs_a", "pi_cs_a", 1500),), (), ())
    ]


def test_all_or_nothing_second_session_for_a_share() -> None:
    log = Log(aon=True)
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.do(SessionExpired("cs_a"))
    log.do(OpenCheckout("o1-1", "cs_b"))
    log.do(auth("cs_b", "o1-1"))
    # The expired session was authorized after all: one hold too many.
    assert log.do(auth("cs_a", "o1-1")) == [
        CompensationDue("void", PaymentRef("o1-1", "cs_a", "pi_cs_a", 1500))
    ]
    # The first session is captured directly: keep it, release the other hold.
    assert log.do(paid("cs_a", "o1-1")) == []  # it is being compensated already
    log.do(OpenCheckout("o1-2", "cs_c"))
    events = log.do(paid("cs_c", "o1-2"))
    assert events[-1] == CaptureDue((PaymentRef("o1-1", "cs_b", "pi_cs_b", 1500),))


def test_paid_after_authorization_on_a_different_session() -> None:
    log = Log(aon=True)
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.do(SessionExpired("cs_a"))
    log.do(OpenCheckout("o1-1", "cs_b"))
    log.do(auth("cs_b", "o1-1"))
    events = log.do(paid("cs_a", "o1-1"))
    assert events == [
        SharePaid("o1-1", "cs_a", "pi_cs_a", 1500),
        CompensationDue("void", PaymentRef("o1-1", "cs_b", "pi_cs_b", 1500)),
    ]


def test_expired_failure_on_current_session() -> None:
    log = Log()
    log.do(OpenCheckout("o1-1", "cs_a"))
    log.do(SessionExpired("cs_a"))
    assert log.do(PaymentFailed("cs_a", "async_failed")) == [
        ShareFailed("o1-1", "cs_a", "async_failed")
    ]


def test_replay_needs_an_opening_event() -> None:
    with pytest.raises(OrderError) as exc:
        Order.replay([OrderPaid("o1")])
    assert exc.value.code == "invalid_order"
    with pytest.raises(OrderError):
        Order.replay([])
    log = Log()
    assert log.order.apply(log.events[0]) == log.order


@pytest.mark.parametrize(
    "data",
    [
        {"type": "Nope"},
        {"type": "OrderPaid"},
        {"type": "OrderPaid", "order_id": 5},
        {
            "type": "SharePaid",
            "share_id": "s",
            "session_id": "c",
            "payment_id": 1,
            "amount_minor": 1,
        },
        {"type": "ShareRefunded", "share_id": "s", "refund_id": "r", "amount_minor": True},
        {"type": "CompensationDue", "action": "keep", "payment": None},
        {"type": "CompensationDue", "action": "void", "payment": []},
        {"type": "CaptureDue", "captures": {}},
    ],
)
def test_event_from_dict_refuses_malformed(data: dict[str, object]) -> None:
    with pytest.raises(OrderError) as exc:
        event_from_dict(data)
    assert exc.value.code == "event_malformed"


_facts = st.sampled_from(
    [
        OpenCheckout("o1-1", "cs_a"),
        OpenCheckout("o1-1", "cs_b"),
        OpenCheckout("o1-2", "cs_c"),
        CancelCheckout("o1-1"),
        SessionExpired("cs_a"),
        SessionExpired("cs_b"),
        SessionExpired("cs_c"),
        PaymentFailed("cs_a"),
        PaymentFailed("cs_c"),
        paid("cs_a", "o1-1"),
        paid("cs_b", "o1-1"),
        paid("cs_c", "o1-2"),
        auth("cs_a", "o1-1"),
        auth("cs_b", "o1-1"),
        auth("cs_c", "o1-2"),
        Refunded("cs_a", "re_1", 700, "EUR"),
        Refunded("cs_b", "re_2", 1500, "EUR"),
        CheckDeadline(),
        CancelOrder(),
    ]
)


@settings(max_examples=150, deadline=None)
@given(aon=st.booleans(), inputs=st.lists(st.tuples(_facts, st.booleans()), max_size=14))
def test_money_that_moved_is_never_forgotten(
    aon: bool, inputs: list[tuple[OrderInput, bool]]
) -> None:
    log = Log(aon=aon)
    for command, late in inputs:
        try:
            log.do(command, now=DEADLINE if late else NOW)
        except OrderError:
            continue
    order = log.order
    for share in order.shares:
        assert share.refunded_minor <= share.paid_minor
        if share.paid_session_id is not None:
            assert share.status in {"paid", "refunded", "partially_refunded"}
    if order.status == "paid":
        assert order.unpaid_payers == ()
    # Replaying the events rebuilds the same order (checked in Log.do) and the
    # paid total never exceeds what the shares owe.
    assert order.paid_minor <= order.total_minor


def test_facts_without_payment_id_round_trip() -> None:
    log = Log()
    log.do(OpenCheckout("o1-1", "cs_a"))
    assert log.do(SessionCompleted("cs_a", 1500, "EUR", "o1-1")) == [
        SharePaid("o1-1", "cs_a", None, 1500)
    ]
