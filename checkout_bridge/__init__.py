"""coshop's checkout bridge: pure order logic plus provider adapters.

The pure core (no I/O, no clock, no randomness; callers pass time and ids in):

- ``money``     integer minor units, ISO 4217 exponents, display formatting
- ``pricing``   freeze the group cart into a server-priced, versioned snapshot
- ``splits``    divide a snapshot into payers' shares (host pays, own lines, equal split)
- ``orders``    the order state machine (decide/apply) fed by verified provider facts
- ``webhooks``  Stripe-compatible signature signing and verification
- ``errors``    the exception tree, every error with a stable ``code``

The I/O parts (``providers/``, ``sandbox/``) depend on the core, never the other way round.
This module re-exports the core's main names and must not import the I/O parts.
"""

from __future__ import annotations

from checkout_bridge.errors import (
    CheckoutError,
    MoneyError,
    OrderError,
    PricingError,
    ProviderError,
    SplitError,
    WebhookError,
)
from checkout_bridge.money import Money, format_minor, minor_unit_exponent
from checkout_bridge.orders import Order, plan_order
from checkout_bridge.pricing import CartLineInput, CartSnapshot, freeze_cart
from checkout_bridge.splits import PaymentMode, Share, compute_shares
from checkout_bridge.webhooks import sign_payload, verify_signature

__all__ = [
    "CartLineInput",
    "CartSnapshot",
    "CheckoutError",
    "Money",
    "MoneyError",
    "Order",
    "OrderError",
    "PaymentMode",
    "PricingError",
    "ProviderError",
    "Share",
    "SplitError",
    "WebhookError",
    "compute_shares",
    "format_minor",
    "freeze_cart",
    "minor_unit_exponent",
    "plan_order",
    "sign_payload",
    "verify_signature",
]
