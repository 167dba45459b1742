"""Scheduled live shows (issue 15 item 4) and the shoppable replay (item 5): REST routes and
pages.

The routes are mounted by server/app.py (before the static files) and documented in the
OpenAPI document through show_paths(). docs/live.md ("Scheduled shows", "The replay") says
what a host, a viewer and a merchant see.

- ``PUT /api/v1/rooms/{room_id}/show`` schedules a live room's show or changes its schedule
  (host, cohost or the room's merchant). The first schedule makes the show's **viewer invite**:
  the public show page sends people through it when the show goes live.
- ``GET /api/v1/rooms/{room_id}/show`` is public: what the waiting page polls.
- ``GET /api/v1/rooms/{room_id}/show.ics`` is the calendar file (``icalendar``).
- ``POST …/show/reminders`` records one person's "Remind me" (an e-mail address and/or this
  browser's guest identity; hashed to one reminder per person).
- ``POST …/show/start`` is **going live**: the host presses "Go live" (or the merchant's
  backend calls it); it records ``started_at`` and every waiting page moves into the room at
  its next poll. ``POST …/show/end`` ends it; ``PUT …/show/replay`` sets the recording.
- ``POST …/show/cancel`` cancels a show that has not gone live (waiting pages say so, the .ics
  says CANCELLED, no more reminders); scheduling it again brings it back.
- ``DELETE …/show/reminders/{reminder_id}`` takes a "Remind me" back (the id is what the
  person's own request answered: only they and the merchant know it).
- ``GET /api/v1/merchants/{merchant_id}/shows`` lists a merchant's shows (its API key).
- Pages: ``/r/{room_id}/show`` (the countdown, the host's controls) and ``/r/{room_id}/replay``.

Merchants hear ``show.scheduled``, ``show.reminder_requested``, ``show.starting`` and
``show.started`` through outbound webhooks, written with the fact (:mod:`server.webhooks.shows`);
``show.starting`` by the pass :func:`starting_pass` makes (server/app.py starts and stops it).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import re
import time
from typing import Any
from urllib.parse import quote, urlsplit

import icalendar
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rooms import redact_card_numbers
from rooms.cardgate import url_may_be_card
from rooms.commands import SetShowEnded
from rooms.errors import InvalidCommand, RoomError
from rooms.rules.membership import MAX_NAME, MAX_TITLE
from rooms.rules.stage import MAX_URL, check_url
from server.api.common import (
    bearer,
    check_text,
    new_id,
    now_ms,
    only_params,
    path_param,
    read_json,
    require_int,
    require_str,
)
from server.api.members import REMOVED_CODES, member_now
from server.auth import TokenSigner
from server.http.problem import ProblemError
from server.hub.hub import HubFull, RoomNotFound
from server.identity import IdentityError, guest_identity
from server.pages import _client_config, _render
from server.settings import Settings
from server.storage import Invite, Registry, RoomRecord, StorageError
from server.storage.shows import (
    Show,
    ShowConflict,
    ShowMissing,
    ShowStatus,
    ShowStore,
)
from server.storage.tables import room_events
from server.webhooks.shows import StartingPass, show_outbox

__all__ = ["show_paths", "show_routes", "show_store", "starting_pass"]

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 1000
MAX_EMAIL = 254
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 5, 720, 60
MAX_AHEAD_MS = 366 * 86_400_000  # a show is scheduled at most a year ahead
PAST_SLACK_MS = 5 * 60_000  # a start "now" from a clock a little behind is still accepted
MAX_OFFSET_S = 86_400
_STAFF_ROLES = frozenset({"host", "cohost"})
_LIST_STATUSES: dict[str, frozenset[ShowStatus]] = {
    "upcoming": frozenset({"scheduled", "live"}),
    "scheduled": frozenset({"scheduled"}),
    "live": frozenset({"live"}),
    "ended": frozenset({"ended"}),
    "cancelled": frozenset({"cancelled"}),
    "all": frozenset({"scheduled", "live", "ended", "cancelled"}),
}
_CONTROL = "\x00-\x1f\x7f-\x9f"
_EMAIL = re.compile(f"[^@\\s{_CONTROL}]{{1,64}}@[^@\\s{_CONTROL}]+\\.[^@\\s{_CONTROL}]+")
_DEVICE = "^[A-Za-z0-9_-]{32,128}$"
# The URLs a show accepts as cover or recording, as rooms/rules/stage.py check_url does: https,
# or http on loopback (development); written so that every URL it admits also passes check_url.
_URL_PATTERN = (
    r"^(https://[A-Za-z0-9.-]+|http://(localhost|127\.0\.0\.1))(:[0-9]{1,5})?"
    r"(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?(\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$"
)
_URL = re.compile(_URL_PATTERN)


# ---- helpers -------------------------------------------------------------------------------


def _store(request: Request) -> ShowStore:
    return show_store(request.app.state)


def show_store(state: Any) -> ShowStore:
    """The app's show store, made on first use (the outbox needs the public URL)."""
    store = getattr(state, "shows", None)
    if store is None:
        settings: Settings = state.settings
        base = settings.public_url.rstrip("/")
        outbox = show_outbox(lambda show: _describe(show, base), now_ms)
        store = ShowStore(state.engine, outbox=outbox)
        state.shows = store
    return store


def _base(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.public_url.rstrip("/")


def starting_pass(state: Any) -> StartingPass:
    """The process's ``show.starting`` pass (kept as ``state.show_starting``); it wakes the
    webhook worker (``state.webhooks``) when it wrote messages. The caller starts and stops it."""
    service = getattr(state, "webhooks", None)

    def delivered() -> None:
        if service is not None:
            service.worker.wake()

    found = StartingPass(show_store(state), delivered=delivered, longest_ms=MAX_DURATION * 60_000)
    state.show_starting = found
    return found


def _wake_webhooks(request: Request, *, scheduled: bool = False) -> None:
    service = getattr(request.app.state, "webhooks", None)
    if service is not None:
        service.worker.wake()
    starting: StartingPass | None = getattr(request.app.state, "show_starting", None)
    if scheduled and starting is not None:
        starting.wake()  # a show starting within the lead time is announced at once


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    when = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _describe(show: Show, base: str) -> dict[str, Any]:
    """The show as webhooks carry it (the REST answer adds the shop, reminders, the join link)."""
    room = quote(show.room_id)
    return {
        "room_id": show.room_id,
        "merchant_id": show.merchant_id,
        "title": show.title,
        "description": show.description,
        "host_name": show.host_name,
        "cover_url": show.cover_url,
        "starts_at": show.starts_at,
        "ends_at": show.ends_at,
        "duration_min": show.duration_min,
        "status": show.status,
        "started_at": show.started_at,
        "ended_at": show.ended_at,
        "replay_url": show.replay_url,
        "replay_offset_ms": show.replay_offset_ms,
        "version": show.version,
        "page_url": f"{base}/r/{room}/show",
        "ics_url": f"{base}/api/v1/rooms/{room}/show.ics",
        "replay_page_url": f"{base}/r/{room}/replay",
    }


async def _room(request: Request) -> RoomRecord:
    registry: Registry = request.app.state.registry
    room_id = path_param(request, "room_id")
    record = await registry.get_room(room_id)
    if record is None or record.closed:
        raise ProblemError(404, "room_not_found", f"no open room {room_id[:64]!r}")
    return record


async def _staff(request: Request, record: RoomRecord) -> None:
    """The host or a cohost of the room (member token), or the room's merchant (API key)."""
    key = bearer(request)
    if key is None:
        raise ProblemError(
            401, "unauthorized", "send the host's member token or the merchant's API key"
        )
    registry: Registry = request.app.state.registry
    merchant = await registry.merchant_by_api_key(key)
    if merchant is not None:
        if merchant.merchant_id != record.merchant_id:
            raise ProblemError(403, "forbidden", "this room belongs to another merchant")
        return
    member = await member_now(request, record.room_id)
    if member is None:
        raise ProblemError(
            401, "unauthorized", "send the host's member token or the merchant's API key"
        )
    if member.role not in _STAFF_ROLES:
        raise ProblemError(403, "forbidden", "only the host, a cohost or the merchant may")


def _live(record: RoomRecord) -> None:
    if record.kind != "live":
        raise ProblemError(
            409, "not_a_live_room", "only a live room can have a show; this one is a group room"
        )


async def _show(request: Request, record: RoomRecord) -> Show:
    show = await _store(request).get(record.room_id)
    if show is None:
        raise ProblemError(404, "show_not_found", "this room has no scheduled show")
    return show


def _int(
    data: dict[str, Any], key: str, *, low: int, high: int, default: int | None = None
) -> int | None:
    """An integer field; ``12.0`` is the integer JSON Schema says it is."""
    value = data.get(key)
    if isinstance(value, float) and value.is_integer() and low <= value <= high:
        return int(value)
    return require_int(data, key, low=low, high=high, default=default)


def _conflict(exc: ShowConflict) -> ProblemError:
    return ProblemError(409, exc.code, str(exc))


def _clean_line(data: dict[str, Any], key: str, max_len: int, default: str | None = None) -> str:
    value = require_str(data, key, default=default, max_len=max_len).strip()
    if not value:
        raise ProblemError(422, "invalid_field", f"{key} must not be empty", extra={"field": key})
    return redact_card_numbers(value)[0][:max_len].strip()


def _url(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    value = require_str(data, key, max_len=MAX_URL)
    try:
        check_url(value)
    except InvalidCommand as exc:
        raise ProblemError(422, "invalid_url", str(exc), extra={"field": key}) from exc
    if not _URL.fullmatch(value):
        raise ProblemError(
            422, "invalid_url", f"{key} holds characters a link may not", extra={"field": key}
        )
    if url_may_be_card(value):
        raise ProblemError(
            422, "invalid_url", "the URL holds a number that reads as a card number",
            extra={"field": key},
        )  # fmt: skip
    return value


async def _host_name(request: Request, room_id: str) -> str:
    """The name the room's host joined with (the first member of its log)."""
    async with request.app.state.engine.connect() as conn:
        raw = await conn.scalar(
            select(room_events.c.data)
            .where(room_events.c.room_id == room_id, room_events.c.type == "MemberJoined")
            .order_by(room_events.c.seq)
            .limit(1)
        )
    if raw is None:
        return "Host"
    return str(json.loads(raw).get("display_name") or "Host")


async def _join_link(request: Request, show: Show) -> str | None:
    """The join URL of the show's viewer invite, following rotations; None if it is off."""
    registry: Registry = request.app.state.registry
    signer: TokenSigner = request.app.state.signer
    invite = await registry.get_invite(show.invite_id)
    for _ in range(8):
        if invite is None or invite.replaced_by is None:
            break
        invite = await registry.get_invite(invite.replaced_by)
    if invite is None or invite.status(now_ms()) != "active":
        return None
    token = signer.invite_token(show.room_id, invite.invite_id)
    return f"{_base(request)}/join/{quote(show.room_id)}?invite={quote(token)}"


async def _answer(request: Request, show: Show, status: int = 200) -> JSONResponse:
    return JSONResponse(await _public(request, show), status_code=status)


async def _public(request: Request, show: Show) -> dict[str, Any]:
    registry: Registry = request.app.state.registry
    merchant = await registry.get_merchant(show.merchant_id)
    body = _describe(show, _base(request))
    body["shop"] = merchant.name if merchant is not None else show.merchant_id
    body["reminders"] = await _store(request).reminder_count(show.room_id)
    body["join_url"] = await _join_link(request, show)
    body["room_url"] = f"{_base(request)}/r/{quote(show.room_id)}"
    return body


# ---- routes --------------------------------------------------------------------------------


async def schedule_show(request: Request) -> JSONResponse:
    """PUT /api/v1/rooms/{room_id}/show"""
    record = await _room(request)
    await _staff(request, record)
    _live(record)
    data = await read_json(request)
    title = _clean_line(data, "title", MAX_TITLE, default=record.title)
    description = require_str(
        data, "description", default="", max_len=MAX_DESCRIPTION, multiline=True
    ).strip()
    description = redact_card_numbers(description)[0][:MAX_DESCRIPTION]
    starts_at = _int(data, "starts_at", low=0, high=2**53 - 1)
    if starts_at is None:
        raise ProblemError(
            422, "invalid_field", "starts_at (ms since the epoch) is required",
            extra={"field": "starts_at"},
        )  # fmt: skip
    duration = _int(
        data, "duration_min", low=MIN_DURATION, high=MAX_DURATION, default=DEFAULT_DURATION
    )
    assert duration is not None  # it has a default
    cover = _url(data, "cover_url")
    host_name = (
        _clean_line(data, "host_name", MAX_NAME)
        if data.get("host_name") is not None
        else await _host_name(request, record.room_id)
    )
    now = now_ms()
    if not now - PAST_SLACK_MS <= starts_at <= now + MAX_AHEAD_MS:
        raise ProblemError(
            409, "show_start_invalid",
            "starts_at must be now or later, and at most a year ahead",
            extra={"field": "starts_at"},
        )  # fmt: skip
    store = _store(request)
    existing = await store.get(record.room_id)
    invite_id = existing.invite_id if existing is not None else await _new_invite(request, record)
    show = Show(
        room_id=record.room_id, merchant_id=record.merchant_id, title=title,
        description=description, host_name=host_name, cover_url=cover, starts_at=starts_at,
        duration_min=duration, invite_id=invite_id, version=1, started_at=None, ended_at=None,
        replay_url=None, replay_offset_ms=0, created_at=now, updated_at=now,
    )  # fmt: skip
    try:
        show = await store.schedule(show)
    except ShowConflict as exc:
        raise _conflict(exc) from exc
    _wake_webhooks(request, scheduled=True)
    _forget(request, record.room_id)
    return await _answer(request, show, 201 if existing is None else 200)


async def _new_invite(request: Request, record: RoomRecord) -> str:
    """The show's viewer invite: shared, no expiry; the host may rotate or revoke it."""
    registry: Registry = request.app.state.registry
    invite = Invite(
        invite_id=new_id("i"), room_id=record.room_id, role="viewer", expires_at=None,
        max_uses=None, uses=0, created_at=now_ms(), kind="shared",
    )  # fmt: skip
    await registry.create_invite(invite)
    return invite.invite_id


_STATUS_TTL_S = 1.0  # how long a process answers the waiting pages' polls from memory
_STATUS_KEPT = 10_000


def _status_cache(request: Request) -> dict[str, tuple[float, dict[str, Any]]]:
    state = request.app.state
    cache = getattr(state, "show_status", None)
    if cache is None:
        cache = state.show_status = {}
    return cache


def _forget(request: Request, room_id: str) -> None:
    """A change made here is read at once here (other processes within the TTL)."""
    _status_cache(request).pop(room_id, None)


async def read_show(request: Request) -> JSONResponse:
    """GET /api/v1/rooms/{room_id}/show — polled by every waiting page: a crowd of them costs
    the database one read of each show per process and second."""
    only_params(request)
    record = await _room(request)
    cache = _status_cache(request)
    now = time.monotonic()
    kept = cache.get(record.room_id)
    if kept is not None and kept[0] > now:
        body = kept[1]
    else:
        body = await _public(request, await _show(request, record))
        if len(cache) >= _STATUS_KEPT:
            cache.clear()
        cache[record.room_id] = (now + _STATUS_TTL_S, body)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def show_calendar(request: Request) -> Response:
    """GET /api/v1/rooms/{room_id}/show.ics"""
    only_params(request)
    record = await _room(request)
    show = await _show(request, record)
    registry: Registry = request.app.state.registry
    merchant = await registry.get_merchant(show.merchant_id)
    shop = merchant.name if merchant is not None else show.merchant_id
    base = _base(request)
    page = _describe(show, base)["page_url"]
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//coshop//live shows//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    cancelled = show.status == "cancelled"
    event = icalendar.Event()
    host = urlsplit(base).hostname or "coshop"
    event.add("uid", f"show-{show.room_id}@{host}")
    event.add("dtstamp", datetime.datetime.fromtimestamp(now_ms() / 1000, tz=datetime.UTC))
    event.add("dtstart", datetime.datetime.fromtimestamp(show.starts_at / 1000, tz=datetime.UTC))
    event.add("dtend", datetime.datetime.fromtimestamp(show.ends_at / 1000, tz=datetime.UTC))
    event.add("sequence", show.version - 1)
    if cancelled:  # importing it again takes the event out of a calendar that had it
        event.add("status", "CANCELLED")
    event.add("summary", f"{'Cancelled: ' if cancelled else ''}{show.title} · live on {shop}")
    about = f"{show.description}\n\n" if show.description else ""
    event.add("description", f"{about}Hosted by {show.host_name}. Watch and shop live: {page}")
    event.add("url", page)
    event.add("location", page)
    if not cancelled:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{show.title} starts in 10 minutes")
        alarm.add("trigger", datetime.timedelta(minutes=-10))
        event.add_component(alarm)
    calendar.add_component(event)
    return Response(
        calendar.to_ical(),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="show-{show.room_id}.ics"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _person(data: dict[str, Any]) -> tuple[str, str | None]:
    """(the reminder's person key, the e-mail address or None)."""
    email = None
    if data.get("email") is not None:
        email = require_str(data, "email", max_len=MAX_EMAIL).strip()
        if not _EMAIL.fullmatch(email):
            raise ProblemError(
                422, "invalid_email", "email must look like name@example.com",
                extra={"field": "email"},
            )  # fmt: skip
    device = data.get("device")
    if device is not None:
        try:
            identity = guest_identity(device)
        except IdentityError as exc:
            raise ProblemError(exc.status, exc.code, str(exc), extra={"field": "device"}) from exc
        key = identity.digest
    elif email is not None:
        key = "email:" + email.lower()
    else:
        raise ProblemError(
            422, "invalid_field", "send an email address or this browser's device secret",
            extra={"field": "email"},
        )  # fmt: skip
    return hashlib.sha256(key.encode()).hexdigest(), email


async def remind_me(request: Request) -> JSONResponse:
    """POST /api/v1/rooms/{room_id}/show/reminders"""
    record = await _room(request)
    data = await read_json(request)
    person, email = _person(data)
    store = _store(request)
    try:
        reminder, new = await store.remind(record.room_id, person, email, new_id("rem_"), now_ms())
    except ShowMissing as exc:
        raise ProblemError(404, "show_not_found", "this room has no scheduled show") from exc
    except ShowConflict as exc:
        raise _conflict(exc) from exc
    if new:
        _wake_webhooks(request)
        _forget(request, record.room_id)
    # the id takes the reminder back: a repeat by e-mail address alone does not get it (anyone
    # can type an address); a repeat from the same browser (its device secret) does
    shown = new or data.get("device") is not None
    return JSONResponse(
        {
            "room_id": record.room_id,
            "reminder_id": reminder.reminder_id if shown else None,
            "email": reminder.email is not None,
            "created_at": reminder.created_at,
            "new": new,
            "reminders": await store.reminder_count(record.room_id),
        },
        status_code=201 if new else 200,
    )


async def forget_reminder(request: Request) -> JSONResponse:
    """DELETE /api/v1/rooms/{room_id}/show/reminders/{reminder_id} : "Remind me" taken back."""
    only_params(request)
    record = await _room(request)
    reminder_id = path_param(request, "reminder_id")
    store = _store(request)
    try:
        removed = await store.forget_reminder(record.room_id, reminder_id)
    except ShowMissing as exc:
        raise ProblemError(404, "show_not_found", "this room has no scheduled show") from exc
    if not removed:
        raise ProblemError(
            404, "reminder_not_found", "no reminder by that id: it was taken back already"
        )
    _wake_webhooks(request)
    _forget(request, record.room_id)
    return JSONResponse(
        {
            "room_id": record.room_id,
            "reminder_id": reminder_id,
            "reminders": await store.reminder_count(record.room_id),
        }
    )


async def cancel_show(request: Request) -> JSONResponse:
    """POST /api/v1/rooms/{room_id}/show/cancel"""
    only_params(request)
    record = await _room(request)
    await _staff(request, record)
    try:
        show, changed = await _store(request).cancel(record.room_id, now_ms())
    except ShowMissing as exc:
        raise ProblemError(404, "show_not_found", "this room has no scheduled show") from exc
    except ShowConflict as exc:
        raise _conflict(exc) from exc
    if changed:
        _wake_webhooks(request)
    _forget(request, record.room_id)
    return await _answer(request, show)


async def start_show(request: Request) -> JSONResponse:
    """POST /api/v1/rooms/{room_id}/show/start"""
    only_params(request)
    record = await _room(request)
    await _staff(request, record)
    try:
        show, changed = await _store(request).start(record.room_id, now_ms())
    except ShowMissing as exc:
        raise ProblemError(404, "show_not_found", "this room has no scheduled show") from exc
    except ShowConflict as exc:
        raise _conflict(exc) from exc
    if changed:
        _wake_webhooks(request)
    _forget(request, record.room_id)
    return await _answer(request, show)


async def end_show(request: Request) -> JSONResponse:
    """POST /api/v1/rooms/{room_id}/show/end"""
    only_params(request)
    record = await _room(request)
    await _staff(request, record)
    try:
        show = await _store(request).end(record.room_id, now_ms())
    except ShowMissing as exc:
        raise ProblemError(404, "show_not_found", "this room has no scheduled show") from exc
    except ShowConflict as exc:
        raise _conflict(exc) from exc
    _forget(request, record.room_id)
    await _tell_room(request, show)
    return await _answer(request, show)


async def _tell_room(request: Request, show: Show) -> None:
    """Tell the show's room that the show ended, and whether its replay is set: every open
    page of the room switches to "The show has ended" (with the replay's link), as the room's
    other facts reach them. The show's record stands if the room cannot be reached (logged)."""
    if show.ended_at is None or show.started_at is None:
        return  # not ended, or cancelled before it went live: the room never showed it live
    command = SetShowEnded(ended_at=show.ended_at, replay=show.replay_url is not None)
    try:
        await request.app.state.hub.system_command(show.room_id, command)
    except (RoomError, RoomNotFound, HubFull, StorageError):
        log.warning("a room was not told its show ended", extra={"room_id": show.room_id})


async def set_replay(request: Request) -> JSONResponse:
    """PUT /api/v1/rooms/{room_id}/show/replay"""
    record = await _room(request)
    await _staff(request, record)
    data = await read_json(request)
    if "url" not in data:
        raise ProblemError(
            422, "invalid_field", "url is required (null removes the replay)",
            extra={"field": "url"},
        )  # fmt: skip
    url = _url(data, "url")
    offset = _int(data, "offset_s", low=0, high=MAX_OFFSET_S, default=0)
    assert offset is not None
    try:
        show = await _store(request).set_replay(record.room_id, url, offset * 1000, now_ms())
    except ShowMissing as exc:
        raise ProblemError(404, "show_not_found", "this room has no scheduled show") from exc
    except ShowConflict as exc:
        raise _conflict(exc) from exc
    _forget(request, record.room_id)
    await _tell_room(request, show)
    return await _answer(request, show)


# What the replay shows of a room's log: the stage's public events (rooms/audience.py: everyone
# saw them live). Drops (issue 15 item 3) are read by name, their start and end only, with the
# fields every viewer saw; a claim names its claimant and is never read.
_MOMENT_TYPES = ("ProductPinned", "ProductUnpinned", "Announced", "PollOpened", "PollClosed")
_DROP_EVENT = re.compile(r"Drop(Started|Opened|Ended|Closed|SoldOut|Expired)")
_DROP_FIELDS = frozenset(
    {"drop_id", "sku", "variant", "price_minor", "currency", "quantity", "remaining",
     "per_buyer_limit", "limit", "ends_at", "duration_s", "seconds"}
)  # fmt: skip
MAX_MOMENTS = 2000


def _moment(event_type: str, data: dict[str, Any]) -> dict[str, Any] | None:
    if event_type in ("ProductPinned", "ProductUnpinned"):
        kind = "pin" if event_type == "ProductPinned" else "unpin"
        return {"kind": kind, "sku": data.get("sku")}
    if event_type == "Announced":
        return {"kind": "announcement", "text": data.get("text")}
    if event_type == "PollOpened":
        return {"kind": "poll", "poll_id": data.get("poll_id"), "question": data.get("question"),
                "options": list(data.get("options") or [])}  # fmt: skip
    if event_type == "PollClosed":
        return {"kind": "poll_closed", "poll_id": data.get("poll_id"),
                "winner": data.get("winner")}  # fmt: skip
    found = _DROP_EVENT.fullmatch(event_type)
    if found is not None:
        started = found.group(1) in ("Started", "Opened")
        drop = {key: value for key, value in data.items() if key in _DROP_FIELDS}
        return {"kind": "drop" if started else "drop_ended", "sku": data.get("sku"), "drop": drop}
    return None


async def show_moments(request: Request) -> JSONResponse:
    """GET /api/v1/rooms/{room_id}/show/moments : the stage's moments, placed on the recording."""
    only_params(request)
    record = await _room(request)
    show = await _show(request, record)
    if show.started_at is None:
        raise ProblemError(409, "show_not_started", "the show has not gone live yet")
    started, ended = show.started_at, show.ended_at
    query = (
        select(room_events.c.type, room_events.c.data, room_events.c.at)
        .where(
            room_events.c.room_id == record.room_id,
            (room_events.c.type.in_(_MOMENT_TYPES)) | (room_events.c.type.like("Drop%")),
        )
        .order_by(room_events.c.seq)
    )
    if ended is not None:
        query = query.where(room_events.c.at <= ended)
    async with request.app.state.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    moments: list[dict[str, Any]] = []
    for event_type, raw, at in rows:
        moment = _moment(str(event_type), json.loads(raw))
        if moment is None:
            continue
        moments.append({**moment, "at": int(at)})
    moments = _drop_ends(moments, ended)
    for moment in moments:
        moment["t_ms"] = max(0, moment["at"] - started + show.replay_offset_ms)
    # the stage as it stood at the start, then the latest moments (a long show keeps its end)
    return JSONResponse(
        {
            "room_id": record.room_id,
            "started_at": started,
            "ended_at": ended,
            "replay_url": show.replay_url,
            "replay_offset_ms": show.replay_offset_ms,
            "moments": _bounded(moments),
        },
        headers={"Cache-Control": "no-store"},
    )


def _drop_ends(moments: list[dict[str, Any]], ended: int | None) -> list[dict[str, Any]]:
    """A drop whose countdown ran out has no end event until the next drop starts or the host
    ends it (rooms/rules/drops.py): its end is placed at its ``ends_at`` instead — and a
    recorded end after it (``reason: "time"``) is read at ``ends_at`` too. None after the show."""
    ends_at: dict[str, int] = {}
    closed: set[str] = set()
    for moment in moments:
        drop = moment.get("drop") or {}
        if moment["kind"] == "drop" and isinstance(drop.get("ends_at"), int):
            ends_at[str(drop.get("drop_id"))] = drop["ends_at"]
        elif moment["kind"] == "drop_ended":
            drop_id = str(drop.get("drop_id"))
            closed.add(drop_id)
            if drop_id in ends_at:
                moment["at"] = min(moment["at"], ends_at[drop_id])
    for moment in list(moments):
        drop_id = str((moment.get("drop") or {}).get("drop_id"))
        if moment["kind"] != "drop" or drop_id in closed or drop_id not in ends_at:
            continue
        if ended is None or ends_at[drop_id] <= ended:
            end = {key: value for key, value in moment["drop"].items() if key != "ends_at"}
            moments.append({"kind": "drop_ended", "sku": moment["sku"], "drop": end,
                            "at": ends_at[drop_id]})  # fmt: skip
    moments.sort(key=lambda m: m["at"])  # stable: moments at one instant keep the log's order
    return moments


def _bounded(moments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last :data:`MAX_MOMENTS`, after the pins that stood when they begin."""
    if len(moments) <= MAX_MOMENTS:
        return moments
    cut = len(moments) - MAX_MOMENTS
    pinned: dict[str, dict[str, Any]] = {}
    for moment in moments[:cut]:
        if moment["kind"] == "pin":
            pinned[str(moment["sku"])] = moment
        elif moment["kind"] == "unpin":
            pinned.pop(str(moment["sku"]), None)
    return [*pinned.values(), *moments[cut:]]


def _list_query(request: Request) -> tuple[frozenset[ShowStatus], int]:
    only_params(request, "status", "limit")
    raw_status = request.query_params.get("status", "upcoming")
    if raw_status not in _LIST_STATUSES:
        raise ProblemError(
            400, "invalid_parameter",
            f"status must be one of {', '.join(_LIST_STATUSES)}", extra={"parameter": "status"},
        )  # fmt: skip
    raw_limit = request.query_params.get("limit", "50")
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= 100:
        raise ProblemError(
            400, "invalid_parameter", "limit must be an integer in 1..100",
            extra={"parameter": "limit"},
        )  # fmt: skip
    return _LIST_STATUSES[raw_status], int(raw_limit)


async def merchant_shows(request: Request) -> JSONResponse:
    """GET /api/v1/merchants/{merchant_id}/shows"""
    merchant_id = path_param(request, "merchant_id")
    key = bearer(request)
    registry: Registry = request.app.state.registry
    merchant = None if key is None else await registry.merchant_by_api_key(key)
    if merchant is None:
        raise ProblemError(401, "invalid_api_key", "send your merchant API key as a bearer token")
    if merchant.merchant_id != merchant_id:
        raise ProblemError(403, "forbidden", "these are another merchant's shows")
    statuses, limit = _list_query(request)
    found = await _store(request).of_merchant(merchant_id, statuses, limit)
    base = _base(request)
    return JSONResponse(
        {
            "shows": [
                {**_describe(show, base), "shop": merchant.name, "reminders": count}
                for show, count in found
            ]
        },
        headers={"Cache-Control": "no-store"},
    )


# ---- pages ---------------------------------------------------------------------------------


async def _page_show(request: Request) -> tuple[RoomRecord | None, dict[str, Any] | None]:
    registry: Registry = request.app.state.registry
    room_id = check_text(str(request.path_params["room_id"]), "room_id")
    record = await registry.get_room(room_id)
    if record is None or record.closed:
        return None, None
    show = await _store(request).get(room_id)
    return record, None if show is None else await _public(request, show)


def _no_room(request: Request) -> HTMLResponse:
    return _render(
        request, "message.html", status=404, title="Show not found",
        message="This show does not exist or its room has closed. Ask the shop for a new link.",
        link_href="", link_label="",
    )  # fmt: skip


async def show_page(request: Request) -> HTMLResponse:
    """GET /r/{room_id}/show : the show's page: countdown, calendar, reminders; the host's
    schedule and "Go live"."""
    record, show = await _page_show(request)
    if record is None or record.kind != "live":
        return _no_room(request)
    return _render(
        request,
        "show.html",
        room=record,
        show=show,
        starts_iso=None if show is None else _iso(show["starts_at"]),
        config=_client_config(
            room_id=record.room_id,
            title=record.title,
            show=show,
            title_max=MAX_TITLE,
            description_max=MAX_DESCRIPTION,
        ),
    )


async def replay_page(request: Request) -> HTMLResponse:
    """GET /r/{room_id}/replay : the recording with the show's moments; shop what was on stage."""
    record, show = await _page_show(request)
    if record is None or record.kind != "live":
        return _no_room(request)
    return _render(
        request,
        "replay.html",
        room=record,
        show=show,
        config=_client_config(room_id=record.room_id, merchant_id=record.merchant_id, show=show),
    )


async def _show_resource(request: Request) -> Response:
    # one route for both methods, so a 405 names them both in Allow
    if request.method == "PUT":
        return await schedule_show(request)
    return await read_show(request)


def show_routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/rooms/{room_id}/show", _show_resource, methods=["GET", "PUT"]),
        Route("/api/v1/rooms/{room_id}/show.ics", show_calendar, methods=["GET"]),
        Route("/api/v1/rooms/{room_id}/show/reminders", remind_me, methods=["POST"]),
        Route(
            "/api/v1/rooms/{room_id}/show/reminders/{reminder_id}",
            forget_reminder,
            methods=["DELETE"],
        ),
        Route("/api/v1/rooms/{room_id}/show/start", start_show, methods=["POST"]),
        Route("/api/v1/rooms/{room_id}/show/cancel", cancel_show, methods=["POST"]),
        Route("/api/v1/rooms/{room_id}/show/end", end_show, methods=["POST"]),
        Route("/api/v1/rooms/{room_id}/show/replay", set_replay, methods=["PUT"]),
        Route("/api/v1/rooms/{room_id}/show/moments", show_moments, methods=["GET"]),
        Route("/api/v1/merchants/{merchant_id}/shows", merchant_shows, methods=["GET"]),
        Route("/r/{room_id}/show", show_page, methods=["GET"]),
        Route("/r/{room_id}/replay", replay_page, methods=["GET"]),
    ]


# ---- the OpenAPI paths (inline: server.api.openapi imports this module) ---------------------

_PROBLEM_REF = "#/components/schemas/Problem"
_ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
_NO_CONTROL = f"^[^{_CONTROL}]*$"
_MULTILINE = "^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
_LINE = f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"
_STR = {"type": "string"}
_INT = {"type": "integer"}
_NULL_STR = {"type": ["string", "null"]}
_NULL_INT = {"type": ["integer", "null"]}
_BODY: dict[int, list[str]] = {
    400: ["invalid_json"],
    413: ["body_too_large"],
    415: ["unsupported_media_type"],
    422: ["invalid_text"],
}
_ROOM_404 = {404: ["room_not_found"]}
_STAFF: dict[int, list[str]] = {
    401: ["unauthorized"],
    403: ["forbidden", *REMOVED_CODES],
    404: ["room_not_found"],
    503: ["server_full"],
}


def _merge(*tables: dict[int, list[str]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for table in tables:
        for status, codes in table.items():
            out[status] = sorted({*out.get(status, []), *codes})
    return out


def _problems(table: dict[int, list[str]]) -> dict[str, Any]:
    return {
        str(status): {
            "description": "problem: " + ", ".join(codes),
            "x-problem-codes": codes,
            "content": {
                "application/problem+json": {
                    "schema": {
                        "allOf": [
                            {"$ref": _PROBLEM_REF},
                            {"properties": {"status": {"const": status}, "code": {"enum": codes}}},
                        ]
                    }
                }
            },
        }
        for status, codes in sorted(table.items())
    }


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


def _json(schema: dict[str, Any], description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _STR | {"pattern": _ID_PATTERN}}


_URL_SCHEMA = {"type": "string", "maxLength": MAX_URL, "pattern": _URL_PATTERN}
_SHOW_FIELDS: dict[str, Any] = {
    "room_id": _STR,
    "merchant_id": _STR,
    "title": _STR,
    "description": _STR,
    "host_name": _STR,
    "cover_url": _NULL_STR,
    "starts_at": {**_INT, "description": "ms since the epoch"},
    "ends_at": {**_INT, "description": "starts_at + duration"},
    "duration_min": _INT,
    "status": {"enum": ["scheduled", "live", "ended", "cancelled"]},
    "started_at": {**_NULL_INT, "description": "when the host went live (ms)"},
    "ended_at": _NULL_INT,
    "replay_url": _NULL_STR,
    "replay_offset_ms": {**_INT, "description": "where in the recording the show went live"},
    "version": {**_INT, "description": "1, then one more per schedule change"},
    "page_url": _STR,
    "ics_url": _STR,
    "replay_page_url": _STR,
    "shop": _STR,
    "reminders": {**_INT, "description": "people who asked to be reminded"},
}
_SHOW = _object(
    {
        **_SHOW_FIELDS,
        "join_url": {**_NULL_STR, "description": "the show's viewer invite; null if switched off"},
        "room_url": _STR,
    }
)


_MOMENT = {
    "type": "object",
    "properties": {
        "kind": {"enum": ["pin", "unpin", "announcement", "poll", "poll_closed", "drop",
                          "drop_ended"]},
        "t_ms": {**_INT, "description": "ms into the recording"},
        "at": {**_INT, "description": "when it happened (ms since the epoch)"},
        "sku": _NULL_STR,
        "text": _NULL_STR,
        "poll_id": _NULL_STR,
        "question": _NULL_STR,
        "options": {"type": "array", "items": _STR},
        "winner": _NULL_STR,
        "drop": {"type": "object", "description": "the drop's public terms"},
    },
    "required": ["kind", "t_ms", "at"],
}  # fmt: skip


def show_paths() -> dict[str, Any]:
    room = [_path("room_id")]
    staff_security: list[dict[str, list[str]]] = [{"memberToken": []}, {"apiKey": []}]
    show_404 = {404: ["room_not_found", "show_not_found"]}
    return {
        "/api/v1/rooms/{room_id}/show": {
            "put": {
                "summary": "Schedule the live room's show, or change its schedule",
                "description": "The host, a cohost (member token) or the room's merchant (API "
                "key). 201 for the first schedule (it makes the show's viewer invite), 200 for "
                "a change. Merchants receive show.scheduled.",
                "security": staff_security,
                "parameters": room,
                "requestBody": _body(
                    {
                        "title": {"type": "string", "maxLength": MAX_TITLE, "pattern": _LINE},
                        "description": {
                            "type": "string",
                            "maxLength": MAX_DESCRIPTION,
                            "pattern": _MULTILINE,
                        },
                        "host_name": {"type": "string", "maxLength": MAX_NAME, "pattern": _LINE},
                        "cover_url": {**_URL_SCHEMA, "type": ["string", "null"]},
                        "starts_at": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 2**53 - 1,
                            "description": "ms since the epoch; now or later, at most a year ahead",
                        },
                        "duration_min": {
                            "type": "integer",
                            "minimum": MIN_DURATION,
                            "maximum": MAX_DURATION,
                        },
                    },
                    ["starts_at"],
                ),
                "responses": {
                    "200": _json(_SHOW, "the changed show"),
                    "201": _json(_SHOW, "the scheduled show"),
                    **_problems(
                        _merge(
                            _BODY,
                            _STAFF,
                            {
                                409: [
                                    "not_a_live_room",
                                    "show_start_invalid",
                                    "show_started",
                                    "show_changed",
                                ],
                                422: ["invalid_field", "invalid_url"],
                            },
                        )
                    ),
                },
            },
            "get": {
                "summary": "A room's show as its waiting page sees it (public)",
                "parameters": room,
                "responses": {
                    "200": _json(_SHOW),
                    **_problems(
                        _merge(show_404, {400: ["invalid_parameter"], 422: ["invalid_text"]})
                    ),
                },
            },
        },
        "/api/v1/rooms/{room_id}/show.ics": {
            "get": {
                "summary": "The show as an iCalendar file (Add to calendar)",
                "parameters": room,
                "responses": {
                    "200": {
                        "description": "one VEVENT: UID, DTSTART and DTEND in UTC, SUMMARY, URL",
                        "content": {"text/calendar": {"schema": _STR}},
                    },
                    **_problems(
                        _merge(show_404, {400: ["invalid_parameter"], 422: ["invalid_text"]})
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/show/reminders": {
            "post": {
                "summary": "Remind me: record one person who wants to hear when the show starts",
                "description": "An e-mail address, this browser's device secret, or both; one "
                "reminder per person (201 new, 200 already asked). Merchants receive "
                "show.reminder_requested with the address.",
                "parameters": room,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "email": {
                                        "type": "string",
                                        "maxLength": MAX_EMAIL,
                                        "pattern": f"^{_EMAIL.pattern}$",
                                    },
                                    "device": {"type": "string", "pattern": _DEVICE},
                                },
                                "anyOf": [{"required": ["email"]}, {"required": ["device"]}],
                            }
                        }
                    },
                },
                "responses": {
                    **{
                        str(code): _json(
                            _object(
                                {
                                    "room_id": _STR,
                                    "reminder_id": {
                                        **_NULL_STR,
                                        "description": "what takes it back (DELETE …/"
                                        "reminders/{reminder_id}); null when asked again by "
                                        "e-mail address alone",
                                    },
                                    "email": {"type": "boolean"},
                                    "created_at": _INT,
                                    "new": {"type": "boolean"},
                                    "reminders": _INT,
                                }
                            ),
                            text,
                        )
                        for code, text in ((200, "already reminded"), (201, "reminder recorded"))
                    },
                    **_problems(
                        _merge(
                            _BODY,
                            show_404,
                            {
                                409: [
                                    "show_started",
                                    "show_cancelled",
                                    "show_reminders_full",
                                    "show_changed",
                                ],
                                422: ["invalid_field", "invalid_email", "invalid_device"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/show/reminders/{reminder_id}": {
            "delete": {
                "summary": "Take a Remind me back (the reminder and its e-mail address go)",
                "description": "The reminder_id is what the person's own POST …/show/reminders "
                "answered (the merchant has it from show.reminder_requested too).",
                "parameters": [*room, _path("reminder_id")],
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "room_id": _STR,
                                "reminder_id": _STR,
                                "reminders": {**_INT, "description": "reminders left"},
                            }
                        ),
                        "the reminder is gone",
                    ),
                    **_problems(
                        {
                            400: ["invalid_parameter"],
                            404: ["room_not_found", "show_not_found", "reminder_not_found"],
                            422: ["invalid_text"],
                        }
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/show/start": {
            "post": {
                "summary": "Go live: the show starts now (waiting pages move into the room)",
                "security": staff_security,
                "parameters": room,
                "responses": {
                    "200": _json(_SHOW),
                    **_problems(
                        _merge(
                            _STAFF,
                            show_404,
                            {
                                400: ["invalid_parameter"],
                                409: ["show_cancelled"],
                                422: ["invalid_text"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/show/cancel": {
            "post": {
                "summary": "Cancel a show that has not gone live (scheduling it again brings it "
                "back)",
                "description": "Waiting pages say the show was cancelled, the .ics file carries "
                "STATUS:CANCELLED with a new SEQUENCE, and no reminder is taken any more. "
                "Cancelling twice changes nothing.",
                "security": staff_security,
                "parameters": room,
                "responses": {
                    "200": _json(_SHOW, "the cancelled show"),
                    **_problems(
                        _merge(
                            _STAFF,
                            show_404,
                            {
                                400: ["invalid_parameter"],
                                409: ["show_started", "show_changed"],
                                422: ["invalid_text"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/show/end": {
            "post": {
                "summary": "End the show",
                "security": staff_security,
                "parameters": room,
                "responses": {
                    "200": _json(_SHOW),
                    **_problems(
                        _merge(
                            _STAFF,
                            show_404,
                            {
                                400: ["invalid_parameter"],
                                409: ["show_not_started", "show_cancelled"],
                                422: ["invalid_text"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/show/replay": {
            "put": {
                "summary": "Set the recording of the show (null removes it); ends the show",
                "security": staff_security,
                "parameters": room,
                "requestBody": _body(
                    {
                        "url": {**_URL_SCHEMA, "type": ["string", "null"]},
                        "offset_s": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": MAX_OFFSET_S,
                            "description": "where in the recording the show went live",
                        },
                    },
                    ["url"],
                ),
                "responses": {
                    "200": _json(_SHOW),
                    **_problems(
                        _merge(
                            _BODY,
                            _STAFF,
                            show_404,
                            {409: ["show_not_started"], 422: ["invalid_field", "invalid_url"]},
                        )
                    ),
                },
            }
        },
        "/api/v1/rooms/{room_id}/show/moments": {
            "get": {
                "summary": "The show's stage moments (pins, announcements, polls, drops) placed "
                "on the recording: t_ms from its start (public)",
                "parameters": room,
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "room_id": _STR,
                                "started_at": _INT,
                                "ended_at": _NULL_INT,
                                "replay_url": _NULL_STR,
                                "replay_offset_ms": _INT,
                                "moments": {"type": "array", "items": _MOMENT},
                            }
                        )
                    ),
                    **_problems(
                        _merge(
                            show_404,
                            {
                                400: ["invalid_parameter"],
                                409: ["show_not_started"],
                                422: ["invalid_text"],
                            },
                        )
                    ),
                },
            }
        },
        "/api/v1/merchants/{merchant_id}/shows": {
            "get": {
                "summary": "The merchant's shows, soonest first (upcoming by default)",
                "security": [{"apiKey": []}],
                "parameters": [
                    _path("merchant_id"),
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"enum": list(_LIST_STATUSES)},
                        "description": "upcoming (scheduled or live, the default), scheduled, "
                        "live, ended, cancelled or all",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        "description": "at most this many (default 50)",
                    },
                ],
                "responses": {
                    "200": _json(
                        _object({"shows": {"type": "array", "items": _object(_SHOW_FIELDS)}})
                    ),
                    **_problems(
                        {
                            400: ["invalid_parameter"],
                            401: ["invalid_api_key"],
                            403: ["forbidden"],
                            422: ["invalid_text"],
                        }
                    ),
                },
            }
        },
    }
