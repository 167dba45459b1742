"""A live viewer claims a drop and pays for it (docs/live.md "Drops"; rooms/rules/drops.py).

``POST /api/v1/rooms/{room}/checkout`` with ``{"drop": {"drop_id", "variant"?, "quantity"?}}``
by a live viewer comes here. The claim is a room command (``ClaimDrop``, decided as the viewer's
in the room's one total order, like any command over the WebSocket): the first claims committed
win while units remain. A lost claim answers ``409`` with the room's code (``drop_sold_out``,
``drop_ended``, ``drop_limit_reached``, ``no_active_drop``, …) and leaves nothing behind: no
line, no order, no payment session.

A won claim is the viewer's cart line at the drop's price; it is checked out at once, alone, as
the viewer's own order (server/checkout/viewer.py: the stock reservation written with the order,
the usual payment window, the hosted payment page in the answer). The order's end gives the
units back to the drop while it runs (void: unpaid at the window's end, cancelled, payment
failed) or sells them (paid) — the room decides that on ``SettleOrder``. When no order can be
opened (the shop's stock went meanwhile, payments down), the claim is given back at once
(``ReleaseDropClaim``) and the answer says why. A claim made over the WebSocket is checked out
the same way with ``{"line_ids": [its line id]}``, within ``CLAIM_HOLD_MS``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rooms import RoomError
from rooms.commands import ClaimDrop, ReleaseDropClaim
from server.auth import MemberClaims
from server.checkout.errors import NotReady, Unavailable
from server.checkout.viewer import check_out_own

if TYPE_CHECKING:
    from server.checkout.service import CheckoutService

__all__ = ["DropClaimRequest", "check_out_drop"]

log = logging.getLogger("coshop.checkout")


@dataclass(frozen=True, slots=True)
class DropClaimRequest:
    """What a viewer claims: ``quantity`` units of ``drop_id`` (``variant``: their pick)."""

    drop_id: str
    variant: str | None
    quantity: int


async def check_out_drop(
    service: CheckoutService, room_id: str, claims: MemberClaims, wanted: DropClaimRequest
) -> dict[str, Any]:
    """Claim, and on a win open the order and its payment page; see the module docstring."""
    if service.provider is None:  # never hold units nobody can pay for
        raise Unavailable("payments_unconfigured", "no payment provider is configured")
    command = ClaimDrop(wanted.drop_id, wanted.variant, wanted.quantity)
    try:
        stored = await service.hub.system_command(room_id, command, member_id=claims.member_id)
    except RoomError as exc:  # lost: nothing was held, nothing is charged
        raise NotReady(exc.code, exc.message) from exc
    line_id = next(str(ev.data["line_id"]) for ev in stored if ev.type == "DropClaimed")
    try:
        answer = await check_out_own(service, room_id, claims, line_ids=[line_id])
    except BaseException:
        await _give_back(service, room_id, line_id)
        raise
    answer["claim"] = {"drop_id": wanted.drop_id, "line_id": line_id}
    return answer


async def _give_back(service: CheckoutService, room_id: str, line_id: str) -> None:
    """No order holds the claim: its units return to the drop (an order that did open, and
    was cancelled, returns them itself when the room hears it void)."""
    try:
        await service.hub.system_command(room_id, ReleaseDropClaim(line_id, "not_ordered"))
    except RoomError as exc:
        log.info("drop claim not given back", extra={"line_id": line_id, "code": exc.code})
    except Exception:  # the claim's hold lapses by itself (CLAIM_HOLD_MS)
        log.exception("drop claim not given back", extra={"line_id": line_id})
