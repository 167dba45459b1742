"""A merchant's analytics, read from its rooms' event logs (the console and the analytics API).

This module is for: choosing the merchant's rooms (newest first, up to :data:`MAX_ROOMS`,
optionally one room, one kind, or rooms created since a time), reading each room's log in pages
and folding it with :class:`server.analytics.funnel.RoomFold`, and adding the rooms up. It must
not know HTTP. Reading is proportional to the events of the rooms chosen: the log is never
pruned (docs/storage.md), so one show's figures can always be rebuilt exactly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from server.analytics.funnel import CAUSES, Attribution, RoomFold, RoomResult
from server.storage import Registry, RoomRecord, StoredEvent

__all__ = ["MAX_ROOMS", "MerchantAnalytics", "RoomFigures", "merchant_analytics"]

MAX_ROOMS = 500
_PAGE = 5_000


class EventReader(Protocol):
    async def read(
        self, room_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[StoredEvent]: ...


@dataclass(frozen=True, slots=True)
class RoomFigures:
    room: RoomRecord
    figures: RoomResult


@dataclass(frozen=True, slots=True)
class MerchantAnalytics:
    rooms: tuple[RoomFigures, ...]
    joined: int
    added: int
    checked_out: int
    paid: int
    carts: int  # rooms with at least one line added
    orders: int
    paid_orders: int
    revenue: dict[str, int]
    attribution: dict[str, Attribution]
    truncated: bool  # more rooms matched than MAX_ROOMS


async def _rooms(
    registry: Registry, merchant_id: str, kind: str | None, since: int | None
) -> tuple[list[RoomRecord], bool]:
    chosen: list[RoomRecord] = []
    before: RoomRecord | None = None
    while True:
        page = await registry.list_rooms(merchant_id, 200, before=before)
        for room in page:
            if since is not None and room.created_at < since:
                return chosen, False  # newest first: the rest are older still
            if kind is None or room.kind == kind:
                if len(chosen) == MAX_ROOMS:
                    return chosen, True
                chosen.append(room)
        if len(page) < 200:
            return chosen, False
        before = page[-1]


async def _fold(store: EventReader, room_id: str) -> RoomResult:
    fold = RoomFold()
    after = 0
    while True:
        page = await store.read(room_id, after, _PAGE)
        fold.feed(page)
        if len(page) < _PAGE:
            return fold.result()
        after = page[-1].seq


async def merchant_analytics(
    registry: Registry,
    store: EventReader,
    merchant_id: str,
    *,
    room_id: str | None = None,
    kind: str | None = None,
    since: int | None = None,
) -> MerchantAnalytics | None:
    """The merchant's figures; None when ``room_id`` is not one of the merchant's rooms."""
    if room_id is not None:
        room = await registry.get_room(room_id)
        if room is None or room.merchant_id != merchant_id:
            return None
        rooms, truncated = [room], False
    else:
        rooms, truncated = await _rooms(registry, merchant_id, kind, since)
    figures = [RoomFigures(room, await _fold(store, room.room_id)) for room in rooms]
    revenue: Counter[str] = Counter()
    attribution: dict[str, Attribution] = {}
    for item in figures:
        revenue.update(item.figures.revenue)
        for cause, entry in item.figures.attribution.items():
            total = attribution.setdefault(cause, Attribution())
            total.lines += entry.lines
            total.units += entry.units
            for currency, value in entry.value.items():
                total.value[currency] = total.value.get(currency, 0) + value
    results = [item.figures for item in figures]
    return MerchantAnalytics(
        rooms=tuple(figures),
        joined=sum(r.joined for r in results),
        added=sum(r.added for r in results),
        checked_out=sum(r.checked_out for r in results),
        paid=sum(r.paid for r in results),
        carts=sum(1 for r in results if r.lines_added),
        orders=sum(r.orders for r in results),
        paid_orders=sum(r.paid_orders for r in results),
        revenue=dict(revenue),
        attribution={cause: attribution[cause] for cause in CAUSES if cause in attribution},
        truncated=truncated,
    )
