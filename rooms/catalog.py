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

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0


class Catalog(Protocol):
    """Synchronous lookup of catalogue facts; the caller has loaded what may be asked for."""

    def product(self, sku: str) -> ProductFacts | None: ...


class StaticCatalog:
    """A :class:`Catalog` over a fixed set of products (tests, replay, small merchants)."""

    def __init__(self, products: list[ProductFacts] | tuple[ProductFacts, ...] = ()) -> None:
        self._by_sku = {p.sku: p for p in products}

    def product(self, sku: str) -> ProductFacts | None:
        return self._by_sku.get(sku)
