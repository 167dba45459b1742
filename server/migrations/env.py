"""Alembic environment for coshop: async-capable, no alembic.ini needed.

Normal use is :func:`server.db.engine.upgrade_database`, which hands a live connection in
``config.attributes["connection"]``. Run by the ``alembic`` CLI instead (with ``-x url=...`` or
``sqlalchemy.url`` set), it builds an async engine itself. This module must not create tables
by any other path than the revision scripts.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from server.db.tables import metadata

config = context.config
target_metadata = metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables when needed.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database url: pass -x url=... or set sqlalchemy.url")
    return url


async def _run_with_own_engine() -> None:
    from server.db.engine import create_engine

    engine = create_engine(_url())
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_configure_and_run)
    finally:
        await engine.dispose()


def _run() -> None:
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
    else:
        asyncio.run(_run_with_own_engine())


_run()
