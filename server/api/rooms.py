"""Rooms over REST: create a room, mint invites, join with an invite, read a snapshot.

Who may do what:

- creating a room needs the merchant's API key (``Authorization: Bearer <key>``), or nothing for
  the demo merchant when the server runs with ``public_rooms`` (the demo);
- minting invites needs the room's host or a cohost (their member token as bearer) or the
  merchant's key; an invite never grants the host role, and only the host or the merchant may
  invite cohosts;
- joining needs an invite token and a display name, and answers with a member token for the
  WebSocket's hello frame; who joins is an **identity** (``server.identity``): a customer the
  merchant signed for (``customer_token``), a guest browser (``device``, a random secret the
  browser keeps), or — with neither — a one-off guest. An identity is the same member of the
  room on every join, through any invite: a banned identity is refused with ``403 banned``
  before the invite is used, a kicked one with ``403 kicked`` unless the invite is newer than
  the kick (then it comes back as a new member), and a mute stays with the member. A room whose
  ``join_policy`` is ``customers_only`` refuses anything but a customer token with ``403
  sign_in_required`` (and the shop's sign-in link);
- changing the join policy needs the host, a cohost or the merchant's key;
- reading a snapshot needs a member token of the room or the merchant's key.

A member token counts only while the room still has its member (``server.api.members``): a
kicked or banned member's token is refused with ``403 kicked`` / ``403 banned`` everywhere, and
a token minted from an invite that was revoked before its member joined is refused with
``invite_revoked`` (members already in stay; the host can remove them). Every
piece of text is checked before anything is stored or counted; a refused join uses no invite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rooms import (
    Role,
    Room,
    RoomError,
    RoomKind,
    event_to_wire,
    open_room,
    redact_card_numbers,
)
from rooms.permissions import INVITE_ACTIONS, JOINABLE_ROLES, RestAction, allowed
from rooms.rules.membership import MAX_NAME, MAX_TITLE
from server.api.common import (
    bearer,
    new_id,
    now_ms,
    path_param,
    read_json,
    require_int,
    require_str,
)
from server.api.manage_links import issue_manage_link
from server.api.members import member_now
from server.api.moderation import feed_new_room
from server.auth import AuthError, MemberClaims, TokenSigner
from server.http.problem import ProblemError
from server.hub.hub import Hub, HubFull, RoomNotFound
from server.identity import Identity, IdentityError, guest_identity, verify_customer_token
from server.settings import Settings
from server.storage import (
    Invite,
    InviteError,
    Merchant,
    NewEvent,
    Registry,
    RoomRecord,
    StorageError,
)
from server.storage.registry import JOIN_POLICIES

__all__ = ["DEMO_MERCHANT", "room_routes"]

DEMO_MERCHANT = "demo"
_MAX_INVITE_TTL_S = 90 * 86_400


def _state(request: Request) -> tuple[Settings, Registry, Hub, TokenSigner]:
    s = request.app.state
    return s.settings, s.registry, s.hub, s.signer


async def _merchant(request: Request) -> Merchant | None:
    key = bearer(request)
    if key is None:
        return None
    registry: Registry = request.app.state.registry
    return await registry.merchant_by_api_key(key)


def _links(settings: Settings, room_id: str, invite_token: str) -> dict[str, str]:
    base = settings.public_url.rstrip("/")
    return {
        "join": f"{base}/join/{quote(room_id)}?invite={quote(invite_token)}",
        "ws": f"{base.replace('http', 'ws', 1)}/ws/rooms/{quote(room_id)}",
    }


async def _room(registry: Registry, room_id: str) -> RoomRecord:
    record = await registry.get_room(room_id)
    if record is None or record.closed:
        raise ProblemError(404, "room_not_found", f"no open room {room_id!r}")
    return record


@dataclass(frozen=True, slots=True)
class _Caller:
    """Who calls a room's REST route: the room's merchant (by API key), or a member now."""

    kind: RoomKind
    is_merchant: bool
    role: Role | None  # the member's role in the room now; None without a member token

    def may(self, action: RestAction) -> bool:
        """The room's merchant may; a member as the permission table says."""
        return self.is_merchant or (self.role is not None and allowed(action, self.kind, self.role))


async def _caller(request: Request, record: RoomRecord) -> _Caller:
    merchant = await _merchant(request)
    member = await member_now(request, record.room_id)
    return _Caller(
        kind=RoomKind(record.kind),
        is_merchant=merchant is not None and merchant.merchant_id == record.merchant_id,
        role=None if member is None else Role(member.role),
    )


async def _mint_invite(
    request: Request,
    record: RoomRecord,
    role: str,
    ttl_s: int | None,
    max_uses: int | None,
    *,
    name: str | None = None,
) -> dict[str, Any]:
    """Store a new invite and answer it; with ``name`` a personal invite (one use)."""
    settings, registry, _hub, signer = _state(request)
    now = now_ms()
    invite = Invite(
        invite_id=new_id("i"),
        room_id=record.room_id,
        role=role,
        expires_at=None if ttl_s is None else now + ttl_s * 1000,
        max_uses=1 if name is not None else max_uses,
        uses=0,
        created_at=now,
        kind="shared" if name is None else "personal",
        name=name,
    )
    await registry.create_invite(invite)
    token = signer.invite_token(record.room_id, invite.invite_id)
    return {
        "invite_id": invite.invite_id,
        "kind": invite.kind,
        "name": name,
        "role": role,
        "expires_at": invite.expires_at,
        "max_uses": invite.max_uses,
        "token": token,
        "url": _links(settings, record.room_id, token)["join"],
    }


@dataclass(frozen=True, slots=True)
class OpenedRoom:
    """A room just opened: its registry record, its host and when."""

    record: RoomRecord
    host_id: str
    host_name: str  # as the room core left it (trimmed, card numbers removed)
    at: int


async def open_new_room(
    state: Any,
    merchant_id: str,
    kind: RoomKind,
    title: str,
    host_name: str,
    *,
    join_policy: str = "anyone_with_link",
) -> OpenedRoom:
    """Open a room for ``merchant_id``: its opening events in the log, then its registry row,
    then the merchant's word list (``server.api.moderation``). ``state`` is ``app.state``.

    Every way of starting a room goes through here (``POST /api/v1/rooms``, a shopper's own room
    from the widget or the store sign, ``server.api.shopper_rooms``).
    """
    hub: Hub = state.hub
    registry: Registry = state.registry
    room_id, host_id, now = new_id("r"), new_id("m"), now_ms()
    try:
        events = open_room(room_id, kind, title, host_id, host_name, now)
    except RoomError as exc:
        raise ProblemError(422, exc.code, str(exc)) from exc
    # The core passed the title through the card-number gate: store and return its version.
    title = str(getattr(events[0], "title", title))
    record = RoomRecord(room_id, merchant_id, kind.value, title, now, join_policy=join_policy)
    # The log first: a registry row must never point at a room without its opening events
    # (an orphan log, by contrast, is unreachable and harmless).
    await hub.open_room(
        room_id, [NewEvent(type(e).__name__, event_to_wire(e), now, host_id) for e in events]
    )
    await registry.create_room(record)
    await feed_new_room(state, merchant_id, room_id)
    name = str(getattr(events[-1], "display_name", host_name))
    return OpenedRoom(record, host_id, name, now)


async def create_room(request: Request) -> JSONResponse:
    """POST /api/v1/rooms"""
    settings, registry, _hub, signer = _state(request)
    data = await read_json(request)
    merchant = await _merchant(request)
    if merchant is None:
        if bearer(request) is not None:
            raise ProblemError(401, "invalid_api_key", "that API key is not valid")
        if not settings.public_rooms:
            raise ProblemError(
                401, "api_key_required", "send your merchant API key as a bearer token"
            )
        merchant_id = DEMO_MERCHANT
    else:
        merchant_id = merchant.merchant_id
    kind_raw = require_str(data, "kind", default="group", max_len=10)
    try:
        kind = RoomKind(kind_raw)
    except ValueError as exc:
        raise ProblemError(
            422, "invalid_field", "kind must be 'group' or 'live'", extra={"field": "kind"}
        ) from exc
    join_policy = _join_policy(data, default="anyone_with_link")
    title = require_str(data, "title", default="Shopping together", max_len=MAX_TITLE)
    host_name = require_str(data, "host_name", default="Host", max_len=MAX_NAME)
    owner = await registry.get_merchant(merchant_id)
    if owner is None:
        raise ProblemError(404, "merchant_unknown", f"no merchant {merchant_id!r}")
    if join_policy == "customers_only":
        _require_customer_identity(owner)
    opened = await open_new_room(
        request.app.state, merchant_id, kind, title, host_name, join_policy=join_policy
    )
    record, host_id, name, now = opened.record, opened.host_id, opened.host_name, opened.at
    room_id, title = record.room_id, record.title
    host = MemberClaims(room_id, host_id, Role.HOST.value, name)
    default_role = Role.MEMBER.value if kind is RoomKind.GROUP else Role.VIEWER.value
    invite = await _mint_invite(request, record, default_role, 7 * 86_400, None)
    # the host's way back from any device: shown once (only its hash is kept)
    manage = await issue_manage_link(settings, registry, room_id, now)
    return JSONResponse(
        {
            "room_id": room_id,
            "kind": kind.value,
            "title": title,
            "merchant_id": merchant_id,
            "join_policy": join_policy,
            "host": {"member_id": host_id, "token": signer.member_token(host)},
            "invite": invite,
            "links": _links(settings, room_id, invite["token"]),
            "manage_url": manage,
        },
        status_code=201,
    )


async def create_invite(request: Request) -> JSONResponse:
    """POST /api/v1/rooms/{room_id}/invites"""
    _settings, registry, _hub, _signer = _state(request)
    room_id = path_param(request, "room_id")
    record = await _room(registry, room_id)
    data = await read_json(request)
    caller = await _caller(request, record)
    kind = caller.kind

    def may_invite(role: Role) -> bool:
        # the permission table decides (rooms/permissions.py, one row per invitable role)
        return caller.may(INVITE_ACTIONS[role])

    if not any(may_invite(r) for r in JOINABLE_ROLES[kind]):
        raise ProblemError(
            403, "forbidden", "only the host, a cohost or the merchant may create invites"
        )
    role = require_str(data, "role", default=Role.MEMBER.value, max_len=20)
    allowed_roles = {r.value for r in JOINABLE_ROLES[kind]}
    if role not in allowed_roles:
        raise ProblemError(
            422,
            "invalid_role",
            f"role must be one of {', '.join(sorted(allowed_roles))} in a {record.kind} room"
            " (never host)",
            extra={"field": "role"},
        )
    if not may_invite(Role(role)):
        raise ProblemError(403, "forbidden", f"only the host or the merchant may invite a {role}")
    ttl = require_int(data, "expires_in", low=60, high=_MAX_INVITE_TTL_S, default=7 * 86_400)
    max_uses = require_int(data, "max_uses", low=1, high=100_000)
    name = _invitee_name(data)
    if name is not None:
        # a personal invite: one named person, one use (server.api.room_links lists it)
        if not caller.may(RestAction.INVITE_PERSONAL):
            raise ProblemError(
                403, "forbidden", "only the host, a cohost or the merchant may invite by name"
            )
        if max_uses not in (None, 1):
            raise ProblemError(
                422,
                "invalid_field",
                "a personal invite (with a name) is for one use: leave max_uses out",
                extra={"field": "max_uses"},
            )
    invite = await _mint_invite(request, record, role, ttl, max_uses, name=name)
    return JSONResponse(invite, status_code=201)


def _invitee_name(data: dict[str, Any]) -> str | None:
    """The invitee's name of a personal invite (None: a shared link), trimmed and redacted."""
    if "name" not in data:
        return None
    name = require_str(data, "name", max_len=MAX_NAME).strip()
    if not name:
        raise ProblemError(422, "invalid_field", "name must not be empty", extra={"field": "name"})
    return redact_card_numbers(name)[0][:MAX_NAME].strip()


async def join_room(request: Request) -> JSONResponse:
    """POST /api/v1/rooms/{room_id}/join"""
    settings, registry, hub, signer = _state(request)
    room_id = path_param(request, "room_id")
    record = await _room(registry, room_id)
    # room for a 4096-character customer token even as escaped non-ASCII (12 bytes a character)
    data = await read_json(request, max_bytes=131_072)
    # Everything that would refuse the join is checked before the invite's use is counted: a
    # refused join costs the invite nothing.
    token = require_str(data, "invite", max_len=2048)
    identity = await _identity(request, record, data, token)
    # The name travels inside the member token: no card number may ride along (the room core
    # redacts again when the member joins, and bounds the name as here). A customer's name is
    # the one the shop signed, when it signed one.
    typed = data.get("name") if identity is None or identity.name is None else identity.name
    name = require_str({"name": typed}, "name", max_len=MAX_NAME).strip()
    if not name:
        raise ProblemError(422, "invalid_field", "name must not be empty", extra={"field": "name"})
    # A short card number's redaction mark is longer than the number: keep the name in bounds.
    name = redact_card_numbers(name)[0][:MAX_NAME].strip()
    try:
        invite_room, invite_id = signer.read_invite_token(token)
    except AuthError as exc:
        raise ProblemError(401, exc.code, str(exc)) from exc
    if invite_room != room_id:
        raise ProblemError(401, "token_invalid", "this invite is for another room")
    bound = None if identity is None else await registry.identity_member(room_id, identity.digest)
    member_id, replaces, role_now = new_id("m"), None, None
    if bound is not None:
        member_id = bound[0]
        removed, since, role_now = await _standing(hub, room_id, member_id)
        if removed == "banned":
            raise ProblemError(403, "banned", "you are banned from this room")
        if removed == "kicked":
            # A kick needs a new invite: one the host made after the kick.
            invite_now = await registry.get_invite(invite_id)
            if invite_now is None or since is None or invite_now.created_at <= since:
                raise ProblemError(
                    403, "kicked", "you were removed from this room; ask the host for a new invite"
                )
            member_id, replaces = new_id("m"), member_id
    try:
        invite = await registry.use_invite(invite_id, now_ms())
    except InviteError as exc:
        raise ProblemError(410, exc.code, str(exc)) from exc
    if identity is not None and (bound is None or replaces is not None):
        # Two racing first joins of one identity get the same member id (the first one's).
        member_id = await registry.bind_identity(
            room_id, identity.digest, member_id, now_ms(), replaces=replaces
        )
    if invite.kind == "personal":
        await registry.note_invite_user(invite.invite_id, member_id, name)
    role = role_now or invite.role  # a returning member keeps the role the room gave them
    # The token names its invite: revoking the invite refuses it until the member has joined.
    claims = MemberClaims(room_id, member_id, role, name, invite_id=invite.invite_id)
    return JSONResponse(
        {
            "room_id": room_id,
            "member_id": member_id,
            "role": role,
            "name": name,
            "identity": "guest" if identity is None else identity.kind,
            "returning": bound is not None and replaces is None,
            "token": signer.member_token(claims),
            "ws_url": _links(settings, room_id, "")["ws"],
        },
        status_code=201,
    )


async def _identity(
    request: Request, record: RoomRecord, data: dict[str, Any], invite: str
) -> Identity | None:
    """Who the join request proves to be; None for a one-off guest (neither proof sent)."""
    registry: Registry = request.app.state.registry
    customer_token = data.get("customer_token")
    device = data.get("device")
    try:
        if customer_token is not None:
            keys = await registry.merchant_keys(record.merchant_id)
            assert keys is not None  # a room's merchant is never deleted while the room is
            return verify_customer_token(customer_token, keys, now_ms())
        if record.join_policy == "customers_only":
            raise await _sign_in_required(request, record, invite)
        return None if device is None else guest_identity(device)
    except IdentityError as exc:
        field = "customer_token" if customer_token is not None else "device"
        raise ProblemError(exc.status, exc.code, str(exc), extra={"field": field}) from exc


async def _sign_in_required(request: Request, record: RoomRecord, invite: str) -> ProblemError:
    settings, registry, _hub, _signer = _state(request)
    merchant = await registry.get_merchant(record.merchant_id)
    shop = record.merchant_id if merchant is None else merchant.name
    url = None if merchant is None else merchant.sign_in_url
    if url is not None:
        back = _links(settings, record.room_id, invite)["join"]
        parts = urlsplit(url)
        query = f"{parts.query}&" if parts.query else ""
        url = urlunsplit(parts._replace(query=f"{query}return_to={quote(back, safe='')}"))
        how = f"sign in at {shop} and open the invite again"
    else:
        how = f"open this invite from {shop}'s website while signed in"
    return ProblemError(
        403,
        "sign_in_required",
        f"this room is for {shop}'s signed-in customers: {how}",
        extra={"sign_in_url": url, "shop": shop},
    )


async def _standing(
    hub: Hub, room_id: str, member_id: str
) -> tuple[str | None, int | None, str | None]:
    """(removed as "banned" / "kicked" / None, since when, role now or last) of a member."""

    def look(room: Room, _seq: int) -> tuple[str | None, int | None, str | None]:
        if member_id in room.banned:
            return "banned", room.banned[member_id], None
        if member_id in room.kicked:
            return "kicked", room.kicked[member_id], None
        role = room.role_of(member_id) or room.former_roles.get(member_id)
        return None, None, None if role is None else role.value

    try:
        return await hub.inspect(room_id, look)
    except RoomNotFound as exc:
        raise ProblemError(404, "room_not_found", str(exc)) from exc
    except HubFull as exc:
        raise ProblemError(503, "server_full", str(exc), headers={"Retry-After": "30"}) from exc


def _join_policy(data: dict[str, Any], *, default: str | None = None) -> str:
    policy = require_str(data, "join_policy", default=default, max_len=32)
    if policy not in JOIN_POLICIES:
        raise ProblemError(
            422,
            "invalid_field",
            f"join_policy must be one of {', '.join(JOIN_POLICIES)}",
            extra={"field": "join_policy"},
        )
    return policy


def _require_customer_identity(merchant: Merchant) -> None:
    if not (merchant.has_signing_secret or merchant.has_public_key):
        raise ProblemError(
            409,
            "customer_identity_not_configured",
            "a room for signed-in customers needs the merchant's signing secret or public key"
            " (docs/merchant-identity.md)",
        )


async def set_join_policy(request: Request) -> JSONResponse:
    """PUT /api/v1/rooms/{room_id}/join-policy"""
    _settings, registry, _hub, _signer = _state(request)
    room_id = path_param(request, "room_id")
    record = await _room(registry, room_id)
    data = await read_json(request)
    if not (await _caller(request, record)).may(RestAction.SET_JOIN_POLICY):
        raise ProblemError(
            403, "forbidden", "only the host, a cohost or the merchant may change who may join"
        )
    policy = _join_policy(data)
    if policy == "customers_only":
        owner = await registry.get_merchant(record.merchant_id)
        assert owner is not None  # the room's merchant
        _require_customer_identity(owner)
    await registry.set_join_policy(room_id, policy)
    return JSONResponse({"room_id": room_id, "join_policy": policy})


async def room_snapshot(request: Request) -> JSONResponse:
    """GET /api/v1/rooms/{room_id}"""
    _settings, registry, hub, _signer = _state(request)
    room_id = path_param(request, "room_id")
    record = await _room(registry, room_id)
    claims = await member_now(request, room_id)
    viewer = ""
    if claims is not None:
        viewer = claims.member_id
    else:
        merchant = await _merchant(request)
        if merchant is None or merchant.merchant_id != record.merchant_id:
            raise ProblemError(
                401, "unauthorized", "send a member token of this room or the merchant's API key"
            )
    try:
        # the merchant sees the whole room, as staff do (a live room's every line and share)
        seq, view = await hub.room_view(room_id, viewer, as_staff=claims is None)
    except RoomNotFound as exc:
        raise ProblemError(404, "room_not_found", str(exc)) from exc
    except HubFull as exc:
        raise ProblemError(503, "server_full", str(exc), headers={"Retry-After": "30"}) from exc
    return JSONResponse(
        {
            "room_id": room_id,
            "merchant_id": record.merchant_id,
            "join_policy": record.join_policy,
            "seq": seq,
            "view": view,
        }
    )


async def revoke_invite(request: Request) -> JSONResponse:
    """DELETE /api/v1/rooms/{room_id}/invites/{invite_id}"""
    _settings, registry, _hub, _signer = _state(request)
    room_id = path_param(request, "room_id")
    invite_id = path_param(request, "invite_id")
    record = await _room(registry, room_id)
    if not (await _caller(request, record)).may(RestAction.REVOKE_INVITE):
        raise ProblemError(403, "forbidden", "only the host, a cohost or the merchant may revoke")
    invite = await registry.get_invite(invite_id)
    if invite is None or invite.room_id != room_id:
        raise ProblemError(404, "invite_unknown", "no such invite in this room")
    try:
        await registry.revoke_invite(invite_id)
    except StorageError as exc:
        raise ProblemError(409, exc.code, str(exc)) from exc
    return JSONResponse({"invite_id": invite_id, "revoked": True})


def room_routes() -> list[Route]:
    # Invites and the manage link live in server.api.room_links, which builds on this module's
    # helpers: imported here, when the app is built, so the two modules make no import cycle.
    from server.api.room_links import room_link_routes

    return [
        Route("/api/v1/rooms", create_room, methods=["POST"]),
        Route("/api/v1/rooms/{room_id}", room_snapshot, methods=["GET"]),
        Route("/api/v1/rooms/{room_id}/join", join_room, methods=["POST"]),
        Route("/api/v1/rooms/{room_id}/join-policy", set_join_policy, methods=["PUT"]),
        *room_link_routes(),
    ]
