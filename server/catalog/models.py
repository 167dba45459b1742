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

__all__ = [
    "CatalogChanges",
    "Listed",
    "ListedRow",
    "Product",
    "Shown",
    "ShownVariant",
    "Variant",
    "VariantFacts",
    "listed",
    "listed_facts",
    "listed_row",
    "shown_product",
]


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
            variant_facts=tuple(
                (
                    v.variant_id,
                    self.price_minor if v.price_minor is None else v.price_minor,
                    v.stock,
                )
                for v in self.variants
                if v.price_minor is not None or v.stock is not None
            ),
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


VariantFacts = tuple[tuple[str, int, int | None], ...]
""":attr:`rooms.catalog.ProductFacts.variant_facts`: (variant id, price_minor, stock)."""

Listed = (
    tuple[str, str, int, str, tuple[str, ...], int | None, str | None, str | None, str]
    | tuple[str, str, int, str, tuple[str, ...], int | None, str | None, str | None, str,
            VariantFacts]
)  # fmt: skip
"""One product as an incremental read returns it: the fields of
:class:`~rooms.catalog.ProductFacts` in order (sku first) up to ``url``, then the text search
matches, then the variants' own prices and stock when any has one (a read that leaves them out
gives the product's price and stock to every variant).

A plain tuple of strings, numbers and None, not a dataclass: the garbage collector stops
tracking such tuples, so reading 50,000 products does not make every full collection scan them
(each one then took ~90 ms — a stall for every room). Build with :func:`listed`.
"""

ListedRow = tuple[str, int, str, tuple[str, ...], int | None, str | None, str | None, VariantFacts]
"""A :data:`Listed` product's facts but its sku, as plain values: ``ProductFacts(sku, *row)``."""


def listed(facts: ProductFacts, search_text: str) -> Listed:
    return (facts.sku, facts.title, facts.price_minor, facts.currency, facts.variants,
            facts.stock, facts.image, facts.url, search_text, facts.variant_facts)  # fmt: skip


def _variant_facts(item: Listed) -> VariantFacts:
    for extra in item[9:]:  # a read that leaves them out gives a 9-tuple
        return extra
    return ()


def listed_row(item: Listed) -> ListedRow:
    """The facts of a :data:`Listed` product but its sku (see :data:`ListedRow`)."""
    return (item[1], item[2], item[3], item[4], item[5], item[6], item[7], _variant_facts(item))


def listed_facts(item: Listed) -> ProductFacts:
    """The room facts of a :data:`Listed` product."""
    return ProductFacts(item[0], *listed_row(item))


ShownVariant = tuple[str, str, int | None, int | None, str | None]
"""A variant as the product list shows it: the fields of :class:`Variant` in order."""

Shown = tuple[str, int | None, str, str | None, str | None, int, tuple[ShownVariant, ...]]
"""What the product list shows of a product beyond its :data:`ListedRow`: description,
compare_at_minor, availability, brand, external_id, updated_at and the variants. Plain values,
like :data:`Listed`."""


def shown_product(merchant_id: str, sku: str, row: ListedRow, shown: Shown) -> Product:
    """The :class:`Product` a :data:`ListedRow` and its :data:`Shown` part describe."""
    title, price_minor, currency, _, stock, image, url, _ = row
    description, compare_at_minor, availability, brand, external_id, updated_at, variants = shown
    return Product(
        merchant_id=merchant_id,
        sku=sku,
        title=title,
        description=description,
        price_minor=price_minor,
        currency=currency,
        url=url,
        image=image,
        stock=stock,
        availability=availability,
        brand=brand,
        compare_at_minor=compare_at_minor,
        external_id=external_id,
        updated_at=updated_at,
        variants=tuple(Variant(*v) for v in variants),
    )


@dataclass(frozen=True, slots=True)
class CatalogChanges:
    """A merchant's catalogue since some revision, as of ``revision``.

    ``full``: ``products`` is the whole catalogue (a first read, or the revision went back);
    otherwise the products written after the asked revision and the skus deleted since.
    ``shown``: what the product list shows of each product, in the order of ``products`` (empty:
    not read; the list then reads those products from the database).
    """

    revision: int
    full: bool
    products: tuple[Listed, ...] = ()
    gone: tuple[str, ...] = ()
    shown: tuple[Shown, ...] = ()
