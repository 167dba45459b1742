"""Test support for the room core: a demo catalogue and a driver that decides and applies."""

from __future__ import annotations

import itertools

import pytest

from rooms import (
    Catalog,
    Command,
    Context,
    Event,
    ProductFacts,
    Role,
    Room,
    RoomError,
    RoomKind,
    RoomLimits,
    StaticCatalog,
    open_room,
)
from rooms import commands as c

CATALOG = StaticCatalog(
    [
        ProductFacts("tee", "T-shirt", 1500, "EUR", variants=("s", "m", "l")),
        ProductFacts("mug", "Mug", 900, "EUR"),
        ProductFacts("cap", "Cap", 1200, "EUR", stock=3),
        ProductFacts("bag", "Bag", 3000, "EUR"),
        ProductFacts("sold", "Sold out", 100, "EUR", stock=0),
        ProductFacts("pen", "Pen", 200, "EUR"),
        ProductFacts("ink", "Ink", 300, "EUR"),
    ]
)
SKUS = ("tee", "mug", "cap", "bag", "sold", "pen", "ink")


class Driver:
    """Holds one room and its log; ``do`` decides and applies, ``refuse`` checks a refusal."""

    def __init__(self, kind: RoomKind = RoomKind.GROUP, limits: RoomLimits | None = None) -> None:
        self.log: list[Event] = open_room(
            "room-1", kind, "Weekend shop", "host", "Hannah", 1_000, limits
        )
        self.room = Room.replay(self.log)
        self.now = 1_000
        self._ids = itertools.count(1)
        self.catalog: Catalog = CATALOG

    def ctx(self, actor: str) -> Context:
        self.now += 1
        return Context(
            actor=actor, now=self.now, new_id=f"id{next(self._ids)}", catalog=self.catalog
        )

    def do(self, actor: str, command: Command) -> list[Event]:
        events = self.room.decide(command, self.ctx(actor))
        for event in events:
            self.room.apply(event)
            self.log.append(event)
        return events

    def refuse(self, actor: str, command: Command, code: str) -> RoomError:
        before = self.room.to_snapshot()
        with pytest.raises(RoomError) as info:
            self.room.decide(command, self.ctx(actor))
        assert info.value.code == code, info.value.message
        assert self.room.to_snapshot() == before
        return info.value

    def join(self, actor: str, role: Role = Role.MEMBER, name: str | None = None) -> None:
        assert self.do(actor, c.Join(name or actor.title(), role))

    def add(self, actor: str, sku: str = "mug", quantity: int = 1, note: str = "") -> str:
        (event,) = self.do(actor, c.AddLine(sku, "m" if sku == "tee" else None, quantity, note))
        line_id = getattr(event, "line_id", None)
        assert isinstance(line_id, str)
        return line_id

    def replayed(self) -> Room:
        return Room.replay(self.log)
