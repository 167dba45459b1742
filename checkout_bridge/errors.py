"""The checkout bridge's exception tree; every error carries a stable string ``code``.

The transport sends ``code`` to clients and webhook senders, so codes never change meaning once
released. Foreign errors (a provider's HTTP failure, a JSON decode error) are translated at the
boundary with ``raise CheckoutError(...) from exc``. This module holds no logic and does no I/O.

::

    CheckoutError                 code: any of the codes below
    ├── MoneyError                invalid_currency, invalid_amount, currency_mismatch
    ├── PricingError              empty_cart, invalid_quantity, duplicate_line, mixed_currency,
    │                             unknown_currency, snapshot_invalid
    ├── SplitError                unknown_mode, no_payers, snapshot_not_ready
    ├── OrderError                invalid_order, nothing_to_pay, order_closed, deadline_passed,
    │                             unknown_share, unknown_session, session_in_use,
    │                             checkout_already_open, share_not_open, share_not_retryable,
    │                             share_not_paid, amount_mismatch, currency_mismatch,
    │                             reference_mismatch, unexpected_authorization, invalid_amount,
    │                             refund_exceeds_paid, event_malformed, share_not_holdout,
    │                             holdout_is_host, no_one_to_split, lines_not_separable,
    │                             nothing_left, unknown_choice
    ├── WebhookError              webhook_secret_missing, signature_header_missing,
    │                             signature_header_malformed, signature_mismatch,
    │                             timestamp_too_old, timestamp_in_future, payload_malformed
    └── ProviderError             codes chosen by the I/O adapters (providers/, sandbox/)
"""

from __future__ import annotations

__all__ = [
    "CheckoutError",
    "MoneyError",
    "OrderError",
    "PricingError",
    "ProviderError",
    "SplitError",
    "WebhookError",
]


class CheckoutError(Exception):
    """Base of every checkout bridge error: a machine-readable ``code`` and a human message."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message or code


class MoneyError(CheckoutError):
    """An amount or currency is not acceptable (negative, not an int, unknown code, mixed)."""


class PricingError(CheckoutError):
    """The cart cannot be frozen into a snapshot, or a stored snapshot is not valid."""


class SplitError(CheckoutError):
    """The snapshot cannot be divided into shares under the chosen payment mode."""


class OrderError(CheckoutError):
    """A fact or command was refused by the order state machine; the order is unchanged."""


class WebhookError(CheckoutError):
    """A webhook delivery failed verification; its body must not be acted upon."""


class ProviderError(CheckoutError):
    """A payment provider adapter failed or refused a request (raised by the I/O adapters)."""
