"""The catalogue's exception tree.

::

    CatalogError                 every error raised by server.catalog; carries a stable ``code``
    ├── InvalidMerchantId        code "invalid_merchant_id": not 1-64 of [A-Za-z0-9_.-]
    ├── FeedReadError            code "feed_unreadable": the feed file cannot be opened or read
    └── CatalogUnavailable       code "storage_unavailable": the database cannot be reached (also
                                 a ``server.storage.StorageUnavailable``, so whoever handles an
                                 outage of the event log handles this one the same way)

Problems *inside* a feed are not exceptions: :func:`server.catalog.feeds.parse_feed` reports
them as :class:`server.catalog.records.RowError` values so that good rows still load.
"""

from __future__ import annotations

from server.storage.errors import StorageUnavailable

__all__ = [
    "CatalogError",
    "CatalogUnavailable",
    "FeedReadError",
    "InvalidMerchantId",
    "UnknownMerchant",
]


class CatalogError(Exception):
    """Base class; ``code`` is stable and documented in docs/catalog.md."""

    code = "catalog_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidMerchantId(CatalogError):
    code = "invalid_merchant_id"


class UnknownMerchant(CatalogError):
    """No merchant of that id is registered in the database the import would write to."""

    code = "merchant_unknown"


class FeedReadError(CatalogError):
    code = "feed_unreadable"


class CatalogUnavailable(CatalogError, StorageUnavailable):
    """The database is down, restarting or dropped the connection; the call may be retried."""

    code = "storage_unavailable"
