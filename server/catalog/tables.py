"""SQL tables of the product catalogue, declared on the shared ``server.db.base.metadata``.

``catalog_products`` holds one row per (merchant, sku); ``catalog_variants`` one row per variant
of a product. ``search_text`` is the case-folded title, description and brand, written by the
repository, so a substring search behaves the same on SQLite and PostgreSQL. There is no foreign
key to merchants: the merchant registry belongs to another package. Must not hold queries.

Incremental reads (``server/catalog/mirror.py``): every write transaction takes the merchant's
next number from ``catalog_revisions`` (its row stays locked until the commit, so revisions
commit in order) and stamps it on the products it writes (``catalog_products.revision``) and on
the tombstones of those it deletes (``catalog_tombstones``). "What changed since revision r" is
then two indexed range reads.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from server.db.base import metadata

__all__ = ["imports", "products", "revisions", "tombstones", "variants"]

products = Table(
    "catalog_products",
    metadata,
    Column("merchant_id", String(64), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("title", String(150), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("price_minor", BigInteger, nullable=False),
    Column("compare_at_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=False),
    Column("url", String(2048), nullable=True),
    Column("image", String(2048), nullable=True),
    Column("stock", Integer, nullable=True),  # NULL: stock not tracked
    Column("availability", String(16), nullable=False),
    Column("brand", String(70), nullable=True),
    Column("external_id", String(64), nullable=True),
    Column("search_text", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # The merchant's catalogue revision that last wrote this row (0: written before 0006).
    Column("revision", BigInteger, nullable=False, server_default="0"),
    # The primary key is the (merchant_id, sku) uniqueness the catalogue relies on.
    PrimaryKeyConstraint("merchant_id", "sku"),
    Index("ix_catalog_products_revision", "merchant_id", "revision"),
)

variants = Table(
    "catalog_variants",
    metadata,
    Column("merchant_id", String(64), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("variant_id", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("title", String(150), nullable=False),
    Column("price_minor", BigInteger, nullable=True),  # NULL: the product's price
    Column("stock", Integer, nullable=True),
    Column("external_id", String(64), nullable=True),
    PrimaryKeyConstraint("merchant_id", "sku", "variant_id"),
)

revisions = Table(
    "catalog_revisions",
    metadata,
    Column("merchant_id", String(64), nullable=False),
    Column("revision", BigInteger, nullable=False),  # the last revision committed
    PrimaryKeyConstraint("merchant_id"),
)

tombstones = Table(
    "catalog_tombstones",
    metadata,
    Column("merchant_id", String(64), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("revision", BigInteger, nullable=False),  # the revision that deleted the product
    PrimaryKeyConstraint("merchant_id", "sku"),
    Index("ix_catalog_tombstones_revision", "merchant_id", "revision"),
)


imports = Table(
    "catalog_imports",
    metadata,
    # One row per import (``coshop catalog import`` or the console's upload): what it wrote and
    # the rows it refused, so the merchant's console can show the last import's problems.
    Column("import_id", String(40), nullable=False),
    Column("merchant_id", String(64), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("source", String(200), nullable=False),
    Column("format", String(8), nullable=False),
    Column("products", Integer, nullable=False),
    Column("variants", Integer, nullable=False),
    Column("pruned", Integer, nullable=False),
    Column("error_count", Integer, nullable=False),
    Column("notice_count", Integer, nullable=False),
    # JSON: {"errors": [...], "notices": [...]}, the first 200 of each ({row, field, code, message})
    Column("problems", Text, nullable=False),
    PrimaryKeyConstraint("import_id"),
    Index("ix_catalog_imports_merchant", "merchant_id", "at"),
)
