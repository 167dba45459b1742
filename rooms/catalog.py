"""Catalogue facts the room core needs, supplied by the caller.

The room core never reads a database: the hub looks products up and passes them in through the
:class:`Catalog` protocol. Prices live here only so the core can show them; the checkout bridge
re-prices every line from the catalogue when the cart is frozen. Clients never send prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Catalog", "ProductFacts", "StaticCatalog"]


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """What the server knows about one product, at the moment of the lookup."""

    sku: str
    title: str
    price_minor: int  # integer amount in the currency's minor unit (cents; yen for JPY)
    currency: str  # ISO 4217 code, upper case
    variants: tuple[str, ...] = ()  # variant ids; empty when the product has none
    stock: int | None = None  # None: not tracked (unlimited)
    image: str | None = None
    url: str | None = None
    # (variant id, price_minor, stock) of the variants that have their own price or stock; a
    # variant left out (or with stock None) takes the product's price (stock).
    variant_facts: tuple[tuple[str, int, int | None], ...] = ()

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0

    def _variant(self, variant: str | None) -> tuple[str, int, int | None] | None:
        return next((v for v in self.variant_facts if v[0] == variant), None)

    def unit_price(self, variant: str | None) -> int:
        """The price of one ``variant`` (the product's when the variant has none of its own)."""
        own = self._variant(variant)
        return self.price_minor if own is None else own[1]

    def stock_of(self, variant: str | None) -> int | None:
        """The stock of ``variant``: its own when tracked, else the product's."""
        own = self._variant(variant)
        return self.stock if own is None or own[2] is None else own[2]

    def own_stock(self, variant: str | None) -> bool:
        """Whether ``variant`` has a stock of its own (else it shares the product's)."""
        own = self._variant(variant)
        return own is not None and own[2] is not None


class Catalog(Protocol):
    """Synchronous lookup of catalogue facts; the caller has loaded what may be asked for."""

    def product(self, sku: str) -> ProductFacts | None: ...


class StaticCatalog:
    """A :class:`Catalog` over a fixed set of products (tests, replay, small merchants)."""

    def __init__(self, products: list[ProductFacts] | tuple[ProductFacts, ...] = ()) -> None:
        self._by_sku = {p.sku: p for p in products}

    def product(self, sku: str) -> ProductFacts | None:
        return self._by_sku.get(sku)
