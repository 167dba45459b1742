"""Standard Webhooks secrets and headers, through the ``standardwebhooks`` library.

A secret is ``whsec_`` and the base64 of 32 random bytes (the form every Standard Webhooks
library reads). :func:`headers` signs one attempt: ``webhook-id`` (the message id, the same on
every retry and resend, so receivers de-duplicate on it), ``webhook-timestamp`` (this attempt's
time, seconds) and ``webhook-signature`` (``v1,…``; during a rotation's grace period one
signature per valid secret, space-separated, as the specification allows).
"""

from __future__ import annotations

import base64
import datetime
import secrets
from collections.abc import Sequence

from standardwebhooks import Webhook

__all__ = ["headers", "new_secret"]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def headers(message_id: str, body: str, keys: Sequence[str], now_s: int) -> dict[str, str]:
    """The three Standard Webhooks headers for sending ``body`` now, signed with every key."""
    assert keys, "a delivery is always signed"
    when = datetime.datetime.fromtimestamp(now_s, tz=datetime.UTC)
    signatures = " ".join(Webhook(key).sign(message_id, when, body) for key in keys)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(now_s),
        "webhook-signature": signatures,
    }
