"""coshop's sandbox payment provider: a Stripe-shaped test double with its own app and storage.

It runs as its own process on its own port (``coshop sandbox-pay``) with its own SQLite file, so
coshop talks to it over HTTP exactly as it would talk to Stripe: point the Stripe adapter's base
URL at it. It must never import coshop's server, storage or room code. See docs/sandbox.md.
"""

from __future__ import annotations

from checkout_bridge.sandbox.app import create_sandbox_app, run_sandbox
from checkout_bridge.sandbox.cards import TEST_CARDS
from checkout_bridge.sandbox.config import SandboxConfig

__all__ = ["TEST_CARDS", "SandboxConfig", "create_sandbox_app", "run_sandbox"]
