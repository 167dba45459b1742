"""Order states and room phases: the host always has a way forward (no dead end). Pure cores only.

The model joins the real order core (``checkout_bridge.orders``), the real room core (``rooms``)
and the real effect mapping (``server.checkout.effects``) the way the checkout service does,
with the outbox as a list: every order change appends its effects; delivering one runs it on
the room (``UpdateShare``/``SettleOrder``) or answers it as the provider would (a capture
completes or fails for good, an expire expires or finds the session paid, voids and refunds
move money only). A room whose storage is down is an outbox the world does not deliver yet.

Hypothesis drives the world through random sequences of what anyone may do: the host locks,
unlocks, checks out, cancels, resolves a holdout (covers, re-splits or drops the share of a
payer who did not pay: the order re-plans, the room records it); payers open sessions; the
provider reports payments, authorizations, expiries, failures; the deadline passes; the outbox
delivers. After every step:

- the room and the order agree (the room settles only the order in flight, and an order
  collecting money has its room settling it);
- **way forward**: from here, only the host's own commands (cancel, unlock) and the system's
  (deadline sweep, outbox delivery, no payer, no provider surprise) bring the room back to
  ``open`` with no order in flight, so the host can shop and check out again; every room
  command the outbox delivers is taken or refused as "already past it" (``bad_phase``,
  ``not_found``), never refused for good.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from checkout_bridge.errors import OrderError
from checkout_bridge.orders import (
    HOLDOUT_CHOICES,
    Authorized,
    CancelOrder,
    CheckDeadline,
    OpenCheckout,
    Order,
    OrderInput,
    OrderOpened,
    PaymentFailed,
    ResolveHoldout,
    SessionCompleted,
    SessionExpired,
    ShareSpec,
)
from rooms import SYSTEM_ACTOR, Phase, RoomError
from rooms import commands as c
from server.checkout.effects import Effect, effects_for, payment_ref, room_command, share_update
from tests.rooms.support import Driver

PAST_IT = {"bad_phase", "not_found"}  # what the service counts as delivered
AMOUNT = 900


@dataclass
class World:
    room: Driver = field(default_factory=Driver)
    order: Order | None = None
    outbox: list[tuple[str, Effect]] = field(default_factory=list)  # (order id, effect)
    now: int = 1_000
    orders: int = 0
    sessions: int = 0

    def __post_init__(self) -> None:
        self.room.join("bob")

    # ---- the order core, as CheckoutService._apply uses it ------------------------------
    def feed(self, *inputs: OrderInput) -> bool:
        order = self.order
        if order is None:
            return False
        changed = False
        for item in inputs:
            try:
                events = order.decide(item, now=self.now)
            except OrderError:
                continue
            for ev in events:
                order = order.apply(ev)
            self.outbox.extend((order.order_id, e) for e in effects_for(order, events))
            changed = changed or bool(events)
        self.order = order
        return changed

    def collecting(self) -> bool:
        return self.order is not None and self.order.status == "collecting"

    # ---- the host ------------------------------------------------------------------------
    def lock(self) -> bool:
        if self.room.room.phase is not Phase.OPEN:
            return False
        if not self.room.room.lines:
            self.room.add("bob", "mug")
        self.room.do("host", c.LockCart())
        return True

    def unlock(self) -> bool:
        if self.room.room.phase is not Phase.LOCKED:
            return False
        self.room.do("host", c.UnlockCart())
        return True

    def check_out(self, all_or_nothing: bool, payers: int) -> bool:
        """CheckoutService.freeze: a new order, BeginSettlement, the shares shown."""
        if self.room.room.phase is not Phase.LOCKED or self.collecting():
            return False
        self.orders += 1
        order_id = f"o{self.orders}"
        who = ("host", "bob")[: 1 + payers % 2]
        opened = OrderOpened(
            order_id, "room-1", "digest", self.orders, "EUR", "own_lines", all_or_nothing,
            deadline=self.now + 3600, opened_at=self.now,
            shares=tuple(
                ShareSpec(f"{order_id}-{n}", payer, AMOUNT, (f"l{n}",))
                for n, payer in enumerate(who, 1)
            ),
        )  # fmt: skip
        self.order = Order.opened(opened)
        self.room.do(SYSTEM_ACTOR, c.BeginSettlement(order_id, self.orders))
        self.outbox.extend((order_id, share_update(self.order, s.share_id)) for s in opened.shares)
        return True

    def cancel(self) -> bool:
        return self.collecting() and self.feed(CancelOrder("canceled_by_host"))

    def resolve(self, choice: str, share: int) -> bool:
        """The host's choice for a share not paid (refused when there is nothing to resolve)."""
        if self.order is None:
            return False
        target = self.order.shares[share % len(self.order.shares)]
        return self.feed(ResolveHoldout(target.share_id, choice, "host"))  # type: ignore[arg-type]  # one of HOLDOUT_CHOICES

    # ---- payers and the provider ---------------------------------------------------------
    def open_session(self, share: int) -> bool:
        if self.order is None or not self.order.shares:
            return False
        target = self.order.shares[share % len(self.order.shares)]
        self.sessions += 1
        return self.feed(OpenCheckout(target.share_id, f"cs{self.sessions}"))

    def provider_says(self, kind: int, share: int) -> bool:
        if self.order is None:
            return False
        target = self.order.shares[share % len(self.order.shares)]
        session = target.session_id
        if session is None:
            return False
        fact: OrderInput
        amount = target.amount_minor
        match kind % 4:
            case 0:
                fact = SessionCompleted(session, amount, "EUR", target.share_id, f"pi_{session}")
            case 1:
                fact = Authorized(session, amount, "EUR", target.share_id, f"pi_{session}")
            case 2:
                fact = SessionExpired(session)
            case _:
                fact = PaymentFailed(session, "card_declined")
        return self.feed(fact)

    def deadline(self) -> bool:
        """The sweep after the deadline: CheckDeadline (a late payment was reported before)."""
        if not self.collecting():
            return False
        assert self.order is not None
        self.now = max(self.now, self.order.deadline)
        return self.feed(CheckDeadline())

    # ---- the outbox ----------------------------------------------------------------------
    def deliver(self, pick: int, good: bool = True) -> bool:
        """Deliver one effect: the room's first in line, or any provider call."""
        if not self.outbox:
            return False
        rooms = [i for i, (_o, e) in enumerate(self.outbox) if e.kind == "room_command"]
        others = [i for i, (_o, e) in enumerate(self.outbox) if e.kind != "room_command"]
        choices = ([rooms[0]] if rooms else []) + others
        order_id, effect = self.outbox.pop(choices[pick % len(choices)])
        if effect.kind == "room_command":
            refused = None
            try:
                self.room.do(SYSTEM_ACTOR, room_command(order_id, effect.payload))
            except RoomError as exc:
                refused = exc.code
            assert refused in PAST_IT | {None}, f"the room refused {effect} for good: {refused}"
            return True
        if self.order is None or self.order.order_id != order_id:
            return True  # an older order's money: no fact for the order in flight
        if effect.kind == "capture":
            ref = payment_ref(effect.payload)
            done = SessionCompleted(
                ref.session_id, ref.amount_minor, "EUR", ref.share_id, ref.payment_id
            )
            self.feed(done if good else PaymentFailed(ref.session_id, "capture_failed"))
        elif effect.kind == "expire":
            session = str(effect.payload["session_id"])
            share = self.order.share_for_session(session)
            paid = SessionCompleted(
                session, share.amount_minor, "EUR", share.share_id, f"pi_{session}"
            )
            self.feed(SessionExpired(session) if good else paid)
        return True

    # ---- checks ----------------------------------------------------------------------------
    def check_agreement(self) -> None:
        room = self.room.room
        if room.phase is Phase.SETTLING:
            assert self.order is not None and room.order_id == self.order.order_id
        if self.collecting():
            assert room.phase is Phase.SETTLING


def rescue(world: World, *, host: bool) -> World:
    """Only the system acts (and, with ``host``, the host: cancel, unlock) until nothing is due.

    The system alone must bring the room out of ``settling``; with the host, back to ``open``.
    """
    world = copy.deepcopy(world)
    for _step in range(500):
        room = world.room.room
        if world.outbox:
            world.deliver(0)  # the room's first in line (or the first provider call)
        elif world.collecting():
            assert world.cancel() if host else world.deadline(), "nothing moves the order"
        elif room.phase is Phase.LOCKED and host:
            world.unlock()
        elif room.phase is Phase.SETTLING:
            raise AssertionError(f"dead end: the room settles {world.order} with nothing due")
        else:
            return world
    raise AssertionError("no end in 500 steps")


class WayForward(RuleBasedStateMachine):
    """Hypothesis picks among the moves that are possible now; the invariants run after each."""

    def __init__(self) -> None:
        super().__init__()
        self.world = World()

    @precondition(lambda self: self.world.room.room.phase is Phase.OPEN)
    @rule()
    def lock(self) -> None:
        assert self.world.lock()

    @precondition(lambda self: self.world.room.room.phase is Phase.LOCKED)
    @rule()
    def unlock(self) -> None:
        assert self.world.unlock()

    @precondition(lambda self: self.world.room.room.phase is Phase.LOCKED)
    @rule(all_or_nothing=st.booleans(), payers=st.integers(0, 1))
    def check_out(self, all_or_nothing: bool, payers: int) -> None:
        assert self.world.check_out(all_or_nothing, payers)

    @precondition(lambda self: self.world.collecting())
    @rule(now=st.integers(0, 3))
    def cancel(self, now: int) -> None:
        if now == 0:  # the host cancels seldom, so that payments get their chance too
            assert self.world.cancel()

    @precondition(lambda self: self.world.collecting())
    @rule(choice=st.sampled_from(HOLDOUT_CHOICES), share=st.integers(0, 3))
    def resolve_holdout(self, choice: str, share: int) -> None:
        self.world.resolve(choice, share)  # refused for a share that is in: a no-op

    @rule(share=st.integers(0, 3))
    def open_session(self, share: int) -> None:
        self.world.open_session(share)  # refused once the order is closed: a no-op

    @rule(kind=st.sampled_from([0, 0, 1, 1, 2, 3]), share=st.integers(0, 3))
    def provider_says(self, kind: int, share: int) -> None:
        self.world.provider_says(kind, share)  # paid, authorized (more often), expired, failed

    @rule(passed=st.integers(0, 3))
    def sweep(self, passed: int) -> None:
        if passed == 0:  # most sweeps come before the deadline and change nothing
            self.world.deadline()
        elif self.world.collecting():
            assert not self.world.feed(CheckDeadline())

    @rule(pick=st.integers(0, 7), good=st.booleans())
    def deliver(self, pick: int, good: bool) -> None:
        self.world.deliver(pick, good)

    @invariant()
    def room_and_order_agree(self) -> None:
        self.world.check_agreement()
        status = "none" if self.world.order is None else self.world.order.status
        event(f"{status}/{self.world.room.room.phase.value}")
        order = self.world.order
        if order is not None and any(s.status == "released" for s in order.shares):
            event(f"{status} after a holdout was resolved")

    @invariant()
    def the_system_and_the_host_have_a_way_forward(self) -> None:
        by_system = rescue(self.world, host=False)
        assert by_system.room.room.phase is not Phase.SETTLING and not by_system.collecting()
        by_host = rescue(self.world, host=True)
        assert by_host.room.room.phase is Phase.OPEN and not by_host.collecting()
        # and from there the host shops and checks out again
        assert by_host.lock() and by_host.check_out(False, 0)


WayForward.TestCase.settings = settings(max_examples=200, stateful_step_count=50, deadline=None)
test_every_reachable_order_state_and_room_phase_has_a_way_forward = WayForward.TestCase


def act(world: World, name: str, n: int, flag: bool) -> None:
    match name:
        case "lock":
            world.lock()
        case "check_out":
            world.check_out(flag, n)
        case "cancel":
            world.cancel()
        case "open_session":
            world.open_session(n)
        case "provider_says":
            world.provider_says(n, 0)
        case "deadline":
            world.deadline()
        case _:
            world.deliver(n)


def test_the_model_reaches_every_combination_the_service_can() -> None:
    """Scripted walks through each (order status, room phase) pair the checkout can be in."""
    seen = set()

    def walk(*script: tuple[str, int, bool]) -> None:
        world = World()
        seen.add(("none", world.room.room.phase.value))
        for step in script:
            act(world, *step)
            world.check_agreement()
            status = "none" if world.order is None else world.order.status
            seen.add((status, world.room.room.phase.value))

    walk(("lock", 0, False))
    walk(("lock", 0, False), ("check_out", 0, False), ("cancel", 0, False))
    walk(
        ("lock", 0, False), ("check_out", 0, False), ("open_session", 0, False),
        ("provider_says", 0, False), ("deliver", 0, False), ("deliver", 0, False),
        ("deliver", 0, False), ("deliver", 0, False), ("lock", 0, False),
    )  # fmt: skip
    walk(
        ("lock", 0, False), ("check_out", 0, False), ("deadline", 0, False),
        *[("deliver", 0, False)] * 4, ("lock", 0, False),
    )  # fmt: skip
    assert seen >= {
        ("none", "open"), ("none", "locked"), ("collecting", "settling"), ("paid", "settling"),
        ("paid", "open"), ("paid", "locked"), ("void", "settling"), ("void", "open"),
        ("void", "locked"),
    }  # fmt: skip
