"""The Stripe adapter pointed at the sandbox running under uvicorn: the whole flow, end to end."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from checkout_bridge.errors import ProviderError, WebhookError
from checkout_bridge.providers import ShareLine, ShareRequest, StripeCheckoutProvider
from checkout_bridge.webhooks import sign_payload

from .conftest import API_KEY, SECRET, RunningSandbox


def share(key: str, **changes: object) -> ShareRequest:
    values: dict[str, object] = {
        "order_id": "order_7",
        "payer": "alice",
        "amount_minor": 2 * 1299 + 500,
        "currency": "USD",
        "lines": (ShareLine("Tent", 1299, 2, sku="111"), ShareLine("Mug", 500, 1, sku="222")),
        "success_url": "https://coshop.test/paid?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://coshop.test/room",
        "reference": "order_7:alice",
        "idempotency_key": key,
    }
    values.update(changes)
    return ShareRequest(**values)  # type: ignore[arg-type]  # test data built from a dict


@pytest.fixture
async def provider(running_sandbox: RunningSandbox) -> AsyncIterator[StripeCheckoutProvider]:
    adapter = StripeCheckoutProvider(
        API_KEY, SECRET, base_url=running_sandbox.url, max_network_retries=0
    )
    yield adapter
    await adapter.aclose()


async def pay(url: str, number: str = "4242424242424242") -> httpx.Response:
    async with httpx.AsyncClient() as browser:
        form = {"card_number": number, "expiry": "12/39", "cvc": "123", "scenario": "pay"}
        return await browser.post(url, data=form)


async def test_full_flow_pay_webhook_retrieve_refund_expire(
    provider: StripeCheckoutProvider, running_sandbox: RunningSandbox
) -> None:
    session = await provider.create_session(share("k1"))
    assert session.status == "open"
    assert session.amount_total == 3098
    assert session.url is not None
    assert session.url.startswith(running_sandbox.url + "/pay/cs_test_")
    again = await provider.create_session(share("k1"))
    assert again.id == session.id  # same idempotency key: the same session

    paid = await pay(session.url)
    assert paid.status_code == 303
    assert paid.headers["location"] == f"https://coshop.test/paid?session={session.id}"

    [(body, header)] = await asyncio.to_thread(running_sandbox.receiver.wait_for, 1)
    event = provider.verify_webhook(body, header, now=int(time.time()))
    assert event.type == "checkout.session.completed"
    assert event.session is not None
    assert event.session.id == session.id
    assert event.session.is_paid
    assert event.session.reference == "order_7:alice"
    assert event.session.metadata["coshop_order"] == "order_7"

    current = await provider.retrieve(session.id)
    assert current.is_paid
    assert current.payment_intent is not None
    refund = await provider.refund(current.payment_intent, 500)
    assert (refund.amount_minor, refund.currency, refund.status) == (500, "usd", "succeeded")

    # Coshop's deadline passed while the shopper was paying: expiring answers "paid".
    reconciled = await provider.expire(session.id)
    assert reconciled.status == "complete"
    assert reconciled.is_paid


async def test_expire_open_session_and_errors(provider: StripeCheckoutProvider) -> None:
    session = await provider.create_session(share("k2"))
    expired = await provider.expire(session.id)
    assert expired.status == "expired"
    with pytest.raises(ProviderError) as missing:
        await provider.retrieve("cs_test_nope")
    assert missing.value.code == "session_not_found"
    with pytest.raises(ProviderError) as conflict:
        await provider.create_session(share("k2", reference="other"))
    assert conflict.value.code == "provider_idempotency_conflict"


async def test_manual_capture_and_equal_split_line(provider: StripeCheckoutProvider) -> None:
    session = await provider.create_session(share("k3", capture="manual", amount_minor=1549))
    assert session.amount_total == 1549  # lines did not add up: one share line instead
    assert session.url is not None
    await pay(session.url)
    authorised = await provider.retrieve(session.id)
    assert (authorised.status, authorised.payment_status) == ("complete", "unpaid")
    assert authorised.payment_intent is not None
    intent = await provider.payment_intent(authorised.payment_intent)
    assert intent.status == "requires_capture"
    captured = await provider.capture(authorised.payment_intent)
    assert captured.status == "succeeded"
    assert (await provider.retrieve(session.id)).is_paid


async def test_wrong_api_key_and_unreachable_provider(running_sandbox: RunningSandbox) -> None:
    wrong = StripeCheckoutProvider(
        "sk_test_wrong", SECRET, base_url=running_sandbox.url, max_network_retries=0
    )
    with pytest.raises(ProviderError) as refused:
        await wrong.retrieve("cs_test_x")
    assert refused.value.code == "provider_auth_failed"
    await wrong.aclose()
    down = StripeCheckoutProvider(
        API_KEY, SECRET, base_url="http://127.0.0.1:9", max_network_retries=0
    )
    with pytest.raises(ProviderError) as unreachable:
        await down.retrieve("cs_test_x")
    assert unreachable.value.code == "provider_unavailable"
    await down.aclose()


def _event_body() -> bytes:
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "checkout.session.completed",
        "created": 1,
        "data": {
            "object": {
                "id": "cs_test_1",
                "object": "checkout.session",
                "status": "complete",
                "payment_status": "paid",
            }
        },
    }
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    ("header_for", "code"),
    [
        (lambda body, now: sign_payload(body + b" ", SECRET, now), "signature_mismatch"),
        (lambda body, now: sign_payload(body, "whsec_other", now), "signature_mismatch"),
        (lambda body, now: sign_payload(body, SECRET, now - 1000), "timestamp_too_old"),
        (lambda body, now: sign_payload(body, SECRET, now + 1000), "timestamp_in_future"),
        (lambda body, now: "v1=abc", "signature_header_malformed"),
        (lambda body, now: None, "signature_header_missing"),
    ],
)
def test_bad_webhooks_are_refused(header_for: object, code: str) -> None:
    adapter = StripeCheckoutProvider(API_KEY, SECRET, base_url="http://127.0.0.1:9")
    body = _event_body()
    now = int(time.time())
    assert callable(header_for)
    with pytest.raises(WebhookError) as refused:
        adapter.verify_webhook(body, header_for(body, now), now)
    assert refused.value.code == code


def test_good_webhook_parses_and_no_secret_fails_closed() -> None:
    body = _event_body()
    now = int(time.time())
    header = sign_payload(body, SECRET, now)
    event = StripeCheckoutProvider(API_KEY, SECRET).verify_webhook(body, header, now)
    assert (event.id, event.type, event.signed_at) == ("evt_1", "checkout.session.completed", now)
    assert event.session is not None
    assert event.session.is_paid
    for secret in (None, ""):
        with pytest.raises(WebhookError) as refused:
            StripeCheckoutProvider(API_KEY, secret).verify_webhook(body, header, now)
        assert refused.value.code == "webhook_secret_missing"
