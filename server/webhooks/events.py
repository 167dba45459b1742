"""The webhook event types and how a room's or an order's logged event becomes one.

Pure: no I/O, no clock. :mod:`server.webhooks.feed` reads the logs and hands each logged event
here; what comes back is the ``data`` of a Standard Webhooks message
(``{"type", "timestamp", "data"}``, :func:`envelope`). Events nobody subscribes to map to
``None``. Order messages (``checkout.started``, ``order.*``) are built by
:func:`order_message` from the order as it stood after the event, the priced lines of its
snapshot, the payment sessions and the names members joined with.

Show messages (``show.scheduled``, ``show.reminder_requested``, ``show.starting``,
``show.started``, ``show.cancelled``, ``show.reminder_cancelled``) are built by
:func:`show_message` from a show as stored; they are not read from a log but written with
their fact (:mod:`server.webhooks.shows`; ``show.starting`` by a
periodic pass, ten minutes before the start). ``RESERVED_TYPES`` (accepted in a subscription,
not sent yet) is empty now.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from checkout_bridge.orders import (
    Order,
    OrderEvent,
    OrderOpened,
    OrderPaid,
    OrderVoided,
    ShareRefunded,
)
from checkout_bridge.pricing import CartSnapshot

__all__ = [
    "EVENT_TYPES",
    "RESERVED_TYPES",
    "SUBSCRIBABLE",
    "Message",
    "envelope",
    "order_message",
    "room_message",
    "show_message",
]

EVENT_TYPES: tuple[str, ...] = (
    "room.created",
    "member.joined",
    "cart.line_added",
    "cart.line_removed",
    "poll.closed",
    "checkout.started",
    "order.paid",
    "order.void",
    "order.refunded",
    "show.scheduled",
    "show.reminder_requested",
    "show.starting",
    "show.started",
    "show.cancelled",
    "show.reminder_cancelled",
)
RESERVED_TYPES: tuple[str, ...] = ()
SUBSCRIBABLE: frozenset[str] = frozenset(EVENT_TYPES + RESERVED_TYPES)

# Room events that move an order along: seeing one in a room's log, the feed reads that
# order's log too (its checkout.started, order.paid and order.void).
ORDER_MARKERS: frozenset[str] = frozenset({"SettlementBegan", "ShareUpdated", "OrderSettled"})


@dataclass(frozen=True, slots=True)
class Message:
    """One webhook message: its type, its ``data`` object and when it happened (ms)."""

    type: str
    data: dict[str, Any]
    at: int


def envelope(message: Message) -> dict[str, Any]:
    """The JSON body Standard Webhooks recommends: type, ISO-8601 timestamp, data."""
    when = datetime.datetime.fromtimestamp(message.at / 1000, tz=datetime.UTC)
    stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"type": message.type, "timestamp": stamp, "data": message.data}


def _member(member_id: str, names: Mapping[str, str]) -> dict[str, Any]:
    return {"member_id": member_id, "display_name": names.get(member_id)}


def room_message(
    event_type: str,
    data: Mapping[str, Any],
    *,
    room_id: str,
    merchant_id: str,
    at: int,
    names: Mapping[str, str],
    lines: Mapping[str, Mapping[str, Any]],
) -> Message | None:
    """The message for one room event (``data`` as logged), or ``None``.

    ``names`` are display names by member id, ``lines`` the ``LineAdded`` data by line id,
    both as the room's log held them up to this event (a removed line is described by what
    was added).
    """
    base = {"room_id": room_id, "merchant_id": merchant_id}
    if event_type == "RoomOpened":
        body = {
            **base,
            "kind": data["kind"],
            "title": data["title"],
            "host": _member(str(data["host_id"]), names),
            "created_at": at,
        }
        return Message("room.created", body, at)
    if event_type == "MemberJoined":
        body = {
            **base,
            "member": {
                "member_id": data["member_id"],
                "display_name": data["display_name"],
                "role": data["role"],
            },
            "joined_at": at,
        }
        return Message("member.joined", body, at)
    if event_type == "LineAdded":
        return Message("cart.line_added", {**base, "line": _line(data, names)}, at)
    if event_type == "LineRemoved":
        added = lines.get(str(data["line_id"]))
        line = _line(added, names) if added is not None else {"line_id": data["line_id"]}
        body = {**base, "line": line, "removed_by": _member(str(data["by"]), names)}
        return Message("cart.line_removed", body, at)
    if event_type == "PollClosed":
        body = {
            **base,
            "poll_id": data["poll_id"],
            "winner_sku": data["winner"],
            "counts": list(data["counts"]),
            "closed_by": _member(str(data["by"]), names),
        }
        return Message("poll.closed", body, at)
    return None


def _line(data: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "line_id": data["line_id"],
        "sku": data["sku"],
        "variant": data["variant"],
        "title": data["title"],
        "quantity": data["quantity"],
        "unit_price_minor": data["price_minor"],
        "currency": data["currency"],
        "added_by": _member(str(data["added_by"]), names),
        "payer": _member(str(data["payer"]), names),
    }


def order_message(
    event: OrderEvent,
    order: Order,
    *,
    merchant_id: str,
    at: int,
    snapshot: CartSnapshot | None,
    names: Mapping[str, str],
    providers: Mapping[str, str],
) -> Message | None:
    """The message for one order event, ``order`` being the order right after it, or ``None``.

    ``providers`` names the payment provider of each session id.
    """
    match event:
        case OrderOpened():
            return Message(
                "checkout.started", _order(order, merchant_id, snapshot, names, providers), at
            )
        case OrderPaid():
            return Message("order.paid", _order(order, merchant_id, snapshot, names, providers), at)
        case OrderVoided():
            body = _order(order, merchant_id, snapshot, names, providers)
            return Message("order.void", body, at)
        case ShareRefunded():
            body = _order(order, merchant_id, snapshot, names, providers)
            share = order.share(event.share_id)
            body["refund"] = {
                "share_id": event.share_id,
                "refund_id": event.refund_id,
                "amount_minor": event.amount_minor,
                "payer": _member(share.payer, names),
                "payment_id": share.payment_id,
            }
            return Message("order.refunded", body, at)
        case _:
            return None


def _order(
    order: Order,
    merchant_id: str,
    snapshot: CartSnapshot | None,
    names: Mapping[str, str],
    providers: Mapping[str, str],
) -> dict[str, Any]:
    # lines a holdout's share paid for and the group dropped (holdout recovery) were not bought
    dropped = set(order.dropped_line_ids)
    priced = [] if snapshot is None else [ln for ln in snapshot.lines if ln.line_id not in dropped]
    return {
        "order_id": order.order_id,
        "room_id": order.room_id,
        "merchant_id": merchant_id,
        "status": order.status,
        "void_reason": order.void_reason,
        "currency": order.currency,
        "total_minor": order.total_minor,
        "paid_minor": order.paid_minor,
        "refunded_minor": sum(s.refunded_minor for s in order.shares),
        "split": order.mode,
        "opened_at": order.opened_at * 1000,
        "lines": [
            {
                "line_id": line.line_id,
                "sku": line.sku,
                "variant": line.variant,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price_minor": line.unit_price_minor,
                "total_minor": line.total_minor,
                "added_by": _member(line.added_by, names),
                "payer": _member(line.payer, names),
            }
            for line in priced
        ],
        "payments": [
            {
                "share_id": share.share_id,
                "payer": _member(share.payer, names),
                "amount_minor": share.amount_minor,
                "status": share.status,
                "paid_minor": share.paid_minor,
                "refunded_minor": share.refunded_minor,
                "line_ids": list(share.line_ids),
                "provider": providers.get(share.paid_session_id or share.session_id or ""),
                "payment_id": share.payment_id,
                "session_id": share.paid_session_id or share.session_id,
            }
            for share in order.shares
        ],
    }


def show_message(
    kind: str, show: Mapping[str, Any], extra: Mapping[str, Any], *, at: int
) -> Message:
    """The message of one show fact: ``kind`` is ``scheduled``, ``reminder_requested``,
    ``reminder_cancelled``, ``starting``, ``started`` or ``cancelled``; ``show`` the show object
    as the REST API answers it (without reminder counts); ``extra`` the reminder
    (``reminder_requested``; its ``reminder_id`` alone for ``reminder_cancelled``) or
    ``starts_in_s`` (``starting``)."""
    body: dict[str, Any] = {
        "room_id": show["room_id"],
        "merchant_id": show["merchant_id"],
        "show": dict(show),
    }
    if kind in ("reminder_requested", "reminder_cancelled"):
        body["reminder"] = dict(extra)
    elif kind == "starting":
        body["starts_in_s"] = int(extra["starts_in_s"])
    return Message(f"show.{kind}", body, at)
