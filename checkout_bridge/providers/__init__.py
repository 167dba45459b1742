"""Payment provider adapters: the I/O side of the checkout bridge.

:class:`StripeCheckoutProvider` talks to Stripe (or to coshop's sandbox, which speaks the same
API); :class:`CartPermalinkProvider` hands the cart to the merchant's own checkout. Both satisfy
:class:`PaymentProvider`. Adapters translate, they never decide: order rules live in the pure
core (``checkout_bridge.orders``) and must not be imported the other way round.
"""

from __future__ import annotations

from checkout_bridge.providers.base import (
    CaptureMethod,
    PaymentIntentState,
    PaymentProvider,
    PaymentStatus,
    ProviderEvent,
    ProviderSession,
    Refund,
    SessionStatus,
    ShareLine,
    ShareRequest,
)
from checkout_bridge.providers.cart_permalink import (
    CartPermalinkProvider,
    PermalinkLine,
    build_permalink,
)
from checkout_bridge.providers.stripe_checkout import StripeCheckoutProvider

__all__ = [
    "CaptureMethod",
    "CartPermalinkProvider",
    "PaymentIntentState",
    "PaymentProvider",
    "PaymentStatus",
    "PermalinkLine",
    "ProviderEvent",
    "ProviderSession",
    "Refund",
    "SessionStatus",
    "ShareLine",
    "ShareRequest",
    "StripeCheckoutProvider",
    "build_permalink",
]
