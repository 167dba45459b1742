"""Plain values a parsed feed produces: products, variants and per-row errors.

Pure data (frozen dataclasses), shared by the feed parsers, the repository and the importer.
Must not parse, validate or do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AVAILABILITIES",
    "FeedResult",
    "ProductRecord",
    "RowError",
    "VariantRecord",
]

AVAILABILITIES = ("in_stock", "out_of_stock", "preorder", "backorder")
"""Normalised availability values (Google Merchant Center's vocabulary)."""


@dataclass(frozen=True, slots=True)
class VariantRecord:
    """One purchasable variant (a size, a colour) of a product."""

    variant_id: str  # the feed's id for the variant (GMC ``id``, schema.org ``sku``)
    title: str  # "M / Blue", or the variant's own title
    price_minor: int | None = None  # None: the product's price
    stock: int | None = None  # None: not tracked
    external_id: str | None = None  # the merchant platform's variant id (cart permalinks)


@dataclass(frozen=True, slots=True)
class ProductRecord:
    """One product as a feed describes it, already validated and priced in minor units."""

    sku: str
    title: str
    price_minor: int  # what the shopper pays (the sale price when there is one)
    currency: str
    description: str = ""
    url: str | None = None
    image: str | None = None
    stock: int | None = None  # None: not tracked
    availability: str = "in_stock"
    brand: str | None = None
    compare_at_minor: int | None = None  # the regular price when ``price_minor`` is a sale price
    external_id: str | None = None
    variants: tuple[VariantRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one feed row (or, with ``row == 0``, the whole file) was rejected, or, as a notice,
    what was changed in a row that loaded.

    ``row`` is the spreadsheet line for CSV/TSV (the header is row 1) and the 1-based position of
    the product for JSON. ``field`` names the column or JSON path at fault, when there is one.
    """

    row: int
    field: str | None
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class FeedResult:
    """The good products of a feed, the rows that were rejected, and changes made to rows that
    loaded (``notices``, e.g. ``card_number_redacted``; same shape as errors)."""

    products: list[ProductRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    format: str = "unknown"  # "json", "csv" or "tsv"
    notices: list[RowError] = field(default_factory=list)
