"""Holdout recovery in the order core: the group covers, re-splits or drops a share nobody paid.

Examples first, then a property test: Hypothesis drives an order through random payments,
failures, expiries, re-plans, deadlines and cancellations against a model of the provider's
ledger (what each session charged or holds), delivering every effect the order asks for. After
every step: the live shares sum to the order's total (the planned total minus dropped lines); no
share keeps more than its amount and a released share keeps nothing (nobody is charged twice);
a paid order kept exactly its total, every share paid or released; a void order kept nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import event as note
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from checkout_bridge.errors import OrderError
from checkout_bridge.orders import (
    HOLDOUT_CHOICES,
    Authorized,
    CancelOrder,
    CaptureDue,
    CheckDeadline,
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
    ResolveHoldout,
    SessionCompleted,
    SessionExpired,
    ShareSpec,
    SharesReplanned,
    event_from_dict,
    event_to_dict,
)
from checkout_bridge.splits import PaymentMode, split_amount

NOW = 1_000
DEADLINE = 5_000


def _opened(
    amounts: tuple[int, ...], mode: PaymentMode = "own_lines", aon: bool = False
) -> OrderOpened:
    payers = ("host", "bea", "cal", "dan")[: len(amounts)]
    return OrderOpened(
        "o1", "r1", "digest", 1, "EUR", mode, aon, DEADLINE, NOW,
        tuple(
            ShareSpec(f"o1-{n}", payer, amount, (f"l{n}",) if mode == "own_lines" else ("l1",))
            for n, (payer, amount) in enumerate(zip(payers, amounts, strict=True), 1)
        ),
    )  # fmt: skip


class Run:
    def __init__(self, opened: OrderOpened) -> None:
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

    def refused(self, command: OrderInput, code: str) -> None:
        before = self.order
        with pytest.raises(OrderError) as info:
            self.order.decide(command, now=NOW)
        assert info.value.code == code
        assert self.order == before


def _paid(session: str, share: str, amount: int) -> SessionCompleted:
    return SessionCompleted(session, amount, "EUR", share, f"pi_{session}")


def test_the_others_re_split_a_failed_share_of_an_all_or_nothing_order() -> None:
    run = Run(_opened((1000, 1001, 999), aon=True))
    for n, session in ((1, "a"), (2, "b"), (3, "c")):
        run.do(OpenCheckout(f"o1-{n}", session))
    run.do(Authorized("a", 1000, "EUR", "o1-1", "pi_a"))
    run.do(Authorized("c", 999, "EUR", "o1-3", "pi_c"))
    run.do(PaymentFailed("b", "card_declined"))
    assert run.order.status == "collecting"  # the holds stay while the group decides
    assert [s.payer for s in run.order.holdouts()] == ["bea"]
    (replanned,) = run.do(ResolveHoldout("o1-2", "split_others", "host"))
    assert replanned == SharesReplanned(
        "o1-2",
        "split_others",
        (ShareSpec("o1-4", "host", 501, ("l2",)), ShareSpec("o1-5", "cal", 500, ("l2",))),
        (),
        None,
    )
    assert run.order.share("o1-2").status == "released"
    assert run.order.total_minor == 3000 and run.order.dropped_minor == 0
    assert [s.status for s in run.order.shares if s.payer == "host"] == ["authorized", "pending"]
    run.do(OpenCheckout("o1-4", "d"))
    run.do(OpenCheckout("o1-5", "e"))
    run.do(Authorized("d", 501, "EUR", "o1-4", "pi_d"))
    events = run.do(Authorized("e", 500, "EUR", "o1-5", "pi_e"))
    assert isinstance(events[-1], CaptureDue)
    assert {ref.session_id for ref in events[-1].captures} == {"a", "c", "d", "e"}
    for session, share, amount in (("a", 1, 1000), ("c", 3, 999), ("d", 4, 501)):
        run.do(_paid(session, f"o1-{share}", amount))
    assert run.do(_paid("e", "o1-5", 500))[-1] == OrderPaid("o1")
    assert [s.status for s in run.order.shares if s.payer == "host"] == ["paid", "paid"]
    assert run.order.paid_minor == 3000


def test_the_host_covers_a_share_whose_page_is_open_and_a_late_payment_is_sent_back() -> None:
    run = Run(_opened((1000, 2000)))
    run.do(OpenCheckout("o1-1", "a"))
    run.do(_paid("a", "o1-1", 1000))
    run.do(OpenCheckout("o1-2", "b"))
    (replanned,) = run.do(ResolveHoldout("o1-2", "host_covers", "host"))
    assert isinstance(replanned, SharesReplanned) and replanned.expire_session == "b"
    assert replanned.added == (ShareSpec("o1-3", "host", 2000, ("l2",)),)
    # Bea pays on the page she still had open: the money goes back, she is not charged
    late = run.do(_paid("b", "o1-2", 2000))
    assert late == [CompensationDue("refund", PaymentRef("o1-2", "b", "pi_b", 2000))]
    assert run.do(_paid("b", "o1-2", 2000)) == []  # told twice: sent back once
    run.refused(OpenCheckout("o1-2", "b2"), "share_not_retryable")
    assert run.do(PaymentFailed("b", "late")) == []
    assert run.do(SessionExpired("b")) == []
    run.do(OpenCheckout("o1-3", "c"))
    assert run.do(_paid("c", "o1-3", 2000))[-1] == OrderPaid("o1")
    assert [s.status for s in run.order.shares] == ["paid", "released", "paid"]


def test_drop_lines_leaves_the_holdouts_lines_out_and_can_complete_the_order() -> None:
    run = Run(_opened((1000, 2000, 500)))
    run.do(OpenCheckout("o1-1", "a"))
    run.do(_paid("a", "o1-1", 1000))
    run.do(OpenCheckout("o1-3", "c"))
    run.do(_paid("c", "o1-3", 500))
    events = run.do(ResolveHoldout("o1-2", "drop_lines", "host"))
    assert events == [
        SharesReplanned("o1-2", "drop_lines", (), ("l2",), None),
        OrderPaid("o1"),
    ]
    assert run.order.total_minor == 1500 and run.order.dropped_minor == 2000
    assert run.order.dropped_line_ids == ("l2",)


def test_what_cannot_be_resolved_is_refused_with_a_code() -> None:
    run = Run(_opened((1000, 2000)))
    run.refused(ResolveHoldout("o1-1", "host_covers", "host"), "holdout_is_host")
    run.refused(ResolveHoldout("o1-9", "host_covers", "host"), "unknown_share")
    run.refused(ResolveHoldout("o1-2", "bogus", "host"), "unknown_choice")  # type: ignore[arg-type]  # a bad choice on purpose
    run.do(OpenCheckout("o1-1", "a"))
    run.do(_paid("a", "o1-1", 1000))
    run.refused(ResolveHoldout("o1-1", "split_others", "host"), "share_not_holdout")
    run.do(ResolveHoldout("o1-2", "split_others", "host"))
    run.refused(ResolveHoldout("o1-2", "host_covers", "host"), "share_not_holdout")
    alone = Run(_opened((1000,)))
    alone.refused(ResolveHoldout("o1-1", "split_others", "zed"), "no_one_to_split")
    alone.refused(ResolveHoldout("o1-1", "drop_lines", "zed"), "nothing_left")
    split = Run(_opened((1000, 1000), mode="equal_split"))
    split.refused(ResolveHoldout("o1-2", "drop_lines", "host"), "lines_not_separable")
    split.do(CancelOrder())
    split.refused(ResolveHoldout("o1-2", "split_others", "host"), "order_closed")
    assert split.order.holdouts() == ()


def test_a_split_smaller_than_its_payers_skips_empty_shares() -> None:
    assert split_amount(1, 3) == (1, 0, 0)
    run = Run(_opened((1, 1, 1)))
    (replanned,) = run.do(ResolveHoldout("o1-3", "split_others", "host"))
    assert isinstance(replanned, SharesReplanned)
    assert [(s.payer, s.amount_minor) for s in replanned.added] == [("host", 1)]
    assert run.order.total_minor == 3


# ---------------------------------------------------------------- the property test


@dataclass
class Provider:
    """What the payment provider did: money charged and held per session (minor units)."""

    charged: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)  # session -> open|done|expired|failed


class HoldoutMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.run: Run | None = None
        self.provider = Provider()
        self.planned = 0
        self.sessions = 0
        self.now = NOW
        self.pending_expiries: list[str] = []
        self.session_share: dict[str, str] = {}

    # ---- the world ---------------------------------------------------------------------
    def feed(self, command: OrderInput) -> None:
        assert self.run is not None
        try:
            events = self.run.do(command, now=self.now)
        except OrderError:
            return
        self.effects(events)

    def effects(self, events: list[OrderEvent]) -> None:
        """Deliver what the order asks of the provider (the outbox, at once)."""
        provider = self.provider
        for event in events:
            match event:
                case CompensationDue(action="refund", payment=ref):
                    provider.charged[ref.session_id] = 0
                case CompensationDue(action="void", payment=ref):
                    provider.held.pop(ref.session_id, None)
                case OrderVoided():
                    for ref in event.voids:
                        provider.held.pop(ref.session_id, None)
                    for ref in event.refunds:
                        provider.charged[ref.session_id] -= ref.amount_minor
                    self.pending_expiries.extend(event.expire_sessions)
                case SharesReplanned(expire_session=session) if session is not None:
                    self.pending_expiries.append(session)
                case CaptureDue():
                    for ref in event.captures:
                        amount = provider.held.pop(ref.session_id, 0)
                        if amount:
                            provider.charged[ref.session_id] = amount
                            provider.state[ref.session_id] = "done"
                            self.feed(_paid(ref.session_id, ref.share_id, amount))
                case _:
                    pass

    @initialize(
        amounts=st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=4),
        mode=st.sampled_from(["own_lines", "equal_split", "host_pays"]),
        aon=st.booleans(),
    )
    def open_order(self, amounts: list[int], mode: PaymentMode, aon: bool) -> None:
        opened = _opened(tuple(amounts), mode, aon)
        self.run = Run(opened)
        self.planned = sum(amounts)

    @rule(k=st.integers(min_value=0, max_value=9))
    def open_session(self, k: int) -> None:
        if self.run is None:
            return
        # mostly a share still to pay (a payer going to their page), sometimes any share
        shares = (k % 3 and self.run.order.holdouts()) or self.run.order.shares
        share = shares[k % len(shares)]
        self.sessions += 1
        session = f"s{self.sessions}"
        before = self.run.order
        self.feed(OpenCheckout(share.share_id, session))
        if self.run.order is not before:
            self.provider.state[session] = "open"
            self.session_share[session] = share.share_id

    @rule(
        k=st.integers(min_value=0, max_value=50),
        outcome=st.sampled_from(["pay", "pay", "pay", "fail", "expire"]),
    )
    def provider_says(self, k: int, outcome: str) -> None:
        if self.run is None:
            return
        open_ = [s for s, state in self.provider.state.items() if state == "open"]
        if not open_:
            return
        session = open_[k % len(open_)]
        share = self.run.order.share(self.session_share[session])
        provider = self.provider
        if outcome == "pay":
            provider.state[session] = "done"
            if self.run.order.all_or_nothing:
                provider.held[session] = share.amount_minor
                self.feed(
                    Authorized(session, share.amount_minor, "EUR", share.share_id, f"pi_{session}")
                )
            else:
                provider.charged[session] = share.amount_minor
                self.feed(_paid(session, share.share_id, share.amount_minor))
        elif outcome == "fail":
            provider.state[session] = "failed"
            self.feed(PaymentFailed(session, "card_declined"))
        else:
            provider.state[session] = "expired"
            self.feed(SessionExpired(session))

    @rule(k=st.integers(min_value=0, max_value=9), choice=st.sampled_from(HOLDOUT_CHOICES))
    def resolve(self, k: int, choice: str) -> None:
        if self.run is None:
            return
        shares = self.run.order.shares
        self.feed(ResolveHoldout(shares[k % len(shares)].share_id, choice, "host"))  # type: ignore[arg-type]  # sampled from HOLDOUT_CHOICES

    @rule()
    def expire_pages(self) -> None:
        """The server's expire calls reach the provider (an open page can be paid until then)."""
        for session in self.pending_expiries:
            if self.provider.state.get(session) == "open":
                self.provider.state[session] = "expired"
                self.feed(SessionExpired(session))
        self.pending_expiries = []

    @rule(tick=st.integers(min_value=0, max_value=29))
    def time_passes(self, tick: int) -> None:
        self.now = DEADLINE if tick == 0 else self.now + 10  # the deadline, now and then
        self.feed(CheckDeadline())

    @rule(whim=st.integers(min_value=0, max_value=29))
    def host_cancels(self, whim: int) -> None:
        if whim == 0:  # rarely: a group mostly sees its order through
            self.feed(CancelOrder("canceled_by_host"))

    # ---- what must always hold -----------------------------------------------------------
    def kept(self, share_id: str) -> int:
        return sum(
            self.provider.charged.get(s, 0)
            for s, sh in self.session_share.items()
            if sh == share_id
        )

    @invariant()
    def the_charges_sum_to_the_total(self) -> None:
        if self.run is None:
            return
        order = self.run.order
        assert order.total_minor + order.dropped_minor == self.planned
        assert sum(s.amount_minor for s in order.live_shares) == order.total_minor

    @invariant()
    def nobody_is_charged_twice(self) -> None:
        if self.run is None:
            return
        for share in self.run.order.shares:
            kept = self.kept(share.share_id)
            charged = [
                s
                for s, sh in self.session_share.items()
                if sh == share.share_id and self.provider.charged.get(s, 0)
            ]
            assert len(charged) <= 1, share
            if share.status == "released":
                assert kept == 0, share
            else:
                assert kept <= share.amount_minor, share

    @invariant()
    def every_share_is_settled_or_released_when_the_order_ends(self) -> None:
        if self.run is None:
            return
        order = self.run.order
        total_kept = sum(self.provider.charged.values())
        released = any(s.status == "released" for s in order.shares)
        note(f"{order.status}{' after a re-plan' if released else ''}")
        if order.status == "paid":
            # every live share paid exactly its amount, every released one nothing
            for share in order.shares:
                want = 0 if share.status == "released" else share.amount_minor
                assert share.status in ("paid", "released") and self.kept(share.share_id) == want
            assert total_kept == order.total_minor
            assert not self.provider.held
        elif order.status == "void":
            # settled by giving everything back: no money kept, no hold left
            assert total_kept == 0
            assert not self.provider.held


TestHoldoutMachine = HoldoutMachine.TestCase
TestHoldoutMachine.settings = settings(max_examples=600, stateful_step_count=40, deadline=None)
