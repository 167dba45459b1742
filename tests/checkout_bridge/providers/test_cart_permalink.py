"""The cart permalink hand-off: URL shape, validation, and what it refuses to do."""

from __future__ import annotations

import pytest

from checkout_bridge.errors import ProviderError
from checkout_bridge.providers import (
    CartPermalinkProvider,
    PermalinkLine,
    ShareLine,
    ShareRequest,
    build_permalink,
)


def test_permalink_shape_merges_repeated_variants() -> None:
    url = build_permalink(
        "Shop.Example.com",
        [PermalinkLine("111", 2), PermalinkLine("222", 1), PermalinkLine("111", 1)],
        ref="coshop",
        note="Group order & co",
    )
    assert url == "https://shop.example.com/cart/111:3,222:1?ref=coshop&note=Group+order+%26+co"


@pytest.mark.parametrize(
    ("shop", "lines"),
    [
        ("https://evil.test/x", [PermalinkLine("1", 1)]),
        ("shop.example.com", [PermalinkLine("1/../x", 1)]),
        ("shop.example.com", [PermalinkLine("1", 0)]),
        ("shop.example.com", []),
    ],
)
def test_invalid_input_is_refused(shop: str, lines: list[PermalinkLine]) -> None:
    with pytest.raises(ProviderError) as refused:
        build_permalink(shop, lines)
    assert refused.value.code == "provider_rejected"


def _share(*lines: ShareLine) -> ShareRequest:
    return ShareRequest(
        order_id="o1",
        payer="host",
        amount_minor=1500,
        currency="EUR",
        lines=lines,
        success_url="https://coshop.test/ok",
        cancel_url="https://coshop.test/room",
        reference="o1:host",
        idempotency_key="o1:host:1",
    )


async def test_create_session_hands_off_and_other_operations_are_unsupported() -> None:
    provider = CartPermalinkProvider("shop.example.com", ref="coshop")
    session = await provider.create_session(_share(ShareLine("Tent", 1000, 1, sku="111")))
    assert session.url is not None
    assert session.url.startswith("https://shop.example.com/cart/111:1?ref=coshop&")
    assert "attributes%5Bcoshop_order%5D=o1" in session.url
    assert (session.status, session.payment_status, session.currency) == ("open", "unpaid", "eur")
    with pytest.raises(ProviderError) as no_sku:
        await provider.create_session(_share(ShareLine("Tent", 1000, 1)))
    assert no_sku.value.code == "provider_rejected"
    for call in (
        provider.retrieve("x"),
        provider.expire("x"),
        provider.refund("pi", 1),
        provider.capture("pi"),
        provider.cancel("pi"),
        provider.payment_intent("pi"),
    ):
        with pytest.raises(ProviderError) as unsupported:
            await call
        assert unsupported.value.code == "provider_operation_unsupported"
    with pytest.raises(ProviderError):
        provider.verify_webhook(b"{}", "t=1,v1=x", 1)
    await provider.aclose()
