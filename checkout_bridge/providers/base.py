"""The payment provider interface and the values that cross it.

Every adapter (Stripe Checkout, the cart permalink hand-off) implements
:class:`PaymentProvider`; the sandbox needs none of its own because it speaks Stripe's API. The
values here are frozen dataclasses so a caller can log, compare and store them safely; none of
them ever holds card data. This module does no I/O.

Errors raised by adapters are :class:`~checkout_bridge.errors.ProviderError` (codes
``provider_unavailable``, ``provider_rejected``, ``provider_auth_failed``,
``provider_idempotency_conflict``, ``session_not_found``, ``provider_operation_unsupported``,
``provider_error``) and, from :meth:`PaymentProvider.verify_webhook`,
:class:`~checkout_bridge.errors.WebhookError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "CaptureMethod",
    "PaymentIntentState",
    "PaymentProvider",
    "PaymentStatus",
    "ProviderEvent",
    "ProviderSession",
    "Refund",
    "SessionStatus",
    "ShareLine",
    "ShareRequest",
]

CaptureMethod = Literal["automatic", "manual"]
SessionStatus = Literal["open", "complete", "expired"]
PaymentStatus = Literal["unpaid", "paid", "no_payment_required"]


@dataclass(frozen=True)
class ShareLine:
    """One line a payer pays for; ``sku`` is the merchant's variant id (used by hand-offs)."""

    name: str
    unit_amount: int
    quantity: int
    sku: str | None = None


@dataclass(frozen=True)
class ShareRequest:
    """Everything a provider needs to open a hosted payment page for one payer's share.

    ``amount_minor`` is authoritative. When the lines do not add up to it (an equal split),
    adapters send one line for the share instead of the item lines.
    """

    order_id: str
    payer: str
    amount_minor: int
    currency: str
    lines: tuple[ShareLine, ...]
    success_url: str
    cancel_url: str
    reference: str
    idempotency_key: str
    expires_at: int | None = None
    capture: CaptureMethod = "automatic"
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderSession:
    id: str
    url: str | None
    status: SessionStatus
    payment_status: PaymentStatus
    amount_total: int | None
    currency: str | None
    reference: str | None
    payment_intent: str | None
    expires_at: int | None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_paid(self) -> bool:
        return self.status == "complete" and self.payment_status == "paid"


@dataclass(frozen=True)
class PaymentIntentState:
    id: str
    status: str  # requires_capture, processing, succeeded, canceled, requires_payment_method
    amount: int
    amount_received: int
    currency: str


@dataclass(frozen=True)
class Refund:
    id: str
    amount_minor: int
    currency: str
    payment_intent: str
    status: str


@dataclass(frozen=True)
class ProviderEvent:
    """A verified webhook event. ``session`` is set for ``checkout.session.*`` events."""

    id: str
    type: str
    created: int
    signed_at: int
    object: Mapping[str, Any]
    session: ProviderSession | None = None


class PaymentProvider(Protocol):
    """A hosted-payment provider as the checkout bridge sees it."""

    async def create_session(self, share: ShareRequest) -> ProviderSession: ...

    async def retrieve(self, session_id: str) -> ProviderSession: ...

    # Calls that change money take an optional idempotency key: the same key twice is one
    # call at the provider (coshop's outbox passes its row id, so a retried effect is harmless).
    async def expire(
        self, session_id: str, *, idempotency_key: str | None = None
    ) -> ProviderSession:
        """Expire an open session; an already completed one comes back complete, not an error."""
        ...

    async def payment_intent(self, payment_intent: str) -> PaymentIntentState: ...

    async def refund(
        self,
        payment_intent: str,
        amount_minor: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Refund: ...

    async def capture(
        self,
        payment_intent: str,
        amount_minor: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> PaymentIntentState: ...

    async def cancel(
        self, payment_intent: str, *, idempotency_key: str | None = None
    ) -> PaymentIntentState: ...

    def verify_webhook(self, payload: bytes, header: str | None, now: int) -> ProviderEvent:
        """Verify over the raw body with a two-sided tolerance; fail closed without a secret."""
        ...

    async def aclose(self) -> None: ...
