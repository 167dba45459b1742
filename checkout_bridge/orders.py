"""The order state machine: shares, provider facts, deadline; decide/apply like the room core.

``Order.decide(input, now=...)`` validates a command (from the server) or a fact (from a verified
webhook or a provider re-fetch) and returns past-tense events, or raises :class:`OrderError` and
changes nothing. ``Order.apply(event)`` returns the next order and never fails, so
``Order.replay(events)`` rebuilds an order from its stored events.

Share states::

    pending ─open─▶ checkout_open ─expired─▶ expired ─open─▶ checkout_open …
                         │  ├─failed──▶ failed   (retry with a new session; all-or-nothing: void)
                         │  ├─cancel──▶ canceled (retry allowed)
                         │  └─authorized─▶ authorized (all-or-nothing only) ─captured─▶ paid
                         └─completed─▶ paid ─refund─▶ partially_refunded ─refund─▶ refunded

A share whose payer fails, lets the page expire or drags their feet (a *holdout*) can be
released by the group (``ResolveHoldout``): the host covers it, the other payers re-split it, or
— when each share is its payer's own lines — the holdout's lines are dropped. The released share
is never charged (money that still reaches it is sent back, rule 2) and new shares for the same
amount are appended (``SharesReplanned``); the live shares always sum to the order's total
(the planned total minus dropped lines).

Order states: ``collecting`` → ``paid`` (every live share paid) | ``void`` (an authorized
all-or-nothing share failed to capture, the deadline passed before every share was in, or the
host canceled). An all-or-nothing share that fails *before* authorizing does not void the order:
its payer may retry, or the group resolves it, until the deadline.

Rules (the provider is the authority on money):

1. A completed payment is never undone: ``expired`` or ``failed`` after ``completed`` is a no-op,
   and ``completed`` after ``expired``/``failed``/``canceled`` is reconciled as paid.
2. Money that moved where it should not (a second session paid for one share, a payment or an
   authorization arriving after the order was voided) is recorded and answered with a
   ``CompensationDue`` event: the server refunds or voids it.
3. Amount, currency and reference are checked against the share; a mismatch is refused with a
   code and nothing is fulfilled. Duplicate facts are no-ops (no events).
4. When the order is voided, the ``OrderVoided`` event lists the authorizations to void, the
   payments to refund and the sessions to expire at the provider.

Pure: no I/O, no clock (``now`` is a parameter), no randomness (ids are parameters).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import (
    Any,
    Literal,
    Union,
    assert_never,
    get_args,
)

from checkout_bridge.errors import CheckoutError, OrderError
from checkout_bridge.money import normalize_currency
from checkout_bridge.pricing import CartSnapshot
from checkout_bridge.splits import PaymentMode, compute_shares, split_amount
from rooms.jsoncodec import DecodeError, from_tagged, to_tagged

__all__ = [
    "HOLDOUT_CHOICES",
    "Authorized",
    "CancelCheckout",
    "CancelOrder",
    "CaptureDue",
    "CheckDeadline",
    "CheckoutCanceled",
    "CheckoutOpened",
    "CompensationDue",
    "HoldoutChoice",
    "OpenCheckout",
    "Order",
    "OrderEvent",
    "OrderInput",
    "OrderOpened",
    "OrderPaid",
    "OrderStatus",
    "OrderVoided",
    "PaymentFailed",
    "PaymentRef",
    "Refunded",
    "ResolveHoldout",
    "SessionCompleted",
    "SessionExpired",
    "ShareAuthorized",
    "ShareExpired",
    "ShareFailed",
    "SharePaid",
    "ShareRefunded",
    "ShareSpec",
    "ShareState",
    "ShareStatus",
    "SharesReplanned",
    "event_from_dict",
    "event_to_dict",
    "plan_order",
]

ShareStatus = Literal[
    "pending", "checkout_open", "authorized", "paid", "failed", "expired", "canceled",
    "refunded", "partially_refunded", "released",
]  # fmt: skip
OrderStatus = Literal["collecting", "paid", "void"]
HoldoutChoice = Literal["host_covers", "split_others", "drop_lines"]
HOLDOUT_CHOICES: tuple[HoldoutChoice, ...] = get_args(HoldoutChoice)

_RETRYABLE = frozenset({"pending", "expired", "failed", "canceled"})
_MONEY_MOVED = frozenset({"paid", "refunded", "partially_refunded"})
_IN = _MONEY_MOVED | {"authorized"}


# ---------------------------------------------------------------- inputs: commands and facts


@dataclass(frozen=True, slots=True)
class OpenCheckout:
    """Command: the server created provider session ``session_id`` for a share."""

    share_id: str
    session_id: str


@dataclass(frozen=True, slots=True)
class CancelCheckout:
    """Command: the payer abandoned their open session (the server expires it)."""

    share_id: str


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Command: the host gives up on the order."""

    reason: str = "canceled"


@dataclass(frozen=True, slots=True)
class CheckDeadline:
    """Command: a timer tick; voids the order if the deadline passed before every share was in."""


@dataclass(frozen=True, slots=True)
class ResolveHoldout:
    """Command: the group's choice for a share that is not in (its payer failed, let the page
    expire or has not paid): ``host`` (the room's host) covers it, the other payers split it,
    or its lines are dropped from the order."""

    share_id: str
    choice: HoldoutChoice
    host: str


@dataclass(frozen=True, slots=True)
class SessionCompleted:
    """Fact: the provider says the session's money moved (paid, or an authorization captured)."""

    session_id: str
    amount_minor: int
    currency: str
    reference: str
    payment_id: str | None = None


@dataclass(frozen=True, slots=True)
class Authorized:
    """Fact: the session's payment is authorized, to be captured later (all-or-nothing)."""

    session_id: str
    amount_minor: int
    currency: str
    reference: str
    payment_id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionExpired:
    """Fact: the provider confirmed the session expired unpaid."""

    session_id: str


@dataclass(frozen=True, slots=True)
class PaymentFailed:
    """Fact: the session's payment (or capture of its authorization) failed."""

    session_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Refunded:
    """Fact: the provider refunded ``amount_minor`` of the session's payment."""

    session_id: str
    refund_id: str
    amount_minor: int
    currency: str


OrderInput = Union[  # noqa: UP007  # a runtime alias; kept as Union for Python 3.11 readers
    OpenCheckout, CancelCheckout, CancelOrder, CheckDeadline, ResolveHoldout,
    SessionCompleted, Authorized, SessionExpired, PaymentFailed, Refunded,
]  # fmt: skip


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class ShareSpec:
    """One share as the order was opened with it. ``share_id`` is the provider reference."""

    share_id: str
    payer: str
    amount_minor: int
    line_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PaymentRef:
    """A provider payment the server must act on (void, refund, capture)."""

    share_id: str
    session_id: str
    payment_id: str | None
    amount_minor: int


@dataclass(frozen=True, slots=True)
class OrderOpened:
    order_id: str
    room_id: str
    snapshot_digest: str
    snapshot_version: int
    currency: str
    mode: PaymentMode
    all_or_nothing: bool
    deadline: int
    opened_at: int
    shares: tuple[ShareSpec, ...]


@dataclass(frozen=True, slots=True)
class CheckoutOpened:
    share_id: str
    session_id: str


@dataclass(frozen=True, slots=True)
class CheckoutCanceled:
    share_id: str
    session_id: str


@dataclass(frozen=True, slots=True)
class ShareExpired:
    share_id: str
    session_id: str


@dataclass(frozen=True, slots=True)
class ShareFailed:
    share_id: str
    session_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ShareAuthorized:
    share_id: str
    session_id: str
    payment_id: str | None


@dataclass(frozen=True, slots=True)
class SharePaid:
    share_id: str
    session_id: str
    payment_id: str | None
    amount_minor: int


@dataclass(frozen=True, slots=True)
class ShareRefunded:
    share_id: str
    refund_id: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class CaptureDue:
    """Every all-or-nothing share is in: the server captures these authorizations."""

    captures: tuple[PaymentRef, ...]


@dataclass(frozen=True, slots=True)
class SharesReplanned:
    """A holdout's share is released and ``added`` shares take over its amount (none when its
    lines are dropped: ``dropped_line_ids``). ``expire_session``: the released share's open
    payment page, which the server expires."""

    share_id: str
    choice: HoldoutChoice
    added: tuple[ShareSpec, ...]
    dropped_line_ids: tuple[str, ...]
    expire_session: str | None


@dataclass(frozen=True, slots=True)
class OrderPaid:
    order_id: str


@dataclass(frozen=True, slots=True)
class OrderVoided:
    reason: str  # "share_failed" | "deadline_passed" | the CancelOrder reason
    voids: tuple[PaymentRef, ...]
    refunds: tuple[PaymentRef, ...]
    expire_sessions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CompensationDue:
    """Money moved that must go back: refund a payment or void an authorization."""

    action: Literal["refund", "void"]
    payment: PaymentRef


OrderEvent = Union[  # noqa: UP007  # a runtime alias; kept as Union for Python 3.11 readers
    OrderOpened, CheckoutOpened, CheckoutCanceled, ShareExpired, ShareFailed, ShareAuthorized,
    SharePaid, ShareRefunded, CaptureDue, OrderPaid, OrderVoided, CompensationDue,
    SharesReplanned,
]  # fmt: skip


# ---------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class ShareState:
    """One payer's share and where its payment stands."""

    share_id: str
    payer: str
    amount_minor: int
    line_ids: tuple[str, ...]
    status: ShareStatus = "pending"
    session_id: str | None = None  # the latest session opened for this share
    sessions: tuple[str, ...] = ()  # every session ever opened for it
    authorized_session_id: str | None = None
    paid_session_id: str | None = None
    payment_id: str | None = None
    paid_minor: int = 0
    refunded_minor: int = 0
    refund_ids: tuple[str, ...] = ()
    failure_reason: str | None = None
    compensated_sessions: tuple[str, ...] = ()  # sessions whose money is being sent back

    def ref(self, session_id: str, amount_minor: int | None = None) -> PaymentRef:
        amount = self.amount_minor if amount_minor is None else amount_minor
        return PaymentRef(self.share_id, session_id, self.payment_id, amount)


@dataclass(frozen=True, slots=True)
class Order:
    """An order built from one cart snapshot; see the module docstring for its rules."""

    order_id: str
    room_id: str
    snapshot_digest: str
    snapshot_version: int
    currency: str
    mode: PaymentMode
    all_or_nothing: bool
    deadline: int
    opened_at: int
    shares: tuple[ShareState, ...]
    status: OrderStatus = "collecting"
    void_reason: str | None = None
    dropped_line_ids: tuple[str, ...] = ()  # lines a holdout's share paid for, left out
    dropped_minor: int = 0
    _sessions: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------ construction and views

    @classmethod
    def opened(cls, event: OrderOpened) -> Order:
        shares = tuple(
            ShareState(s.share_id, s.payer, s.amount_minor, s.line_ids) for s in event.shares
        )
        return cls(
            order_id=event.order_id,
            room_id=event.room_id,
            snapshot_digest=event.snapshot_digest,
            snapshot_version=event.snapshot_version,
            currency=event.currency,
            mode=event.mode,
            all_or_nothing=event.all_or_nothing,
            deadline=event.deadline,
            opened_at=event.opened_at,
            shares=shares,
        )

    @classmethod
    def replay(cls, events: Iterable[OrderEvent]) -> Order:
        """Rebuild an order from its events; the first must be :class:`OrderOpened`."""
        stream = iter(events)
        first = next(stream, None)
        if not isinstance(first, OrderOpened):
            raise OrderError("invalid_order", "an order's events start with OrderOpened")
        order = cls.opened(first)
        for event in stream:
            order = order.apply(event)
        return order

    @property
    def live_shares(self) -> tuple[ShareState, ...]:
        """The shares to be paid: every share but those released by a holdout's resolution."""
        return tuple(s for s in self.shares if s.status != "released")

    @property
    def total_minor(self) -> int:
        """What the order charges: its live shares (the planned total minus dropped lines)."""
        return sum(s.amount_minor for s in self.live_shares)

    @property
    def paid_minor(self) -> int:
        return sum(s.paid_minor - s.refunded_minor for s in self.shares)

    @property
    def all_in(self) -> bool:
        """Every live share is paid or (all-or-nothing) authorized."""
        return all(s.status in _IN for s in self.live_shares)

    @property
    def paid_payers(self) -> tuple[str, ...]:
        return tuple(s.payer for s in self.shares if s.status in _MONEY_MOVED)

    @property
    def unpaid_payers(self) -> tuple[str, ...]:
        return tuple(s.payer for s in self.live_shares if s.status not in _MONEY_MOVED)

    def holdouts(self) -> tuple[ShareState, ...]:
        """Live shares that are not in: what the group may resolve (while collecting)."""
        if self.status != "collecting":
            return ()
        return tuple(s for s in self.live_shares if s.status not in _IN)

    def share(self, share_id: str) -> ShareState:
        for s in self.shares:
            if s.share_id == share_id:
                return s
        raise OrderError("unknown_share", f"no share {share_id!r} in this order")

    def share_for_session(self, session_id: str) -> ShareState:
        share_id = self._sessions.get(session_id)
        if share_id is None:
            raise OrderError("unknown_session", "no share of this order opened that session")
        return self.share(share_id)

    # ------------------------------------------------------------ decide

    def decide(self, command: OrderInput, *, now: int) -> list[OrderEvent]:
        """Validate ``command`` at time ``now``; return its events or raise :class:`OrderError`."""
        match command:
            case OpenCheckout():
                primary = self._open(command, now)
            case CancelCheckout():
                self._require_collecting()
                share = self.share(command.share_id)
                if share.status != "checkout_open" or share.session_id is None:
                    raise OrderError("share_not_open", "the share has no open checkout")
                primary = [CheckoutCanceled(share.share_id, share.session_id)]
            case CancelOrder():
                self._require_collecting()
                return [self._void(self, command.reason)]
            case CheckDeadline():
                if self.status != "collecting" or now < self.deadline or self.all_in:
                    return []
                return [self._void(self, "deadline_passed")]
            case ResolveHoldout():
                primary = [self._replan(command)]
            case SessionCompleted():
                primary = self._completed(command)
            case Authorized():
                primary = self._authorized(command)
            case SessionExpired():
                share = self.share_for_session(command.session_id)
                if share.status != "checkout_open" or share.session_id != command.session_id:
                    return []  # out of order or an older session: nothing to undo
                primary = [ShareExpired(share.share_id, command.session_id)]
            case PaymentFailed():
                primary = self._failed(command)
            case Refunded():
                primary = self._refunded(command)
            case _:
                assert_never(command)
        return primary + self._follow_ups(primary)

    def _replan(self, command: ResolveHoldout) -> SharesReplanned:
        """Release a holdout's share and say who takes its amount over (see the module doc)."""
        self._require_collecting()
        share = self.share(command.share_id)
        if share.status in _IN or share.status == "released":
            raise OrderError("share_not_holdout", f"the share is {share.status}: nothing to do")
        others = tuple(
            dict.fromkeys(
                s.payer for s in self.live_shares if s.share_id != share.share_id
            )  # each other payer once, in share order
        )
        amount = share.amount_minor
        payers: tuple[tuple[str, int], ...]
        match command.choice:
            case "host_covers":
                if not command.host or command.host == share.payer:
                    raise OrderError("holdout_is_host", "the host cannot cover their own share")
                payers = ((command.host, amount),)
            case "split_others":
                others = tuple(p for p in others if p != share.payer)
                if not others:
                    raise OrderError("no_one_to_split", "nobody else pays in this order")
                payers = tuple(zip(others, split_amount(amount, len(others)), strict=True))
            case "drop_lines":
                if self.mode != "own_lines" or not share.line_ids:
                    raise OrderError(
                        "lines_not_separable", "this share is not one payer's own lines"
                    )
                if not others:
                    raise OrderError("nothing_left", "dropping these lines leaves nothing to pay")
                payers = ()
            case _:
                raise OrderError("unknown_choice", f"choose one of {', '.join(HOLDOUT_CHOICES)}")
        first = len(self.shares) + 1
        added = tuple(
            ShareSpec(f"{self.order_id}-{first + n}", payer, part, share.line_ids)
            for n, (payer, part) in enumerate(p for p in payers if p[1] > 0)
        )
        dropped = share.line_ids if command.choice == "drop_lines" else ()
        expire = share.session_id if share.status == "checkout_open" else None
        return SharesReplanned(share.share_id, command.choice, added, dropped, expire)

    def _require_collecting(self) -> None:
        if self.status != "collecting":
            raise OrderError("order_closed", f"the order is {self.status}")

    def _open(self, command: OpenCheckout, now: int) -> list[OrderEvent]:
        self._require_collecting()
        if now >= self.deadline:
            raise OrderError("deadline_passed", "the order's payment deadline has passed")
        share = self.share(command.share_id)
        if command.session_id in self._sessions:
            if share.session_id == command.session_id and share.status == "checkout_open":
                return []  # the same session reported twice
            raise OrderError("session_in_use", "that session already belongs to a share")
        if share.status == "checkout_open":
            raise OrderError("checkout_already_open", "the share already has an open checkout")
        if share.status not in _RETRYABLE:
            raise OrderError("share_not_retryable", f"the share is {share.status}")
        return [CheckoutOpened(share.share_id, command.session_id)]

    def _check_money(self, share: ShareState, fact: SessionCompleted | Authorized) -> None:
        if fact.reference != share.share_id:
            raise OrderError("reference_mismatch", "the payment names another share")
        self._check_currency(fact.currency)
        if fact.amount_minor != share.amount_minor or isinstance(fact.amount_minor, bool):
            raise OrderError("amount_mismatch", "the amount paid is not the share's amount")

    def _check_currency(self, currency: str) -> None:
        try:
            same = normalize_currency(currency) == self.currency
        except CheckoutError:
            same = False
        if not same:
            raise OrderError("currency_mismatch", "the payment is in another currency")

    def _completed(self, fact: SessionCompleted) -> list[OrderEvent]:
        share = self.share_for_session(fact.session_id)
        self._check_money(share, fact)
        if (
            fact.session_id in share.compensated_sessions
            or fact.session_id == share.paid_session_id
        ):
            return []  # duplicate
        ref = PaymentRef(share.share_id, fact.session_id, fact.payment_id, fact.amount_minor)
        if share.status in _MONEY_MOVED or share.status == "released":
            # a second session paid for the same share, or a released one was paid after all:
            # its amount is someone else's now — never charge twice
            return [CompensationDue("refund", ref)]
        events: list[OrderEvent] = [
            SharePaid(share.share_id, fact.session_id, fact.payment_id, fact.amount_minor)
        ]
        held = share.authorized_session_id
        if share.status == "authorized" and held is not None and held != fact.session_id:
            events.append(CompensationDue("void", share.ref(held)))
        if self.status == "void":
            events.append(CompensationDue("refund", ref))
        return events

    def _authorized(self, fact: Authorized) -> list[OrderEvent]:
        share = self.share_for_session(fact.session_id)
        self._check_money(share, fact)
        if not self.all_or_nothing:
            raise OrderError("unexpected_authorization", "only all-or-nothing orders authorize")
        if fact.session_id in share.compensated_sessions or fact.session_id in (
            share.authorized_session_id,
            share.paid_session_id,
        ):
            return []  # duplicate, or its capture already arrived
        ref = PaymentRef(share.share_id, fact.session_id, fact.payment_id, fact.amount_minor)
        if share.status in _IN or share.status == "released" or self.status == "void":
            return [CompensationDue("void", ref)]
        return [ShareAuthorized(share.share_id, fact.session_id, fact.payment_id)]

    def _failed(self, fact: PaymentFailed) -> list[OrderEvent]:
        share = self.share_for_session(fact.session_id)
        current = (
            share.status in {"checkout_open", "expired"} and share.session_id == fact.session_id
        ) or (share.status == "authorized" and share.authorized_session_id == fact.session_id)
        if not current:
            return []  # settled, canceled or an older session: a late failure changes nothing
        return [ShareFailed(share.share_id, fact.session_id, fact.reason)]

    def _refunded(self, fact: Refunded) -> list[OrderEvent]:
        share = self.share_for_session(fact.session_id)
        self._check_currency(fact.currency)
        if fact.refund_id in share.refund_ids:
            return []
        if fact.session_id != share.paid_session_id:
            if fact.session_id in share.compensated_sessions:
                return []  # our own compensation coming back; the share is untouched
            raise OrderError("share_not_paid", "that session's payment was not recorded as paid")
        if not isinstance(fact.amount_minor, int) or fact.amount_minor <= 0:
            raise OrderError("invalid_amount", "a refund is a positive integer amount")
        if fact.amount_minor > share.paid_minor - share.refunded_minor:
            raise OrderError("refund_exceeds_paid", "more refunded than was paid")
        return [ShareRefunded(share.share_id, fact.refund_id, fact.amount_minor)]

    def _follow_ups(self, primary: list[OrderEvent]) -> list[OrderEvent]:
        if not primary:
            return []
        after = self
        for event in primary:
            after = after.apply(event)
        if after.status != "collecting":
            return []
        held = any(
            isinstance(e, ShareFailed) and self.share(e.share_id).status == "authorized"
            for e in primary
        )
        if held and self.all_or_nothing:
            # a capture failed while the others were being captured: nothing can be re-planned
            return [self._void(after, "share_failed")]
        if all(s.status in _MONEY_MOVED for s in after.live_shares):
            return [OrderPaid(self.order_id)]
        if self.all_or_nothing and after.all_in and not self.all_in:
            captures = tuple(
                s.ref(s.authorized_session_id)
                for s in after.shares
                if s.status == "authorized" and s.authorized_session_id is not None
            )
            return [CaptureDue(captures)]
        return []

    @staticmethod
    def _void(order: Order, reason: str) -> OrderVoided:
        voids, refunds, expire = [], [], []
        for s in order.shares:
            if s.status == "authorized" and s.authorized_session_id is not None:
                voids.append(s.ref(s.authorized_session_id))
            elif s.status in {"paid", "partially_refunded"} and s.paid_session_id is not None:
                refunds.append(s.ref(s.paid_session_id, s.paid_minor - s.refunded_minor))
            elif s.status == "checkout_open" and s.session_id is not None:
                expire.append(s.session_id)
        return OrderVoided(reason, tuple(voids), tuple(refunds), tuple(expire))

    # ------------------------------------------------------------ apply

    def _with_share(self, share_id: str, **changes: Any) -> Order:
        shares = tuple(replace(s, **changes) if s.share_id == share_id else s for s in self.shares)
        return replace(self, shares=shares)

    def apply(self, event: OrderEvent) -> Order:
        """The order after ``event``; never fails for an event :meth:`decide` produced."""
        match event:
            case OrderOpened():
                return Order.opened(event)
            case CheckoutOpened():
                share = self.share(event.share_id)
                order = self._with_share(
                    event.share_id,
                    status="checkout_open",
                    session_id=event.session_id,
                    sessions=(*share.sessions, event.session_id),
                    failure_reason=None,
                )
                return replace(
                    order, _sessions={**self._sessions, event.session_id: share.share_id}
                )
            case CheckoutCanceled():
                return self._with_share(event.share_id, status="canceled")
            case ShareExpired():
                return self._with_share(event.share_id, status="expired")
            case ShareFailed():
                return self._with_share(
                    event.share_id, status="failed", failure_reason=event.reason
                )
            case ShareAuthorized():
                return self._with_share(
                    event.share_id,
                    status="authorized",
                    authorized_session_id=event.session_id,
                    payment_id=event.payment_id,
                )
            case SharePaid():
                return self._with_share(
                    event.share_id,
                    status="paid",
                    paid_session_id=event.session_id,
                    payment_id=event.payment_id,
                    paid_minor=event.amount_minor,
                )
            case ShareRefunded():
                share = self.share(event.share_id)
                refunded = share.refunded_minor + event.amount_minor
                return self._with_share(
                    event.share_id,
                    refunded_minor=refunded,
                    refund_ids=(*share.refund_ids, event.refund_id),
                    status="refunded" if refunded >= share.paid_minor else "partially_refunded",
                )
            case CaptureDue():
                return self
            case OrderPaid():
                return replace(self, status="paid")
            case OrderVoided():
                shares = tuple(
                    replace(s, status="canceled")
                    if s.status in {"pending", "checkout_open", "expired", "authorized"}
                    else s
                    for s in self.shares
                )
                return replace(self, status="void", void_reason=event.reason, shares=shares)
            case CompensationDue():
                share = self.share(event.payment.share_id)
                return self._with_share(
                    share.share_id,
                    compensated_sessions=(*share.compensated_sessions, event.payment.session_id),
                )
            case SharesReplanned():
                released = self.share(event.share_id)
                order = self._with_share(event.share_id, status="released")
                added = tuple(
                    ShareState(s.share_id, s.payer, s.amount_minor, s.line_ids) for s in event.added
                )
                dropped = released.amount_minor if event.dropped_line_ids else 0
                return replace(
                    order,
                    shares=(*order.shares, *added),
                    dropped_line_ids=(*self.dropped_line_ids, *event.dropped_line_ids),
                    dropped_minor=self.dropped_minor + dropped,
                )
            case _:
                assert_never(event)


def plan_order(
    order_id: str,
    room_id: str,
    snapshot: CartSnapshot,
    mode: PaymentMode,
    *,
    host: str,
    participants: Sequence[str],
    all_or_nothing: bool,
    deadline: int,
    now: int,
) -> OrderOpened:
    """The event that opens an order for ``snapshot``; share ``n`` gets id ``{order_id}-{n}``."""
    if deadline <= now:
        raise OrderError("invalid_order", "the payment deadline must be in the future")
    shares = compute_shares(snapshot, mode, host=host, participants=participants)
    if not shares:
        raise OrderError("nothing_to_pay", "the snapshot's total is zero")
    return OrderOpened(
        order_id=order_id,
        room_id=room_id,
        snapshot_digest=snapshot.digest(),
        snapshot_version=snapshot.version,
        currency=snapshot.currency,
        mode=mode,
        all_or_nothing=all_or_nothing,
        deadline=deadline,
        opened_at=now,
        shares=tuple(
            ShareSpec(f"{order_id}-{n}", s.payer, s.amount_minor, s.line_ids)
            for n, s in enumerate(shares, start=1)
        ),
    )


# ---------------------------------------------------------------- persistence
#
# A stored event is tagged JSON from the one codec (rooms.jsoncodec): {"type": <class>, **fields}.

_EVENT_TYPES: dict[str, type[OrderEvent]] = {
    cls.__name__: cls
    for cls in get_args(OrderEvent)  # every event class, by name
}


def event_to_dict(event: OrderEvent) -> dict[str, object]:
    """A JSON-safe dict for storing ``event``; :func:`event_from_dict` reads it back."""
    return to_tagged(event)


def event_from_dict(data: Mapping[str, object]) -> OrderEvent:
    """Rebuild a stored event, checking every field's type; raises ``event_malformed``."""
    try:
        # Rows this server stored: their text was checked on the way in.
        return from_tagged(_EVENT_TYPES, data, text=False)
    except DecodeError as exc:
        raise OrderError("event_malformed", f"not an order event: {exc}") from exc
