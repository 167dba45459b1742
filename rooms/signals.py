"""Ephemeral signals: presence-like traffic that is never stored and never numbered.

``Viewing`` (which product a member looks at), ``Typing`` and ``React`` may be coalesced or
dropped under load. :meth:`rooms.room.Room.check_signal` validates them; this module holds no rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rooms._fields import Id, Sku

__all__ = ["REACTIONS", "BaseSignal", "React", "Signal", "Typing", "Viewing"]

REACTIONS: frozenset[str] = frozenset({"❤️", "🔥", "👍", "👎", "😂", "😮", "👏", "🛒"})
"""The emoji a member may react with."""


class BaseSignal:
    """Base of every signal: keeps the name registry."""

    __slots__ = ()
    registry: ClassVar[dict[str, type[BaseSignal]]] = {}

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        BaseSignal.registry[cls.__name__] = cls


@dataclass(frozen=True, slots=True)
class Viewing(BaseSignal):
    sku: Sku | None  # None: browsing no product (e.g. the cart)


@dataclass(frozen=True, slots=True)
class Typing(BaseSignal):
    active: bool


@dataclass(frozen=True, slots=True)
class React(BaseSignal):
    emoji: Id


Signal = Viewing | Typing | React
