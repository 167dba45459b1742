"""Import every table module so ``server.db.base.metadata`` is complete.

Alembic's ``env.py`` (autogenerate) and the schema tests import this module. It declares
nothing itself and must not run queries.
"""

from __future__ import annotations

import server.catalog.tables as catalog_tables
import server.checkout.tables as checkout_tables  # noqa: F401  # registers the checkout tables
import server.storage.shows as show_tables  # noqa: F401  # the shows and their reminders
import server.storage.stores as store_tables  # noqa: F401  # stores, associates, blocked origins
import server.storage.tables as storage_tables
import server.storage.word_lists as word_list_tables  # noqa: F401  # the merchants' word lists
import server.webhooks.tables as webhook_tables  # noqa: F401  # registers the webhook tables
from server.db.base import metadata

__all__ = ["catalog_tables", "metadata", "storage_tables"]
