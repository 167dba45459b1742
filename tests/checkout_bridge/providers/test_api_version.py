"""The adapter's pinned Stripe API version: the sandbox's own, and sent on every call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from checkout_bridge.errors import ProviderError
from checkout_bridge.providers.stripe_checkout import STRIPE_API_VERSION, StripeCheckoutProvider
from checkout_bridge.sandbox import SandboxConfig, create_sandbox_app
from checkout_bridge.sandbox.service import API_VERSION

from .conftest import API_KEY, SECRET, bound_socket, serve
from .test_stripe_checkout import share


class RecordVersions:
    """ASGI middleware: notes the ``Stripe-Version`` header of every API request as it arrived."""

    def __init__(self, app: ASGIApp, seen: list[tuple[str, str | None]]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            headers = dict(scope["headers"])
            version = headers.get(b"stripe-version")
            self.seen.append((scope["path"], None if version is None else version.decode()))
        await self.app(scope, receive, send)


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    seen: list[tuple[str, str | None]] = []
    sock = bound_socket()
    config = SandboxConfig(
        data_dir=tmp_path / "sandbox", public_url=f"http://127.0.0.1:{sock.getsockname()[1]}"
    )
    app = create_sandbox_app(config)
    app.add_middleware(RecordVersions, seen=seen)
    with serve(app, sock) as url:
        yield url, seen


def test_the_adapter_is_pinned_to_the_version_the_sandbox_answers_for() -> None:
    # Moving one without the other is drift: the sandbox would refuse every call (or, if it
    # stopped checking, answer in shapes the adapter was not written for).
    assert STRIPE_API_VERSION == API_VERSION


async def test_every_call_carries_the_pinned_version(
    recorded: tuple[str, list[tuple[str, str | None]]],
) -> None:
    url, seen = recorded
    adapter = StripeCheckoutProvider(API_KEY, SECRET, base_url=url, max_network_retries=0)
    try:
        session = await adapter.create_session(share("version-1"))
        await adapter.retrieve(session.id)
        expired = await adapter.expire(session.id)
        assert expired.status == "expired"
        with pytest.raises(ProviderError) as excinfo:
            await adapter.payment_intent("pi_missing")
        assert excinfo.value.code == "session_not_found"  # answered, not refused for version
        with pytest.raises(ProviderError):
            await adapter.refund("pi_missing", 100, idempotency_key="refund-1")
    finally:
        await adapter.aclose()

    assert [path for path, _ in seen] == [
        "/v1/checkout/sessions",
        f"/v1/checkout/sessions/{session.id}",
        f"/v1/checkout/sessions/{session.id}/expire",
        "/v1/payment_intents/pi_missing",
        "/v1/refunds",
    ]
    assert {version for _, version in seen} == {STRIPE_API_VERSION}
