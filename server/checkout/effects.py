"""What an order's new events must cause outside coshop's database: the outbox's effects.

:func:`effects_for` maps an order (after its new events) and those events to :class:`Effect`
values — a room command (``UpdateShare``, ``SettleOrder``) or a provider call (``capture``,
``void``, ``refund``, ``expire``) — that :class:`~server.checkout.store.OrderTx` writes to the
outbox in the same transaction as the events. :func:`room_command` rebuilds the room command
from a stored payload.

Every effect is safe to deliver twice: room commands for an order the room no longer settles
are refused (``bad_phase``, ``not_found``) and count as delivered; provider calls carry the
outbox row id as their idempotency key.

Pure: no I/O, no clock. The property test over order states and room phases uses it as is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from checkout_bridge.orders import (
    CaptureDue,
    CheckoutCanceled,
    CheckoutOpened,
    CompensationDue,
    Order,
    OrderEvent,
    OrderPaid,
    OrderVoided,
    PaymentRef,
    ShareAuthorized,
    ShareExpired,
    ShareFailed,
    SharePaid,
    ShareRefunded,
)
from rooms import Command
from rooms.commands import SettleOrder, UpdateShare

__all__ = [
    "PROVIDER_KINDS",
    "Effect",
    "EffectKind",
    "effects_for",
    "payment_ref",
    "room_command",
    "share_update",
]

EffectKind = Literal["room_command", "capture", "void", "refund", "expire"]
PROVIDER_KINDS: frozenset[str] = frozenset({"capture", "void", "refund", "expire"})

_SHARE_EVENTS = (
    CheckoutOpened, CheckoutCanceled, ShareExpired, ShareFailed, ShareAuthorized, SharePaid,
    ShareRefunded,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Effect:
    """One thing to do after the commit; ``payload`` is JSON-safe."""

    kind: EffectKind
    payload: Mapping[str, Any]


def share_update(order: Order, share_id: str) -> Effect:
    share = order.share(share_id)
    return Effect(
        "room_command",
        {
            "name": "UpdateShare",
            "payer": share.payer,
            "status": share.status,
            "amount_minor": share.amount_minor,
        },
    )


def _ref(payment: PaymentRef) -> dict[str, Any]:
    return {
        "share_id": payment.share_id,
        "session_id": payment.session_id,
        "payment_id": payment.payment_id,
        "amount_minor": payment.amount_minor,
    }


def payment_ref(payload: Mapping[str, Any]) -> PaymentRef:
    return PaymentRef(
        str(payload["share_id"]),
        str(payload["session_id"]),
        None if payload["payment_id"] is None else str(payload["payment_id"]),
        int(payload["amount_minor"]),
    )


def effects_for(order: Order, events: Sequence[OrderEvent]) -> list[Effect]:
    """The effects of ``events``, given ``order`` as it is after them, in delivery order."""
    effects: list[Effect] = []
    touched: dict[str, None] = {}
    for event in events:
        if isinstance(event, _SHARE_EVENTS):
            touched[event.share_id] = None
    effects.extend(share_update(order, share_id) for share_id in touched)
    for event in events:
        match event:
            case CaptureDue():
                effects.extend(Effect("capture", _ref(ref)) for ref in event.captures)
            case CompensationDue():
                effects.append(Effect(event.action, _ref(event.payment)))
            case OrderPaid():
                effects.append(Effect("room_command", {"name": "SettleOrder", "outcome": "paid"}))
            case OrderVoided():
                effects.append(Effect("room_command", {"name": "SettleOrder", "outcome": "void"}))
                effects.extend(Effect("void", _ref(ref)) for ref in event.voids)
                effects.extend(Effect("refund", _ref(ref)) for ref in event.refunds)
                effects.extend(
                    Effect("expire", {"session_id": session_id})
                    for session_id in event.expire_sessions
                )
            case _:
                pass
    return effects


def room_command(order_id: str, payload: Mapping[str, Any]) -> Command:
    """The room command a ``room_command`` effect stands for."""
    name = payload.get("name")
    if name == "UpdateShare":
        return UpdateShare(
            order_id, str(payload["payer"]), str(payload["status"]), int(payload["amount_minor"])
        )
    if name == "SettleOrder":
        outcome = payload["outcome"]
        assert outcome in ("paid", "void"), outcome  # we wrote it ourselves
        return SettleOrder(order_id, outcome)
    raise ValueError(f"unknown room command {name!r}")
