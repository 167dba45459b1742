"""The product catalogue: feeds in, products out.

Modules (pure unless marked I/O):

- ``money``      prices as integer minor units (Decimal, per-currency exponent)
- ``records``    ProductRecord / VariantRecord / RowError / FeedResult values
- ``fields``     per-field validators and the feed limits
- ``gmc``        Google Merchant Center CSV/TSV rows
- ``jsonld``     schema.org Product / ProductGroup JSON(-LD)
- ``assemble``   rows -> products, variants grouped, cross-row checks
- ``feeds``      ``parse_feed(text, filename)``: the entry point of the pure part
- ``models``     Product / Variant read back from storage, ``to_json`` and ``to_facts``
- ``tables``     SQL tables (declared on ``server.db.base.metadata``)
- ``repository`` CatalogRepository over an AsyncEngine (I/O); incremental reads by revision
- ``memory``     MerchantCatalog: one merchant's snapshot (room facts, search), built in slices
- ``mirror``     CatalogMirror: snapshots kept fresh in the background, incrementally (I/O)
- ``importer``   ``import_feed`` and ``format_report`` for the CLI (I/O)
- ``demo``       the bundled demo catalogue and ``load_demo_catalog`` (I/O)
- ``api``        REST routes (I/O)

This package must not import ``server.hub`` or anything that serves rooms; rooms receive catalogue
facts as :class:`rooms.catalog.ProductFacts`.
"""

from __future__ import annotations

from server.catalog.api import catalog_routes
from server.catalog.demo import DEMO_MERCHANT_ID, load_demo_catalog
from server.catalog.errors import CatalogError, FeedReadError, InvalidMerchantId
from server.catalog.feeds import parse_feed
from server.catalog.importer import ImportReport, format_report, import_feed
from server.catalog.models import Product, Variant
from server.catalog.records import FeedResult, ProductRecord, RowError, VariantRecord
from server.catalog.repository import CatalogRepository

__all__ = [
    "DEMO_MERCHANT_ID",
    "CatalogError",
    "CatalogRepository",
    "FeedReadError",
    "FeedResult",
    "ImportReport",
    "InvalidMerchantId",
    "Product",
    "ProductRecord",
    "RowError",
    "Variant",
    "VariantRecord",
    "catalog_routes",
    "format_report",
    "import_feed",
    "load_demo_catalog",
    "parse_feed",
]
