"""The catalogue's exception tree.

::

    CatalogError                 every error raised by server.catalog; carries a stable ``code``
    ├── InvalidMerchantId        code "invalid_merchant_id": not 1-64 of [A-Za-z0-9_.-]
    └── FeedReadError            code "feed_unreadable": the feed file cannot be opened or read

Problems *inside* a feed are not exceptions: :func:`server.catalog.feeds.parse_feed` reports
them as :class:`server.catalog.records.RowError` values so that good rows still load.
"""

from __future__ import annotations

__all__ = ["CatalogError", "FeedReadError", "InvalidMerchantId"]


class CatalogError(Exception):
    """Base class; ``code`` is stable and documented in docs/catalog.md."""

    code = "catalog_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidMerchantId(CatalogError):
    code = "invalid_merchant_id"


class FeedReadError(CatalogError):
    code = "feed_unreadable"
