"""What a merchant's catalogue holds and how its imports went (the merchant console).

This module is for: recording each import's outcome (:func:`record_import`, called by
:mod:`server.catalog.importer`), and reading the catalogue's status — product, variant and
out-of-stock counts, the last change, the revision — with the recent imports and the rows they
refused (:func:`catalog_status`). It must not parse feeds or write products.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.catalog.records import RowError
from server.catalog.tables import imports, products, revisions, variants
from server.db.engine import begin_write
from server.storage import translate_unavailable

if TYPE_CHECKING:
    from server.catalog.importer import ImportReport

__all__ = ["MAX_LISTED", "CatalogStatus", "ImportSummary", "catalog_status", "record_import"]

MAX_LISTED = 200
"""At most this many refused rows (and as many notices) are kept per import."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """One recorded import: counts, and the first :data:`MAX_LISTED` problems of each kind."""

    import_id: str
    at: int
    source: str
    format: str
    products: int
    variants: int
    pruned: int
    error_count: int
    notice_count: int
    errors: tuple[RowError, ...]
    notices: tuple[RowError, ...]


@dataclass(frozen=True, slots=True)
class CatalogStatus:
    """A merchant's catalogue now (``last_change_at`` is None for an empty catalogue)."""

    merchant_id: str
    products: int
    variants: int
    out_of_stock: int
    revision: int
    last_change_at: int | None
    imports: tuple[ImportSummary, ...]


def _rows(entries: tuple[RowError, ...]) -> list[dict[str, Any]]:
    return [
        {"row": e.row, "field": e.field, "code": e.code, "message": e.message}
        for e in entries[:MAX_LISTED]
    ]


def _read_rows(raw: object) -> tuple[RowError, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        RowError(int(r["row"]), r.get("field"), str(r["code"]), str(r["message"])) for r in raw
    )


async def record_import(engine: AsyncEngine, report: ImportReport, now: int) -> str:
    """Keep ``report`` as the merchant's latest import; answers its id."""
    import_id = "imp_" + secrets.token_hex(12)
    problems = json.dumps({"errors": _rows(report.errors), "notices": _rows(report.notices)})
    with translate_unavailable():
        async with begin_write(engine) as conn:
            await conn.execute(
                imports.insert().values(
                    import_id=import_id,
                    merchant_id=report.merchant_id,
                    at=now,
                    source=report.source[:200],
                    format=report.format[:8],
                    products=report.products,
                    variants=report.variants,
                    pruned=report.pruned,
                    error_count=len(report.errors),
                    notice_count=len(report.notices),
                    problems=problems,
                )
            )
    return import_id


async def catalog_status(
    engine: AsyncEngine, merchant_id: str, *, recent: int = 5
) -> CatalogStatus:
    """Counts for ``merchant_id``'s catalogue and its ``recent`` latest imports, newest first."""
    mine = products.c.merchant_id == merchant_id
    with translate_unavailable():
        async with engine.connect() as conn:
            count, out, last = (
                await conn.execute(
                    select(
                        func.count(),
                        func.count().filter(products.c.availability == "out_of_stock"),
                        func.max(products.c.updated_at),
                    ).where(mine)
                )
            ).one()
            variant_count = await conn.scalar(
                select(func.count()).where(variants.c.merchant_id == merchant_id)
            )
            revision = await conn.scalar(
                select(revisions.c.revision).where(revisions.c.merchant_id == merchant_id)
            )
            rows = (
                await conn.execute(
                    select(imports)
                    .where(imports.c.merchant_id == merchant_id)
                    .order_by(imports.c.at.desc(), imports.c.import_id.desc())
                    .limit(recent)
                )
            ).all()
    summaries = []
    for row in rows:
        problems = json.loads(row.problems)
        summaries.append(
            ImportSummary(
                import_id=row.import_id,
                at=int(row.at),
                source=row.source,
                format=row.format,
                products=row.products,
                variants=row.variants,
                pruned=row.pruned,
                error_count=row.error_count,
                notice_count=row.notice_count,
                errors=_read_rows(problems.get("errors")),
                notices=_read_rows(problems.get("notices")),
            )
        )
    return CatalogStatus(
        merchant_id=merchant_id,
        products=int(count or 0),
        variants=int(variant_count or 0),
        out_of_stock=int(out or 0),
        revision=int(revision or 0),
        last_change_at=None if last is None else int(last),
        imports=tuple(summaries),
    )
