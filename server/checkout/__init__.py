"""The checkout bridge's server side: routes, service, storage. See docs/checkout-server.md.

Wiring (``server/app.py``): after the hub starts, ``app.state.checkout =
CheckoutService.from_state(app.state, provider_from_settings(settings))`` and ``await
app.state.checkout.start()``; on shutdown ``await app.state.checkout.close()``; add
``*checkout_routes()`` to the routes.
"""

from __future__ import annotations

from server.checkout.api import checkout_routes
from server.checkout.provider import provider_from_settings
from server.checkout.service import CheckoutService

__all__ = ["CheckoutService", "checkout_routes", "provider_from_settings"]
