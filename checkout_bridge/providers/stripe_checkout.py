"""Stripe Checkout adapter, built on the official ``stripe`` package (async client, httpx).

Point ``base_url`` at the sandbox (``http://127.0.0.1:8790``) and this adapter is the sandbox
integration too. Stripe's errors are translated at this boundary into
:class:`~checkout_bridge.errors.ProviderError`; webhook failures into
:class:`~checkout_bridge.errors.WebhookError`. Webhooks are verified with stripe's own verifier
plus an explicit check that refuses timestamps in the future (stripe only checks the past).

Every call carries ``Stripe-Version: STRIPE_API_VERSION``. Unpinned, the ``stripe`` package sends
the newest version it knows (16.x: a 2026 one), and Stripe's 2026-03-25 release renamed the
Checkout Session ``ui_mode`` values, so a package upgrade would silently change the shapes we
parse. The pin is the version the sandbox answers for; a test fails if the two drift apart.
Moving the pin is a deliberate change: read Stripe's changelog between the two versions, move
the sandbox with it, and run the adapter tests.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import stripe

from checkout_bridge.errors import ProviderError, WebhookError
from checkout_bridge.providers.base import (
    PaymentIntentState,
    ProviderEvent,
    ProviderSession,
    Refund,
    ShareRequest,
)

__all__ = ["STRIPE_API_VERSION", "StripeCheckoutProvider", "session_from_dict"]

T = TypeVar("T")
DEFAULT_TOLERANCE = 300
STRIPE_API_VERSION = "2025-01-27.acacia"
"""The Stripe API version this adapter is written and tested against (sent on every call)."""


def session_from_dict(data: Mapping[str, Any]) -> ProviderSession:
    """A :class:`ProviderSession` from a Checkout Session object (API answer or event)."""
    intent = data.get("payment_intent")
    if isinstance(intent, Mapping):  # expanded
        intent = intent.get("id")
    return ProviderSession(
        id=str(data["id"]),
        url=data.get("url"),
        status=data["status"],
        payment_status=data["payment_status"],
        amount_total=data.get("amount_total"),
        currency=data.get("currency"),
        reference=data.get("client_reference_id"),
        payment_intent=intent,
        expires_at=data.get("expires_at"),
        metadata=dict(data.get("metadata") or {}),
    )


def _intent_from_dict(data: Mapping[str, Any]) -> PaymentIntentState:
    return PaymentIntentState(
        id=str(data["id"]),
        status=str(data["status"]),
        amount=int(data["amount"]),
        amount_received=int(data.get("amount_received") or 0),
        currency=str(data["currency"]),
    )


def _line_items(share: ShareRequest) -> list[dict[str, Any]]:
    lines = share.lines
    if sum(line.unit_amount * line.quantity for line in lines) != share.amount_minor:
        name = f"Your share of order {share.order_id}"
        return [_line(share.currency, share.amount_minor, name, 1)]
    return [_line(share.currency, line.unit_amount, line.name, line.quantity) for line in lines]


def _line(currency: str, unit_amount: int, name: str, quantity: int) -> dict[str, Any]:
    return {
        "price_data": {
            "currency": currency.lower(),
            "unit_amount": unit_amount,
            "product_data": {"name": name},
        },
        "quantity": quantity,
    }


def _options(idempotency_key: str | None) -> Any:
    """Request options carrying ``idempotency_key`` (none: stripe makes one per call)."""
    return None if idempotency_key is None else {"idempotency_key": idempotency_key}


def _header_timestamp(header: str) -> int:
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                break
    raise WebhookError("signature_header_malformed", "no valid t= in the signature header")


class _HTTPXClient(stripe.HTTPXClient):
    """stripe's httpx client, passing the encoded form as ``content=`` (httpx deprecates
    ``data=<str>``, and a deprecation warning must not turn into a failed payment call)."""

    def _get_request_args_kwargs(  # type: ignore[no-untyped-def]  # stripe's is unannotated
        self, method, url, headers, post_data
    ):
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        data = kwargs.pop("data", None)
        if isinstance(data, str | bytes):
            kwargs["content"] = data
        elif data:
            kwargs["data"] = data
        return [args, kwargs]


class StripeCheckoutProvider:
    """:class:`~checkout_bridge.providers.base.PaymentProvider` for Stripe Checkout."""

    def __init__(
        self,
        api_key: str,
        webhook_secret: str | None,
        *,
        base_url: str | None = None,
        tolerance: int = DEFAULT_TOLERANCE,
        max_network_retries: int = 2,
    ) -> None:
        self._http = _HTTPXClient()
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": base_url.rstrip("/")} if base_url else None,
            http_client=self._http,
            max_network_retries=max_network_retries,
            stripe_version=STRIPE_API_VERSION,
        )
        self._secret = webhook_secret
        self._tolerance = tolerance

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]  # unannotated in stripe

    async def _call(self, request: Awaitable[T]) -> T:
        try:
            return await request
        except stripe.APIConnectionError as exc:
            raise ProviderError("provider_unavailable", "payment provider unreachable") from exc
        except stripe.AuthenticationError as exc:
            raise ProviderError("provider_auth_failed", "payment provider refused the key") from exc
        except stripe.IdempotencyError as exc:
            raise ProviderError("provider_idempotency_conflict", str(exc.user_message)) from exc
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise ProviderError("session_not_found", str(exc.user_message)) from exc
            raise ProviderError("provider_rejected", str(exc.user_message)) from exc
        except stripe.StripeError as exc:
            raise ProviderError("provider_error", str(exc.user_message)) from exc

    # -- sessions -------------------------------------------------------------------------------
    async def create_session(self, share: ShareRequest) -> ProviderSession:
        metadata = {"coshop_order": share.order_id, "coshop_payer": share.payer}
        metadata.update(share.metadata)
        params: dict[str, Any] = {
            "mode": "payment",
            "success_url": share.success_url,
            "cancel_url": share.cancel_url,
            "client_reference_id": share.reference,
            "line_items": _line_items(share),
            "metadata": metadata,
        }
        if share.expires_at is not None:
            params["expires_at"] = share.expires_at
        if share.capture == "manual":
            params["payment_intent_data"] = {"capture_method": "manual", "metadata": metadata}
        session = await self._call(
            self._client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]  # a plain dict; stripe's TypedDict is stricter
                {"idempotency_key": share.idempotency_key},
            )
        )
        return session_from_dict(session.to_dict())

    async def retrieve(self, session_id: str) -> ProviderSession:
        session = await self._call(self._client.v1.checkout.sessions.retrieve_async(session_id))
        return session_from_dict(session.to_dict())

    async def expire(
        self, session_id: str, *, idempotency_key: str | None = None
    ) -> ProviderSession:
        try:
            session = await self._call(
                self._client.v1.checkout.sessions.expire_async(
                    session_id, None, _options(idempotency_key)
                )
            )
        except ProviderError as exc:
            if exc.code != "provider_rejected":
                raise
            # Stripe refuses to expire a session that is no longer open (paid in the meantime, or
            # already expired): ask what it is now, and let the caller reconcile that answer.
            current = await self.retrieve(session_id)
            if current.status == "open":
                raise
            return current
        return session_from_dict(session.to_dict())

    # -- payment intents and refunds ---------------------------------------------------------
    async def payment_intent(self, payment_intent: str) -> PaymentIntentState:
        intent = await self._call(self._client.v1.payment_intents.retrieve_async(payment_intent))
        return _intent_from_dict(intent.to_dict())

    async def refund(
        self,
        payment_intent: str,
        amount_minor: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Refund:
        params: dict[str, Any] = {"payment_intent": payment_intent}
        if amount_minor is not None:
            params["amount"] = amount_minor
        refund = await self._call(
            self._client.v1.refunds.create_async(
                params,  # type: ignore[arg-type]  # a plain dict; stripe's TypedDict is stricter
                _options(idempotency_key),
            )
        )
        data = refund.to_dict()
        return Refund(
            id=str(data["id"]),
            amount_minor=int(data["amount"]),
            currency=str(data["currency"]),
            payment_intent=str(data["payment_intent"]),
            status=str(data["status"]),
        )

    async def capture(
        self,
        payment_intent: str,
        amount_minor: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> PaymentIntentState:
        params: dict[str, Any] = {}
        if amount_minor is not None:
            params["amount_to_capture"] = amount_minor
        intent = await self._call(
            self._client.v1.payment_intents.capture_async(
                payment_intent,
                params,  # type: ignore[arg-type]  # a plain dict; stripe's TypedDict is stricter
                _options(idempotency_key),
            )
        )
        return _intent_from_dict(intent.to_dict())

    async def cancel(
        self, payment_intent: str, *, idempotency_key: str | None = None
    ) -> PaymentIntentState:
        intent = await self._call(
            self._client.v1.payment_intents.cancel_async(
                payment_intent, None, _options(idempotency_key)
            )
        )
        return _intent_from_dict(intent.to_dict())

    # -- webhooks -----------------------------------------------------------------------------
    def verify_webhook(self, payload: bytes, header: str | None, now: int) -> ProviderEvent:
        """Verify a delivery over its raw body, then parse it. Fails closed without a secret."""
        if not self._secret:
            raise WebhookError("webhook_secret_missing", "no webhook secret is configured")
        if not header:
            raise WebhookError("signature_header_missing", "no Stripe-Signature header")
        timestamp = _header_timestamp(header)
        try:
            stripe.WebhookSignature.verify_header(payload, header, self._secret, self._tolerance)
        except stripe.SignatureVerificationError as exc:
            message = str(exc.user_message or exc)
            if "tolerance" in message:
                raise WebhookError("timestamp_too_old", "the delivery is too old") from exc
            if "Unable to extract" in message or "No signatures found with" in message:
                raise WebhookError("signature_header_malformed", message) from exc
            raise WebhookError("signature_mismatch", "the signature does not match") from exc
        # stripe's verifier only refuses old timestamps; refuse the future ones too, and check
        # the past against the caller's clock as well.
        if timestamp > now + self._tolerance:
            raise WebhookError("timestamp_in_future", "the delivery is dated in the future")
        if timestamp < now - self._tolerance:
            raise WebhookError("timestamp_too_old", "the delivery is too old")
        return _parse_event(payload, timestamp)


def _parse_event(payload: bytes, signed_at: int) -> ProviderEvent:
    try:
        data = json.loads(payload)
        obj = data["data"]["object"]
        event = ProviderEvent(
            id=str(data["id"]),
            type=str(data["type"]),
            created=int(data["created"]),
            signed_at=signed_at,
            object=obj,
            session=session_from_dict(obj) if obj.get("object") == "checkout.session" else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WebhookError("payload_malformed", "the event body is not a valid event") from exc
    if not isinstance(obj, dict):
        raise WebhookError("payload_malformed", "data.object is not an object")
    return event
