"""What the sandbox provider does: sessions, payments, refunds, captures, expiry and events.

Every operation runs in one store transaction and records the events it causes (with their
planned webhook deliveries) in that same transaction, so a crash never loses or invents one.
It speaks in Stripe-shaped JSON documents but knows nothing of HTTP: the API and the hosted page
call it. It never sees a card number: callers pass the :class:`~.cards.TestCard` (brand, last 4).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from checkout_bridge.sandbox.cards import CardBehaviour, TestCard
from checkout_bridge.sandbox.config import SandboxConfig
from checkout_bridge.sandbox.errors import InvalidRequest, NotFound
from checkout_bridge.sandbox.faults import Faults, FaultsError
from checkout_bridge.sandbox.params import optional_amount, parse_session_params, required_string
from checkout_bridge.sandbox.store import Doc, SandboxStore, StoredObject, Transaction

__all__ = ["API_VERSION", "PaymentOutcome", "SandboxService", "Scenario"]

API_VERSION = "2025-01-27.acacia"
"""The one Stripe API version the sandbox answers for (its shapes, e.g. ``ui_mode: "hosted"``,
and its events' ``api_version``). The Stripe adapter pins the same; a test checks they agree."""
SESSION = "checkout.session"
INTENT = "payment_intent"
REFUND = "refund"
Scenario = str  # "pay" | "decline" | "3ds" | "delayed_success" | "delayed_failure"
SCENARIOS = ("pay", "decline", "3ds", "delayed_success", "delayed_failure")


@dataclass(frozen=True)
class PaymentOutcome:
    """What the hosted page shows next: a redirect, the 3-D Secure step, or an error."""

    redirect_to: str | None = None
    needs_authentication: bool = False
    error: str | None = None


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _success_url(session: Doc) -> str:
    return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", str(session["id"]))


class SandboxService:
    def __init__(self, config: SandboxConfig, store: SandboxStore) -> None:
        self._config = config
        self._store = store
        self.events_recorded = asyncio.Event()  # set after a commit that added deliveries

    def now(self) -> float:
        return self._config.clock()

    # -- reading ----------------------------------------------------------------------------
    async def _require(self, tx: Transaction, kind: str, object_id: str) -> StoredObject:
        found = await tx.get(kind, object_id)
        if found is None:
            label = {SESSION: "checkout.session", INTENT: "payment_intent"}.get(kind, kind)
            raise NotFound("resource_missing", f"No such {label}: '{object_id}'", "id")
        return found

    async def session(self, session_id: str) -> StoredObject:
        async with self._store.transaction() as tx:
            return await self._require(tx, SESSION, session_id)

    async def payment_intent(self, intent_id: str) -> Doc:
        async with self._store.transaction() as tx:
            return (await self._require(tx, INTENT, intent_id)).doc

    async def line_items(self, session_id: str) -> Doc:
        stored = await self.session(session_id)
        return {
            "object": "list",
            "data": stored.private["line_items"],
            "has_more": False,
            "url": f"/v1/checkout/sessions/{session_id}/line_items",
        }

    async def faults(self) -> Faults:
        async with self._store.transaction() as tx:
            return Faults(**(await tx.get_setting("faults") or {}))

    async def update_faults(self, changes: Mapping[str, Any] | None) -> Faults:
        async with self._store.transaction() as tx:
            current = Faults(**(await tx.get_setting("faults") or {}))
            updated = Faults() if changes is None else current.updated(changes)
            await tx.set_setting("faults", updated.to_dict())
            return updated

    async def events_and_deliveries(self) -> Doc:
        async with self._store.transaction() as tx:
            events = [
                {"id": eid, "type": etype, "created": created, "body": json.loads(body)}
                for eid, etype, created, body in await tx.events()
            ]
            deliveries = [d.to_dict() for d in await tx.deliveries()]
        return {"events": events, "deliveries": deliveries}

    # -- events -----------------------------------------------------------------------------
    async def _emit(
        self, tx: Transaction, event_type: str, obj: Doc, session: StoredObject | None
    ) -> None:
        now = self.now()
        event_id = new_id("evt")
        event = {
            "id": event_id,
            "object": "event",
            "api_version": API_VERSION,
            "created": int(now),
            "type": event_type,
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1 if self._config.webhook_url else 0,
            "request": {"id": None, "idempotency_key": None},
        }
        await tx.add_event(event_id, event_type, int(now), json.dumps(event).encode())
        if not self._config.webhook_url:
            return
        faults = Faults(**(await tx.get_setting("faults") or {}))
        if session is not None:
            faults = faults.merged(Faults(**session.private.get("faults", {})))
        due = now + faults.delay
        held = False
        if await tx.has_held():
            await tx.release_held(due + 0.002)  # after this event and its duplicate
        elif faults.reorder:
            held = True
            due = now + faults.delay + self._config.reorder_hold_limit
        wrong = faults.wrong_secret
        await tx.add_delivery(event_id, kind="normal", due_at=due, held=held, wrong_secret=wrong)
        if faults.duplicate:
            await tx.add_delivery(
                event_id, kind="duplicate", due_at=due + 0.001, held=held, wrong_secret=wrong
            )
        if faults.replay:
            last = await tx.last_delivered()
            if last is not None and last.last_header is not None:
                await tx.add_delivery(
                    last.event_id, kind="replay", due_at=due + 0.003, fixed_header=last.last_header
                )
        self.events_recorded.set()

    # -- sessions -----------------------------------------------------------------------------
    async def create_session(self, form: Mapping[str, Any]) -> Doc:
        now = int(self.now())
        params = parse_session_params(form, now)
        try:
            faults = Faults.from_metadata(params.metadata)
        except FaultsError as exc:
            raise InvalidRequest("parameter_invalid", str(exc), exc.param) from None
        session_id = new_id("cs_test")
        amount = params.amount_total
        doc: Doc = {
            "id": session_id,
            "object": SESSION,
            "amount_subtotal": amount,
            "amount_total": amount,
            "cancel_url": params.cancel_url,
            "client_reference_id": params.client_reference_id,
            "created": now,
            "currency": params.currency,
            "customer_details": None,
            "customer_email": params.customer_email,
            "expires_at": params.expires_at,
            "livemode": False,
            "metadata": params.metadata,
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "no_payment_required" if amount == 0 else "unpaid",
            "status": "open",
            "success_url": params.success_url,
            "ui_mode": "hosted",  # the only mode the sandbox serves (named so in API_VERSION)
            "url": self._config.page_url(session_id),
        }
        line_items = [
            {
                "id": new_id("li"),
                "object": "item",
                "amount_discount": 0,
                "amount_subtotal": item.amount_total,
                "amount_tax": 0,
                "amount_total": item.amount_total,
                "currency": item.currency,
                "description": item.name,
                "price": {
                    "id": new_id("price"),
                    "object": "price",
                    "currency": item.currency,
                    "unit_amount": item.unit_amount,
                    "product": new_id("prod"),
                    "type": "one_time",
                },
                "quantity": item.quantity,
            }
            for item in params.line_items
        ]
        private = {
            "line_items": line_items,
            "capture_method": params.capture_method,
            "faults": faults.to_dict(),
        }
        async with self._store.transaction() as tx:
            await tx.put(SESSION, doc, private, expires_at=params.expires_at)
        return doc

    async def expire_session(self, session_id: str) -> Doc:
        async with self._store.transaction() as tx:
            stored = await self._require(tx, SESSION, session_id)
            status = stored.doc["status"]
            if status != "open":
                raise InvalidRequest(
                    "checkout_session_not_open",
                    f"This Checkout Session is in status `{status}` and cannot be expired; "
                    "only sessions with status `open` can be expired.",
                )
            return await self._expire(tx, stored)

    async def _expire(self, tx: Transaction, stored: StoredObject) -> Doc:
        doc = {**stored.doc, "status": "expired", "url": None}
        await tx.put(SESSION, doc, stored.private)
        await self._emit(tx, "checkout.session.expired", doc, stored)
        return doc

    # -- the hosted page ------------------------------------------------------------------------
    async def submit_card(
        self, session_id: str, card: TestCard, scenario: Scenario
    ) -> PaymentOutcome:
        async with self._store.transaction() as tx:
            stored = await self._open_session(tx, session_id)
            if scenario == "decline" or card.behaviour is CardBehaviour.DECLINED:
                return PaymentOutcome(error="Your card was declined.")
            if card.behaviour is CardBehaviour.INSUFFICIENT_FUNDS:
                return PaymentOutcome(error="Your card has insufficient funds.")
            card_doc = {"brand": card.brand, "last4": card.last4}
            if scenario == "3ds" or card.behaviour is CardBehaviour.REQUIRES_AUTHENTICATION:
                private = {**stored.private, "pending_authentication": card_doc}
                await tx.put(SESSION, stored.doc, private, expires_at=stored.doc["expires_at"])
                return PaymentOutcome(needs_authentication=True)
            if scenario in ("delayed_success", "delayed_failure"):
                outcome = "succeeded" if scenario == "delayed_success" else "failed"
                return await self._complete(tx, stored, card_doc, delayed_outcome=outcome)
            return await self._complete(tx, stored, card_doc)

    async def authenticate(self, session_id: str, approve: bool) -> PaymentOutcome:
        async with self._store.transaction() as tx:
            stored = await self._open_session(tx, session_id)
            card_doc = stored.private.get("pending_authentication")
            if card_doc is None:
                return PaymentOutcome(error="There is no payment waiting for authentication.")
            private = {k: v for k, v in stored.private.items() if k != "pending_authentication"}
            stored = StoredObject(stored.id, stored.kind, stored.doc, private)
            if not approve:
                await tx.put(SESSION, stored.doc, private, expires_at=stored.doc["expires_at"])
                return PaymentOutcome(error="3-D Secure authentication failed. Try again.")
            return await self._complete(tx, stored, card_doc)

    async def pending_authentication(self, session_id: str) -> Doc | None:
        stored = await self.session(session_id)
        card: Doc | None = stored.private.get("pending_authentication")
        return card

    async def _open_session(self, tx: Transaction, session_id: str) -> StoredObject:
        stored = await self._require(tx, SESSION, session_id)
        if stored.doc["status"] != "open":
            raise InvalidRequest("checkout_session_not_open", "This checkout session is closed.")
        if stored.doc["expires_at"] <= self.now():
            await self._expire(tx, stored)
            raise InvalidRequest("checkout_session_not_open", "This checkout session expired.")
        return stored

    async def _complete(
        self,
        tx: Transaction,
        stored: StoredObject,
        card: Doc,
        delayed_outcome: str | None = None,
    ) -> PaymentOutcome:
        now = int(self.now())
        session = stored.doc
        manual = stored.private["capture_method"] == "manual"
        if delayed_outcome is not None:
            intent_status = "processing"
        else:
            intent_status = "requires_capture" if manual else "succeeded"
        amount = session["amount_total"]
        intent = {
            "id": new_id("pi"),
            "object": INTENT,
            "amount": amount,
            "amount_capturable": amount if intent_status == "requires_capture" else 0,
            "amount_received": amount if intent_status == "succeeded" else 0,
            "capture_method": stored.private["capture_method"],
            "created": now,
            "currency": session["currency"],
            "latest_charge": new_id("ch"),
            "livemode": False,
            "metadata": session["metadata"],
            "payment_method_details": {"type": "card", "card": card},
            "status": intent_status,
        }
        intent_private = {"session_id": session["id"], "amount_refunded": 0}
        await tx.put(INTENT, intent, intent_private)
        paid = intent_status == "succeeded"
        doc = {
            **session,
            "status": "complete",
            "payment_status": "paid" if paid else session["payment_status"],
            "payment_intent": intent["id"],
            "url": None,
            "customer_details": {"email": session.get("customer_email")},
        }
        private = {**stored.private, "delayed_outcome": delayed_outcome}
        async_due = self.now() + self._config.async_payment_delay if delayed_outcome else None
        await tx.put(SESSION, doc, private, async_due=async_due)
        await self._emit(tx, "checkout.session.completed", doc, stored)
        return PaymentOutcome(redirect_to=_success_url(doc))

    async def cancel_url(self, session_id: str) -> str | None:
        stored = await self.session(session_id)
        url: str | None = stored.doc.get("cancel_url")
        return url

    # -- background work ---------------------------------------------------------------------
    async def sweep(self) -> None:
        """Expire overdue sessions and settle delayed payments whose time has come."""
        now = self.now()
        async with self._store.transaction() as tx:
            for session_id in await tx.sessions_to_expire(now):
                stored = await tx.get(SESSION, session_id)
                assert stored is not None
                await self._expire(tx, stored)
            for session_id in await tx.sessions_with_async_due(now):
                stored = await tx.get(SESSION, session_id)
                assert stored is not None
                await self._settle_delayed(tx, stored)

    async def _settle_delayed(self, tx: Transaction, stored: StoredObject) -> None:
        intent_stored = await self._require(tx, INTENT, stored.doc["payment_intent"])
        succeeded = stored.private.get("delayed_outcome") == "succeeded"
        intent = dict(intent_stored.doc)
        doc = dict(stored.doc)
        if succeeded:
            manual = stored.private["capture_method"] == "manual"
            intent["status"] = "requires_capture" if manual else "succeeded"
            if manual:
                intent["amount_capturable"] = intent["amount"]
            else:
                intent["amount_received"] = intent["amount"]
                doc["payment_status"] = "paid"
        else:
            intent["status"] = "requires_payment_method"
        await tx.put(INTENT, intent, intent_stored.private)
        await tx.put(SESSION, doc, {**stored.private, "delayed_outcome": None})
        kind = "succeeded" if succeeded else "failed"
        await self._emit(tx, f"checkout.session.async_payment_{kind}", doc, stored)

    # -- payment intents and refunds ------------------------------------------------------------
    async def capture(self, intent_id: str, form: Mapping[str, Any]) -> Doc:
        async with self._store.transaction() as tx:
            stored = await self._require(tx, INTENT, intent_id)
            intent = dict(stored.doc)
            if intent["status"] != "requires_capture":
                raise self._unexpected_state(intent, "capture")
            amount = optional_amount(form, "amount_to_capture") or intent["amount"]
            if amount > intent["amount"]:
                raise InvalidRequest(
                    "amount_too_large",
                    "amount_to_capture exceeds the authorised amount.",
                    "amount_to_capture",
                )
            intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
            await tx.put(INTENT, intent, stored.private)
            session = await self._require(tx, SESSION, stored.private["session_id"])
            await tx.put(SESSION, {**session.doc, "payment_status": "paid"}, session.private)
            await self._emit(tx, "payment_intent.succeeded", intent, session)
            return intent

    async def cancel(self, intent_id: str) -> Doc:
        async with self._store.transaction() as tx:
            stored = await self._require(tx, INTENT, intent_id)
            intent = dict(stored.doc)
            if intent["status"] not in ("requires_capture", "requires_payment_method"):
                raise self._unexpected_state(intent, "cancel")
            intent.update(status="canceled", amount_capturable=0)
            await tx.put(INTENT, intent, stored.private)
            session = await self._require(tx, SESSION, stored.private["session_id"])
            await self._emit(tx, "payment_intent.canceled", intent, session)
            return intent

    @staticmethod
    def _unexpected_state(intent: Doc, action: str) -> InvalidRequest:
        return InvalidRequest(
            "payment_intent_unexpected_state",
            f"This PaymentIntent could not be {action}ed because it has a status of "
            f"{intent['status']}.",
        )

    async def refund(self, form: Mapping[str, Any]) -> Doc:
        intent_id = required_string(form, "payment_intent")
        amount = optional_amount(form, "amount")
        async with self._store.transaction() as tx:
            found = await tx.get(INTENT, intent_id)
            if found is None:
                raise NotFound(
                    "resource_missing", f"No such payment_intent: '{intent_id}'", "payment_intent"
                )
            intent = found.doc
            if intent["status"] != "succeeded":
                raise self._unexpected_state(intent, "refund")
            refunded = int(found.private["amount_refunded"])
            remaining = int(intent["amount_received"]) - refunded
            if remaining <= 0:
                raise InvalidRequest(
                    "charge_already_refunded",
                    f"Charge {intent['latest_charge']} has already been refunded.",
                )
            amount = remaining if amount is None else amount
            if amount > remaining:
                raise InvalidRequest(
                    "amount_too_large",
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                    f"({remaining}).",
                    "amount",
                )
            now = int(self.now())
            metadata = form.get("metadata") if isinstance(form.get("metadata"), dict) else {}
            refund = {
                "id": new_id("re"),
                "object": REFUND,
                "amount": amount,
                "charge": intent["latest_charge"],
                "created": now,
                "currency": intent["currency"],
                "metadata": metadata,
                "payment_intent": intent_id,
                "reason": form.get("reason") or None,
                "status": "succeeded",
            }
            await tx.put(REFUND, refund)
            private = {**found.private, "amount_refunded": refunded + amount}
            await tx.put(INTENT, intent, private)
            charge = {
                "id": intent["latest_charge"],
                "object": "charge",
                "amount": intent["amount_received"],
                "amount_captured": intent["amount_received"],
                "amount_refunded": refunded + amount,
                "currency": intent["currency"],
                "metadata": intent["metadata"],
                "payment_intent": intent_id,
                "refunded": refunded + amount == intent["amount_received"],
                "status": "succeeded",
            }
            session = await tx.get(SESSION, found.private["session_id"])
            await self._emit(tx, "charge.refunded", charge, session)
            return refund
