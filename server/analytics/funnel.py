"""A room's funnel and what led to each sale, folded from its event log (pure: no I/O, no clock).

This module is for: reading a room's committed events in order (:meth:`RoomFold.feed`) and
answering what the merchant console and the analytics API show (:meth:`RoomFold.result`):

* the **funnel** — distinct members who joined → added a line → were in a checkout (had a
  share) → paid their share;
* orders opened and paid, and revenue (the paid shares' amounts, per currency);
* **influence attribution**: for every line of a paid order, what led to it, decided when the
  line was added, first match wins:

  ``drop``        a viewer won it in a drop (a live show's timed deal: ``DropClaimed``);
  ``poll``        a poll this product won closed at most :data:`WINDOW_MS` before;
  ``pin``         the product was pinned on stage;
  ``bring``       the host brought everyone to this product ("bring everyone here") within the
                  window;
  ``announcement`` an announcement naming the product (its title or sku) within the window;
  ``associate``   a store associate (or other staff who is not the payer) added it;
  ``friend``      another member added it for the payer;
  ``self``        the payer found and added it on their own.

It must not read storage or know HTTP: ``server.analytics.service`` feeds it events.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from rooms.model import STAFF, Role

__all__ = ["CAUSES", "WINDOW_MS", "Attribution", "Event", "RoomFold", "RoomResult"]

WINDOW_MS = 10 * 60 * 1000
"""How long a poll, a "bring everyone here" or an announcement keeps leading to adds."""

CAUSES = ("drop", "poll", "pin", "bring", "announcement", "associate", "friend", "self")


class Event(Protocol):
    """What the fold reads of a stored event (``server.storage.StoredEvent`` fits)."""

    @property
    def type(self) -> str: ...

    @property
    def data(self) -> Mapping[str, Any]: ...

    @property
    def at(self) -> int: ...


@dataclass(slots=True)
class _Line:
    sku: str
    title: str
    quantity: int
    added_by: str
    payer: str
    price_minor: int
    currency: str
    cause: str


@dataclass(slots=True)
class Attribution:
    """Paid lines led to by one cause: how many, how many units, their value per currency."""

    lines: int = 0
    units: int = 0
    value: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RoomResult:
    """One room's figures (see the module docstring)."""

    joined: int
    added: int
    checked_out: int
    paid: int
    lines_added: int
    orders: int
    paid_orders: int
    revenue: Mapping[str, int]
    attribution: Mapping[str, Attribution]


class RoomFold:
    """Feed a room's events oldest first; :meth:`result` at any point."""

    def __init__(self) -> None:
        self._roles: dict[str, str] = {}
        self._adders: set[str] = set()
        self._checked_out: set[str] = set()
        self._paid: set[str] = set()
        self._lines: dict[str, _Line] = {}
        self._lines_added = 0
        self._pinned: set[str] = set()
        self._polls: dict[str, int] = {}  # sku -> when a poll it won closed
        self._brought: dict[str, int] = {}  # sku -> when everyone was brought to it
        self._announced: list[tuple[int, str]] = []  # (at, folded text), newest last
        self._orders: dict[str, tuple[_Line, ...]] = {}  # the lines each order was opened with
        self._order_currency: dict[str, str] = {}
        self._paid_orders: set[str] = set()
        self._revenue: Counter[str] = Counter()
        self._attribution: dict[str, Attribution] = defaultdict(Attribution)

    def feed(self, events: Iterable[Event]) -> None:
        for event in events:
            handler = _HANDLERS.get(event.type)
            if handler is not None:
                handler(self, event.data, event.at)

    # -- membership and stage ------------------------------------------------------------------

    def _opened(self, data: Mapping[str, Any], _at: int) -> None:
        self._roles[str(data["host_id"])] = Role.HOST.value

    def _joined(self, data: Mapping[str, Any], _at: int) -> None:
        self._roles.setdefault(str(data["member_id"]), str(data["role"]))

    def _promoted(self, data: Mapping[str, Any], _at: int) -> None:
        if str(data["member_id"]) in self._roles:
            self._roles[str(data["member_id"])] = str(data["role"])

    def _pin(self, data: Mapping[str, Any], _at: int) -> None:
        self._pinned.add(str(data["sku"]))

    def _unpin(self, data: Mapping[str, Any], _at: int) -> None:
        self._pinned.discard(str(data["sku"]))

    def _poll_closed(self, data: Mapping[str, Any], at: int) -> None:
        if data.get("winner"):
            self._polls[str(data["winner"])] = at

    def _brought_here(self, data: Mapping[str, Any], at: int) -> None:
        self._brought[str(data["sku"])] = at

    def _announcement(self, data: Mapping[str, Any], at: int) -> None:
        self._announced.append((at, str(data["text"]).casefold()))

    # -- cart ------------------------------------------------------------------------------------

    def _cause(self, sku: str, title: str, added_by: str, payer: str, at: int) -> str:
        def recent(when: int | None) -> bool:
            return when is not None and 0 <= at - when <= WINDOW_MS

        if recent(self._polls.get(sku)):
            return "poll"
        if sku in self._pinned:
            return "pin"
        if recent(self._brought.get(sku)):
            return "bring"
        names = {sku.casefold(), title.casefold()} - {""}
        for when, text in reversed(self._announced):
            if not recent(when):
                break
            if any(name in text for name in names):
                return "announcement"
        if added_by != payer:
            role = self._roles.get(added_by, Role.MEMBER.value)
            return "associate" if role in STAFF else "friend"
        return "self"

    def _line_added(self, data: Mapping[str, Any], at: int) -> None:
        added_by, payer = str(data["added_by"]), str(data["payer"])
        sku, title = str(data["sku"]), str(data["title"])
        self._lines_added += 1
        self._adders.add(added_by)
        self._lines[str(data["line_id"])] = _Line(
            sku=sku,
            title=title,
            quantity=int(data["quantity"]),
            added_by=added_by,
            payer=payer,
            price_minor=int(data["price_minor"]),
            currency=str(data["currency"]),
            cause=self._cause(sku, title, added_by, payer, at),
        )

    def _drop_claimed(self, data: Mapping[str, Any], _at: int) -> None:
        line = self._lines.get(str(data["line_id"]))
        if line is not None:  # the claim's line was added just before, at the drop's price
            line.cause = "drop"

    def _quantity(self, data: Mapping[str, Any], _at: int) -> None:
        line = self._lines.get(str(data["line_id"]))
        if line is not None:
            line.quantity = int(data["quantity"])

    def _removed(self, data: Mapping[str, Any], _at: int) -> None:
        self._lines.pop(str(data["line_id"]), None)

    def _payer(self, data: Mapping[str, Any], _at: int) -> None:
        line = self._lines.get(str(data["line_id"]))
        if line is not None:
            line.payer = str(data["payer"])

    # -- orders ----------------------------------------------------------------------------------

    def _settlement(self, data: Mapping[str, Any], _at: int) -> None:
        order_id = str(data["order_id"])
        lines = tuple(replace(line) for line in self._lines.values())  # as they are now
        self._orders[order_id] = lines
        if lines:
            self._order_currency[order_id] = lines[0].currency

    def _viewer_order(self, data: Mapping[str, Any], _at: int) -> None:
        """A live viewer's own order: the lines it names, at the prices it was opened with."""
        order_id = str(data["order_id"])
        lines = []
        for ordered in data.get("lines") or ():
            line = self._lines.get(str(ordered["line_id"]))
            if line is not None:
                lines.append(replace(line, price_minor=int(ordered["unit_minor"])))
        self._orders[order_id] = tuple(lines)
        self._order_currency[order_id] = str(data["currency"])

    def _share(self, data: Mapping[str, Any], _at: int) -> None:
        payer, status = str(data["payer"]), str(data["status"])
        self._checked_out.add(payer)
        if status == "paid":
            self._paid.add(payer)
            currency = self._order_currency.get(str(data["order_id"]))
            if currency is not None:
                self._revenue[currency] += int(data["amount_minor"])

    def _settled(self, data: Mapping[str, Any], _at: int) -> None:
        order_id = str(data["order_id"])
        if data["outcome"] != "paid" or order_id in self._paid_orders:
            return
        self._paid_orders.add(order_id)
        for line in self._orders.get(order_id, ()):
            entry = self._attribution[line.cause]
            entry.lines += 1
            entry.units += line.quantity
            value = line.price_minor * line.quantity
            entry.value[line.currency] = entry.value.get(line.currency, 0) + value

    def result(self) -> RoomResult:
        return RoomResult(
            joined=len(self._roles),
            added=len(self._adders),
            checked_out=len(self._checked_out),
            paid=len(self._paid),
            lines_added=self._lines_added,
            orders=len(self._orders),
            paid_orders=len(self._paid_orders),
            revenue=dict(self._revenue),
            attribution={
                cause: self._attribution[cause] for cause in CAUSES if cause in self._attribution
            },
        )


_HANDLERS = {
    "RoomOpened": RoomFold._opened,
    "MemberJoined": RoomFold._joined,
    "MemberPromoted": RoomFold._promoted,
    "ProductPinned": RoomFold._pin,
    "ProductUnpinned": RoomFold._unpin,
    "PollClosed": RoomFold._poll_closed,
    "EveryoneBrought": RoomFold._brought_here,
    "Announced": RoomFold._announcement,
    "LineAdded": RoomFold._line_added,
    "QuantityChanged": RoomFold._quantity,
    "LineRemoved": RoomFold._removed,
    "PayerAssigned": RoomFold._payer,
    "SettlementBegan": RoomFold._settlement,
    "ViewerOrderBegan": RoomFold._viewer_order,
    "DropClaimed": RoomFold._drop_claimed,
    "ShareUpdated": RoomFold._share,
    "OrderSettled": RoomFold._settled,
}
