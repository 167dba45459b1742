""" "Your rooms": the rooms this browser belongs to, for the landing page.

A browser is an identity by its **device secret** (``server.identity``: the join page makes it
once and keeps it in localStorage; the server has only a hash of it, per room, in
``room_identities``). Proving the secret again lists and reopens that identity's rooms:

- ``POST /api/v1/me/rooms`` ``{"device"}`` — the rooms the device is a member of, hosted ones
  first, then by last activity: title, kind, the shop, the member's role now, the room's status
  (``open``, ``checking_out``, ``left``, ``closed``) and when its log last grew. Rooms the
  member was kicked or banned from are not listed: the browser no longer belongs to them.
- ``POST /api/v1/me/rooms/{room_id}/token`` ``{"device"}`` — a fresh member token for the
  device's member of the room, to reopen it after the old token expired. Refused like a join:
  ``403 banned`` / ``403 kicked``, ``404 not_your_room`` for a room the device is not in,
  ``410 left_room`` for a member who left (they come back through an invite).
- ``POST /api/v1/me/rooms/{room_id}/claim`` ``{"device"}`` with a member token as bearer —
  binds the device to that member (the landing page does it right after creating a room, whose
  host joined with no device). A member another identity already holds cannot be claimed
  (``409 member_claimed``): a leaked token cannot be tied to a second browser.

The device secret travels only in a POST body, never in a URL. This module must not decide room
rules: the room's state (read through the hub) says who is still a member and with which role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rooms import Room
from rooms.model import Phase
from server.api.common import now_ms, path_param, read_json
from server.api.members import require_member
from server.auth import MemberClaims, TokenSigner
from server.http.problem import ProblemError
from server.hub.hub import Hub, HubFull, RoomNotFound
from server.identity import IdentityError, guest_identity
from server.storage import Registry

__all__ = ["MAX_ROOMS", "me_routes"]

MAX_ROOMS = 50
"""At most this many rooms are listed (the most recently joined)."""


@dataclass(frozen=True, slots=True)
class _Standing:
    """A member's place in a room now."""

    removed: str | None  # "banned", "kicked" or None
    role: str | None  # the role now; None when the member left or has not come in yet
    left: bool
    name: str | None
    title: str
    phase: str


def _look(member_id: str) -> Any:
    def look(room: Room, _seq: int) -> _Standing:
        removed = (
            "banned" if member_id in room.banned else "kicked" if member_id in room.kicked else None
        )
        member = room.members.get(member_id)
        return _Standing(
            removed=removed,
            role=None if member is None else member.role.value,
            left=member is None and member_id in room.former_roles,
            name=None if member is None else member.display_name,
            title=room.title,
            phase=room.phase.value,
        )

    return look


async def _device(request: Request) -> str:
    data = await read_json(request)
    if "device" not in data:
        raise ProblemError(
            422, "invalid_device", "send this browser's device secret as device",
            extra={"field": "device"},
        )  # fmt: skip
    try:
        return guest_identity(data["device"]).digest
    except IdentityError as exc:
        raise ProblemError(exc.status, exc.code, str(exc), extra={"field": "device"}) from exc


def _services(request: Request) -> tuple[Registry, Hub, TokenSigner]:
    s = request.app.state
    return s.registry, s.hub, s.signer


async def my_rooms(request: Request) -> JSONResponse:
    """POST /api/v1/me/rooms"""
    registry, hub, _signer = _services(request)
    identity = await _device(request)
    bound = await registry.identity_rooms(identity, MAX_ROOMS)
    activity = await registry.last_activity(b.room.room_id for b in bound)
    shops: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for entry in bound:
        record = entry.room
        if record.merchant_id not in shops:
            merchant = await registry.get_merchant(record.merchant_id)
            shops[record.merchant_id] = record.merchant_id if merchant is None else merchant.name
        role: str | None = None
        status, title = "closed", record.title
        if not record.closed:
            try:
                standing = await hub.inspect(record.room_id, _look(entry.member_id))
            except RoomNotFound:
                continue
            except HubFull:
                standing = None  # the room is there; what it says now can wait
            if standing is not None:
                if standing.removed is not None:
                    continue  # removed: this browser no longer belongs to the room
                role, title = standing.role, standing.title
                status = "open" if standing.phase == Phase.OPEN.value else "checking_out"
                if standing.left:
                    status = "left"
            else:
                status = "open"
        out.append(
            {
                "room_id": record.room_id,
                "title": title,
                "kind": record.kind,
                "shop": shops[record.merchant_id],
                "role": role,
                "status": status,
                "joined_at": entry.bound_at,
                "last_activity": activity.get(record.room_id, entry.bound_at),
                "url": f"/r/{record.room_id}",
            }
        )
    # hosted rooms first, then the liveliest; closed rooms last
    out.sort(key=lambda r: (r["role"] != "host", r["status"] == "closed", -r["last_activity"]))
    return JSONResponse({"rooms": out})


async def room_token(request: Request) -> JSONResponse:
    """POST /api/v1/me/rooms/{room_id}/token"""
    registry, hub, signer = _services(request)
    room_id = path_param(request, "room_id")
    identity = await _device(request)
    record = await registry.get_room(room_id)
    bound = None if record is None else await registry.identity_member(room_id, identity)
    if record is None or record.closed or bound is None:
        raise ProblemError(404, "not_your_room", "this browser is not a member of that room")
    member_id = bound[0]
    try:
        standing: _Standing = await hub.inspect(room_id, _look(member_id))
    except RoomNotFound as exc:
        raise ProblemError(404, "not_your_room", "that room is gone") from exc
    except HubFull as exc:
        raise ProblemError(503, "server_full", str(exc), headers={"Retry-After": "30"}) from exc
    if standing.removed == "banned":
        raise ProblemError(403, "banned", "you are banned from this room")
    if standing.removed == "kicked":
        raise ProblemError(403, "kicked", "you were removed from this room; ask for a new invite")
    if standing.role is None or standing.name is None:
        raise ProblemError(
            410, "left_room", "you left this room; open an invite to come back"
        )  # fmt: skip
    claims = MemberClaims(room_id, member_id, standing.role, standing.name)
    return JSONResponse(
        {
            "room_id": room_id,
            "member_id": member_id,
            "role": standing.role,
            "name": standing.name,
            "title": standing.title,
            "token": signer.member_token(claims),
        },
        status_code=201,
    )


async def claim_room(request: Request) -> JSONResponse:
    """POST /api/v1/me/rooms/{room_id}/claim"""
    registry, _hub, _signer = _services(request)
    room_id = path_param(request, "room_id")
    claims: MemberClaims = await require_member(request, room_id)
    identity = await _device(request)
    holder = await registry.member_identity(room_id, claims.member_id)
    if holder is not None and holder != identity:
        raise ProblemError(
            409, "member_claimed", "another browser already holds this member of the room"
        )
    mine = await registry.identity_member(room_id, identity)
    if mine is not None and mine[0] != claims.member_id:
        raise ProblemError(
            409, "member_claimed", "this browser is already another member of the room"
        )
    if mine is None:
        won = await registry.bind_identity(room_id, identity, claims.member_id, now_ms())
        if won != claims.member_id:  # a racing join of this browser bound it first
            raise ProblemError(
                409, "member_claimed", "this browser is already another member of the room"
            )
    return JSONResponse({"room_id": room_id, "member_id": claims.member_id, "claimed": True})


def me_routes() -> list[Route]:
    return [
        Route("/api/v1/me/rooms", my_rooms, methods=["POST"]),
        Route("/api/v1/me/rooms/{room_id}/token", room_token, methods=["POST"]),
        Route("/api/v1/me/rooms/{room_id}/claim", claim_room, methods=["POST"]),
    ]
