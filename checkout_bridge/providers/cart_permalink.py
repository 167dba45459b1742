"""Cart permalink hand-off: send the group to the merchant's own checkout (Shopify-style).

``https://{shop}/cart/{variant}:{qty},{variant}:{qty}?ref=...&note=...`` fills the merchant's
cart and opens its checkout; coshop never sees the payment. There is no session, no refund and
no webhook on this path, so those methods raise ``provider_operation_unsupported``. Building the
URL is pure; nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import quote, urlencode

from checkout_bridge.errors import ProviderError
from checkout_bridge.providers.base import (
    PaymentIntentState,
    ProviderEvent,
    ProviderSession,
    Refund,
    ShareRequest,
)

__all__ = ["CartPermalinkProvider", "PermalinkLine", "build_permalink"]

_SHOP = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:\d{1,5})?$")
_VARIANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class PermalinkLine:
    variant_id: str
    quantity: int


def build_permalink(
    shop: str,
    lines: Iterable[PermalinkLine],
    *,
    ref: str | None = None,
    note: str | None = None,
    attributes: Mapping[str, str] | None = None,
) -> str:
    """The cart permalink for ``lines`` (same variant twice: quantities are added up)."""
    host = shop.strip().lower()
    if not _SHOP.match(host):
        raise ProviderError("provider_rejected", f"not a shop domain: {shop!r}")
    quantities: dict[str, int] = {}
    for line in lines:
        if not _VARIANT.match(line.variant_id):
            raise ProviderError("provider_rejected", f"invalid variant id {line.variant_id!r}")
        if line.quantity < 1:
            raise ProviderError("provider_rejected", "quantities must be at least 1")
        quantities[line.variant_id] = quantities.get(line.variant_id, 0) + line.quantity
    if not quantities:
        raise ProviderError("provider_rejected", "a cart permalink needs at least one line")
    path = ",".join(f"{quote(variant)}:{qty}" for variant, qty in quantities.items())
    query: list[tuple[str, str]] = []
    if ref:
        query.append(("ref", ref))
    if note:
        query.append(("note", note))
    for key, value in (attributes or {}).items():
        query.append((f"attributes[{key}]", value))
    url = f"https://{host}/cart/{path}"
    return f"{url}?{urlencode(query)}" if query else url


class CartPermalinkProvider:
    """Hands the cart to the merchant's checkout; implements only :meth:`create_session`."""

    def __init__(self, shop: str, *, ref: str | None = None) -> None:
        self._shop = shop
        self._ref = ref

    def permalink(
        self,
        lines: Iterable[PermalinkLine],
        *,
        note: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> str:
        return build_permalink(self._shop, lines, ref=self._ref, note=note, attributes=attributes)

    async def create_session(self, share: ShareRequest) -> ProviderSession:
        """A hand-off 'session': its ``url`` is the permalink; it never reports payment."""
        missing = [line.name for line in share.lines if not line.sku]
        if missing:
            raise ProviderError("provider_rejected", f"lines without a variant id: {missing}")
        url = self.permalink(
            (PermalinkLine(str(line.sku), line.quantity) for line in share.lines),
            attributes={"coshop_order": share.order_id, "coshop_reference": share.reference},
        )
        return ProviderSession(
            id=f"handoff_{share.reference}",
            url=url,
            status="open",
            payment_status="unpaid",
            amount_total=share.amount_minor,
            currency=share.currency.lower(),
            reference=share.reference,
            payment_intent=None,
            expires_at=share.expires_at,
            metadata={"coshop_order": share.order_id, "coshop_payer": share.payer},
        )

    @staticmethod
    def _unsupported(operation: str) -> NoReturn:
        raise ProviderError(
            "provider_operation_unsupported",
            f"{operation} is not available for a cart hand-off: the merchant's own checkout "
            "takes the payment and coshop hears nothing back",
        )

    async def retrieve(self, session_id: str) -> ProviderSession:
        self._unsupported("retrieve")

    async def expire(
        self, session_id: str, *, idempotency_key: str | None = None
    ) -> ProviderSession:
        self._unsupported("expire")

    async def payment_intent(self, payment_intent: str) -> PaymentIntentState:
        self._unsupported("payment_intent")

    async def refund(
        self,
        payment_intent: str,
        amount_minor: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Refund:
        self._unsupported("refund")

    async def capture(
        self,
        payment_intent: str,
        amount_minor: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> PaymentIntentState:
        self._unsupported("capture")

    async def cancel(
        self, payment_intent: str, *, idempotency_key: str | None = None
    ) -> PaymentIntentState:
        self._unsupported("cancel")

    def verify_webhook(self, payload: bytes, header: str | None, now: int) -> ProviderEvent:
        self._unsupported("verify_webhook")

    async def aclose(self) -> None:
        return None
