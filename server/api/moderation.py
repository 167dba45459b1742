"""A merchant's moderation word list over REST (issue 13, item 6).

- ``GET /api/v1/merchant/word-list`` — the calling merchant's list (API key as bearer).
- ``PUT /api/v1/merchant/word-list`` — replace it: ``{"entries": [{"word": "…", "action":
  "block" | "mask"}]}`` (``action`` defaults to ``block``; ``[]`` clears the list). The room core
  checks and folds the entries (``rooms/wordlist.py``: case, width and accents folded, duplicates
  merged, ``block`` winning); the answer shows them as stored, with how many of the merchant's
  open rooms took the new list.

The list reaches a room as a fact in its log: the server issues ``SetMerchantWordList`` to each
open room of the merchant (:func:`feed_rooms`) and to a new room when it opens
(:func:`feed_room`), so the core never reads the database. A room that could not be reached
(storage down, process full) keeps its previous list until the next ``PUT``; ``rooms_failed``
says how many.

This module is for: the routes and feeding rooms. It must not: match words (the core does) or
keep state between requests.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rooms import RoomError
from rooms.commands import SetMerchantWordList
from rooms.state import WordEntry
from rooms.wordlist import MAX_WORDS, check_word_list
from server.api.common import check_text, merchant_caller, now_ms, read_json
from server.http.problem import ProblemError
from server.hub.hub import Hub, HubFull, RoomNotFound
from server.storage import Registry, StorageError
from server.storage.word_lists import StoredWordList, WordListStore

__all__ = ["MAX_ROOMS_FED", "feed_new_room", "feed_room", "feed_rooms", "moderation_routes"]

log = logging.getLogger("coshop.moderation")

MAX_ROOMS_FED = 2_000
"""Open rooms one ``PUT`` updates (the newest first); older ones keep their list."""
_PAGE = 200
_PARALLEL = 8
_MAX_ENTRY = 200  # characters of one raw entry (the core bounds the folded word to 40)
_MAX_BODY = 65_536


def _store(request: Request) -> WordListStore:
    return WordListStore(request.app.state.engine)


def _field(detail: str) -> ProblemError:
    return ProblemError(422, "invalid_field", detail, extra={"field": "entries"})


def _entries(data: dict[str, Any]) -> tuple[WordEntry, ...]:
    """The body's entries, checked and folded by the room core."""
    raw = data.get("entries")
    if not isinstance(raw, list):
        raise _field("entries is required: a list of {word, action}")
    if len(raw) > MAX_WORDS:
        raise ProblemError(
            422, "invalid_word_list", f"a word list holds at most {MAX_WORDS} entries",
            extra={"field": "entries"},
        )  # fmt: skip
    entries: list[WordEntry] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) - {"word", "action"}:
            raise _field(f"entries[{i}] must be an object with 'word' and 'action'")
        word, action = item.get("word"), item.get("action", "block")
        if not isinstance(word, str) or len(word) > _MAX_ENTRY:
            raise _field(f"entries[{i}].word must be a string of at most {_MAX_ENTRY} characters")
        if action not in ("block", "mask"):
            raise _field(f"entries[{i}].action must be 'block' or 'mask'")
        entries.append(WordEntry(check_text(word, f"entries[{i}].word"), action))
    try:
        return check_word_list(entries)
    except RoomError as exc:
        raise ProblemError(422, exc.code, exc.message, extra={"field": "entries"}) from exc


def _json(stored: StoredWordList) -> dict[str, Any]:
    return {
        "merchant_id": stored.merchant_id,
        "entries": [{"word": w, "action": a} for w, a in stored.entries],
        "updated_at": stored.updated_at,
    }


async def feed_room(hub: Hub, room_id: str, entries: tuple[WordEntry, ...]) -> bool:
    """Give one room the merchant's list (a no-op when it has it); False when unreachable."""
    try:
        await hub.system_command(room_id, SetMerchantWordList(entries))
    except (RoomError, RoomNotFound, HubFull, StorageError):
        log.warning("a room did not take the merchant's word list", extra={"room_id": room_id})
        return False
    return True


async def feed_rooms(
    hub: Hub, registry: Registry, merchant_id: str, entries: tuple[WordEntry, ...]
) -> tuple[int, int]:
    """Give the merchant's open rooms (newest first, up to :data:`MAX_ROOMS_FED`) its list;
    answers (rooms updated, rooms that could not be reached)."""
    room_ids: list[str] = []
    before = None
    while len(room_ids) < MAX_ROOMS_FED:
        page = await registry.list_rooms(merchant_id, _PAGE, include_closed=False, before=before)
        room_ids += [r.room_id for r in page]
        if len(page) < _PAGE:
            break
        before = page[-1]
    gate = asyncio.Semaphore(_PARALLEL)

    async def one(room_id: str) -> bool:
        async with gate:
            return await feed_room(hub, room_id, entries)

    done = await asyncio.gather(*(one(r) for r in room_ids[:MAX_ROOMS_FED]))
    return sum(done), len(done) - sum(done)


async def feed_new_room(state: Any, merchant_id: str, room_id: str) -> None:
    """Give a room that just opened its merchant's list (nothing when the merchant has none).

    ``state`` is ``app.state`` (its ``engine`` and ``hub``); room creation calls this after
    the room's opening events are committed.
    """
    stored = await WordListStore(state.engine).get(merchant_id)
    if stored.entries:
        # the stored actions are "block" or "mask": the core checked them before they were stored
        entries = tuple(WordEntry(w, a) for w, a in stored.entries)  # type: ignore[arg-type]
        await feed_room(state.hub, room_id, entries)


async def get_word_list(request: Request) -> JSONResponse:
    """GET /api/v1/merchant/word-list"""
    merchant = await merchant_caller(request)
    return JSONResponse(_json(await _store(request).get(merchant.merchant_id)))


async def put_word_list(request: Request) -> JSONResponse:
    """PUT /api/v1/merchant/word-list"""
    merchant = await merchant_caller(request)
    entries = _entries(await read_json(request, max_bytes=_MAX_BODY))
    stored = await _store(request).put(
        merchant.merchant_id, [(e.word, e.action) for e in entries], now_ms()
    )
    hub: Hub = request.app.state.hub
    registry: Registry = request.app.state.registry
    fed, failed = await feed_rooms(hub, registry, merchant.merchant_id, entries)
    return JSONResponse({**_json(stored), "rooms_updated": fed, "rooms_failed": failed})


async def _word_list(request: Request) -> JSONResponse:
    # one route per path, so a 405 names every method the path has (``Allow``)
    if request.method == "PUT":
        return await put_word_list(request)
    return await get_word_list(request)


def moderation_routes() -> list[Route]:
    return [Route("/api/v1/merchant/word-list", _word_list, methods=["GET", "PUT"])]
