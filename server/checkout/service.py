"""The checkout service: freeze and price a room's cart, open payment sessions, take webhooks.

It joins the pure order core (``checkout_bridge``) to storage (:mod:`server.checkout.store`),
the payment provider and the room (through ``Hub.system_command``). Rules:

1. Prices come from the catalogue at freeze time, never from a client.
2. Every order change is one write transaction: its events, the webhook id and the outbox rows
   of every effect the events cause (room commands, provider calls). The effects run after the
   commit from the outbox (:mod:`server.checkout.outbox`), retried until acknowledged, and are
   safe to repeat: the room refuses a settled order's commands (counted as delivered) and
   provider calls carry the row id as their idempotency key.
3. Facts come from the provider re-fetched, never from a webhook body alone.
4. Background work (the deadline sweep, the outbox worker) starts in
   :meth:`CheckoutService.start`; rows left by a previous run are picked up there.

It never sees, stores or logs card data: payers pay on the provider's hosted page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from checkout_bridge.errors import CheckoutError, OrderError, ProviderError, WebhookError
from checkout_bridge.orders import (
    Authorized,
    CancelOrder,
    CheckDeadline,
    HoldoutChoice,
    OpenCheckout,
    Order,
    OrderEvent,
    OrderInput,
    OrderPaid,
    OrderVoided,
    PaymentFailed,
    ResolveHoldout,
    SessionCompleted,
    ShareFailed,
    ShareState,
    plan_order,
)
from checkout_bridge.pricing import CartLineInput, CartSnapshot, freeze_cart
from checkout_bridge.providers.base import PaymentProvider, ProviderEvent, ShareLine, ShareRequest
from checkout_bridge.providers.cart_permalink import CartPermalinkProvider, PermalinkLine
from checkout_bridge.splits import PaymentMode
from rooms import Phase, Role, RoomError, RoomKind, StaticCatalog
from rooms.commands import BeginSettlement, LockCart, RecordHandoff, ReportPricing
from rooms.model import STAFF
from rooms.permissions import RestAction, allowed
from rooms.rules.checkout import split_participants
from rooms.state import PricingIssue
from server.api.common import new_id
from server.auth import MemberClaims
from server.catalog import reservations
from server.catalog.repository import CatalogRepository
from server.checkout.drops import DropClaimRequest, check_out_drop
from server.checkout.effects import (
    PROVIDER_KINDS,
    Effect,
    effects_for,
    payment_ref,
    room_command,
    share_update,
)
from server.checkout.errors import (
    CheckoutFlowError,
    Forbidden,
    NotFound,
    NotReady,
    Unavailable,
)
from server.checkout.facts import read_session, refund_facts, session_facts
from server.checkout.outbox import EffectFailed, OutboxWorker
from server.checkout.outbox_store import OutboxRow, effect_id, insert_effects
from server.checkout.store import CheckoutStore, DuplicateWebhook, SessionRecord
from server.checkout.tables import outbox as outbox_table
from server.checkout.viewer import Buy, check_out_own, snapshot_key
from server.hub.hub import Hub, RoomNotFound
from server.metrics import Metrics
from server.settings import Settings
from server.waiting import STOP_GRACE_S, stop_task, wait_event

__all__ = ["CheckoutService", "order_json", "snapshot_json"]

log = logging.getLogger("coshop.checkout")

_MAX_SESSION_S = 24 * 3600 - 60  # providers cap a hosted session's life at 24 hours
# The room refuses a command for an order it no longer settles with these: it settled that
# order already (a repeat) or moved on. The room command has nothing left to do: delivered.
_ROOM_PAST_IT = frozenset({"bad_phase", "not_found"})
# Provider answers that will never change however often the call is repeated (a 4xx); every
# other ProviderError (unreachable, 5xx, rate limits, a key in use concurrently, a refused
# API key that an operator may fix) is retried.
_PROVIDER_PERMANENT = frozenset(
    {"provider_rejected", "session_not_found", "provider_operation_unsupported"}
)

Inputs = Callable[[Order], Sequence[OrderInput]]

# Outbox rows of "processing" reports are numbered apart from the order's own event seqs:
# effect_id(order, _PROCESSING_SEQ + session attempt, 0) — one report per payment attempt.
_PROCESSING_SEQ = 1_000_000


def _give_up_on_failure(
    inputs: Inputs, viewer_order: bool
) -> Callable[[Order, list[OrderEvent]], Iterator[OrderInput]]:
    """``inputs``, then — for a live viewer's own order whose payment just failed — a cancel:
    its stock goes back and its lines thaw; a retry is a fresh checkout (checkout/viewer.py).
    ``events`` is the list the caller fills while it decides the inputs before."""

    def items(order: Order, events: list[OrderEvent]) -> Iterator[OrderInput]:
        yield from inputs(order)
        if viewer_order and any(isinstance(event, ShareFailed) for event in events):
            yield CancelOrder("payment_failed")

    return items


class Invalid(CheckoutFlowError):
    """422: the request names something the room cannot take (``invalid_participants``)."""

    status = 422


@dataclass(frozen=True, slots=True)
class _Processing:
    """A payer's session completed with an asynchronous payment the provider still confirms."""

    session_id: str
    attempt: int


def _given(inputs: Sequence[OrderInput]) -> Inputs:
    """Inputs that do not depend on the order's current state."""
    return lambda _order: inputs


def snapshot_json(snapshot: CartSnapshot) -> dict[str, Any]:
    data = snapshot.to_dict()
    data["ready"] = snapshot.ready
    data["digest"] = snapshot.digest()
    return data


def order_json(order: Order) -> dict[str, Any]:
    """An order as REST answers it; times are ms since the epoch like every other time a client
    sees (the order itself keeps seconds)."""
    return {
        "order_id": order.order_id,
        "status": order.status,
        "void_reason": order.void_reason,
        "mode": order.mode,
        "all_or_nothing": order.all_or_nothing,
        "currency": order.currency,
        "total_minor": order.total_minor,
        "paid_minor": order.paid_minor,
        "deadline_ms": order.deadline * 1000,
        "snapshot_version": order.snapshot_version,
        "snapshot_digest": order.snapshot_digest,
        "shares": [
            {
                "share_id": s.share_id,
                "payer": s.payer,
                "amount_minor": s.amount_minor,
                "status": s.status,
                "paid_minor": s.paid_minor,
                "refunded_minor": s.refunded_minor,
                "line_ids": list(s.line_ids),
            }
            for s in order.shares
        ],
    }


def _payable(order: Order, member_id: str) -> ShareState | None:
    """The share ``member_id`` pays next: their first live share not yet in (a covered or
    re-split share comes after their own), else their first share."""
    mine = [s for s in order.shares if s.payer == member_id]
    due = [s for s in order.holdouts() if s.payer == member_id]
    return due[0] if due else (mine[0] if mine else None)


def _own_part(answer: dict[str, Any], member_id: str) -> dict[str, Any]:
    """A live viewer's part of a checkout status: their lines, issues and share, their totals."""
    snapshot, order = answer["snapshot"], answer["order"]
    if snapshot is not None:
        lines = [
            line for line in snapshot["lines"] if member_id in (line["added_by"], line["payer"])
        ]
        own = {line["line_id"] for line in lines}
        snapshot = {
            **snapshot,
            "lines": lines,
            "changes": [c for c in snapshot["changes"] if c["line_id"] in own],
            "total_minor": sum(line["total_minor"] for line in lines),
        }
    if order is not None:
        shares = [s for s in order["shares"] if s["payer"] == member_id]
        order = {
            **order,
            "shares": shares,
            "total_minor": sum(s["amount_minor"] for s in shares),
            "paid_minor": sum(s["paid_minor"] for s in shares),
        }
    return {"snapshot": snapshot, "order": order}


class CheckoutService:
    """One per process; built in the app's lifespan from ``app.state`` and a provider."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: CheckoutStore,
        hub: Hub,
        catalog: CatalogRepository,
        provider: PaymentProvider | None,
        provider_name: str = "stripe",
        handoff: CartPermalinkProvider | None = None,
        payment_window_s: int = 3600,
        viewer_window_s: int = 1800,
        sweep_interval_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
        outbox_base_s: float = 1.0,
        outbox_max_s: float = 300.0,
        outbox_poll_s: float = 1.0,
        outbox_lease_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.hub = hub
        self.catalog = catalog
        self.provider = provider
        self.provider_name = provider_name
        self.handoff_provider = handoff
        self.payment_window_s = payment_window_s
        self.viewer_window_s = viewer_window_s  # a live viewer's own order (checkout/viewer.py)
        self.sweep_interval_s = sweep_interval_s
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._sweep_stop = asyncio.Event()
        # Told (after the commit, never awaited) which order's log grew: outbound webhooks
        # (server/webhooks/feed.py) read it from there.
        self.order_changed: Callable[[str], None] | None = None
        self.outbox = OutboxWorker(
            store.outbox,
            self._deliver,
            base_s=outbox_base_s,
            max_s=outbox_max_s,
            poll_s=outbox_poll_s,
            lease_s=outbox_lease_s,
            clock=clock,
            metrics=metrics,
        )

    @classmethod
    def from_state(
        cls,
        state: Any,
        provider: PaymentProvider | None = None,
        **options: Any,
    ) -> CheckoutService:
        """Build from the app's ``state`` (settings, engine, hub, catalog); see module docs."""
        return cls(
            settings=state.settings,
            store=CheckoutStore(state.engine),
            hub=state.hub,
            catalog=state.catalog,
            provider=provider,
            **{"metrics": getattr(state, "metrics", None), **options},
        )

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the deadline sweep and the outbox worker (which resumes rows not done)."""
        self._sweeper = asyncio.get_running_loop().create_task(
            self._sweep_forever(), name="checkout-sweep"
        )
        await self.outbox.start()

    async def close(self) -> None:
        await self.outbox.close()
        self._sweep_stop.set()  # the sweep in progress finishes first (server/waiting.py)
        if self._sweeper is not None:
            await stop_task(self._sweeper, grace_s=STOP_GRACE_S)
        if self.provider is not None:
            await self.provider.aclose()

    def now(self) -> int:
        return int(self._clock())

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def _require(
        self, room_id: str, claims: MemberClaims, action: RestAction, refusal: tuple[str, str]
    ) -> None:
        """Refuse with 403 ``refusal`` (code, message) unless the permission table
        (rooms.permissions.REST_PERMISSIONS) lets this member's role do ``action`` here."""
        kind = await self.hub.inspect(room_id, lambda room, _seq: room.kind)
        if not allowed(action, kind, Role(claims.role)):
            raise Forbidden(*refusal)

    # ---- freeze ------------------------------------------------------------------------------
    async def check_out(
        self,
        room_id: str,
        claims: MemberClaims,
        *,
        mode: PaymentMode,
        all_or_nothing: bool,
        participants: Sequence[str] | None,
        line_ids: Sequence[str] | None,
        buy: Buy | None,
        accept_prices: bool,
        drop: DropClaimRequest | None = None,
    ) -> dict[str, Any]:
        """``POST …/checkout``: a live viewer checks out their own lines (checkout/viewer.py)
        or claims a drop (checkout/drops.py); the host freezes the whole cart (:meth:`freeze`)."""
        kind = await self.hub.inspect(room_id, lambda room, _seq: room.kind)
        if allowed(RestAction.CHECK_OUT_OWN, kind, Role(claims.role)):
            if drop is not None:
                return await check_out_drop(self, room_id, claims, drop)
            return await check_out_own(
                self, room_id, claims, line_ids=line_ids, buy=buy, accept_prices=accept_prices
            )
        return await self.freeze(room_id, claims, mode, all_or_nothing, participants)

    async def freeze(
        self,
        room_id: str,
        claims: MemberClaims,
        mode: PaymentMode,
        all_or_nothing: bool,
        participants: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Lock (if needed), price, snapshot and open an order; or report what blocks it.

        ``participants``: who an equal split bills, as the host picked them (each must be in the
        room now); ``None`` bills the room's default (``rooms.rules.checkout.split_default``).
        """
        await self._require(
            room_id, claims, RestAction.CHECK_OUT, ("host_only", "only the host checks out")
        )
        if self.provider is None:
            raise Unavailable("payments_unconfigured", "no payment provider is configured")
        async with self._lock(f"room:{room_id}"):
            actor = await self.hub.actor(room_id)
            room = await self.hub.room_copy(room_id)  # committed state, not a turn in flight
            if room.phase is Phase.SETTLING:
                raise NotReady(
                    "checkout_in_progress", "an order is being paid", order_id=room.order_id
                )
            if room.phase is Phase.OPEN:
                await self._lock_cart(room_id, claims.member_id)
                room = await self.hub.room_copy(room_id)  # locked: the lines cannot change now
            lines = [
                CartLineInput(
                    line.line_id, line.sku, line.variant, line.quantity, line.added_by,
                    line.payer or None, line.price_minor,
                )
                for line in room.lines.values()
            ]  # fmt: skip
            facts = await self.catalog.facts(actor.merchant_id, {line.sku for line in lines})
            previous = await self.store.snapshot(room_id)
            shown = (
                {line.line_id: line.unit_price_minor for line in previous.lines}
                if previous is not None
                else None
            )
            version = await self.store.next_version(room_id)
            try:
                snapshot = freeze_cart(
                    lines, StaticCatalog(list(facts.values())), version=version, shown=shown
                )
            except CheckoutError as exc:
                raise NotReady(exc.code, exc.message) from exc
            now = self.now()
            await self.store.save_snapshot(room_id, snapshot, now)
            await self._report_pricing(room_id, snapshot)
            if not snapshot.ready:
                raise NotReady(
                    "snapshot_blocked",
                    "some lines cannot be bought as they are; fix them (unlock the cart) first",
                    snapshot=snapshot_json(snapshot),
                )
            if snapshot.price_changes:
                raise NotReady(
                    "prices_changed",
                    "prices changed since the room saw them; check out again to accept them",
                    snapshot=snapshot_json(snapshot),
                )
            try:
                payers = split_participants(room, participants)
            except RoomError as exc:
                raise Invalid(exc.code, str(exc)) from exc
            order_id = new_id("o")
            try:
                opened = plan_order(
                    order_id, room_id, snapshot, mode,
                    host=room.host_id, participants=payers,
                    all_or_nothing=all_or_nothing, deadline=now + self.payment_window_s, now=now,
                )  # fmt: skip
            except CheckoutError as exc:
                raise NotReady(exc.code, exc.message, snapshot=snapshot_json(snapshot)) from exc
            order = await self.store.create_order(opened, actor.merchant_id, now)
            try:
                await self.hub.system_command(room_id, BeginSettlement(order_id, version))
            except RoomError as exc:
                await self._apply(order_id, lambda _o: [CancelOrder("room_refused")])
                raise NotReady(exc.code, str(exc)) from exc
            except Exception as exc:  # the room could not save it: give the order up cleanly
                await self._apply(order_id, lambda _o: [CancelOrder("room_unavailable")])
                raise Unavailable("room_unavailable", "the room could not be updated") from exc
            updates = [share_update(order, share.share_id) for share in order.shares]
            ids = await self.store.outbox.enqueue(order_id, room_id, 1, updates, self.now_ms())
            try:
                await self.outbox.drain(ids)
            except Exception:  # the worker delivers them
                log.exception("checkout effects not delivered now; the outbox retries them")
        log.info("order opened", extra={"room_id": room_id, "order_id": order_id})
        return {"order": order_json(order), "snapshot": snapshot_json(snapshot)}

    async def _report_pricing(self, room_id: str, snapshot: CartSnapshot) -> None:
        """Show everyone in the room the server's prices and any problem before anyone pays."""
        issues = tuple(
            PricingIssue(
                i.line_id,
                i.kind,
                shown_minor=i.old_price_minor,
                price_minor=i.new_price_minor,
                available=i.available,
            )
            for i in snapshot.changes
        )
        await self.hub.system_command(
            room_id,
            ReportPricing(
                snapshot.version, snapshot.currency, snapshot.total_minor, snapshot.ready, issues
            ),
        )

    async def _lock_cart(self, room_id: str, member_id: str) -> None:
        """Lock as the member who asked (the host): the room decides if they may."""
        try:
            await self.hub.system_command(room_id, LockCart(), member_id=member_id)
        except RoomError as exc:
            if exc.code == "cart_empty":
                raise NotReady("cart_empty", "there is nothing in the cart") from exc
            if exc.code == "viewer_checkouts_open":  # a live room: viewers are paying their own
                raise NotReady(exc.code, "viewers are paying for their own items; wait") from exc
            raise NotReady(
                "cart_not_locked", "lock the cart (LockCart) before checking out"
            ) from exc

    # ---- pay ---------------------------------------------------------------------------------
    async def pay(self, room_id: str, order_id: str, claims: MemberClaims) -> dict[str, Any]:
        """The hosted payment page for the caller's share: opened once, then the same one."""
        await self._require(
            room_id, claims, RestAction.PAY_SHARE, ("forbidden", "your role may not pay here")
        )
        provider = self.provider
        if provider is None:
            raise Unavailable("payments_unconfigured", "no payment provider is configured")
        async with self._lock(order_id):
            record = await self.store.load(order_id)
            if record is None or record.order.room_id != room_id:
                raise NotFound("order_not_found", "no such order in this room")
            order = record.order
            share = _payable(order, claims.member_id)
            if share is None:
                raise Forbidden("not_a_payer", "you have no share to pay in this order")
            if order.status != "collecting":
                raise NotReady("order_closed", f"the order is {order.status}")
            if share.status == "checkout_open" and share.session_id is not None:
                existing = await self.store.session(share.session_id)
                if existing is not None and existing.url:
                    await self._refuse_if_processing(provider, share.session_id)
                    return self._pay_answer(order, share.share_id, existing)
            if share.status not in ("pending", "expired", "failed", "canceled"):
                raise NotReady("share_settled", f"your share is {share.status}")
            now = self.now()
            if now >= order.deadline:
                raise NotReady("order_closed", "the payment deadline has passed")
            attempt = len(share.sessions) + 1
            key = f"coshop-{share.share_id}-{attempt}"
            snapshot = await self.store.snapshot(
                snapshot_key(room_id, order_id, record.buyer), order.snapshot_version
            )
            assert snapshot is not None
            request = ShareRequest(
                order_id=order_id,
                payer=share.payer,
                amount_minor=share.amount_minor,
                currency=order.currency,
                lines=tuple(
                    ShareLine(
                        line.title, line.unit_price_minor, line.quantity, line.variant or line.sku
                    )
                    for line in snapshot.lines
                    if line.line_id in share.line_ids
                ),
                success_url=self._return_url(room_id, order_id, canceled=False),
                cancel_url=self._return_url(room_id, order_id, canceled=True),
                reference=share.share_id,
                idempotency_key=key,
                expires_at=min(order.deadline, now + _MAX_SESSION_S),
                capture="manual" if order.all_or_nothing else "automatic",
                metadata={"coshop_room": room_id, "coshop_share": share.share_id},
            )
            try:
                session = await provider.create_session(request)
            except ProviderError as exc:
                raise Unavailable("provider_unavailable", f"payment provider: {exc.code}") from exc
            stored = await self.store.add_session(
                SessionRecord(
                    session_id=session.id,
                    provider=self.provider_name,
                    order_id=order_id,
                    share_id=share.share_id,
                    payer=share.payer,
                    attempt=attempt,
                    idempotency_key=key,
                    url=session.url,
                    payment_intent=session.payment_intent,
                    created_at=now,
                )
            )
            opened = stored.session_id
            share_id = share.share_id
        await self._apply(order_id, lambda o: [OpenCheckout(share_id, opened)], quiet=True)
        record = await self.store.load(order_id)
        assert record is not None
        return self._pay_answer(record.order, share_id, stored)

    @staticmethod
    async def _refuse_if_processing(provider: PaymentProvider, session_id: str) -> None:
        """A payment page already submitted (an asynchronous payment the provider is still
        confirming) is never offered again: paying twice would lead nowhere, or charge twice."""
        try:
            fresh = await provider.retrieve(session_id)
        except ProviderError:
            return  # cannot tell now: the page itself says where the payment stands
        if fresh.status == "complete":
            raise NotReady(
                "payment_processing",
                "your payment is being confirmed by the payment provider; nothing to do",
            )

    @staticmethod
    def _pay_answer(order: Order, share_id: str, session: SessionRecord) -> dict[str, Any]:
        share = order.share(share_id)
        return {
            "order_id": order.order_id,
            "share_id": share_id,
            "session_id": session.session_id,
            "url": session.url,
            "navigation": "top-level",  # never embed a payment page in an iframe
            "amount_minor": share.amount_minor,
            "currency": order.currency,
            "status": share.status,
        }

    def _return_url(self, room_id: str, order_id: str, *, canceled: bool) -> str:
        query = {"room": room_id, "order": order_id}
        if canceled:
            query["canceled"] = "1"
        base = f"{self.settings.public_url.rstrip('/')}/checkout/return?{urlencode(query)}"
        return base if canceled else base + "&session={CHECKOUT_SESSION_ID}"

    # ---- host actions ----------------------------------------------------------------------
    async def cancel(self, room_id: str, order_id: str, claims: MemberClaims) -> dict[str, Any]:
        """The host gives up the room's order; a live viewer gives up their own."""
        record = await self.store.load(order_id)
        own = record is not None and record.buyer == claims.member_id
        if not own:
            await self._require(
                room_id,
                claims,
                RestAction.CANCEL_CHECKOUT,
                ("host_only", "only the host cancels the order"),
            )
        if record is None or record.order.room_id != room_id:
            raise NotFound("order_not_found", "no such order in this room")
        if record.order.status != "collecting":
            raise NotReady("order_closed", f"the order is {record.order.status}")
        reason = "canceled_by_buyer" if own else "canceled_by_host"
        order = await self._apply(order_id, lambda _o: [CancelOrder(reason)])
        assert order is not None
        return {"order": order_json(order)}

    async def resolve_holdout(
        self, room_id: str, order_id: str, claims: MemberClaims, payer: str, choice: HoldoutChoice
    ) -> dict[str, Any]:
        """The host's choice for a payer who did not pay: cover, re-split or drop their lines.

        The order core re-plans the shares (``ResolveHoldout``): the holdout's share is
        released — never charged; a payment that still reaches it is refunded — and the new
        shares, the room's record of the choice and each payer's part go out through the outbox
        in the same transaction.
        """
        await self._require(
            room_id,
            claims,
            RestAction.RESOLVE_HOLDOUT,
            ("host_only", "only the host decides for someone who has not paid"),
        )
        host = await self.hub.inspect(room_id, lambda room, _seq: room.host_id)
        record = await self.store.load(order_id)
        if record is None or record.order.room_id != room_id:
            raise NotFound("order_not_found", "no such order in this room")
        order = record.order
        if order.status != "collecting":
            raise NotReady("order_closed", f"the order is {order.status}")
        share = next((s for s in order.holdouts() if s.payer == payer), None)
        if share is None:
            raise NotReady("share_not_holdout", "that person has nothing left to pay")
        command = ResolveHoldout(share.share_id, choice, host)
        try:
            order.decide(command, now=self.now())  # refused here with its code, for the host
        except OrderError as exc:
            raise NotReady(exc.code, exc.message) from exc
        after = await self._apply(order_id, _given([command]))
        assert after is not None
        log.info(
            "holdout resolved", extra={"room_id": room_id, "order_id": order_id, "choice": choice}
        )
        return {"order": order_json(after)}

    async def handoff(self, room_id: str, claims: MemberClaims) -> dict[str, Any]:
        """Send the whole cart to the merchant's own checkout (cart permalink), and record it."""
        await self._require(
            room_id, claims, RestAction.HAND_OFF, ("host_only", "only the host hands the cart off")
        )
        if self.handoff_provider is None:
            raise Unavailable("handoff_unconfigured", "no merchant checkout is configured")
        room = await self.hub.room_copy(room_id)
        lines = [
            PermalinkLine(line.variant or line.sku, line.quantity) for line in room.lines.values()
        ]
        if not lines:
            raise NotReady("cart_empty", "there is nothing in the cart")
        try:
            url = self.handoff_provider.permalink(lines, attributes={"coshop_room": room_id})
        except ProviderError as exc:
            raise NotReady(exc.code, exc.message) from exc
        try:
            await self.hub.system_command(room_id, RecordHandoff(url))
        except RoomError as exc:
            raise NotReady(exc.code, str(exc)) from exc
        return {"url": url, "navigation": "top-level"}

    async def status(self, room_id: str, claims: MemberClaims | None = None) -> dict[str, Any]:
        """The room's latest pricing and order, as ``claims``' member may see them.

        In a live room an audience member sees only their own lines and share (DESIGN §11:
        what their room view shows); staff, group members and ``claims=None`` see everything.
        """
        snapshot = await self.store.snapshot(room_id)
        order_id = await self.store.latest_order_id(room_id)
        record = None if order_id is None else await self.store.load(order_id)
        answer = {
            "snapshot": None if snapshot is None else snapshot_json(snapshot),
            "order": None if record is None else order_json(record.order),
        }
        if claims is not None and Role(claims.role) not in STAFF:
            kind = await self.hub.inspect(room_id, lambda room, _seq: room.kind)
            if kind is RoomKind.LIVE:
                return {
                    **_own_part(answer, claims.member_id),
                    "own": await self._own_order(claims.member_id, room_id),
                }
        return answer

    async def _own_order(self, member_id: str, room_id: str) -> dict[str, Any] | None:
        """A live viewer's latest order of their own, with its snapshot (checkout/viewer.py)."""
        order_id = await self.store.latest_order_id(room_id, buyer=member_id)
        record = None if order_id is None else await self.store.load(order_id)
        if record is None:
            return None
        snapshot = await self.store.snapshot(order_id or "", record.order.snapshot_version)
        return {
            "order": order_json(record.order),
            "snapshot": None if snapshot is None else snapshot_json(snapshot),
        }

    async def order_status(self, order_id: str) -> Order | None:
        record = await self.store.load(order_id)
        return None if record is None else record.order

    # ---- webhooks ----------------------------------------------------------------------------
    async def handle_webhook(
        self, provider_name: str, body: bytes, header: str | None
    ) -> dict[str, Any]:
        """Verify, de-duplicate and apply one delivery; raises WebhookError or NotFound."""
        provider = self.provider
        if provider_name != self.provider_name:
            raise NotFound("unknown_provider", "no such payment provider")
        if provider is None:
            raise WebhookError("webhook_secret_missing", "no payment provider is configured")
        event = provider.verify_webhook(body, header, self.now())
        webhook = (self.provider_name, event.id, event.type, "applied")
        if await self.store.webhook_seen(self.provider_name, event.id):
            return {"received": True, "duplicate": True}
        session = await self._session_for(event)
        if session is None:
            await self._record_only(webhook)
            return {"received": True, "ignored": True}
        try:
            inputs, processing = await self._inputs_for(provider, event, session)
        except ProviderError as exc:
            # The provider could not be asked: answer 503 so the delivery is retried later.
            raise Unavailable("provider_unavailable", f"payment provider: {exc.code}") from exc
        try:
            await self._apply(session.order_id, inputs, webhook=webhook, processing=processing)
        except DuplicateWebhook:
            return {"received": True, "duplicate": True}
        return {"received": True}

    async def _record_only(self, webhook: tuple[str, str, str, str]) -> None:
        with contextlib.suppress(DuplicateWebhook):
            await self.store.record_webhook((*webhook[:3], "ignored"), self.now())

    async def _session_for(self, event: ProviderEvent) -> SessionRecord | None:
        if event.session is not None:
            return await self.store.session(event.session.id)
        obj = event.object
        intent = obj.get("payment_intent") if obj.get("object") == "charge" else obj.get("id")
        if obj.get("object") in ("payment_intent", "charge") and isinstance(intent, str):
            return await self.store.session_by_intent(intent)
        return None

    async def _inputs_for(
        self, provider: PaymentProvider, event: ProviderEvent, session: SessionRecord
    ) -> tuple[Inputs, _Processing | None]:
        if event.type == "charge.refunded":
            charge = dict(event.object)
            return (
                lambda order: refund_facts(order, session.share_id, session.session_id, charge),
                None,
            )
        if event.type.startswith("checkout.session.") or event.type.startswith("payment_intent."):
            fresh = await provider.retrieve(session.session_id)  # never trust the body alone
            if fresh.payment_intent and fresh.payment_intent != session.payment_intent:
                await self.store.set_payment_intent(session.session_id, fresh.payment_intent)
            reading = await read_session(provider, fresh)
            facts = reading.facts
            if event.type == "payment_intent.canceled" and not facts:
                facts = [PaymentFailed(session.session_id, "canceled")]
            processing = (
                _Processing(session.session_id, session.attempt) if reading.processing else None
            )
            return (lambda _order: facts), processing
        return (lambda _order: []), None

    # ---- applying inputs ---------------------------------------------------------------------
    async def _apply(
        self,
        order_id: str,
        inputs: Inputs,
        *,
        webhook: tuple[str, str, str, str] | None = None,
        quiet: bool = False,
        processing: _Processing | None = None,
        also: Sequence[Effect] = (),
    ) -> Order | None:
        """Decide and store ``inputs`` and their effects in one transaction, then deliver.

        The room's rows are delivered here, before returning (so an answer to the host sees the
        room updated); provider calls are left to the worker. Whatever fails is retried by it.
        ``processing``: the provider says this session's payment is processing — the room is
        told (``UpdateShare(status="processing")``, through the outbox in the same transaction)
        while the share is still on its payment page; the order itself has nothing to record.
        ``also``: effects written with those of the events, in the same transaction (when any
        event is recorded).
        """
        now = self.now()
        events: list[OrderEvent] = []
        async with (
            self._lock(order_id),
            self.store.order_tx(order_id, webhook=webhook, now=now) as tx,
        ):
            if tx is None:
                return None
            order = tx.order
            for item in _give_up_on_failure(inputs, tx.record.buyer is not None)(order, events):
                try:
                    new = order.decide(item, now=now)
                except OrderError as exc:
                    if not quiet:
                        log.warning(
                            "order input refused",
                            extra={
                                "order_id": order_id,
                                "code": exc.code,
                                "input": type(item).__name__,
                            },
                        )
                    continue
                for event in new:
                    order = order.apply(event)
                events.extend(new)
            effects = [*effects_for(order, events), *also] if events else []
            order = await tx.append(events, now, effects=effects, now_ms=self.now_ms())
            if any(isinstance(event, OrderVoided) for event in events):
                await reservations.release(tx.conn, order_id, now)
            elif any(isinstance(event, OrderPaid) for event in events):
                await reservations.commit(tx.conn, order_id, now)
            ids = list(zip(tx.effect_ids, effects, strict=True))
            if processing is not None:
                ids += await self._tell_processing(tx.conn, order, processing)
        if events and self.order_changed is not None:
            self.order_changed(order_id)
        for event in events:
            if isinstance(event, OrderPaid):
                log.info("order paid", extra={"order_id": order_id})
            elif isinstance(event, OrderVoided):
                log.info("order void", extra={"order_id": order_id, "reason": event.reason})
        if any(effect.kind in PROVIDER_KINDS for _id, effect in ids):
            self.outbox.wake()
        try:
            await self.outbox.drain([row_id for row_id, e in ids if e.kind == "room_command"])
        except Exception:  # the fact is committed; the worker delivers what is left
            log.exception("checkout effects not delivered now; the outbox retries them")
            self.outbox.wake()
        return order

    async def _tell_processing(
        self, conn: AsyncConnection, order: Order, processing: _Processing
    ) -> list[tuple[str, Effect]]:
        """Write the room's "processing" update for ``processing``'s share, once per attempt."""
        if order.status != "collecting":
            return []
        share = next((s for s in order.shares if s.session_id == processing.session_id), None)
        if share is None or share.status != "checkout_open":
            return []  # a newer session, or the share moved on (paid, failed): nothing to say
        row_id = effect_id(order.order_id, _PROCESSING_SEQ + processing.attempt, 0)
        seen = await conn.execute(select(outbox_table.c.id).where(outbox_table.c.id == row_id))
        if seen.first() is not None:
            return []  # told already (another delivery about the same payment)
        effect = Effect(
            "room_command",
            {
                "name": "UpdateShare",
                "payer": share.payer,
                "status": "processing",
                "amount_minor": share.amount_minor,
            },
        )
        ids = await insert_effects(
            conn,
            order.order_id,
            order.room_id,
            _PROCESSING_SEQ + processing.attempt,
            [effect],
            self.now_ms(),
        )
        return list(zip(ids, [effect], strict=True))

    # ---- delivering effects (called by the outbox worker) ----------------------------------
    async def _deliver(self, row: OutboxRow) -> None:
        """Run one outbox row; raise :class:`EffectFailed` (or anything) when it did not happen."""
        if row.kind == "room_command":
            await self._room(row)
            return
        provider = self.provider
        if provider is None:
            raise EffectFailed("payments_unconfigured")  # retried: the operator may add one
        key = f"coshop-fx-{row.id}"
        try:
            if row.kind == "expire":
                session_id = str(row.payload["session_id"])
                fresh = await provider.expire(session_id, idempotency_key=key)
                # "Already completed" comes back complete: reconciled as paid (then refunded).
                await self._apply(row.order_id, _given(await session_facts(provider, fresh)))
                return
            ref = payment_ref(row.payload)
            if row.kind == "capture":
                await self._capture(provider, row.order_id, ref.session_id, ref.payment_id, key)
            elif ref.payment_id is None:
                return  # nothing was paid or authorized through a payment: nothing to undo
            elif row.kind == "refund":
                await provider.refund(ref.payment_id, ref.amount_minor, idempotency_key=key)
            elif row.kind == "void":
                await provider.cancel(ref.payment_id, idempotency_key=key)
            else:
                raise EffectFailed(f"unknown_effect_{row.kind}"[:64], permanent=True)
        except ProviderError as exc:
            permanent = exc.code in _PROVIDER_PERMANENT
            if permanent and row.kind == "capture":
                await self._capture_refused(provider, row, exc)
                return
            raise EffectFailed(exc.code, permanent=permanent) from exc

    async def _capture_refused(
        self, provider: PaymentProvider, row: OutboxRow, refused: ProviderError
    ) -> None:
        """A capture refused for good: captured already (delivered), or the share failed.

        When the hold is still on the card (the intent still waits for its capture), it is
        voided: the ``void`` effect is written with the share's failure, in one transaction, so
        the payer's money is not held until the authorization lapses. The order's other holds
        are voided by the order itself if it gives up (``OrderVoided.voids``).
        """
        ref = payment_ref(row.payload)
        try:
            facts = await session_facts(provider, await provider.retrieve(ref.session_id))
        except ProviderError as exc:  # cannot tell now: ask again later
            raise EffectFailed(exc.code) from exc
        if any(isinstance(fact, SessionCompleted) for fact in facts):
            await self._apply(row.order_id, _given(facts))  # the money moved: nothing failed
            return
        held = ref.payment_id is not None and any(isinstance(f, Authorized) for f in facts)
        void = Effect(
            "void",
            {
                "share_id": ref.share_id,
                "session_id": ref.session_id,
                "payment_id": ref.payment_id,
                "amount_minor": ref.amount_minor,
            },
        )
        # The authorization cannot be captured (refused, voided, expired): the share failed.
        await self._apply(
            row.order_id,
            _given([PaymentFailed(ref.session_id, "capture_failed")]),
            also=(void,) if held else (),
        )
        raise EffectFailed(refused.code, permanent=True) from refused

    async def _room(self, row: OutboxRow) -> None:
        command = room_command(row.order_id, row.payload)
        try:
            await self.hub.system_command(row.room_id, command)
        except RoomError as exc:
            if exc.code in _ROOM_PAST_IT:  # settled already, or moved on: nothing left to do
                log.info(
                    "room is past this checkout update",
                    extra={"room_id": row.room_id, "order_id": row.order_id, "code": exc.code},
                )
                return
            # The core's refusals are subclasses and final; a plain RoomError is the hub saying
            # the turn was not saved (storage_unavailable, write_refused, …): try again later.
            raise EffectFailed(exc.code, permanent=type(exc) is not RoomError) from exc
        except RoomNotFound as exc:  # the room was closed: nobody is waiting in it
            raise EffectFailed("room_not_found", permanent=True) from exc

    async def _capture(
        self,
        provider: PaymentProvider,
        order_id: str,
        session_id: str,
        payment_id: str | None,
        key: str,
    ) -> None:
        if payment_id is not None:
            await provider.capture(payment_id, idempotency_key=key)
        fresh = await provider.retrieve(session_id)
        await self._apply(order_id, _given(await session_facts(provider, fresh)))

    # ---- deadlines ---------------------------------------------------------------------------
    async def _sweep_forever(self) -> None:
        while not self._sweep_stop.is_set():
            try:
                await self.sweep()
            except Exception:
                log.exception("checkout sweep failed; retrying")
            await wait_event(self._sweep_stop, self.sweep_interval_s)

    async def sweep(self) -> None:
        """Void orders past their deadline, after asking the provider about open sessions."""
        provider = self.provider
        now = self.now()
        for order_id in await self.store.collecting_order_ids():
            record = await self.store.load(order_id)
            if record is None or now < record.order.deadline:
                continue
            if provider is not None:
                for share in record.order.shares:
                    if share.status == "checkout_open" and share.session_id is not None:
                        try:
                            facts = await session_facts(
                                provider, await provider.retrieve(share.session_id)
                            )
                        except ProviderError:
                            continue
                        await self._apply(order_id, _given(facts), quiet=True)
            await self._apply(order_id, lambda _o: [CheckDeadline()])
