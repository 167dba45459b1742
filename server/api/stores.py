"""Store mode (issue 16 item 5) and the console's blocked sites (item 2), over REST and HTML.

The merchant (API key as bearer):

- ``GET /api/v1/merchant/blocked-origins`` — the sites the widget was refused on and are still
  not registered (recorded by ``server.api.blocked_origins``), most recent first;
  ``DELETE …?origin=`` dismisses one (all without ``origin``). Registering one is the existing
  ``PUT /api/v1/merchant/origins``.
- ``GET / PUT /api/v1/merchant/store`` — the store's name and logo, shown on the QR sign, the
  shopper's start page and in store rooms; saving it turns store mode on.
- ``GET / POST /api/v1/merchant/store/associates``, ``DELETE …/{associate_id}`` — store
  associates' sign-in links: ``POST`` answers the link once (``/associates#key=as_…``; only a
  hash is kept), ``DELETE`` stops it at once.

Anyone: ``GET /api/v1/stores/{merchant_id}`` — the store's public branding (the start page
reads it).

A member of a room (member token as bearer): ``GET / PUT /api/v1/store/rooms/{room_id}`` — the
room as a store room; ``PUT {"help": true}`` lists a group room on the store's associates' page
(the start page does it for a room started from the store's QR sign) and asks for help,
``{"help": false}`` withdraws the request (the room stays listed).

An associate (their key as bearer, from the link): ``GET /api/v1/store/rooms`` — the store's
active rooms (listed in the last :data:`ACTIVE_MS`, still open: who, since when, people, cart,
help requested); ``POST /api/v1/store/rooms/{room_id}/join`` — a personal one-use invite with
the **associate** role (``rooms.permissions``: staff see every line) for that associate, valid
:data:`JOIN_TTL_S`; the associate joins through the ordinary join page.

Pages: ``/associates`` (the associates' page, ``static/js/associates.js``) and the store's
printable sign ``/s/{merchant_id}/sign`` with the store's name and logo (this route is mounted
before ``server.pages``' unbranded one, which it replaces).

Must not hold queries (``server.storage.stores``) or room rules: the room is read through the
hub between turns, invites are the registry's.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rooms import Room, RoomKind
from rooms.model import Role
from rooms.rules.membership import MAX_NAME
from server.api.common import (
    bearer,
    merchant_caller,
    new_id,
    normalize_origin,
    now_ms,
    only_params,
    path_param,
    query_param,
    read_json,
    require_str,
)
from server.api.members import require_member
from server.auth import TokenSigner
from server.http.problem import ProblemError
from server.hub.hub import Hub, HubFull, RoomNotFound
from server.pages import (
    _render,  # the pages' one renderer: same CSP and headers
    qr_svg,
)
from server.settings import Settings
from server.storage import Invite, Merchant, Registry
from server.storage.stores import (
    KEEP_BLOCKED,
    Associate,
    StoreBranding,
    StoreRoom,
    StoreStore,
)

__all__ = ["ACTIVE_MS", "JOIN_TTL_S", "MAX_ASSOCIATES", "store_paths", "store_routes"]

ACTIVE_MS = 12 * 3_600_000
"""A store room is listed on the associates' page this long after it was started."""
JOIN_TTL_S = 15 * 60
"""How long an associate's invite into a store room works."""
MAX_ASSOCIATES = 100
"""Associate links per store."""
_MAX_STORE_NAME = 80
_LISTED = 50  # store rooms shown on the associates' page
_LOGO_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?")
_ASSOCIATE_KEY = re.compile(r"as_[A-Za-z0-9_-]{43}")
Endpoint = Callable[[Request], Awaitable[Response]]


def _store(request: Request) -> StoreStore:
    return StoreStore(request.app.state.engine)


def _base(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.public_url.rstrip("/")


# -- blocked origins ---------------------------------------------------------------------------


async def list_blocked(request: Request) -> JSONResponse:
    """GET /api/v1/merchant/blocked-origins"""
    merchant = await merchant_caller(request)
    only_params(request)
    registered = set(merchant.origins)
    found = await _store(request).blocked(merchant.merchant_id)
    return JSONResponse(
        {
            "blocked_origins": [
                {
                    "origin": b.origin,
                    "first_seen_at": b.first_seen,
                    "last_seen_at": b.last_seen,
                    "count": b.hits,
                }
                for b in found
                if b.origin not in registered  # registered since: no longer blocked
            ],
            "keep": KEEP_BLOCKED,
        }
    )


async def dismiss_blocked(request: Request) -> JSONResponse:
    """DELETE /api/v1/merchant/blocked-origins[?origin=]"""
    merchant = await merchant_caller(request)
    only_params(request, "origin")
    raw = query_param(request, "origin", max_len=255)
    origin = None if raw is None else normalize_origin(raw)
    if raw is not None and origin is None:
        raise ProblemError(
            422, "invalid_origin", "origin must be an origin like https://shop.example",
            extra={"field": "origin"},
        )  # fmt: skip
    removed = await _store(request).forget_blocked(merchant.merchant_id, origin)
    return JSONResponse({"removed": removed})


# -- the store's branding and associates --------------------------------------------------------


def _branding_json(merchant: Merchant, found: StoreBranding | None) -> dict[str, Any]:
    return {
        "merchant_id": merchant.merchant_id,
        "store_mode": found is not None,
        "name": merchant.name if found is None else found.name,
        "logo_url": None if found is None else found.logo_url,
    }


def _store_json(request: Request, merchant: Merchant, found: StoreBranding | None) -> JSONResponse:
    base = _base(request)
    shop = quote(merchant.merchant_id)
    return JSONResponse(
        {
            **_branding_json(merchant, found),
            "updated_at": None if found is None else found.updated_at,
            "store_url": f"{base}/s/{shop}",
            "sign_url": f"{base}/s/{shop}/sign",
            "associates_url": f"{base}/associates",
        }
    )


async def get_store(request: Request) -> JSONResponse:
    """GET /api/v1/merchant/store"""
    merchant = await merchant_caller(request)
    only_params(request)
    return _store_json(request, merchant, await _store(request).branding(merchant.merchant_id))


async def put_store(request: Request) -> JSONResponse:
    """PUT /api/v1/merchant/store"""
    merchant = await merchant_caller(request)
    only_params(request)
    data = await read_json(request)
    if "name" not in data:
        raise ProblemError(422, "invalid_field", "name is required", extra={"field": "name"})
    name = require_str(data, "name", max_len=_MAX_STORE_NAME).strip()
    if not name:
        raise ProblemError(
            422, "invalid_field", "name: the store's name, as shoppers know it",
            extra={"field": "name"},
        )  # fmt: skip
    logo = data.get("logo_url")
    if logo is not None:
        logo = require_str(data, "logo_url", max_len=2048)
    if logo is not None and not _LOGO_URL.fullmatch(logo):
        raise ProblemError(
            422, "invalid_field", "logo_url must be an https:// address of an image (or null)",
            extra={"field": "logo_url"},
        )  # fmt: skip
    saved = await _store(request).set_branding(merchant.merchant_id, name, logo, now_ms())
    return _store_json(request, merchant, saved)


def _associate_json(found: Associate) -> dict[str, Any]:
    return {
        "associate_id": found.associate_id,
        "name": found.name,
        "created_at": found.created_at,
        "last_used_at": found.last_used_at,
    }


async def list_associates(request: Request) -> JSONResponse:
    """GET /api/v1/merchant/store/associates"""
    merchant = await merchant_caller(request)
    only_params(request)
    found = await _store(request).associates(merchant.merchant_id)
    return JSONResponse({"associates": [_associate_json(a) for a in found]})


async def add_associate(request: Request) -> JSONResponse:
    """POST /api/v1/merchant/store/associates"""
    merchant = await merchant_caller(request)
    only_params(request)
    data = await read_json(request)
    name = require_str(data, "name", default="", max_len=MAX_NAME).strip()
    if not name:
        raise ProblemError(
            422, "invalid_field", "name: the associate's name, as shoppers will see it",
            extra={"field": "name"},
        )  # fmt: skip
    store = _store(request)
    if len(await store.associates(merchant.merchant_id)) >= MAX_ASSOCIATES:
        raise ProblemError(
            409, "too_many_associates",
            f"a store has at most {MAX_ASSOCIATES} associate links: remove one first",
        )  # fmt: skip
    key = "as_" + secrets.token_urlsafe(32)
    created = Associate(new_id("as"), merchant.merchant_id, name, now_ms(), None)
    await store.add_associate(created, key)
    # the key rides in the fragment: never sent to a server, never in a log (like manage links)
    url = f"{_base(request)}/associates#key={key}"
    return JSONResponse({**_associate_json(created), "url": url}, status_code=201)


async def remove_associate(request: Request) -> JSONResponse:
    """DELETE /api/v1/merchant/store/associates/{associate_id}"""
    merchant = await merchant_caller(request)
    only_params(request)
    associate_id = path_param(request, "associate_id")
    if not await _store(request).remove_associate(merchant.merchant_id, associate_id):
        raise ProblemError(404, "associate_not_found", "this store has no such associate")
    return JSONResponse({"associate_id": associate_id, "removed": True})


async def public_store(request: Request) -> JSONResponse:
    """GET /api/v1/stores/{merchant_id}"""
    only_params(request)
    registry: Registry = request.app.state.registry
    merchant = await registry.get_merchant(path_param(request, "merchant_id"))
    if merchant is None:
        raise ProblemError(404, "merchant_unknown", "no shop has this id")
    found = await _store(request).branding(merchant.merchant_id)
    return JSONResponse(_branding_json(merchant, found), headers={"Cache-Control": "no-cache"})


# -- a shopper's room in the store ---------------------------------------------------------------


async def _member_room(request: Request) -> tuple[Merchant, StoreBranding | None, str, str]:
    """(merchant, branding, room id, caller's name) for a member of an open room."""
    registry: Registry = request.app.state.registry
    room_id = path_param(request, "room_id")
    claims = await require_member(request, room_id)
    record = await registry.get_room(room_id)
    merchant = None if record is None else await registry.get_merchant(record.merchant_id)
    if record is None or record.closed or merchant is None:
        raise ProblemError(404, "room_not_found", f"no open room {room_id!r}")
    if record.kind != RoomKind.GROUP.value:
        raise ProblemError(409, "not_a_store_room", "a live show is not a store room")
    return merchant, await _store(request).branding(merchant.merchant_id), room_id, claims.name


def _room_json(
    merchant: Merchant, branding: StoreBranding | None, room_id: str, listed: StoreRoom | None
) -> dict[str, Any]:
    return {
        "room_id": room_id,
        "listed": listed is not None,
        "help_requested_at": None if listed is None else listed.help_at,
        "store": _branding_json(merchant, branding),
    }


async def get_store_room(request: Request) -> JSONResponse:
    """GET /api/v1/store/rooms/{room_id}"""
    only_params(request)
    merchant, branding, room_id, _name = await _member_room(request)
    listed = await _store(request).store_room(room_id)
    return JSONResponse(_room_json(merchant, branding, room_id, listed))


async def put_store_room(request: Request) -> JSONResponse:
    """PUT /api/v1/store/rooms/{room_id} {"help": bool}"""
    only_params(request)
    merchant, branding, room_id, name = await _member_room(request)
    data = await read_json(request)
    help_wanted = data.get("help")
    if not isinstance(help_wanted, bool):
        raise ProblemError(
            422, "invalid_field", "help must be true or false", extra={"field": "help"}
        )
    if branding is None:
        raise ProblemError(
            409, "store_not_set_up",
            f"{merchant.name} has no store set up: there are no associates to ask",
        )  # fmt: skip
    now = now_ms()
    listed = await _store(request).list_room(
        StoreRoom(room_id, merchant.merchant_id, name, now, now if help_wanted else None)
    )
    return JSONResponse(_room_json(merchant, branding, room_id, listed))


# -- the associates' page ------------------------------------------------------------------------


async def _associate(request: Request) -> Associate:
    key = bearer(request)
    found = None
    if key is not None and _ASSOCIATE_KEY.fullmatch(key):
        found = await _store(request).associate_by_key(key, now_ms())
    if found is None:
        raise ProblemError(
            401, "invalid_associate_key",
            "send a store associate's key as a bearer token (from the link the shop gave you)",
        )  # fmt: skip
    return found


def _look(room: Room, _seq: int) -> dict[str, Any]:
    units = sum(line.quantity for line in room.lines.values())
    totals: dict[str, int] = {}
    for line in room.lines.values():
        totals[line.currency] = totals.get(line.currency, 0) + line.price_minor * line.quantity
    staff = [m.display_name for m in room.members.values() if m.role is Role.ASSOCIATE]
    host = room.members.get(room.host_id)
    return {
        "title": room.title,
        "host": None if host is None else host.display_name,
        "people": room.member_count,
        "staff": sorted(staff),
        "cart_lines": len(room.lines),
        "cart_units": units,
        "cart_totals": totals,
        "checking_out": room.order_id is not None,
    }


async def _room_row(hub: Hub, listed: StoreRoom, last: int | None) -> dict[str, Any] | None:
    try:
        seen = await hub.inspect(listed.room_id, _look)
    except RoomNotFound:
        return None
    except HubFull as exc:
        raise ProblemError(503, "server_full", str(exc), headers={"Retry-After": "30"}) from exc
    return {
        "room_id": listed.room_id,
        "title": seen["title"],
        "shopper": seen["host"] or listed.shopper,
        "started_at": listed.created_at,
        "help_requested_at": listed.help_at,
        "last_activity_at": last,
        **{k: seen[k] for k in ("people", "staff", "cart_lines", "cart_units", "cart_totals")},
        "checking_out": seen["checking_out"],
    }


async def associate_rooms(request: Request) -> JSONResponse:
    """GET /api/v1/store/rooms"""
    associate = await _associate(request)
    only_params(request)
    registry: Registry = request.app.state.registry
    merchant = await registry.get_merchant(associate.merchant_id)
    if merchant is None:  # the merchant was removed: its links went with it
        raise ProblemError(401, "invalid_associate_key", "this associate link no longer works")
    store = _store(request)
    listed = await store.recent_rooms(merchant.merchant_id, now_ms() - ACTIVE_MS, _LISTED)
    open_ids = []
    for entry in listed:
        record = await registry.get_room(entry.room_id)
        if record is not None and not record.closed:
            open_ids.append(entry)
    activity = await registry.last_activity(e.room_id for e in open_ids)
    hub: Hub = request.app.state.hub
    rows = []
    for entry in open_ids:
        row = await _room_row(hub, entry, activity.get(entry.room_id))
        if row is not None:
            rows.append(row)
    # who asked for help first comes first; then the newest rooms
    rows.sort(key=lambda r: (r["help_requested_at"] is None, r["help_requested_at"] or 0))
    return JSONResponse(
        {
            "associate": {"associate_id": associate.associate_id, "name": associate.name},
            "store": _branding_json(merchant, await store.branding(merchant.merchant_id)),
            "rooms": rows,
        }
    )


async def associate_join(request: Request) -> JSONResponse:
    """POST /api/v1/store/rooms/{room_id}/join"""
    associate = await _associate(request)
    only_params(request)
    room_id = path_param(request, "room_id")
    store = _store(request)
    listed = await store.store_room(room_id)
    registry: Registry = request.app.state.registry
    record = await registry.get_room(room_id)
    if (
        listed is None
        or listed.merchant_id != associate.merchant_id
        or record is None
        or record.closed
    ):
        raise ProblemError(404, "not_a_store_room", "this store has no open room with this id")
    now = now_ms()
    invite = Invite(
        invite_id=new_id("i"),
        room_id=room_id,
        role=Role.ASSOCIATE.value,
        expires_at=now + JOIN_TTL_S * 1000,
        max_uses=1,
        uses=0,
        created_at=now,
        kind="personal",
        name=associate.name[:MAX_NAME],
    )
    await registry.create_invite(invite)
    signer: TokenSigner = request.app.state.signer
    token = signer.invite_token(room_id, invite.invite_id)
    url = f"{_base(request)}/join/{quote(room_id)}?invite={quote(token)}"
    return JSONResponse(
        {
            "room_id": room_id,
            "invite_id": invite.invite_id,
            "role": invite.role,
            "name": invite.name,
            "expires_at": invite.expires_at,
            "url": url,
        },
        status_code=201,
    )


# -- pages ----------------------------------------------------------------------------------------


async def associates_page(request: Request) -> HTMLResponse:
    """GET /associates#key=… : the store associates' page (its script reads the key)."""
    return _render(request, "associates.html")


async def store_sign(request: Request) -> HTMLResponse:
    """GET /s/{merchant_id}/sign : the store's printable QR sign, with its name and logo; each
    shopper who scans it starts their own room (``server.pages.store_start``)."""
    registry: Registry = request.app.state.registry
    merchant = await registry.get_merchant(str(request.path_params["merchant_id"]))
    if merchant is None:
        return _render(
            request, "start_refused.html", status=404, title="Shop not found",
            message="No shop has this address.",
        )  # fmt: skip
    if await registry.publishable_key(merchant.merchant_id) is None:
        return _render(
            request, "start_refused.html", status=404,
            title="Shared rooms are not open here yet",
            message=f"{merchant.name} has not turned on shopping rooms for its customers yet."
            " Ask a member of staff, or open a friend's invite link to join their room.",
        )  # fmt: skip
    branding = await _store(request).branding(merchant.merchant_id)
    name = merchant.name if branding is None else branding.name
    url = f"{_base(request)}/s/{quote(merchant.merchant_id)}"
    return _render(
        request,
        "store_sign.html",
        shop=name,
        logo_url=None if branding is None else branding.logo_url,
        store_mode=branding is not None,
        start_url=url,
        qr=qr_svg(url, scale=10, title=f"Scan to shop with {name}"),
    )


def _route(path: str, **handlers: Endpoint) -> Route:
    """One route per path, dispatching by method, so a 405 names every method it has."""

    async def endpoint(request: Request) -> Response:
        method = request.method.lower()
        return await handlers["get" if method == "head" else method](request)

    return Route(path, endpoint, methods=[m.upper() for m in handlers])


def store_routes() -> list[BaseRoute]:
    return [
        _route("/api/v1/merchant/blocked-origins", get=list_blocked, delete=dismiss_blocked),
        _route("/api/v1/merchant/store", get=get_store, put=put_store),
        _route("/api/v1/merchant/store/associates", get=list_associates, post=add_associate),
        _route("/api/v1/merchant/store/associates/{associate_id}", delete=remove_associate),
        _route("/api/v1/stores/{merchant_id}", get=public_store),
        _route("/api/v1/store/rooms", get=associate_rooms),
        _route("/api/v1/store/rooms/{room_id}", get=get_store_room, put=put_store_room),
        _route("/api/v1/store/rooms/{room_id}/join", post=associate_join),
        Route("/associates", associates_page),
        Route("/s/{merchant_id}/sign", store_sign),
    ]


# -- the OpenAPI document's paths (merged by server.api.openapi; written here, not imported from
# it, which imports this module) -------------------------------------------------------------------

_NO_CONTROL = "^[^\x00-\x1f\x7f-\x9f]*$"
_LINE = "^[^\x00-\x1f\x7f-\x9f]*[^\\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
_ID = "^[A-Za-z0-9_-]{1,64}$"
_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_ORIGIN_PATTERN = f"^ *[Hh][Tt][Tt][Pp][Ss]?://{_LABEL}(\\.{_LABEL})*(:[0-9]{{1,5}})?/? *$"
_S: dict[str, Any] = {"type": "string"}
_I: dict[str, Any] = {"type": "integer"}
_NS: dict[str, Any] = {"type": ["string", "null"]}
_NI: dict[str, Any] = {"type": ["integer", "null"]}
_API_KEY: list[dict[str, list[str]]] = [{"apiKey": []}]
_MEMBER: list[dict[str, list[str]]] = [{"memberToken": []}]
_BODY_PROBLEMS: dict[int, list[str]] = {
    400: ["invalid_json"],
    413: ["body_too_large"],
    415: ["unsupported_media_type"],
    422: ["invalid_text"],
}


def _problems(*tables: dict[int, list[str]]) -> dict[str, Any]:
    merged: dict[int, set[str]] = {}
    for table in tables:
        for status, codes in table.items():
            merged.setdefault(status, set()).update(codes)
    out: dict[str, Any] = {}
    for status, found in sorted(merged.items()):
        names = sorted(found)
        schema = {
            "allOf": [
                {"$ref": "#/components/schemas/Problem"},
                {"properties": {"status": {"const": status}, "code": {"enum": names}}},
            ]
        }
        out[str(status)] = {
            "description": "problem: " + ", ".join(names),
            "x-problem-codes": names,
            "content": {"application/problem+json": {"schema": schema}},
        }
    return out


def _obj(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


def _ok(schema: dict[str, Any], status: int = 200) -> dict[str, Any]:
    return {str(status): {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _path_param(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": _ID},
    }


def _op(
    summary: str, security: list[Any], responses: dict[str, Any], **more: Any
) -> dict[str, Any]:
    return {"summary": summary, "security": security, "responses": responses, **more}


def store_paths() -> dict[str, Any]:
    """The OpenAPI path items of this module's JSON routes."""
    branding = _obj(
        {"merchant_id": _S, "store_mode": {"type": "boolean"}, "name": _S, "logo_url": _NS}
    )
    store = _obj(
        {
            **branding["properties"],
            "updated_at": _NI,
            "store_url": _S,
            "sign_url": _S,
            "associates_url": _S,
        }
    )
    associate = _obj({"associate_id": _S, "name": _S, "created_at": _I, "last_used_at": _NI})
    merchant = {400: ["invalid_parameter"], 401: ["invalid_api_key"]}
    member = {
        400: ["invalid_parameter"],
        401: ["token_invalid", "token_expired"],
        403: ["kicked", "banned", "not_member", "invite_revoked"],
        404: ["room_not_found"],
        409: ["not_a_store_room"],
        422: ["invalid_text"],
        503: ["server_full"],
    }
    by_associate = {400: ["invalid_parameter"], 401: ["invalid_associate_key"]}
    store_room = _obj(
        {"room_id": _S, "listed": {"type": "boolean"}, "help_requested_at": _NI, "store": branding}
    )
    listed_room = _obj(
        {
            "room_id": _S,
            "title": _S,
            "shopper": _S,
            "started_at": _I,
            "help_requested_at": _NI,
            "last_activity_at": _NI,
            "people": _I,
            "staff": {"type": "array", "items": _S},
            "cart_lines": _I,
            "cart_units": _I,
            "cart_totals": {"type": "object", "additionalProperties": _I},
            "checking_out": {"type": "boolean"},
        }
    )
    associate_key = " The associate's key (as_…, from the link the shop made) is the bearer token."
    return {
        "/api/v1/merchant/blocked-origins": {
            "get": _op(
                "Sites the widget was opened on without being registered (most recent first)",
                _API_KEY,
                {
                    **_ok(
                        _obj(
                            {
                                "blocked_origins": {
                                    "type": "array",
                                    "items": _obj(
                                        {
                                            "origin": _S,
                                            "first_seen_at": _I,
                                            "last_seen_at": _I,
                                            "count": _I,
                                        }
                                    ),
                                },
                                "keep": _I,
                            }
                        )
                    ),
                    **_problems(merchant),
                },
            ),
            "delete": _op(
                "Dismiss one blocked site (all without origin)",
                _API_KEY,
                {
                    **_ok(_obj({"removed": _I})),
                    **_problems(
                        merchant, {422: ["invalid_origin", "invalid_field", "invalid_text"]}
                    ),
                },
                parameters=[
                    {
                        "name": "origin",
                        "in": "query",
                        "description": "the site to dismiss",
                        "schema": {"type": "string", "maxLength": 255, "pattern": _ORIGIN_PATTERN},
                    }
                ],
            ),
        },
        "/api/v1/merchant/store": {
            "get": _op(
                "The store's branding, sign and associates' page",
                _API_KEY,
                {**_ok(store), **_problems(merchant)},
            ),
            "put": _op(
                "Set the store's name and logo (turns store mode on)",
                _API_KEY,
                {**_ok(store), **_problems(merchant, _BODY_PROBLEMS, {422: ["invalid_field"]})},
                requestBody=_body(
                    {
                        "name": {"type": "string", "maxLength": _MAX_STORE_NAME, "pattern": _LINE},
                        "logo_url": {
                            "type": ["string", "null"],
                            "maxLength": 2048,
                            "pattern": "^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$",
                        },
                    },
                    ["name"],
                ),
            ),
        },
        "/api/v1/merchant/store/associates": {
            "get": _op(
                "The store associates' links (never the link itself again)",
                _API_KEY,
                {
                    **_ok(_obj({"associates": {"type": "array", "items": associate}})),
                    **_problems(merchant),
                },
            ),
            "post": _op(
                "Make a store associate's sign-in link (shown once)",
                _API_KEY,
                {
                    **_ok(_obj({**associate["properties"], "url": _S}), 201),
                    **_problems(
                        merchant,
                        _BODY_PROBLEMS,
                        {409: ["too_many_associates"], 422: ["invalid_field"]},
                    ),
                },
                requestBody=_body(
                    {"name": {"type": "string", "maxLength": MAX_NAME, "pattern": _LINE}},
                    ["name"],
                ),
            ),
        },
        "/api/v1/merchant/store/associates/{associate_id}": {
            "delete": _op(
                "Stop an associate's link at once",
                _API_KEY,
                {
                    **_ok(_obj({"associate_id": _S, "removed": {"const": True}})),
                    **_problems(merchant, {404: ["associate_not_found"], 422: ["invalid_text"]}),
                },
                parameters=[_path_param("associate_id")],
            ),
        },
        "/api/v1/stores/{merchant_id}": {
            "get": _op(
                "A store's public branding (name, logo)",
                [],
                {
                    **_ok(branding),
                    **_problems(
                        {
                            400: ["invalid_parameter"],
                            404: ["merchant_unknown"],
                            422: ["invalid_text"],
                        }
                    ),
                },
                parameters=[_path_param("merchant_id")],
            ),
        },
        "/api/v1/store/rooms": {
            "get": _op(
                "The store's active rooms, for its associates." + associate_key,
                [],
                {
                    **_ok(
                        _obj(
                            {
                                "associate": _obj({"associate_id": _S, "name": _S}),
                                "store": branding,
                                "rooms": {"type": "array", "items": listed_room},
                            }
                        )
                    ),
                    **_problems(by_associate, {503: ["server_full"]}),
                },
            ),
        },
        "/api/v1/store/rooms/{room_id}": {
            "get": _op(
                "This room as a store room (listed for associates, help asked)",
                _MEMBER,
                {**_ok(store_room), **_problems(member)},
                parameters=[_path_param("room_id")],
            ),
            "put": _op(
                "List this room for the store's associates and ask for help (or withdraw it)",
                _MEMBER,
                {
                    **_ok(store_room),
                    **_problems(
                        member,
                        _BODY_PROBLEMS,
                        {409: ["store_not_set_up"], 422: ["invalid_field"]},
                    ),
                },
                parameters=[_path_param("room_id")],
                requestBody=_body({"help": {"type": "boolean"}}, ["help"]),
            ),
        },
        "/api/v1/store/rooms/{room_id}/join": {
            "post": _op(
                "An associate's one-use invite into a store room, with the associate role."
                + associate_key,
                [],
                {
                    **_ok(
                        _obj(
                            {
                                "room_id": _S,
                                "invite_id": _S,
                                "role": {"const": "associate"},
                                "name": _S,
                                "expires_at": _I,
                                "url": _S,
                            }
                        ),
                        201,
                    ),
                    **_problems(by_associate, {404: ["not_a_store_room"], 422: ["invalid_text"]}),
                },
                parameters=[_path_param("room_id")],
            ),
        },
    }
