"""The checkout server's exception tree; each error carries a stable ``code`` and HTTP status.

::

    CheckoutFlowError            code, status
    ├── NotReady                 409: cart_not_locked, snapshot_blocked, prices_changed,
    │                            not_settling, order_closed
    ├── Forbidden                403: host_only, not_a_payer
    ├── NotFound                 404: order_not_found, no_snapshot
    └── Unavailable              503: payments_unconfigured, handoff_unconfigured,
                                 provider_unavailable, room_unavailable

The routes translate these into problem+json responses; errors from the pure core
(``checkout_bridge.errors``) are translated at that boundary too. No logic here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CheckoutFlowError", "Forbidden", "NotFound", "NotReady", "Unavailable"]


class CheckoutFlowError(Exception):
    status = 400

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


class NotReady(CheckoutFlowError):
    status = 409


class Forbidden(CheckoutFlowError):
    status = 403


class NotFound(CheckoutFlowError):
    status = 404


class Unavailable(CheckoutFlowError):
    status = 503
