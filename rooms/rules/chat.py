"""Chat and moderation rules: post, delete, mute, unmute, slow mode, word lists.

Staff (host, cohost, moderator, associate) are exempt from slow mode. A mute outlives leaving and
rejoining; ``until`` (ms) lets it lapse on its own, ``None`` keeps it until ``UnmuteMember``.
Only messages still in the bounded history can be deleted; the log keeps everything.

Word lists (:mod:`rooms.wordlist`): a listed ``mask`` word goes out as ``•••``; a ``block`` word
refuses the message. From the audience, a blocked message is recorded (``MessageBlocked``, for
its author and staff: it names the words, not the text) and is a *strike*; the
:data:`STRIKES_TO_MUTE`-th strike within :data:`STRIKE_WINDOW_MS` also mutes the author for
:data:`AUTO_MUTE_MS` (``MemberMuted`` by the system, reason ``blocked_words``). The window is
measured on event times, so replaying the log decides the same. Staff are not struck: their
message is refused with ``blocked_word`` and nothing is recorded.

Product cards: ``PostMessage.product`` shares a catalogue product (``unknown_product``,
``invalid_variant``); the event carries a snapshot of its title, price and image
(:class:`rooms.state.SharedProduct`). The text may then be empty; any text still passes the card
gate and the word lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rooms import commands as c
from rooms import events as e
from rooms.errors import InvalidCommand, NotAllowed, NotFound
from rooms.model import RANK, STAFF, SYSTEM_ACTOR, Context, Role
from rooms.rules.common import clean_text, find_member, outranks, product
from rooms.state import ProductRef, SharedProduct
from rooms.wordlist import check_word_list, screen

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = [
    "AUTO_MUTE_MS",
    "AUTO_MUTE_REASON",
    "MAX_MESSAGE",
    "MAX_SLOW_MODE",
    "STRIKES_TO_MUTE",
    "STRIKE_WINDOW_MS",
    "check_not_muted",
    "delete_message",
    "mute",
    "post_message",
    "recent_strikes",
    "set_merchant_word_list",
    "set_room_word_list",
    "set_slow_mode",
    "unmute",
]

MAX_MESSAGE = 500
MAX_SLOW_MODE = 300
STRIKES_TO_MUTE = 3
STRIKE_WINDOW_MS = 10 * 60_000
AUTO_MUTE_MS = 5 * 60_000
AUTO_MUTE_REASON = "blocked_words"


def recent_strikes(strikes: tuple[int, ...], now: int) -> tuple[int, ...]:
    """The strike times still inside the window that ends at ``now``."""
    return tuple(at for at in strikes if at > now - STRIKE_WINDOW_MS)


def check_not_muted(room: Room, ctx: Context) -> None:
    """Refuse with ``muted`` while the actor's mute lasts."""
    if ctx.actor in room.muted:
        until = room.muted[ctx.actor]
        if until is None:
            raise NotAllowed("muted", "you are muted")
        if until > ctx.now:
            raise NotAllowed("muted", f"you are muted for {-(-(until - ctx.now) // 1000)} s")


def post_message(room: Room, command: c.PostMessage, ctx: Context) -> list[e.Event]:
    check_not_muted(room, ctx)
    if room.slow_mode and room.members[ctx.actor].role not in STAFF:
        last = room.last_post.get(ctx.actor)
        if last is not None and ctx.now < last + room.slow_mode * 1000:
            wait = -(-(last + room.slow_mode * 1000 - ctx.now) // 1000)
            raise NotAllowed("slow_mode", f"slow mode: wait {wait} s")
    shared = None if command.product is None else _shared(ctx, command.product)
    text, redacted = "", False
    if shared is None or command.text.strip():
        text, redacted = clean_text(command.text, "text", MAX_MESSAGE, multiline=True)
    member = room.members.get(ctx.actor)
    screened = screen(text, room.word_lists)
    if screened.blocked:
        return _blocked(room, ctx, screened.blocked)
    text = screened.text
    return [
        e.MessagePosted(
            message_id=ctx.new_id,
            author=ctx.actor,
            text=text,
            redacted=redacted,
            at=ctx.now,
            author_name=member.display_name if member is not None else "",
            author_role=member.role.value if member is not None else "",
            product=shared,
        )
    ]


def _shared(ctx: Context, ref: ProductRef) -> SharedProduct:
    """The card of a shared product: ``unknown_product`` / ``invalid_variant`` like AddLine.

    Unlike AddLine, no variant is needed: a card may share the product as a whole (the reader
    picks one on Add). A variant given must be one of the product's.
    """
    facts = product(ctx, ref.sku)
    if ref.variant is not None and ref.variant not in facts.variants:
        raise InvalidCommand("invalid_variant", f"{ref.variant!r} is not a variant of {ref.sku}")
    return SharedProduct(
        sku=facts.sku,
        variant=ref.variant,
        title=facts.title,
        price_minor=facts.unit_price(ref.variant),  # the variant's own price when it has one
        currency=facts.currency,
        image=facts.image,
    )


def delete_message(room: Room, command: c.DeleteMessage, ctx: Context) -> list[e.Event]:
    message = next((m for m in room.messages if m.message_id == command.message_id), None)
    if message is None:
        raise NotFound("not_found", f"no message {command.message_id!r} in the history")
    if message.author != ctx.actor and RANK[room.members[ctx.actor].role] < RANK[Role.MODERATOR]:
        raise NotAllowed("forbidden", "only the author or a moderator may delete a message")
    return [e.MessageDeleted(message_id=message.message_id, by=ctx.actor)]


def mute(room: Room, command: c.MuteMember, ctx: Context) -> list[e.Event]:
    outranks(room, ctx.actor, find_member(room, command.member_id))
    if command.until is not None and command.until <= ctx.now:
        raise InvalidCommand("bad_command", "until must be in the future")
    return [e.MemberMuted(member_id=command.member_id, until=command.until, by=ctx.actor)]


def unmute(room: Room, command: c.UnmuteMember, ctx: Context) -> list[e.Event]:
    if command.member_id not in room.muted:
        raise NotFound("not_found", f"{command.member_id!r} is not muted")
    return [e.MemberUnmuted(member_id=command.member_id, by=ctx.actor)]


def set_slow_mode(room: Room, command: c.SetSlowMode, ctx: Context) -> list[e.Event]:
    if not 0 <= command.seconds <= MAX_SLOW_MODE:
        raise InvalidCommand("bad_command", f"seconds must be 0-{MAX_SLOW_MODE}")
    if command.seconds == room.slow_mode:
        return []
    return [e.SlowModeSet(seconds=command.seconds, by=ctx.actor)]


def _blocked(room: Room, ctx: Context, words: tuple[str, ...]) -> list[e.Event]:
    """A message with a ``block`` word: refused for staff, a strike for the audience."""
    member = room.members[ctx.actor]
    shown = ", ".join(repr(w) for w in words)
    if member.role in STAFF:
        raise NotAllowed("blocked_word", f"this room does not allow {shown}; nothing was sent")
    strikes = len(recent_strikes(room.strikes.get(ctx.actor, ()), ctx.now)) + 1
    events: list[e.Event] = [
        e.MessageBlocked(
            author=ctx.actor,
            author_name=member.display_name,
            words=words,
            strikes=strikes,
            at=ctx.now,
        )
    ]
    if strikes >= STRIKES_TO_MUTE:
        events.append(
            e.MemberMuted(
                member_id=ctx.actor,
                until=ctx.now + AUTO_MUTE_MS,
                by=SYSTEM_ACTOR,
                reason=AUTO_MUTE_REASON,
            )
        )
    return events


def set_room_word_list(room: Room, command: c.SetRoomWordList, ctx: Context) -> list[e.Event]:
    entries = check_word_list(command.entries)
    if entries == room.word_lists.room:
        return []
    return [e.WordListSet(scope="room", entries=entries, by=ctx.actor)]


def set_merchant_word_list(
    room: Room, command: c.SetMerchantWordList, ctx: Context
) -> list[e.Event]:
    entries = check_word_list(command.entries)
    if entries == room.word_lists.merchant:
        return []
    return [e.WordListSet(scope="merchant", entries=entries, by=ctx.actor)]
