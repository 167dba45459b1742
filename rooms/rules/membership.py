"""Membership rules: open, join, leave, kick, ban, unban, promote."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from rooms import commands as c
from rooms import events as e
from rooms.errors import InvalidCommand, LimitExceeded, NotAllowed, NotFound
from rooms.model import SYSTEM_ACTOR, Context, Phase, Role, RoomKind, RoomLimits
from rooms.permissions import JOINABLE_ROLES
from rooms.rules.common import MAX_ID, clean_text, find_member, outranks

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = ["ban", "join", "kick", "leave", "leaving_lines", "open_room", "promote", "unban"]

MAX_NAME = 40
MAX_TITLE = 80


def _check_id(member_id: str) -> None:
    if not 1 <= len(member_id) <= MAX_ID or member_id == SYSTEM_ACTOR:
        raise InvalidCommand("bad_command", "member_id must be 1-64 characters and not 'system'")


def open_room(
    room_id: str,
    kind: RoomKind,
    title: str,
    host_id: str,
    host_name: str,
    now: int,
    limits: RoomLimits | None = None,
) -> list[e.Event]:
    """Events that open a room: ``RoomOpened`` then the host's ``MemberJoined``."""
    _check_id(host_id)
    if not 1 <= len(room_id) <= MAX_ID:
        raise InvalidCommand("bad_command", "room_id must be 1-64 characters")
    limits = limits or RoomLimits.for_kind(kind)
    if min(dataclasses.astuple(limits)) < 1:
        raise InvalidCommand("bad_command", "every room limit must be at least 1")
    clean_title, title_redacted = clean_text(title, "title", MAX_TITLE)
    name, name_redacted = clean_text(host_name, "display_name", MAX_NAME)
    return [
        e.RoomOpened(
            room_id=room_id,
            kind=kind,
            title=clean_title,
            host_id=host_id,
            limits=limits,
            redacted=title_redacted,
            at=now,
        ),
        e.MemberJoined(
            member_id=host_id, display_name=name, role=Role.HOST, redacted=name_redacted, at=now
        ),
    ]


def join(room: Room, command: c.Join, ctx: Context) -> list[e.Event]:
    _check_id(ctx.actor)
    if ctx.actor in room.banned:
        raise NotAllowed("banned", "you are banned from this room")
    if ctx.actor in room.members:
        return []  # a reconnect: nothing to record
    if ctx.actor in room.kicked:
        raise NotAllowed("kicked", "you were removed from this room; ask for a new invite")
    if command.role not in JOINABLE_ROLES[room.kind]:
        raise InvalidCommand("bad_role", f"cannot join a {room.kind.value} room as {command.role}")
    # A token's role was true when it was minted; a demotion since then wins (no re-escalation
    # by leaving and coming back with the old token).
    role = room.former_roles.get(ctx.actor, command.role)
    if len(room.members) >= room.limits.max_members:
        raise LimitExceeded("room_full", f"the room is full ({room.limits.max_members} members)")
    name, redacted = clean_text(command.display_name, "display_name", MAX_NAME)
    return [
        e.MemberJoined(
            member_id=ctx.actor, display_name=name, role=role, redacted=redacted, at=ctx.now
        )
    ]


def leave(room: Room, command: c.Leave, ctx: Context) -> list[e.Event]:
    """A member leaves; what happens to their cart lines is part of the rule (see
    :func:`leaving_lines`). Someone who pays for part of a cart being checked out stays until
    the order is settled or the host unlocks the cart (``pays_in_checkout``)."""
    if ctx.actor == room.host_id:
        raise NotAllowed("host_cannot_leave", "the host cannot leave; close the room instead")
    return [*leaving_lines(room, ctx.actor), e.MemberLeft(member_id=ctx.actor, at=ctx.now)]


def leaving_lines(room: Room, member_id: str) -> list[e.Event]:
    """What a member's leaving does to the cart, so nobody is billed for someone who left.

    - Lines they added and pay for are removed (nobody else asked for them).
    - Lines they pay for that someone else added go back to that person to pay (the host's,
      when the adder left too).
    - Lines they added that someone else pays for stay: that person wanted to pay for them.
    - Lines in their own open order (a live viewer's) stay until it is paid or void.

    While the cart is locked or being paid nothing can change: a member who pays for any of it
    is refused with ``pays_in_checkout``; the others leave with the cart untouched.
    """
    paying = [line for line in room.lines.values() if line.payer == member_id]
    if room.phase is not Phase.OPEN:
        if paying or member_id in room.shares:
            raise NotAllowed(
                "pays_in_checkout",
                "you pay for part of the cart being checked out: leave once it is paid, "
                "or ask the host to unlock the cart",
            )
        return []
    events: list[e.Event] = []
    for line in paying:
        if line.line_id in room.frozen or line.line_id in room.drop_claims:
            continue  # in their own open order (or held by a drop claim): it may still be paid
        if line.added_by == member_id:
            events.append(e.LineRemoved(line_id=line.line_id, by=member_id))
        else:
            back_to = line.added_by if line.added_by in room.members else room.host_id
            events.append(e.PayerAssigned(line_id=line.line_id, payer=back_to, by=member_id))
    return events


def kick(room: Room, command: c.Kick, ctx: Context) -> list[e.Event]:
    outranks(room, ctx.actor, find_member(room, command.member_id))
    return [e.MemberKicked(member_id=command.member_id, by=ctx.actor, at=ctx.now)]


def ban(room: Room, command: c.Ban, ctx: Context) -> list[e.Event]:
    """Ban a member; their messages leave the chat with them, for everyone (as Whatnot and
    Twitch do): a banned spammer's lines must not stay on the audience's screens, nor offer the
    moderators Delete/Mute/Ban for someone already gone. Each is an ordinary ``MessageDeleted``,
    so every client (and a live room's viewers, who never see a viewer's ban) drops it."""
    outranks(room, ctx.actor, find_member(room, command.member_id))
    events: list[e.Event] = [e.MemberBanned(member_id=command.member_id, by=ctx.actor, at=ctx.now)]
    events += [
        e.MessageDeleted(message_id=m.message_id, by=ctx.actor)
        for m in room.messages
        if m.author == command.member_id
    ]
    return events


def unban(room: Room, command: c.Unban, ctx: Context) -> list[e.Event]:
    if command.member_id not in room.banned:
        raise NotFound("not_found", f"{command.member_id!r} is not banned")
    return [e.MemberUnbanned(member_id=command.member_id, by=ctx.actor)]


def promote(room: Room, command: c.PromoteMember, ctx: Context) -> list[e.Event]:
    target = find_member(room, command.member_id)
    outranks(room, ctx.actor, target)
    if command.role not in JOINABLE_ROLES[room.kind]:
        raise InvalidCommand("bad_role", f"no {command.role} role in a {room.kind.value} room")
    if command.role == target.role:
        return []
    return [e.MemberPromoted(member_id=target.member_id, role=command.role, by=ctx.actor)]
