"""Turn what a provider says into order facts, always from a fresh look at the provider.

A webhook only tells coshop *which* session or payment to look at: the facts fed to the order
(:class:`~checkout_bridge.orders.SessionCompleted`, ``Authorized``, ``SessionExpired``,
``PaymentFailed``) are built from the session re-fetched from the provider, so a stale,
reordered or replayed delivery can never fulfil anything the provider does not confirm now.
Refunds are read from the verified ``charge.refunded`` object (cumulative ``amount_refunded``):
the refund id is derived from the charge and that total, so the same refund seen twice is
recorded once and an older delivery arriving late changes nothing.

A session completed with an asynchronous method (its payment intent ``processing``) proves no
order fact yet; :func:`read_session` says so (``processing``) and the service tells the room.

Knows the provider interface; holds no order rules and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from checkout_bridge.orders import (
    Authorized,
    Order,
    OrderInput,
    PaymentFailed,
    Refunded,
    SessionCompleted,
    SessionExpired,
)
from checkout_bridge.providers.base import PaymentProvider, ProviderSession

__all__ = ["SessionReading", "read_session", "refund_facts", "session_facts"]


@dataclass(frozen=True, slots=True)
class SessionReading:
    """What a freshly retrieved session says: the order facts it proves, and whether the payer
    has sent an asynchronous payment (a bank debit, a delayed method) that the provider is still
    confirming — not an order fact (nothing moved yet), but something the whole room is told."""

    facts: list[OrderInput]
    processing: bool = False


async def session_facts(provider: PaymentProvider, session: ProviderSession) -> list[OrderInput]:
    """The facts a freshly retrieved ``session`` proves."""
    return (await read_session(provider, session)).facts


async def read_session(provider: PaymentProvider, session: ProviderSession) -> SessionReading:
    """The facts a freshly retrieved ``session`` proves, and whether its payment is processing."""
    return SessionReading(*await _read(provider, session))


async def _read(
    provider: PaymentProvider, session: ProviderSession
) -> tuple[list[OrderInput], bool]:
    if session.status == "expired":
        return [SessionExpired(session.id)], False
    if session.status != "complete":
        return [], False  # still open: nothing has happened yet
    amount = session.amount_total if session.amount_total is not None else -1
    currency = session.currency or ""
    reference = session.reference or ""
    if session.payment_status == "paid":
        facts: list[OrderInput] = [
            SessionCompleted(session.id, amount, currency, reference, session.payment_intent)
        ]
        return facts, False
    if session.payment_intent is None:
        return [], False
    intent = await provider.payment_intent(session.payment_intent)
    if intent.status == "requires_capture":
        return [Authorized(session.id, intent.amount, intent.currency, reference, intent.id)], False
    if intent.status == "succeeded":  # captured since; the session may lag behind
        paid = SessionCompleted(
            session.id, intent.amount_received, intent.currency, reference, intent.id
        )
        return [paid], False
    if intent.status in ("requires_payment_method", "canceled"):
        return [PaymentFailed(session.id, intent.status)], False
    # completed but unpaid: an asynchronous method the provider confirms later (processing)
    return [], intent.status == "processing"


def refund_facts(
    order: Order, share_id: str, session_id: str, charge: Mapping[str, Any]
) -> list[OrderInput]:
    """A ``Refunded`` fact for what ``charge`` refunded beyond what the share has recorded."""
    total = charge.get("amount_refunded")
    if not isinstance(total, int) or isinstance(total, bool):
        return []
    share = order.share(share_id)
    currency = str(charge.get("currency") or order.currency)
    refund_id = f"{charge.get('id')}:{total}"
    if session_id != share.paid_session_id:
        # A compensation refund of a session that never counted as the share's payment.
        return [Refunded(session_id, refund_id, total, currency)]
    delta = total - share.refunded_minor
    if delta <= 0:
        return []  # an older refund event arriving after a newer one
    return [Refunded(session_id, refund_id, delta, currency)]
