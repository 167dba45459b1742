"""A private room for every shopper who starts one, with the merchant's publishable key.

- ``POST /api/v1/shopper-rooms`` — start a new group room for the merchant whose publishable key
  (``pk_…``, ``server.api.merchants``) the body carries; the caller becomes its host. This is what
  the widget (``static/embed.js``) and the store's QR page (``/s/{merchant_id}``) call, once per
  shopper who starts a room: nobody lands in somebody else's room; friends join through the
  new room's invite.

What a publishable key may do, and nothing more (it sits in the shop's pages, so anyone can read
it):

- **only from the merchant's registered origins**: the request's ``Origin`` must be one of the
  merchant's origins (``PUT /api/v1/merchant/origins``) or coshop's own (its start page, which the
  widget frames and the QR code opens). A widget's start page also names the page it sits in
  (``parent``), which must be registered too. Anything else is ``403 origin_not_allowed``, saying
  which origin to register. Browsers always send ``Origin`` on a POST and scripts cannot forge it;
  a request without one (a server, curl) is refused the same way — servers use the API key.
- **only group rooms of its own merchant**: no live rooms, no other merchant, no invites into
  existing rooms, nothing to read.
- **rate-limited per client**: every attempt (a wrong key too) counts against the client's
  ``room_create`` window of ``server.http.ratelimit`` (``COSHOP_RATE_ROOM_CREATE``, per address),
  before the key is even looked up; a valid key is also counted on its own, from any address
  (``COSHOP_RATE_PUBLISHABLE``), and the rooms it starts hold at most the key's share of the
  process's rooms (``COSHOP_PUBLISHABLE_SHARE``, ``server.hub.shares``).

A ``device`` (the guest device secret the join page keeps, ``server.identity``) binds the host's
identity to the room, so "Your rooms" (``server.api.me``) lists it and the same browser is the
host through any invite. Responses carry CORS headers for the registered origin that asked, so a
shop's own script may call this route too.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rooms import Role, RoomKind
from rooms.rules.membership import MAX_NAME, MAX_TITLE
from server.api.blocked_origins import note_blocked_origin
from server.api.common import new_id, normalize_origin, read_json, require_str
from server.api.manage_links import issue_manage_link
from server.api.rooms import open_new_room
from server.auth import MemberClaims, TokenSigner
from server.http.problem import ProblemError, problem_response
from server.http.ratelimit import RateLimits, rate_limited
from server.identity import IdentityError, guest_identity
from server.settings import Settings
from server.storage import Invite, Merchant, Registry

__all__ = ["PUBLISHABLE_KEY", "own_origin", "shopper_room_routes"]

PUBLISHABLE_KEY = re.compile(r"pk_[A-Za-z0-9_-]{16,64}")
"""What a publishable key looks like (anything else is refused before a lookup)."""

_INVITE_TTL_S = 7 * 86_400
_CORS_ALLOW = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "content-type",
    "Access-Control-Max-Age": "600",
}


def own_origin(settings: Settings) -> str:
    """coshop's own origin (``scheme://host[:port]`` of the public URL)."""
    parts = urlsplit(settings.public_url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _refuse_origin(merchant: Merchant, origin: str | None, what: str) -> ProblemError:
    shop = merchant.name
    if origin is None:
        detail = (
            f"{shop}'s publishable key starts rooms only from a web page on its registered sites"
            " (a server uses the merchant API key)"
        )
    else:
        detail = (
            f"{origin} is not one of {shop}'s registered sites ({what}): the shop adds it with"
            " PUT /api/v1/merchant/origins"
        )
    return ProblemError(403, "origin_not_allowed", detail, extra={"origin": origin})


def _check_origins(
    settings: Settings, merchant: Merchant, origin: str | None, parent: str | None
) -> None:
    registered = set(merchant.origins)
    if origin is None or (origin != own_origin(settings) and origin not in registered):
        raise _refuse_origin(merchant, origin, "the page that asked")
    if parent is not None and parent not in registered:
        raise _refuse_origin(merchant, parent, "the page the widget is on")


async def _limit(request: Request, publishable_key: str | None = None) -> None:
    """Every attempt counts against its address's ``room_create`` window, before the body is
    read; once ``publishable_key`` is known valid, also against the key's own window and share
    of the rooms, from whatever address (``server.http.ratelimit``, ``server.hub.shares``)."""
    limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
    if limits is None:
        return
    if publishable_key is not None:
        await limits.admit_publishable_key(request.app.state, publishable_key)
        return
    wait = await limits.hit([("room_create", f"a:{limits.address(request.scope)}")])
    if wait is not None:
        raise rate_limited(wait, f"too many rooms started from here; retry in {wait} s")


async def _start(request: Request) -> JSONResponse:
    s = request.app.state
    settings: Settings = s.settings
    registry: Registry = s.registry
    await _limit(request)
    data = await read_json(request)
    key = data.get("publishable_key")
    if not isinstance(key, str) or not PUBLISHABLE_KEY.fullmatch(key):
        raise ProblemError(
            401, "invalid_publishable_key", "send the shop's publishable key (pk_…)",
            extra={"field": "publishable_key"},
        )  # fmt: skip
    merchant = await registry.merchant_by_publishable_key(key)
    if merchant is None:
        raise ProblemError(
            401, "invalid_publishable_key",
            "this publishable key is not valid (rotated or turned off by the shop)",
            extra={"field": "publishable_key"},
        )  # fmt: skip
    await _limit(request, key)  # the key's window and share; its room counts against it
    raw_parent = data.get("parent")
    parent = None if raw_parent in (None, "") else normalize_origin(raw_parent)
    if raw_parent not in (None, "") and parent is None:
        raise ProblemError(
            422, "invalid_origin", "parent must be an origin like https://shop.example",
            extra={"field": "parent"},
        )  # fmt: skip
    try:
        _check_origins(settings, merchant, request.headers.get("origin"), parent)
    except ProblemError as refused:
        # the console lists the sites the widget was refused on (server.api.blocked_origins)
        await note_blocked_origin(request, merchant.merchant_id, refused.extra.get("origin"))
        raise
    host_name = require_str(data, "host_name", default="", max_len=MAX_NAME).strip()
    if not host_name:
        raise ProblemError(
            422, "invalid_field", "host_name: tell us your name", extra={"field": "host_name"}
        )  # fmt: skip
    default_title = f"Shopping at {merchant.name}"[:MAX_TITLE]
    title = require_str(data, "title", default=default_title, max_len=MAX_TITLE).strip()
    device = data.get("device")
    try:
        identity = None if device is None else guest_identity(device)
    except IdentityError as exc:
        raise ProblemError(exc.status, exc.code, str(exc), extra={"field": "device"}) from exc
    return await _open(
        s, merchant, title or default_title, host_name,
        None if identity is None else identity.digest,
    )  # fmt: skip


async def _open(
    state: Any,
    merchant: Merchant,
    title: str,
    host_name: str,
    identity: str | None,
) -> JSONResponse:
    settings: Settings = state.settings
    registry: Registry = state.registry
    signer: TokenSigner = state.signer
    opened = await open_new_room(state, merchant.merchant_id, RoomKind.GROUP, title, host_name)
    record, host_id, name, now = opened.record, opened.host_id, opened.host_name, opened.at
    room_id, title = record.room_id, record.title
    if identity is not None:
        await registry.bind_identity(room_id, identity, host_id, now)
    expires = now + _INVITE_TTL_S * 1000
    invite = Invite(new_id("i"), room_id, Role.MEMBER.value, expires, None, 0, now)
    await registry.create_invite(invite)
    invite_token = signer.invite_token(room_id, invite.invite_id)
    # the host's way back from any device, shown once (server.api.manage_links)
    manage = await issue_manage_link(settings, registry, room_id, now)
    base = settings.public_url.rstrip("/")
    join_url = f"{base}/join/{quote(room_id)}?invite={quote(invite_token)}"
    host = MemberClaims(room_id, host_id, Role.HOST.value, name)
    body: dict[str, Any] = {
        "room_id": room_id,
        "kind": RoomKind.GROUP.value,
        "title": title,
        "merchant_id": merchant.merchant_id,
        "shop": merchant.name,
        "join_policy": record.join_policy,
        "host": {"member_id": host_id, "token": signer.member_token(host), "name": name},
        "invite": {
            "invite_id": invite.invite_id,
            "kind": invite.kind,
            "name": None,
            "role": invite.role,
            "expires_at": invite.expires_at,
            "max_uses": None,
            "token": invite_token,
            "url": join_url,
        },
        "links": {
            "room": f"{base}/r/{quote(room_id)}",
            "join": join_url,
            "ws": f"{base.replace('http', 'ws', 1)}/ws/rooms/{quote(room_id)}",
        },
        "manage_url": manage,
    }
    return JSONResponse(body, status_code=201)


def _cors(response: Response, origin: str | None) -> Response:
    # The answer (a room or a problem) is readable by the page that asked; whether that page
    # may start a room was decided above, by its registered origins.
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


async def start_room(request: Request) -> Response:
    """POST /api/v1/shopper-rooms (and its CORS preflight)."""
    origin = request.headers.get("origin")
    if request.method == "OPTIONS":
        return _cors(Response(status_code=204, headers=_CORS_ALLOW), origin)
    try:
        response: Response = await _start(request)
    except ProblemError as exc:
        response = problem_response(exc)
    return _cors(response, origin)


def shopper_room_routes() -> list[Route]:
    return [Route("/api/v1/shopper-rooms", start_room, methods=["POST", "OPTIONS"])]
