"""A live viewer checks out their own lines while the show goes on (DESIGN §10, docs/live.md).

``POST /api/v1/rooms/{room}/checkout`` by a live viewer (REST action ``check_out_own``) comes
here: the viewer's lines — all that no open order holds, the ``line_ids`` they name, or the one
line a "Buy now" (``buy``: sku, variant, quantity) just added — are priced from the catalogue
and become an order of their own (the viewer pays all of it, one share) through the hosted
payment page. The room is not locked: the room core freezes only those lines
(``BeginViewerOrder``, rooms/rules/viewer_orders.py).

Stock: the order and its reservation (server/catalog/reservations.py) are written in one
transaction, so many viewers checking out one product at once never take more than its stock
(a variant with a stock of its own is held on its own: by ``(sku, variant)``, as the pricing
counts it); the ones too late get ``409 out_of_stock``. The reservation is released when the
order is void — its payment window passed, the viewer cancelled it, or the payment failed (a
viewer's order is given up on a failed payment: the lines thaw and a retry is a fresh checkout)
— and committed (the product's or the variant's stock lowered) when it is paid; both in the
transaction of that order fact (:meth:`server.checkout.service.CheckoutService._apply`).

Orders of different viewers run concurrently (a lock per viewer, not per room).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from checkout_bridge.errors import CheckoutError
from checkout_bridge.orders import CancelOrder, plan_order
from checkout_bridge.pricing import CartLineInput, CartSnapshot, freeze_cart
from rooms import Phase, ProductFacts, RoomError, StaticCatalog
from rooms.commands import AddLine, BeginViewerOrder
from rooms.room import Room
from rooms.state import OrderLine
from server.api.common import new_id
from server.auth import MemberClaims
from server.catalog import reservations
from server.checkout.effects import share_update
from server.checkout.errors import CheckoutFlowError, NotReady, Unavailable
from server.checkout.tables import snapshots

if TYPE_CHECKING:
    from server.checkout.service import CheckoutService

__all__ = ["Buy", "check_out_own", "snapshot_key"]

log = logging.getLogger("coshop.checkout")

_STOCK_ISSUES = frozenset({"out_of_stock", "insufficient_stock"})


@dataclass(frozen=True, slots=True)
class Buy:
    """ "Buy now": add this product for the viewer and check out just that line."""

    sku: str
    variant: str | None
    quantity: int


def snapshot_key(room_id: str, order_id: str, buyer: str | None) -> str:
    """Where an order's snapshot is stored: a viewer's own order keeps its own (under its
    order id, version 1), so viewers never race for the room's snapshot versions."""
    return order_id if buyer is not None else room_id


@dataclass(frozen=True, slots=True)
class _Mine:
    phase: Phase
    lines: tuple[CartLineInput, ...]
    frozen: frozenset[str]
    # the viewer's lines a drop claim holds (rooms/rules/drops.py): line id -> the drop's price
    drop_prices: dict[str, int]
    # what running drops set aside of the shop's stock, that no order holds yet: the units not
    # claimed, and each claim no order holds yet (line id -> its stock key and units)
    drop_units: dict[reservations.StockKey, int]
    unordered_claims: dict[str, tuple[reservations.StockKey, int]]

    def set_aside(self, chosen: Sequence[CartLineInput]) -> dict[reservations.StockKey, int]:
        """Stock a checkout of ``chosen`` may not take. A regular checkout may not take what
        running drops set aside; a drop's own order is not held back by it (the drop's units
        were checked against the stock when it started, and the room read here may be a turn
        older than the holds the reservation reads, so another winner's units could count
        twice). The room is read outside the reservation's transaction: a regular checkout may
        count a concurrent claim twice and answer out_of_stock, never oversell."""
        if any(line.line_id in self.drop_prices for line in chosen):
            return {}
        aside = dict(self.drop_units)
        for key, units in self.unordered_claims.values():
            aside[key] = aside.get(key, 0) + units
        return aside


def _drop_stock(
    room: Room, now_ms: int
) -> tuple[dict[reservations.StockKey, int], dict[str, tuple[reservations.StockKey, int]]]:
    """The shop's stock a running drop sets aside (docs/live.md "Drops"): its units not claimed
    yet, on its fixed option (or the product's stock when the viewer picks), and its claims that
    no order holds yet (within their hold). An order's claim is reserved with the order; a drop
    that ended sets nothing aside."""
    units: dict[reservations.StockKey, int] = {}
    claims: dict[str, tuple[reservations.StockKey, int]] = {}
    running = {
        drop.drop_id: drop
        for drop in room.drops.values()
        if drop.ended_at is None and now_ms < drop.ends_at
    }
    for drop in running.values():
        key = (drop.sku, drop.variant or "")
        units[key] = units.get(key, 0) + max(0, drop.remaining)
    for claim in room.drop_claims.values():
        open_drop = running.get(claim.drop_id)
        if open_drop is None or claim.line_id in room.frozen or claim.hold_until <= now_ms:
            continue
        claims[claim.line_id] = ((open_drop.sku, claim.variant or ""), claim.quantity)
    return units, claims


def _mine(room: Room, member_id: str, now_ms: int) -> _Mine:
    drop_prices = {
        claim.line_id: room.drops[claim.drop_id].price_minor
        for claim in room.drop_claims.values()
        if claim.member_id == member_id and claim.drop_id in room.drops
    }
    lines = tuple(
        CartLineInput(
            line.line_id, line.sku, line.variant, line.quantity, line.added_by, line.payer,
            line.price_minor,
        )
        for line in room.lines.values()
        if line.payer == member_id
    )  # fmt: skip
    units, claims = _drop_stock(room, now_ms)
    return _Mine(room.phase, lines, frozenset(room.frozen), drop_prices, units, claims)


async def _buy(service: CheckoutService, room_id: str, member_id: str, buy: Buy) -> str:
    """Add the "Buy now" line as the viewer (the room's cart rules apply) and return its id."""
    stored = await service.hub.system_command(
        room_id, AddLine(buy.sku, buy.variant, buy.quantity, ""), member_id=member_id
    )
    return str(stored[-1].data["line_id"])


def _pick(mine: _Mine, line_ids: Sequence[str] | None) -> list[CartLineInput]:
    if mine.phase is not Phase.OPEN:
        raise NotReady("cart_locked", "the host is checking out the whole cart; wait a moment")
    free = [
        line
        for line in mine.lines
        if line.line_id not in mine.frozen and line.line_id not in mine.drop_prices
    ]  # a drop's line is checked out on its own, at the drop's price
    if line_ids is None:
        if not free:
            raise NotReady("cart_empty", "nothing of yours is waiting to be checked out")
        return free
    own = {line.line_id: line for line in mine.lines}
    for line_id in line_ids:
        if line_id not in own:
            raise NotReady("not_your_line", "you check out only your own items")
        if line_id in mine.frozen:
            raise NotReady("line_in_checkout", "this item is in an order being paid already")
    chosen = [own[line_id] for line_id in dict.fromkeys(line_ids)]
    if len(chosen) > 1 and any(line.line_id in mine.drop_prices for line in chosen):
        raise NotReady("drop_line", "a drop item is checked out on its own, at the drop price")
    return chosen


def _at_drop_price(facts: dict[str, ProductFacts], sku: str, price: int) -> None:
    """Price ``sku`` (every variant) at a drop's price: the only line of a drop's order."""
    product = facts.get(sku)
    if product is not None:
        facts[sku] = replace(
            product,
            price_minor=price,
            variant_facts=tuple((v, price, stock) for v, _, stock in product.variant_facts),
        )


def _refuse_unready(
    snapshot: CartSnapshot, chosen: Sequence[CartLineInput], accept_prices: bool, shown: Any
) -> None:
    if not snapshot.ready:
        short = next((i for i in snapshot.changes if i.kind in _STOCK_ISSUES), None)
        if short is not None:
            line = next(line for line in chosen if line.line_id == short.line_id)
            named = line.sku if line.variant is None else f"{line.sku} ({line.variant})"
            raise NotReady(
                "out_of_stock",
                f"not enough of {named} left in stock",
                snapshot=shown,
                sku=line.sku,
                variant=line.variant,
                available=short.available or 0,
            )
        raise NotReady(
            "snapshot_blocked", "some items cannot be bought as they are", snapshot=shown
        )
    if snapshot.price_changes and not accept_prices:
        raise NotReady(
            "prices_changed",
            "prices changed since you saw them; check out again with accept_prices to accept",
            snapshot=shown,
        )


async def check_out_own(
    service: CheckoutService,
    room_id: str,
    claims: MemberClaims,
    *,
    line_ids: Sequence[str] | None = None,
    buy: Buy | None = None,
    accept_prices: bool = False,
) -> dict[str, Any]:
    """Open the viewer's own order and its payment page; see the module docstring."""
    from server.checkout.service import order_json, snapshot_json  # service imports this

    if service.provider is None:
        raise Unavailable("payments_unconfigured", "no payment provider is configured")
    member_id = claims.member_id
    async with service._lock(f"viewer:{room_id}:{member_id}"):
        actor = await service.hub.actor(room_id)
        if buy is not None:
            line_ids = [await _buy(service, room_id, member_id, buy)]
        at_ms = service.now_ms()
        mine = await service.hub.inspect(room_id, lambda room, _seq: _mine(room, member_id, at_ms))
        chosen = _pick(mine, line_ids)
        facts = dict(await service.catalog.facts(actor.merchant_id, {line.sku for line in chosen}))
        for picked in chosen:
            if picked.line_id in mine.drop_prices:
                _at_drop_price(facts, picked.sku, mine.drop_prices[picked.line_id])
        order_id = new_id("o")
        try:
            snapshot = freeze_cart(chosen, StaticCatalog(list(facts.values())), version=1)
        except CheckoutError as exc:
            raise NotReady(exc.code, exc.message) from exc
        _refuse_unready(snapshot, chosen, accept_prices, snapshot_json(snapshot))
        now = service.now()
        try:
            opened = plan_order(
                order_id, room_id, snapshot, "host_pays",
                host=member_id, participants=(member_id,), all_or_nothing=False,
                deadline=now + service.viewer_window_s, now=now,
            )  # fmt: skip
        except CheckoutError as exc:
            raise NotReady(exc.code, exc.message, snapshot=snapshot_json(snapshot)) from exc
        wants: dict[reservations.StockKey, int] = {}
        for line in snapshot.lines:  # a variant with its own stock is held on its own
            product = facts.get(line.sku)
            own = product is not None and product.own_stock(line.variant)
            key = (line.sku, (line.variant or "") if own else "")
            wants[key] = wants.get(key, 0) + line.quantity

        async def hold(conn: AsyncConnection) -> None:
            await reservations.reserve(
                conn, actor.merchant_id, order_id, wants, now, set_aside=mine.set_aside(chosen)
            )
            await conn.execute(
                insert(snapshots).values(
                    room_id=order_id, version=1, digest=snapshot.digest(), ready=True,
                    data=_dump(snapshot), created_at=now,
                )
            )  # fmt: skip

        try:
            order = await service.store.create_order(
                opened, actor.merchant_id, now, buyer=member_id, hold=hold
            )
        except reservations.OutOfStock as exc:
            variant = exc.variant or next(
                (priced.variant for priced in snapshot.lines if priced.sku == exc.sku), None
            )
            named = exc.sku if not variant else f"{exc.sku} ({variant})"
            raise NotReady(
                "out_of_stock",
                f"{named} sold out: only {exc.available} left"
                if exc.available
                else f"{named} sold out",
                sku=exc.sku,
                variant=variant,
                available=exc.available,
            ) from exc
        ordered = tuple(
            OrderLine(line.line_id, line.quantity, line.unit_price_minor) for line in snapshot.lines
        )
        begin = BeginViewerOrder(
            order_id, member_id, ordered, snapshot.total_minor, snapshot.currency,
            deadline_at=order.deadline * 1000,  # the page counts down to it, after a reload too
        )  # fmt: skip
        try:
            await service.hub.system_command(room_id, begin)
        except RoomError as exc:  # the lines moved meanwhile: give the order (and stock) back
            await service._apply(order_id, lambda _o: [CancelOrder("room_refused")])
            raise NotReady(exc.code, str(exc)) from exc
        except Exception as exc:
            await service._apply(order_id, lambda _o: [CancelOrder("room_unavailable")])
            raise Unavailable("room_unavailable", "the room could not be updated") from exc
        updates = [share_update(order, share.share_id) for share in order.shares]
        ids = await service.store.outbox.enqueue(order_id, room_id, 1, updates, service.now_ms())
        try:
            await service.outbox.drain(ids)
        except Exception:  # the worker delivers them
            log.exception("checkout effects not delivered now; the outbox retries them")
    log.info("viewer order opened", extra={"room_id": room_id, "order_id": order_id})
    try:
        pay: dict[str, Any] | None = await service.pay(room_id, order_id, claims)
    except CheckoutFlowError as exc:  # the order stands (the room shows it, with "Pay")
        log.warning("payment page not opened", extra={"order_id": order_id, "code": exc.code})
        pay = None
    record = await service.store.load(order_id)
    assert record is not None
    return {
        "order": order_json(record.order),
        "snapshot": snapshot_json(snapshot),
        "pay": pay,
    }


def _dump(snapshot: CartSnapshot) -> str:
    return json.dumps(snapshot.to_dict(), sort_keys=True, separators=(",", ":"))
