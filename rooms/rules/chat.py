"""Chat and moderation rules: post, delete, mute, unmute, slow mode.

Staff (host, cohost, moderator, associate) are exempt from slow mode. A mute outlives leaving and
rejoining; ``until`` (ms) lets it lapse on its own, ``None`` keeps it until ``UnmuteMember``.
Only messages still in the bounded history can be deleted; the log keeps everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rooms import commands as c
from rooms import events as e
from rooms.errors import InvalidCommand, NotAllowed, NotFound
from rooms.model import RANK, STAFF, Context, Role
from rooms.rules.common import clean_text, find_member, outranks

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = [
    "MAX_MESSAGE",
    "MAX_SLOW_MODE",
    "check_not_muted",
    "delete_message",
    "mute",
    "post_message",
    "set_slow_mode",
    "unmute",
]

MAX_MESSAGE = 500
MAX_SLOW_MODE = 300


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
    text, redacted = clean_text(command.text, "text", MAX_MESSAGE, multiline=True)
    member = room.members.get(ctx.actor)
    return [
        e.MessagePosted(
            message_id=ctx.new_id,
            author=ctx.actor,
            text=text,
            redacted=redacted,
            at=ctx.now,
            author_name=member.display_name if member is not None else "",
            author_role=member.role.value if member is not None else "",
        )
    ]


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
