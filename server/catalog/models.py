"""What the catalogue hands out: :class:`Product` and :class:`Variant`, and their JSON shape.

Pure frozen dataclasses read back from the tables. ``Product.to_facts()`` converts to the room
core's :class:`rooms.catalog.ProductFacts`; :class:`CatalogChanges` is what an incremental read
returns to the in-memory mirror. Must not query or import SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rooms.catalog import ProductFacts
from server.catalog.money import format_minor

__all__ = ["CatalogChanges", "Listed", "Product", "Variant", "listed", "listed_facts"]


@dataclass(frozen=True, slots=True)
class Variant:
    variant_id: str
    title: str
    price_minor: int | None  # None: the product's price
    stock: int | None
    external_id: str | None


@dataclass(frozen=True, slots=True)
class Product:
    merchant_id: str
    sku: str
    title: str
    description: str
    price_minor: int
    currency: str
    url: str | None
    image: str | None
    stock: int | None
    availability: str
    brand: str | None
    compare_at_minor: int | None
    external_id: str | None
    updated_at: int
    variants: tuple[Variant, ...] = ()

    @property
    def in_stock(self) -> bool:
        return self.availability != "out_of_stock" and (self.stock is None or self.stock > 0)

    def to_facts(self) -> ProductFacts:
        return ProductFacts(
            sku=self.sku,
            title=self.title,
            price_minor=self.price_minor,
            currency=self.currency,
            variants=tuple(v.variant_id for v in self.variants),
            stock=self.stock,
            image=self.image,
            url=self.url,
        )

    def to_json(self) -> dict[str, Any]:
        """The REST API's representation (docs/catalog.md)."""
        return {
            "merchant_id": self.merchant_id,
            "sku": self.sku,
            "title": self.title,
            "description": self.description,
            "price_minor": self.price_minor,
            "price": format_minor(self.price_minor, self.currency),
            "compare_at_minor": self.compare_at_minor,
            "currency": self.currency,
            "url": self.url,
            "image": self.image,
            "stock": self.stock,
            "availability": self.availability,
            "in_stock": self.in_stock,
            "brand": self.brand,
            "external_id": self.external_id,
            "updated_at": self.updated_at,
            "variants": [
                {
                    "variant_id": v.variant_id,
                    "title": v.title,
                    "price_minor": self.price_minor if v.price_minor is None else v.price_minor,
                    "stock": v.stock,
                    "in_stock": v.stock is None or v.stock > 0,
                    "external_id": v.external_id,
                }
                for v in self.variants
            ],
        }


Listed = tuple[str, str, int, str, tuple[str, ...], int | None, str | None, str | None, str]
"""One product as an incremental read returns it: the fields of
:class:`~rooms.catalog.ProductFacts` in order (sku first), then the text search matches.

A plain tuple of strings, numbers and None, not a dataclass: the garbage collector stops
tracking such tuples, so reading 50,000 products does not make every full collection scan them
(each one then took ~90 ms — a stall for every room). Build with :func:`listed`.
"""


def listed(facts: ProductFacts, search_text: str) -> Listed:
    return (facts.sku, facts.title, facts.price_minor, facts.currency, facts.variants,
            facts.stock, facts.image, facts.url, search_text)  # fmt: skip


def listed_facts(item: Listed) -> ProductFacts:
    """The room facts of a :data:`Listed` product."""
    return ProductFacts(*item[:8])


@dataclass(frozen=True, slots=True)
class CatalogChanges:
    """A merchant's catalogue since some revision, as of ``revision``.

    ``full``: ``products`` is the whole catalogue (a first read, or the revision went back);
    otherwise the products written after the asked revision and the skus deleted since.
    """

    revision: int
    full: bool
    products: tuple[Listed, ...] = ()
    gone: tuple[str, ...] = ()
