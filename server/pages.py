"""HTML pages of the browser client, rendered from ``templates/`` (autoescape, StrictUndefined).

Pages: the landing page (create a demo room), the join page (display name, the invite link and its
QR code), the room page (everything happens there, driven by ``static/js/room.js`` over the
WebSocket), a printable store page with a room's QR code, and the QR code itself as SVG.

Pages that may be framed (join and room, for the embeddable widget) send a CSP
``frame-ancestors`` built from the room's merchant's registered origins; every other page may only
be framed by coshop itself. Pages carry no secrets: member tokens live in the browser's storage and
travel in the WebSocket hello frame, never in a URL or cookie. This module must not hold room rules
and must not write anything: it reads the registry and renders.
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import quote

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from rooms.rules.membership import MAX_NAME, MAX_TITLE
from server.api.blocked_origins import note_blocked_origin
from server.api.common import normalize_origin
from server.api.shopper_rooms import PUBLISHABLE_KEY
from server.assets import templates_dir
from server.auth import AuthError, TokenSigner
from server.ids import now_ms
from server.settings import Settings
from server.storage import Invite, Merchant, Registry, RoomRecord
from server.webhooks.events import EVENT_TYPES

__all__ = [
    "frame_ancestors",
    "page_routes",
    "qr_svg",
    "render_message",
    "templates",
]

_TEMPLATES = templates_dir()  # the checkout's, or an installed wheel's (server/assets.py)
# A live stream plays from the host's video provider: hls.js fetches its playlist and segments
# (connect-src) and hands them to the video element (media-src blob:); http only on loopback,
# as the room accepts it (rooms/rules/stage.py).
_STREAMS = "https: http://localhost:* http://127.0.0.1:*"
_BASE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    f"media-src 'self' blob: {_STREAMS}; frame-src https:; connect-src 'self' ws: wss: {_STREAMS}; "
    "base-uri 'none'; form-action 'self'"
)


def templates() -> Environment:
    """The page environment: autoescaping on, undefined names are errors."""
    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(("html", "xml")),
        undefined=StrictUndefined,
    )


def qr_svg(data: str, *, scale: int = 6, title: str = "QR code") -> str:
    """An inline SVG QR code for ``data`` (no XML declaration, sized by ``scale``)."""
    out = io.BytesIO()
    segno.make(data, error="m").save(
        out, kind="svg", scale=scale, border=2, xmldecl=False, svgns=True, title=title
    )
    return out.getvalue().decode("utf-8")


def frame_ancestors(origins: tuple[str, ...] | list[str]) -> str:
    """The CSP ``frame-ancestors`` directive allowing coshop itself and ``origins`` exactly."""
    clean = [o.rstrip("/") for o in origins if o.startswith(("http://", "https://"))]
    return " ".join(["frame-ancestors", "'self'", *clean])


def _env(request: Request) -> Environment:
    state = request.app.state
    env = getattr(state, "jinja", None)
    if env is None:
        env = templates()
        state.jinja = env
    return env


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _render(
    request: Request,
    name: str,
    *,
    status: int = 200,
    framers: tuple[str, ...] | None = None,
    **context: Any,
) -> HTMLResponse:
    html = _env(request).get_template(name).render(**context)
    ancestors = frame_ancestors(framers or ())
    headers = {
        "Content-Security-Policy": f"{_BASE_CSP}; {ancestors}",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(html, status_code=status, headers=headers)


async def _room_or_none(request: Request) -> RoomRecord | None:
    registry: Registry = request.app.state.registry
    record = await registry.get_room(str(request.path_params["room_id"]))
    return None if record is None or record.closed else record


async def _framers(request: Request, record: RoomRecord) -> tuple[str, ...]:
    registry: Registry = request.app.state.registry
    merchant = await registry.get_merchant(record.merchant_id)
    return tuple(merchant.origins) if merchant is not None else ()


def render_message(
    request: Request,
    title: str,
    message: str,
    *,
    link: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A plain page in the site's style: a title, a sentence and one way forward."""
    href, label = link if link is not None else ("", "")
    response = _render(
        request, "message.html", status=status, title=title, message=message,
        link_href=href, link_label=label,
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_found(request: Request) -> HTMLResponse:
    return _render(
        request,
        "message.html",
        status=404,
        title="Room not found",
        message="This room does not exist or has closed. Ask the host for a new link.",
    )


def _join_url(settings: Settings, room_id: str, invite: str) -> str:
    base = settings.public_url.rstrip("/")
    return f"{base}/join/{quote(room_id)}?invite={quote(invite)}"


def _valid_invite(request: Request, room_id: str, invite: str) -> bool:
    signer: TokenSigner = request.app.state.signer
    try:
        invite_room, _invite_id = signer.read_invite_token(invite)
    except AuthError:
        return False
    return invite_room == room_id


# What the join page says about an invite that admits nobody (the join route's 410 codes).
_INVITE_REFUSALS: dict[str, tuple[str, str]] = {
    "replaced": (
        "This invite link was replaced",
        "The host made a new link for this room, and this one no longer works. "
        "Ask the host for the new link.",
    ),
    "off": (
        "This invite link is switched off",
        "The host has paused joining through this link. "
        "Ask the host to switch it on again, or for another link.",
    ),
    "revoked": (
        "This invite was cancelled",
        "The host cancelled this invite. Ask the host for a new one.",
    ),
    "expired": ("This invite has expired", "Ask the host for a fresh link."),
    "used": (
        "This invite was already used",
        "This personal invite was for one person, and it has been used. If that was you, "
        "open the room in the browser you joined with; otherwise ask the host for a new invite.",
    ),
    "used_up": (
        "This invite is used up",
        "Everyone this link was meant for has joined. Ask the host for a new link.",
    ),
}


async def _invite_record(request: Request, invite: str) -> Invite | None:
    """The invite a (validly signed) invite token names, or None."""
    signer: TokenSigner = request.app.state.signer
    registry: Registry = request.app.state.registry
    try:
        _room_id, invite_id = signer.read_invite_token(invite)
    except AuthError:
        return None
    return await registry.get_invite(invite_id)


def _checkout_offers(request: Request) -> tuple[bool, bool]:
    """(payments, hand-off): what this server's checkout can do, so a page offers only that."""
    service = getattr(request.app.state, "checkout", None)
    if service is None:
        return False, False
    return (
        getattr(service, "provider", None) is not None,
        getattr(service, "handoff_provider", None) is not None,
    )


def _client_config(**values: Any) -> str:
    # Rendered inside <script type="application/json">: escape "<" so no "</script>" can close it.
    return json.dumps(values, separators=(",", ":")).replace("<", "\\u003c")


async def landing(request: Request) -> HTMLResponse:
    """GET / : create a room for the demo merchant."""
    settings = _settings(request)
    return _render(
        request,
        "index.html",
        public_url=settings.public_url,
        public_rooms=settings.public_rooms,
        name_max=MAX_NAME,
        title_max=MAX_TITLE,
        config=_client_config(public_rooms=settings.public_rooms, name_max=MAX_NAME),
    )


async def join_page(request: Request) -> HTMLResponse:
    """GET /join/{room_id}?invite=… : pick a display name; shows the invite link and QR code."""
    record = await _room_or_none(request)
    if record is None:
        return _not_found(request)
    invite = request.query_params.get("invite", "")
    embed = request.query_params.get("embed") == "1"
    framers = await _framers(request, record)
    if not invite or not _valid_invite(request, record.room_id, invite):
        return _render(
            request,
            "message.html",
            status=400,
            framers=framers,
            title="This invite does not work",
            message="The invite link is incomplete, expired or for another room. "
            "Ask the host for a fresh link.",
        )
    found = await _invite_record(request, invite)
    status = "revoked" if found is None else found.status(now_ms())
    if status in _INVITE_REFUSALS:
        title, message = _INVITE_REFUSALS[status]
        return _render(
            request, "message.html", status=410, framers=framers, title=title, message=message,
            link_href=f"/r/{quote(record.room_id)}", link_label="Go to the room",
        )  # fmt: skip
    # a personal invite: the invitee's name is on the form already (they may change it)
    invitee = found.name if found is not None and found.kind == "personal" else None
    url = _join_url(_settings(request), record.room_id, invite)
    return _render(
        request,
        "join.html",
        framers=framers,
        room=record,
        invitee=invitee or "",
        invite_url=url,
        qr=qr_svg(url, scale=5, title="QR code of the invite link"),
        embed=embed,
        name_max=MAX_NAME,
        config=_client_config(
            room_id=record.room_id,
            name_max=MAX_NAME,
            invite=invite,
            embed=embed,
            parent_origin=request.query_params.get("parent", ""),
            invitee=invitee,
        ),
    )


async def room_page(request: Request) -> HTMLResponse:
    """GET /r/{room_id} : the room (catalogue, cart, chat, stage, checkout)."""
    record = await _room_or_none(request)
    if record is None:
        return _not_found(request)
    framers = await _framers(request, record)
    embed = request.query_params.get("embed") == "1"
    parent = request.query_params.get("parent", "").rstrip("/")
    payments, handoff = _checkout_offers(request)
    return _render(
        request,
        "room.html",
        framers=framers,
        room=record,
        embed=embed,
        config=_client_config(
            room_id=record.room_id,
            merchant_id=record.merchant_id,
            kind=record.kind,
            title=record.title,
            embed=embed,
            # The widget's parent origin, trusted for postMessage only when registered.
            parent_origin=parent if parent in framers else "",
            # Offer only what works: no checkout without a provider, no hand-off without a shop.
            payments=payments,
            handoff=handoff,
        ),
    )


async def manage_page(request: Request) -> HTMLResponse:
    """GET /r/{room_id}/manage#key=… : the host's manage link; its script trades the secret (in
    the fragment, never sent here) for a host token, then opens the room (server.api.room_links)."""
    record = await _room_or_none(request)
    if record is None:
        return _not_found(request)
    return _render(
        request,
        "manage.html",
        room=record,
        config=_client_config(room_id=record.room_id, title=record.title, kind=record.kind),
    )


async def print_page(request: Request) -> HTMLResponse:
    """GET /r/{room_id}/print?invite=… : a printable sign with the room's QR code for a shop."""
    record = await _room_or_none(request)
    if record is None:
        return _not_found(request)
    invite = request.query_params.get("invite", "")
    if not invite or not _valid_invite(request, record.room_id, invite):
        return _render(
            request,
            "message.html",
            status=400,
            title="No valid invite",
            message="Open this page from the room's invite panel.",
        )
    url = _join_url(_settings(request), record.room_id, invite)
    return _render(
        request,
        "print.html",
        room=record,
        invite_url=url,
        qr=qr_svg(url, scale=10, title="Scan to join the room"),
    )


async def qr_image(request: Request) -> Response:
    """GET /r/{room_id}/qr.svg?invite=… : the invite link's QR code (only for a real invite)."""
    record = await _room_or_none(request)
    invite = request.query_params.get("invite", "")
    if record is None or not invite or not _valid_invite(request, record.room_id, invite):
        return Response("no such invite", status_code=404, media_type="text/plain")
    url = _join_url(_settings(request), record.room_id, invite)
    return Response(
        qr_svg(url, scale=5),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


async def room_alias(request: Request) -> Response:
    """GET /rooms/{room_id} : an alias of the room page (links from the checkout return page)."""
    return RedirectResponse(f"/r/{quote(str(request.path_params['room_id']))}", status_code=302)


# -- a room for every shopper: the store's QR short URL and the widget's start page -----------


def _shop_page(
    request: Request, title: str, message: str, *, status: int, framers: tuple[str, ...] = ()
) -> HTMLResponse:
    # no link onwards: inside a shop's page a link to coshop's own landing page would mislead
    return _render(
        request, "start_refused.html", status=status, framers=framers, title=title,
        message=message,
    )  # fmt: skip


def _start_page(
    request: Request, merchant: Merchant, key: str, *, embed: bool, parent: str, qr: bool
) -> HTMLResponse:
    return _render(
        request,
        "start.html",
        framers=tuple(merchant.origins) if embed else (),
        shop=merchant.name,
        embed=embed,
        name_max=MAX_NAME,
        config=_client_config(
            merchant_id=merchant.merchant_id,
            shop=merchant.name,
            publishable_key=key,
            embed=embed,
            parent_origin=parent,
            source="qr" if qr else "widget",
            name_max=MAX_NAME,
        ),
    )


def _not_set_up(request: Request, shop: str, *, framers: tuple[str, ...] = ()) -> HTMLResponse:
    return _shop_page(
        request,
        "Shared rooms are not open here yet",
        f"{shop} has not turned on shopping rooms for its customers yet. Ask a member of staff,"
        " or open a friend's invite link to join their room.",
        status=404,
        framers=framers,
    )


async def store_start(request: Request) -> HTMLResponse:
    """GET /s/{merchant_id} : the short URL of a store's QR sign. Each shopper who opens it
    starts their own room (the page posts; a GET never creates anything, so link previews and
    prefetches start no rooms)."""
    registry: Registry = request.app.state.registry
    merchant_id = str(request.path_params["merchant_id"])
    merchant = await registry.get_merchant(merchant_id)
    if merchant is None:
        return _shop_page(
            request, "Shop not found",
            "This code is not for a shop we know. Ask a member of staff.",
            status=404,
        )  # fmt: skip
    found = await registry.publishable_key(merchant.merchant_id)
    if found is None:
        return _not_set_up(request, merchant.name)
    return _start_page(request, merchant, found[0], embed=False, parent="", qr=True)


async def widget_start(request: Request) -> HTMLResponse:
    """GET /start?key=pk_…&parent=… : the widget's first page (framed by the shop's page)."""
    registry: Registry = request.app.state.registry
    key = request.query_params.get("key", "")
    parent = (normalize_origin(request.query_params.get("parent", "")) or "").rstrip("/")
    # A refusal is shown inside the shop's page (it has no action to click-jack), so the shop
    # sees what to fix where the widget should be.
    framers = (parent,) if parent else ()
    merchant = None
    if PUBLISHABLE_KEY.fullmatch(key):
        merchant = await registry.merchant_by_publishable_key(key)
    if merchant is None:
        return _shop_page(
            request, "This shop's room button needs an update",
            "The shop's key for shopping rooms was changed or turned off. The shop copies the"
            " new snippet from its coshop settings (GET /api/v1/merchant/publishable-key).",
            status=404, framers=framers,
        )  # fmt: skip
    if not parent or parent not in merchant.origins:
        # the console lists the sites the widget was refused on (server.api.blocked_origins)
        await note_blocked_origin(request, merchant.merchant_id, parent)
        site = parent or "this site"
        return _shop_page(
            request, "This site is not set up for shopping rooms",
            f"Shopping rooms cannot open on {site} yet: it is not one of {merchant.name}'s"
            " registered sites. Shopping here? Please try again later. Your shop? Register the"
            " site in your coshop console (Set up, where blocked sites are listed), then reload"
            " this page.",
            status=403, framers=framers,
        )  # fmt: skip
    return _start_page(request, merchant, key, embed=True, parent=parent, qr=False)


# -- (end of a room for every shopper) ----------------------------------------------------------


async def console_page(request: Request) -> HTMLResponse:
    """GET /console : the merchant console (signs in with the merchant's API key; a client of the
    merchant REST routes, server.api.console and friends)."""
    settings = _settings(request)
    return _render(
        request,
        "console.html",
        config=_client_config(
            public_url=settings.public_url.rstrip("/"), webhook_events=list(EVENT_TYPES)
        ),
    )


def page_routes() -> list[BaseRoute]:
    """The browser client's routes; mounted before ``/static``."""
    return [
        Route("/", landing),
        Route("/console", console_page),
        Route("/join/{room_id}", join_page),
        Route("/r/{room_id}", room_page),
        Route("/r/{room_id}/manage", manage_page),
        Route("/r/{room_id}/print", print_page),
        Route("/r/{room_id}/qr.svg", qr_image),
        Route("/rooms/{room_id}", room_alias),
        Route("/s/{merchant_id}", store_start),
        Route("/start", widget_start),
    ]
