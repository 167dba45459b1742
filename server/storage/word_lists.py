"""The merchants' moderation word lists (issue 13, item 6): one row per merchant.

This module is for: storing and reading the list a merchant sets with its API key
(``PUT /api/v1/merchant/word-list``, ``server/api/moderation.py``). The server feeds it to the
merchant's rooms as a fact (``SetMerchantWordList``); the room core folds and matches it
(``rooms/wordlist.py``). It must not: validate or fold the words (the core does, once, for every
path), decide anything, or read the clock — callers pass ``now`` in. Migration
``0010_word_lists`` creates the table.

The entries are stored as one JSON text (``[{"word": …, "action": …}]``): a list is read and
written whole, and never queried inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table, Text, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.base import metadata
from server.db.engine import begin_write
from server.storage._sql import dump_json, load_json, translate_unavailable
from server.storage.tables import ID

__all__ = ["StoredWordList", "WordListStore", "merchant_word_lists"]

merchant_word_lists = Table(
    "merchant_word_lists",
    metadata,
    Column(
        "merchant_id",
        String(ID),
        ForeignKey("merchants.merchant_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("entries", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
"""A merchant's word list: JSON entries ``{"word", "action"}``, already folded by the core."""


@dataclass(frozen=True)
class StoredWordList:
    """A merchant's word list as stored: ``(word, action)`` pairs, and when it was set."""

    merchant_id: str
    entries: tuple[tuple[str, str], ...]
    updated_at: int | None


class WordListStore:
    """Merchants' word lists on an :class:`AsyncEngine` (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, merchant_id: str) -> StoredWordList:
        """The merchant's list; empty (``updated_at`` None) when it never set one."""
        c = merchant_word_lists.c
        stmt = select(c.entries, c.updated_at).where(c.merchant_id == merchant_id)
        with translate_unavailable():
            async with self._engine.connect() as conn:
                row = (await conn.execute(stmt)).first()
        if row is None:
            return StoredWordList(merchant_id, (), None)
        raw = load_json(row.entries)
        entries = tuple((str(e["word"]), str(e["action"])) for e in raw)
        return StoredWordList(merchant_id, entries, int(row.updated_at))

    async def put(
        self, merchant_id: str, entries: Sequence[tuple[str, str]], now: int
    ) -> StoredWordList:
        """Replace the merchant's list (an empty one clears it) in one transaction."""
        data = dump_json([{"word": w, "action": a} for w, a in entries])
        c = merchant_word_lists.c
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                await conn.execute(delete(merchant_word_lists).where(c.merchant_id == merchant_id))
                await conn.execute(
                    insert(merchant_word_lists).values(
                        merchant_id=merchant_id, entries=data, updated_at=now
                    )
                )
        return StoredWordList(merchant_id, tuple(entries), now)
