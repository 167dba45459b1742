"""Money-moving calls repeated with one idempotency key happen once (the outbox's retries).

The Stripe adapter against the sandbox: a capture, a refund, a void and an expire sent twice
with the same key get the first answer back and move money once; a new key for a capture that
already happened is refused (a 4xx: the outbox marks such a row dead instead of retrying it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from checkout_bridge.errors import ProviderError
from checkout_bridge.providers import ShareLine, ShareRequest, StripeCheckoutProvider

from .conftest import API_KEY, SECRET, RunningSandbox


@pytest.fixture
async def provider(running_sandbox: RunningSandbox) -> AsyncIterator[StripeCheckoutProvider]:
    adapter = StripeCheckoutProvider(
        API_KEY, SECRET, base_url=running_sandbox.url, max_network_retries=0
    )
    yield adapter
    await adapter.aclose()


async def paid_intent(provider: StripeCheckoutProvider, key: str, *, manual: bool) -> str:
    session = await provider.create_session(
        ShareRequest(
            order_id="o1",
            payer="alice",
            amount_minor=1000,
            currency="USD",
            lines=(ShareLine("Tent", 1000, 1),),
            success_url="https://coshop.test/paid",
            cancel_url="https://coshop.test/room",
            reference="o1-1",
            idempotency_key=key,
            capture="manual" if manual else "automatic",
        )
    )
    assert session.url is not None
    async with httpx.AsyncClient() as browser:
        form = {"card_number": "4242424242424242", "expiry": "12/39", "cvc": "123"}
        assert (await browser.post(session.url, data={**form, "scenario": "pay"})).is_redirect
    intent = (await provider.retrieve(session.id)).payment_intent
    assert intent is not None
    return intent


async def test_a_capture_repeated_with_its_key_is_one_capture(
    provider: StripeCheckoutProvider,
) -> None:
    intent = await paid_intent(provider, "s1", manual=True)
    first = await provider.capture(intent, idempotency_key="coshop-fx-o1-00004-00")
    again = await provider.capture(intent, idempotency_key="coshop-fx-o1-00004-00")
    assert first == again and first.status == "succeeded" and first.amount_received == 1000
    with pytest.raises(ProviderError) as refused:  # another key: the intent is captured already
        await provider.capture(intent, idempotency_key="coshop-fx-o1-00009-00")
    assert refused.value.code == "provider_rejected"


async def test_a_refund_repeated_with_its_key_is_one_refund(
    provider: StripeCheckoutProvider,
) -> None:
    intent = await paid_intent(provider, "s2", manual=False)
    first = await provider.refund(intent, 400, idempotency_key="coshop-fx-o1-00005-01")
    again = await provider.refund(intent, 400, idempotency_key="coshop-fx-o1-00005-01")
    assert first == again
    rest = await provider.refund(intent, 600, idempotency_key="coshop-fx-o1-00006-00")
    assert rest.amount_minor == 600  # 400 + 600: the repeat refunded nothing more
    with pytest.raises(ProviderError):
        await provider.refund(intent, 1, idempotency_key="coshop-fx-o1-00007-00")


async def test_a_void_and_an_expire_repeated_with_their_keys(
    provider: StripeCheckoutProvider,
) -> None:
    intent = await paid_intent(provider, "s3", manual=True)
    first = await provider.cancel(intent, idempotency_key="coshop-fx-o1-00003-00")
    again = await provider.cancel(intent, idempotency_key="coshop-fx-o1-00003-00")
    assert first == again and first.status == "canceled"
    session = await provider.create_session(
        ShareRequest(
            order_id="o2", payer="bob", amount_minor=500, currency="USD",
            lines=(ShareLine("Mug", 500, 1),), success_url="https://coshop.test/paid",
            cancel_url="https://coshop.test/room", reference="o2-1", idempotency_key="s4",
        )
    )  # fmt: skip
    expired = await provider.expire(session.id, idempotency_key="coshop-fx-o2-00002-00")
    repeat = await provider.expire(session.id, idempotency_key="coshop-fx-o2-00002-00")
    assert expired.status == repeat.status == "expired"
