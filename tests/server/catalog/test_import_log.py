"""``catalog_imports`` (migration 0013): the migration creates exactly the declared table, and
an import through the importer is recorded with its refused rows, newest first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from server.catalog.importer import import_feed, import_text
from server.catalog.status import MAX_LISTED, catalog_status
from server.catalog.tables import imports
from server.db.engine import create_engine, database_url_for_data_dir, upgrade_engine
from server.storage import Registry


def _diff(conn: Connection) -> list[Any]:
    own = MetaData(naming_convention=imports.metadata.naming_convention)
    imports.to_metadata(own)

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name == imports.name

    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_name": include_name}
    )
    return list(compare_metadata(context, own))


async def test_imports_are_recorded_with_their_refused_rows(tmp_path: Path) -> None:
    engine = create_engine(database_url_for_data_dir(tmp_path))
    try:
        await upgrade_engine(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
        await Registry(engine).create_merchant("shop", "Shop", (), "ck_" + "s" * 40, 1)
        empty = await catalog_status(engine, "shop")
        assert (empty.products, empty.last_change_at, empty.imports) == (0, None, ())

        feed = tmp_path / "first.csv"
        feed.write_text("id,title,price\np1,Tent,10 USD\n", encoding="utf-8")
        await import_feed(engine, "shop", feed, 1_000)
        bad_rows = "".join(f"b{i},Bad,x\n" for i in range(MAX_LISTED + 5))
        report = await import_text(
            engine, "shop", "id,title,price\np2,Lamp,5 USD\n" + bad_rows, "second.csv", 2_000
        )
        assert report.products == 1 and len(report.errors) == MAX_LISTED + 5

        status = await catalog_status(engine, "shop")
        assert status.products == 2 and status.last_change_at == 2_000
        assert status.revision >= 2
        second, first = status.imports
        assert (second.source, second.at, second.products) == ("second.csv", 2_000, 1)
        assert second.error_count == MAX_LISTED + 5 and len(second.errors) == MAX_LISTED
        assert second.errors[0] == report.errors[0]
        assert (first.source, first.error_count, first.errors) == ("first.csv", 0, ())
    finally:
        await engine.dispose()
