"""Choose the payment provider from settings: the Stripe adapter pointed at the sandbox.

``sandbox_url`` set → :class:`StripeCheckoutProvider` with ``sandbox_api_key`` and
``webhook_secret`` against that base URL. Nothing set → ``None`` (checkout answers 503).
Builds objects only; opens no connection until the provider is first used.
"""

from __future__ import annotations

from checkout_bridge.providers import PaymentProvider, StripeCheckoutProvider
from server.settings import Settings

__all__ = ["provider_from_settings"]


def provider_from_settings(settings: Settings) -> PaymentProvider | None:
    """Stripe Checkout when a Stripe key is set, else the sandbox when its URL is, else none."""
    if settings.stripe_api_key:
        return StripeCheckoutProvider(settings.stripe_api_key, settings.webhook_secret or None)
    if not settings.sandbox_url:
        return None
    return StripeCheckoutProvider(
        settings.sandbox_api_key,
        settings.webhook_secret or None,
        base_url=settings.sandbox_url,
    )
