"""A room's links over REST: its invites (shared links and personal invites) and the host's
manage link.

- ``GET /api/v1/rooms/{room_id}/invites`` — every invite of the room, newest first, with its
  status (active, off, replaced, revoked, expired, used, used_up), uses, the invitee's name and
  who used a personal invite; ``shared`` names the room's current shared link. A usable invite
  carries its link again, so the host can copy it later.
- ``POST …/invites`` — a shared link by role, or with ``name`` a personal invite (one use; the
  name is prefilled on the join page) — ``server.api.rooms.create_invite``.
- ``POST …/invites/{invite_id}/rotate`` — a new shared link replaces the old one, which is
  refused from then on with ``410 invite_replaced``.
- ``PATCH …/invites/{invite_id}`` ``{"enabled": false|true}`` — switch a shared link off
  (joins through it are refused with ``410 invite_disabled``) and on again.
- ``DELETE …/invites/{invite_id}`` — revoke any invite (``server.api.rooms.revoke_invite``).
- ``POST …/manage`` ``{"key", "device"?}`` — trade the manage link's secret for a host member
  token: the browser that opens the manage link becomes the room's host (the same host member;
  other devices of the host keep working). ``403 manage_link_invalid`` for any other key.
- ``POST …/manage-link`` — the host (or the room's merchant) draws a new manage link; the old
  one stops working at once. Sessions the old link opened keep working until their member
  token lapses.

Who may do what is the permission table's (``rooms.permissions``: ``manage_invites``,
``invite_personal``, ``rotate_manage_link``, and the role's ``invite_*`` row for a rotation).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rooms import Room, RoomKind
from rooms.model import Role
from rooms.permissions import INVITE_ACTIONS, RestAction
from server.api.common import new_id, now_ms, path_param, read_json
from server.api.manage_links import MANAGE_KEY, issue_manage_link
from server.api.rooms import (  # the room routes' own helpers: one caller check for all
    _caller,
    _links,
    _room,
    _state,
    create_invite,
    revoke_invite,
)
from server.auth import MemberClaims
from server.http.problem import ProblemError
from server.hub.hub import HubFull, RoomNotFound
from server.identity import IdentityError, guest_identity
from server.storage import Invite, InviteError, Registry, RoomRecord

__all__ = ["room_link_routes"]


def _default_role(record: RoomRecord) -> str:
    return Role.MEMBER.value if record.kind == RoomKind.GROUP.value else Role.VIEWER.value


def _listed(request: Request, invite: Invite, now: int) -> dict[str, Any]:
    settings, _registry, _hub, signer = _state(request)
    status = invite.status(now)
    token = None
    if status in ("active", "off"):
        token = signer.invite_token(invite.room_id, invite.invite_id)
    used_by = None
    if invite.used_by is not None:
        used_by = {"member_id": invite.used_by, "name": invite.used_name or invite.name or ""}
    return {
        "invite_id": invite.invite_id,
        "kind": invite.kind,
        "role": invite.role,
        "name": invite.name,
        "status": status,
        "uses": invite.uses,
        "max_uses": invite.max_uses,
        "expires_at": invite.expires_at,
        "created_at": invite.created_at,
        "replaced_by": invite.replaced_by,
        "used_by": used_by,
        "token": token,
        "url": None if token is None else _links(settings, invite.room_id, token)["join"],
    }


async def _managed(request: Request) -> tuple[Registry, RoomRecord]:
    """The room, if the caller may manage its invites (403 otherwise)."""
    _settings, registry, _hub, _signer = _state(request)
    record = await _room(registry, path_param(request, "room_id"))
    if not (await _caller(request, record)).may(RestAction.MANAGE_INVITES):
        raise ProblemError(
            403, "forbidden", "only the host, a cohost or the merchant may manage invites"
        )
    return registry, record


async def _invite_of(registry: Registry, record: RoomRecord, invite_id: str) -> Invite:
    invite = await registry.get_invite(invite_id)
    if invite is None or invite.room_id != record.room_id:
        raise ProblemError(404, "invite_unknown", "no such invite in this room")
    return invite


def _shared_only(invite: Invite, what: str) -> None:
    if invite.kind != "shared":
        raise ProblemError(
            409,
            "invite_not_shared",
            f"a personal invite cannot be {what}: revoke it and invite the person again",
        )


async def list_invites(request: Request) -> JSONResponse:
    """GET /api/v1/rooms/{room_id}/invites"""
    registry, record = await _managed(request)
    now = now_ms()
    found = list(reversed(await registry.list_invites(record.room_id)))  # newest first
    default = _default_role(record)
    shared = next(
        (
            i.invite_id
            for i in found
            if i.kind == "shared" and i.role == default and i.status(now) in ("active", "off")
        ),
        None,
    )
    return JSONResponse(
        {
            "room_id": record.room_id,
            "shared": shared,
            "invites": [_listed(request, invite, now) for invite in found],
        }
    )


async def rotate_invite(request: Request) -> JSONResponse:
    """POST /api/v1/rooms/{room_id}/invites/{invite_id}/rotate"""
    registry, record = await _managed(request)
    old = await _invite_of(registry, record, path_param(request, "invite_id"))
    _shared_only(old, "rotated")
    role = Role(old.role)
    if not (await _caller(request, record)).may(INVITE_ACTIONS[role]):
        raise ProblemError(403, "forbidden", f"only the host or the merchant may invite a {role}")
    now = now_ms()
    lifetime = None if old.expires_at is None else old.expires_at - old.created_at
    successor = Invite(
        invite_id=new_id("i"),
        room_id=record.room_id,
        role=old.role,
        expires_at=None if lifetime is None else now + lifetime,
        max_uses=old.max_uses,
        uses=0,
        created_at=now,
        kind="shared",
    )
    try:
        await registry.rotate_invite(old.invite_id, successor)
    except InviteError as exc:
        raise ProblemError(409, exc.code, "this link was revoked or replaced already") from exc
    body = _listed(request, successor, now)
    body["replaces"] = old.invite_id
    return JSONResponse(body, status_code=201)


async def set_invite_enabled(request: Request) -> JSONResponse:
    """PATCH /api/v1/rooms/{room_id}/invites/{invite_id}"""
    registry, record = await _managed(request)
    invite_id = path_param(request, "invite_id")
    data = await read_json(request)
    enabled = data.get("enabled")
    if not isinstance(enabled, bool):
        raise ProblemError(
            422, "invalid_field", "enabled must be true or false", extra={"field": "enabled"}
        )
    invite = await _invite_of(registry, record, invite_id)
    _shared_only(invite, "switched off")
    try:
        changed = await registry.set_invite_disabled(invite.invite_id, not enabled)
    except InviteError as exc:
        raise ProblemError(409, exc.code, "a revoked link cannot be switched on again") from exc
    return JSONResponse(_listed(request, changed, now_ms()))


async def open_manage_link(request: Request) -> JSONResponse:
    """POST /api/v1/rooms/{room_id}/manage"""
    settings, registry, hub, signer = _state(request)
    record = await _room(registry, path_param(request, "room_id"))
    data = await read_json(request)
    key = data.get("key")
    if not isinstance(key, str) or not MANAGE_KEY.fullmatch(key):
        raise ProblemError(
            422,
            "invalid_field",
            "key must be the manage link's secret (32-128 characters of A-Z a-z 0-9 _ -)",
            extra={"field": "key"},
        )
    device = data.get("device")
    try:
        identity = None if device is None else guest_identity(device)
    except IdentityError as exc:
        raise ProblemError(exc.status, exc.code, str(exc), extra={"field": "device"}) from exc
    if not await registry.manage_secret_matches(record.room_id, key):
        raise ProblemError(
            403,
            "manage_link_invalid",
            "this manage link no longer works: a newer one replaced it, or it was copied"
            " incompletely; open the room where you host it and get a new manage link",
        )

    def host(room: Room, _seq: int) -> tuple[str, str]:
        member = room.members.get(room.host_id)
        return room.host_id, "Host" if member is None else member.display_name

    try:
        host_id, name = await hub.inspect(record.room_id, host)
    except RoomNotFound as exc:
        raise ProblemError(404, "room_not_found", str(exc)) from exc
    except HubFull as exc:
        raise ProblemError(503, "server_full", str(exc), headers={"Retry-After": "30"}) from exc
    if identity is not None:
        # this browser is the host's from now on ("your rooms" lists the room); a browser that
        # is another member of the room already stays bound to that member
        await registry.bind_identity(record.room_id, identity.digest, host_id, now_ms())
    claims = MemberClaims(record.room_id, host_id, Role.HOST.value, name)
    return JSONResponse(
        {
            "room_id": record.room_id,
            "title": record.title,
            "member_id": host_id,
            "role": Role.HOST.value,
            "name": name,
            "token": signer.member_token(claims),
            "ws_url": _links(settings, record.room_id, "")["ws"],
        }
    )


async def rotate_manage_link(request: Request) -> JSONResponse:
    """POST /api/v1/rooms/{room_id}/manage-link"""
    settings, registry, _hub, _signer = _state(request)
    record = await _room(registry, path_param(request, "room_id"))
    if not (await _caller(request, record)).may(RestAction.ROTATE_MANAGE_LINK):
        raise ProblemError(
            403, "forbidden", "only the host or the merchant may get a new manage link"
        )
    url = await issue_manage_link(settings, registry, record.room_id, now_ms())
    return JSONResponse({"room_id": record.room_id, "manage_url": url})


async def _invites(request: Request) -> Response:
    if request.method == "GET":
        return await list_invites(request)
    return await create_invite(request)


async def _invite(request: Request) -> Response:
    if request.method == "PATCH":
        return await set_invite_enabled(request)
    return await revoke_invite(request)


def room_link_routes() -> list[Route]:
    return [
        Route("/api/v1/rooms/{room_id}/invites", _invites, methods=["GET", "POST"]),
        Route("/api/v1/rooms/{room_id}/invites/{invite_id}", _invite, methods=["PATCH", "DELETE"]),
        Route(
            "/api/v1/rooms/{room_id}/invites/{invite_id}/rotate", rotate_invite, methods=["POST"]
        ),
        Route("/api/v1/rooms/{room_id}/manage", open_manage_link, methods=["POST"]),
        Route("/api/v1/rooms/{room_id}/manage-link", rotate_manage_link, methods=["POST"]),
    ]
