"""Import a feed file into the catalogue, and describe the outcome for the CLI.

The I/O shell around :func:`server.catalog.feeds.parse_feed`: reads the file (size-capped,
UTF-8) — or takes the text the merchant console uploaded — parses it, upserts the good products,
records the outcome (:mod:`server.catalog.status`) and returns an :class:`ImportReport`. The CLI
(``coshop catalog import FILE [--merchant ID]``, owned by ``server.cli``) prints
:func:`format_report`. Must not parse feed content itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from server.catalog.errors import FeedReadError, UnknownMerchant
from server.catalog.feeds import parse_feed
from server.catalog.fields import LIMITS
from server.catalog.records import FeedResult, RowError
from server.catalog.repository import CatalogRepository, check_merchant_id
from server.catalog.status import record_import
from server.storage import Registry

__all__ = [
    "ImportReport",
    "format_report",
    "import_feed",
    "import_text",
    "read_feed",
    "require_merchant",
]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one import did: products and variants written, rows rejected."""

    merchant_id: str
    source: str  # the file name
    format: str
    products: int
    variants: int
    errors: tuple[RowError, ...] = ()
    pruned: int = 0
    notices: tuple[RowError, ...] = ()  # changes made to rows that loaded

    @property
    def loaded(self) -> int:
        """Products written (same as ``products``; the CLI reads this name)."""
        return self.products

    @property
    def ok(self) -> bool:
        """True when every row loaded (the CLI exits non-zero otherwise)."""
        return not self.errors


def _read(path: Path) -> str | RowError:
    try:
        size = path.stat().st_size
        if size > LIMITS.max_feed_chars * 4:  # 4 bytes per character at most in UTF-8
            return RowError(0, None, "feed_too_large", f"the file has {size} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise FeedReadError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return RowError(0, None, "bad_encoding", f"the file is not UTF-8 (byte {exc.start})")


async def read_feed(path: Path) -> FeedResult:
    """Read and parse ``path`` without touching the database (used by ``--dry-run``)."""
    loaded = await asyncio.to_thread(_read, path)
    if isinstance(loaded, RowError):
        return FeedResult(errors=[loaded])
    return await asyncio.to_thread(parse_feed, loaded, path.name)


async def require_merchant(engine: AsyncEngine, merchant_id: str) -> None:
    """Raise :class:`UnknownMerchant` unless ``merchant_id`` is registered in ``engine``'s
    database (``coshop catalog import`` checks before it writes a product)."""
    check_merchant_id(merchant_id)
    if await Registry(engine).get_merchant(merchant_id) is None:
        raise UnknownMerchant(
            f"no merchant {merchant_id!r} is registered in this database; register it first"
            f" with 'coshop merchant create --id {merchant_id} --name ...' (the demo merchant"
            " 'demo' is registered by 'coshop demo')"
        )


async def import_feed(
    engine: AsyncEngine, merchant_id: str, path: Path, now: int, *, prune: bool = False
) -> ImportReport:
    """Load the good products of ``path`` for ``merchant_id``.

    With ``prune=True`` the merchant's products missing from the feed are deleted — but only
    when the feed had no rejected rows, so a half-broken feed never empties a shop. Raises
    :class:`FeedReadError` when the file cannot be read and ``InvalidMerchantId``.
    """
    check_merchant_id(merchant_id)
    result = await read_feed(path)
    return await _write(engine, merchant_id, result, path.name, now, prune=prune)


async def import_text(
    engine: AsyncEngine,
    merchant_id: str,
    text: str,
    filename: str,
    now: int,
    *,
    prune: bool = False,
) -> ImportReport:
    """Load the good products of a feed's ``text`` (the console's upload), as import_feed does."""
    check_merchant_id(merchant_id)
    result = await asyncio.to_thread(parse_feed, text, filename)
    return await _write(engine, merchant_id, result, filename, now, prune=prune)


async def _write(
    engine: AsyncEngine,
    merchant_id: str,
    result: FeedResult,
    source: str,
    now: int,
    *,
    prune: bool,
) -> ImportReport:
    repository = CatalogRepository(engine)
    written = await repository.upsert(merchant_id, result.products, now) if result.products else 0
    pruned = 0
    if prune and not result.errors and result.products:
        pruned = await repository.prune(merchant_id, (p.sku for p in result.products))
    report = ImportReport(
        merchant_id=merchant_id,
        source=source,
        format=result.format,
        products=written,
        variants=sum(len(p.variants) for p in result.products),
        errors=tuple(result.errors),
        pruned=pruned,
        notices=tuple(result.notices),
    )
    await record_import(engine, report, now)
    return report


def format_report(report: ImportReport, *, max_errors: int = 50) -> str:
    """Human-readable summary; lists at most ``max_errors`` rejected rows."""
    lines = [
        f"Imported {report.products} product(s) with {report.variants} variant(s) "
        f"for merchant {report.merchant_id!r} from {report.source} ({report.format})."
    ]
    if report.pruned:
        lines.append(f"Removed {report.pruned} product(s) that are no longer in the feed.")
    if report.errors:
        rows = len({e.row for e in report.errors})
        lines.append(f"{len(report.errors)} problem(s) in {rows} row(s); those rows were skipped:")
        lines.extend(_listed(report.errors, max_errors))
    else:
        lines.append("No problems found.")
    if report.notices:
        rows = len({n.row for n in report.notices})
        lines.append(
            f"{len(report.notices)} change(s) in {rows} row(s); those rows loaded as changed:"
        )
        lines.extend(_listed(report.notices, max_errors))
    return "\n".join(lines)


def _listed(entries: tuple[RowError, ...], limit: int) -> list[str]:
    lines = []
    for entry in entries[:limit]:
        where = "file" if entry.row == 0 else f"row {entry.row}"
        field = f" [{entry.field}]" if entry.field else ""
        lines.append(f"  {where}{field} {entry.code}: {entry.message}")
    if len(entries) > limit:
        lines.append(f"  … and {len(entries) - limit} more")
    return lines
