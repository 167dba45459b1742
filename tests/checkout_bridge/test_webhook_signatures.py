"""Webhook signing and verification: forged, replayed, future-dated and malformed deliveries."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkout_bridge.errors import CheckoutError, WebhookError
from checkout_bridge.webhooks import (
    compute_signature,
    parse_event,
    sign_payload,
    verify_and_parse,
    verify_signature,
)

SECRET = "whsec_test_secret"
NOW = 1_700_000_000
BODY = b'{"id":"evt_1","type":"checkout.session.completed","data":{"object":{}}}'


def _code(exc: pytest.ExceptionInfo[WebhookError]) -> str:
    return exc.value.code


def test_sign_payload_matches_the_stripe_scheme() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign_payload(BODY, SECRET, NOW) == f"t={NOW},v1={expected}"
    assert compute_signature(BODY, SECRET, NOW) == expected


def test_a_good_signature_returns_its_timestamp() -> None:
    header = sign_payload(BODY, SECRET, NOW)
    assert verify_signature(BODY, header, SECRET, now=NOW) == NOW


@pytest.mark.parametrize("secret", [None, ""])
def test_no_secret_fails_closed(secret: str | None) -> None:
    header = sign_payload(BODY, "", NOW)
    with pytest.raises(WebhookError) as exc:
        verify_signature(BODY, header, secret, now=NOW)
    assert _code(exc) == "webhook_secret_missing"
    assert isinstance(exc.value, CheckoutError)


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header(header: str | None) -> None:
    with pytest.raises(WebhookError) as exc:
        verify_signature(BODY, header, SECRET, now=NOW)
    assert _code(exc) == "signature_header_missing"


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "v1=abc",
        f"t={NOW}",
        f"t={NOW},v0=abc",
        "t=abc,v1=abc",
        "t=-5,v1=abc",
        f"t={NOW},t={NOW},v1=abc",
        "t=١٢٣,v1=abc",  # non-ASCII digits are not a timestamp
    ],
)
def test_malformed_headers(header: str) -> None:
    with pytest.raises(WebhookError) as exc:
        verify_signature(BODY, header, SECRET, now=NOW)
    assert _code(exc) == "signature_header_malformed"


def test_wrong_secret_is_a_mismatch() -> None:
    header = sign_payload(BODY, "whsec_other", NOW)
    with pytest.raises(WebhookError) as exc:
        verify_signature(BODY, header, SECRET, now=NOW)
    assert _code(exc) == "signature_mismatch"


def test_tampered_body_is_a_mismatch() -> None:
    header = sign_payload(BODY, SECRET, NOW)
    with pytest.raises(WebhookError) as exc:
        verify_signature(BODY.replace(b"evt_1", b"evt_2"), header, SECRET, now=NOW)
    assert _code(exc) == "signature_mismatch"


def test_reusing_a_signature_with_a_new_timestamp_is_a_mismatch() -> None:
    old = compute_signature(BODY, SECRET, NOW - 3600)
    with pytest.raises(WebhookError) as exc:
        verify_signature(BODY, f"t={NOW},v1={old}", SECRET, now=NOW)
    assert _code(exc) == "signature_mismatch"


def test_non_ascii_signature_is_a_mismatch_not_a_crash() -> None:
    with pytest.raises(WebhookError) as exc:
        verify_signature(BODY, f"t={NOW},v1=é", SECRET, now=NOW)
    assert _code(exc) == "signature_mismatch"


def test_any_of_several_v1_entries_may_match() -> None:
    good = compute_signature(BODY, SECRET, NOW)
    bad = compute_signature(BODY, "whsec_old", NOW)
    for header in (f"t={NOW},v1={bad},v1={good}", f"t={NOW}, v1={good}, v0=zz, v1={bad}"):
        assert verify_signature(BODY, header, SECRET, now=NOW) == NOW


def test_replayed_old_delivery_is_refused() -> None:
    header = sign_payload(BODY, SECRET, NOW - 301)
    with pytest.raises(WebhookError) as exc:
        verify_signature(BODY, header, SECRET, now=NOW)
    assert _code(exc) == "timestamp_too_old"
    assert verify_signature(BODY, sign_payload(BODY, SECRET, NOW - 300), SECRET, now=NOW)


def test_future_dated_delivery_is_refused() -> None:
    header = sign_payload(BODY, SECRET, NOW + 301)
    with pytest.raises(WebhookError) as exc:
        verify_signature(BODY, header, SECRET, now=NOW)
    assert _code(exc) == "timestamp_in_future"
    assert verify_signature(BODY, sign_payload(BODY, SECRET, NOW + 300), SECRET, now=NOW)


def test_custom_tolerance() -> None:
    header = sign_payload(BODY, SECRET, NOW - 10)
    with pytest.raises(WebhookError) as exc:
        verify_signature(BODY, header, SECRET, now=NOW, tolerance=5)
    assert _code(exc) == "timestamp_too_old"


def test_verify_and_parse_returns_the_event_only_after_verification() -> None:
    event = verify_and_parse(BODY, sign_payload(BODY, SECRET, NOW), SECRET, now=NOW)
    assert event["id"] == "evt_1"
    assert event["type"] == "checkout.session.completed"
    with pytest.raises(WebhookError) as exc:
        verify_and_parse(b"not json", sign_payload(BODY, SECRET, NOW), SECRET, now=NOW)
    assert _code(exc) == "signature_mismatch"


@pytest.mark.parametrize(
    "body", [b"not json", b"\xff\xfe", b"[1, 2]", b'{"id": 1, "type": "x"}', b'{"id": "e"}']
)
def test_parse_event_rejects_malformed_bodies(body: bytes) -> None:
    with pytest.raises(WebhookError) as exc:
        parse_event(body)
    assert _code(exc) == "payload_malformed"


@settings(max_examples=50)
@given(body=st.binary(max_size=200), secret=st.text(min_size=1, max_size=20), ts=st.integers(0))
def test_round_trip_property(body: bytes, secret: str, ts: int) -> None:
    assert verify_signature(body, sign_payload(body, secret, ts), secret, now=ts) == ts
