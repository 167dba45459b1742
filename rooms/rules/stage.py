"""Stage and co-browse rules: pins, announcements, the stream URL, follow mode, bring-here.

Pins and the stream work in both room kinds (a group can watch a stream together); who may use
them is in the permission table. coshop carries no video: the stream is only a URL, https://, or
http:// on localhost for development; ``.m3u8`` paths are recorded as ``hls``, others as
``embed``. A stream URL whose digits read as a card number (:func:`rooms.cardgate.url_may_be_card`)
is refused with ``invalid_url``: it is shown to everyone, and redacting would break it. The
checkout bridge's hand-off URL is built by the server from catalogue ids (a Shopify variant id is
14 digits, Luhn-valid one time in ten) and is not card-gated. Announcements pass the room's word
lists (:mod:`rooms.wordlist`): a ``block`` word refuses one with ``blocked_word``, a ``mask`` word
goes out as ``•••``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rooms import commands as c
from rooms import events as e
from rooms.cardgate import url_may_be_card
from rooms.errors import InvalidCommand, LimitExceeded, NotAllowed, NotFound
from rooms.model import Context, StreamKind
from rooms.rules.common import clean_text, product
from rooms.rules.drops import closed_by_show_end
from rooms.wordlist import screen

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = [
    "MAX_ANNOUNCEMENT",
    "MAX_URL",
    "announce",
    "bring_everyone_here",
    "check_url",
    "pin",
    "set_follow_mode",
    "set_stream",
    "unpin",
]

MAX_ANNOUNCEMENT = 280
MAX_URL = 2048
_DEV_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_CARD_IN_URL = "the URL holds a number that reads as a card number; it was not shared"


def check_url(url: str) -> str:
    """Validate a URL shown to clients (https, or http on localhost); returns its path."""
    if len(url) > MAX_URL or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidCommand("invalid_url", f"the URL must be at most {MAX_URL} plain characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise InvalidCommand("invalid_url", "the URL cannot be parsed") from exc
    secure = parts.scheme == "https" and bool(host)
    local = parts.scheme == "http" and host in _DEV_HOSTS
    if not (secure or local):
        raise InvalidCommand("invalid_url", "the URL must be https:// (http:// only on localhost)")
    return parts.path


def pin(room: Room, command: c.PinProduct, ctx: Context) -> list[e.Event]:
    product(ctx, command.sku)
    if command.sku in room.pins:
        return []
    if len(room.pins) >= room.limits.max_pins:
        raise LimitExceeded("too_many_pins", f"at most {room.limits.max_pins} pinned products")
    return [e.ProductPinned(sku=command.sku, by=ctx.actor)]


def unpin(room: Room, command: c.UnpinProduct, ctx: Context) -> list[e.Event]:
    if command.sku not in room.pins:
        raise NotFound("not_found", f"{command.sku!r} is not pinned")
    return [e.ProductUnpinned(sku=command.sku, by=ctx.actor)]


def announce(room: Room, command: c.Announce, ctx: Context) -> list[e.Event]:
    text, redacted = clean_text(command.text, "text", MAX_ANNOUNCEMENT, multiline=True)
    # the room's word lists hold for announcements too: a blocked word refuses it, a masked one
    # goes out as •••
    screened = screen(text, room.word_lists)
    if screened.blocked:
        shown = ", ".join(repr(w) for w in screened.blocked)
        raise NotAllowed("blocked_word", f"this room does not allow {shown}; nothing was sent")
    text = screened.text
    return [
        e.Announced(
            announcement_id=ctx.new_id, text=text, redacted=redacted, by=ctx.actor, at=ctx.now
        )
    ]


def set_stream(room: Room, command: c.SetStream, ctx: Context) -> list[e.Event]:
    kind: StreamKind | None = None
    if command.url is not None:
        kind = "hls" if check_url(command.url).lower().endswith(".m3u8") else "embed"
        if url_may_be_card(command.url):
            # Redacting would break the URL, so it is refused (cardgate.url_may_be_card).
            raise InvalidCommand("invalid_url", _CARD_IN_URL)
    current = room.stream.url if room.stream else None
    if command.url == current:
        return []
    return [e.StreamSet(url=command.url, stream_kind=kind, by=ctx.actor)]


def set_show_ended(room: Room, command: c.SetShowEnded, ctx: Context) -> list[e.Event]:
    """The show API's word that the show ended (and whether its replay is set); told again
    with nothing new, it changes nothing."""
    if (room.show_ended_at, room.replay_ready) == (command.ended_at, command.replay):
        return []
    # a drop still running ends with the show: nobody can claim from a show that is over
    ended = closed_by_show_end(room, ctx.now)
    return [*ended, e.ShowEnded(ended_at=command.ended_at, replay=command.replay)]


def set_follow_mode(room: Room, command: c.SetFollowMode, ctx: Context) -> list[e.Event]:
    if command.mode not in ("follow_host", "free"):
        raise InvalidCommand("bad_command", "mode must be 'follow_host' or 'free'")
    if command.mode == room.follow_mode:
        return []
    return [e.FollowModeSet(mode=command.mode, by=ctx.actor)]


def bring_everyone_here(room: Room, command: c.BringEveryoneHere, ctx: Context) -> list[e.Event]:
    product(ctx, command.sku)
    return [e.EveryoneBrought(sku=command.sku, by=ctx.actor, at=ctx.now)]
