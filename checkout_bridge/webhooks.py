"""Stripe-compatible webhook signatures: sign a payload, verify a delivery, then parse it.

The header looks like ``t=1700000000,v1=<hex>,v1=<hex>``: ``t`` is the time of the delivery
attempt and each ``v1`` is HMAC-SHA256 keyed with the endpoint secret over ``f"{t}.".encode() +
body``. Several ``v1`` entries are allowed (secret rotation); any one matching is enough. Other
schemes (``v0``...) are ignored. Verification is done over the raw body bytes, exactly as
received, and fails closed: no secret configured means every delivery is refused.

Rules:

1. Verify first, parse after. :func:`parse_event` is only reached through
   :func:`verify_and_parse` in the server; nothing reads an unverified body.
2. The timestamp tolerance is two-sided: a replay of an old delivery and a delivery dated in the
   future are both refused.
3. Signatures are compared with :func:`hmac.compare_digest`.

This module is pure: the caller passes ``now`` (seconds since the epoch); it never reads the
clock and does no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from checkout_bridge.errors import WebhookError

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "compute_signature",
    "parse_event",
    "sign_payload",
    "verify_and_parse",
    "verify_signature",
]

SIGNATURE_HEADER = "Stripe-Signature"
DEFAULT_TOLERANCE = 300  # seconds, either side of ``now``; Stripe's default


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The hex ``v1`` signature of ``payload`` sent at ``timestamp`` under ``secret``."""
    signed = f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign_payload(payload: bytes, secret: str, timestamp: int) -> str:
    """A complete signature header value: ``t=<timestamp>,v1=<hex hmac>``."""
    return f"t={timestamp},v1={compute_signature(payload, secret, timestamp)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise WebhookError("signature_header_malformed", "header item without '='")
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise WebhookError("signature_header_malformed", "bad or repeated timestamp")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        raise WebhookError("signature_header_malformed", "no timestamp in the header")
    if not signatures:
        raise WebhookError("signature_header_malformed", "no v1 signature in the header")
    return timestamp, signatures


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str | None,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
) -> int:
    """Check ``header`` against the raw ``payload``; return the signed timestamp.

    Raises :class:`WebhookError` with one of ``webhook_secret_missing``,
    ``signature_header_missing``, ``signature_header_malformed``, ``signature_mismatch``,
    ``timestamp_too_old`` or ``timestamp_in_future``.
    """
    if not secret:
        raise WebhookError("webhook_secret_missing", "no webhook secret is configured")
    if not header:
        raise WebhookError("signature_header_missing", f"no {SIGNATURE_HEADER} header")
    timestamp, signatures = _parse_header(header)
    expected = compute_signature(payload, secret, timestamp)
    # Check every candidate (no early exit) so timing says nothing about which one matched.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected.encode(), candidate.encode("utf-8", "replace"))
    if not matched:
        raise WebhookError("signature_mismatch", "no signature matches the payload")
    if now - timestamp > tolerance:
        raise WebhookError("timestamp_too_old", "the delivery is older than the tolerance")
    if timestamp - now > tolerance:
        raise WebhookError("timestamp_in_future", "the delivery is dated in the future")
    return timestamp


def parse_event(payload: bytes) -> Mapping[str, object]:
    """Decode a verified event body; it must be a JSON object with string ``id`` and ``type``."""
    try:
        event = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookError("payload_malformed", "the body is not JSON") from exc
    if not isinstance(event, dict):
        raise WebhookError("payload_malformed", "the body is not a JSON object")
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise WebhookError("payload_malformed", "the event has no string id and type")
    return event


def verify_and_parse(
    payload: bytes,
    header: str | None,
    secret: str | None,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
) -> Mapping[str, object]:
    """Verify the delivery, then (only then) decode its JSON event object."""
    verify_signature(payload, header, secret, now=now, tolerance=tolerance)
    return parse_event(payload)
