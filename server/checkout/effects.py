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
    SharesReplanned,
    ShareState,
)
from rooms import Command
from rooms.commands import RecordHoldout, SettleOrder, UpdateShare

__all__ = [
    "PROVIDER_KINDS",
    "Effect",
    "EffectKind",
    "effects_for",
    "payer_share",
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


_IN = frozenset({"paid", "authorized", "refunded", "partially_refunded"})


def payer_share(order: Order, payer: str) -> tuple[str, int]:
    """How one payer's part of ``order`` stands for the room, which shows one share per payer.

    A payer usually has one share; after a holdout's share was covered or re-split they may
    have two. The room shows the one that needs them (the first share not in: its status and
    amount, what their Pay button pays), else their status and the sum of their shares;
    "released" (amount 0) when every share they had was released.
    """
    mine = [s for s in order.shares if s.payer == payer]
    live: list[ShareState] = [s for s in mine if s.status != "released"]
    if not live:
        return "released", 0
    due = next((s for s in live if s.status not in _IN), None)
    if due is not None:
        return due.status, due.amount_minor
    statuses = {s.status for s in live}
    if len(statuses) == 1:
        status = live[0].status
    elif "authorized" in statuses:
        status = "authorized"  # some of it is held (all-or-nothing): charged with the rest
    else:
        status = "paid"  # paid, some of it refunded since
    return status, sum(s.amount_minor for s in live)


def share_update(order: Order, share_id: str) -> Effect:
    """The room's ``UpdateShare`` for the payer of ``share_id`` (see :func:`payer_share`)."""
    payer = order.share(share_id).payer
    status, amount = payer_share(order, payer)
    return Effect(
        "room_command",
        {"name": "UpdateShare", "payer": payer, "status": status, "amount_minor": amount},
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
    touched: dict[str, None] = {}  # payers whose part changed, in order
    for event in events:
        if isinstance(event, _SHARE_EVENTS):
            touched[order.share(event.share_id).payer] = None
        elif isinstance(event, SharesReplanned):
            # the room hears the group's choice first, then how each payer's part now stands
            holdout = order.share(event.share_id).payer
            effects.append(
                Effect(
                    "room_command",
                    {
                        "name": "RecordHoldout",
                        "payer": holdout,
                        "choice": event.choice,
                        "covered_by": [s.payer for s in event.added],
                        "dropped_line_ids": list(event.dropped_line_ids),
                    },
                )
            )
            touched[holdout] = None
            touched.update((s.payer, None) for s in event.added)
    for payer in touched:
        status, amount = payer_share(order, payer)
        effects.append(
            Effect(
                "room_command",
                {"name": "UpdateShare", "payer": payer, "status": status, "amount_minor": amount},
            )
        )
    for event in events:
        match event:
            case CaptureDue():
                effects.extend(Effect("capture", _ref(ref)) for ref in event.captures)
            case CompensationDue():
                effects.append(Effect(event.action, _ref(event.payment)))
            case OrderPaid():
                effects.append(Effect("room_command", {"name": "SettleOrder", "outcome": "paid"}))
            case SharesReplanned() if event.expire_session is not None:
                effects.append(Effect("expire", {"session_id": event.expire_session}))
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
    if name == "RecordHoldout":
        return RecordHoldout(
            order_id,
            str(payload["payer"]),
            str(payload["choice"]),
            tuple(str(p) for p in payload["covered_by"]),
            tuple(str(line) for line in payload["dropped_line_ids"]),
        )
    if name == "SettleOrder":
        outcome = payload["outcome"]
        assert outcome in ("paid", "void"), outcome  # we wrote it ourselves
        return SettleOrder(order_id, outcome)
    raise ValueError(f"unknown room command {name!r}")
