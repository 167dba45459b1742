"""Votes on products and polls whose options are products (with vote-to-cart).

A vote is one per member per product (-1, +1; 0 withdraws); re-sending the same value records
nothing. A poll has 2-6 distinct known products; each member holds one ballot and may change it.
The opener or a moderator+ closes it; the winner is the option with the most ballots, ties going
to the earliest option; nobody voted -> no winner. With ``add_winner_to_cart`` the winner is added
(first variant, quantity 1, for the closer) when the cart rules allow it; otherwise the poll just
closes.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from rooms import commands as c
from rooms import events as e
from rooms.errors import InvalidCommand, LimitExceeded, NotAllowed, NotFound, PhaseError, RoomError
from rooms.model import RANK, Context, Role
from rooms.rules.cart import line_events
from rooms.rules.common import clean_text, product
from rooms.state import Poll

if TYPE_CHECKING:
    from rooms.room import Room

__all__ = ["MAX_OPTIONS", "MAX_QUESTION", "cast_poll_vote", "close_poll", "open_poll", "vote"]

MAX_QUESTION = 200
MIN_OPTIONS = 2
MAX_OPTIONS = 6


def vote(room: Room, command: c.Vote, ctx: Context) -> list[e.Event]:
    if command.value not in (-1, 0, 1):
        raise InvalidCommand("bad_command", "value must be -1, 0 or 1")
    current = room.votes.get(command.sku, {}).get(ctx.actor, 0)
    if command.value == current:
        return []
    if command.value != 0:
        product(ctx, command.sku)
    return [e.VoteCast(sku=command.sku, member_id=ctx.actor, value=command.value)]


def open_poll(room: Room, command: c.OpenPoll, ctx: Context) -> list[e.Event]:
    question, redacted = clean_text(command.question, "question", MAX_QUESTION)
    options = command.skus
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS or len(set(options)) != len(options):
        raise InvalidCommand(
            "invalid_option", f"a poll needs {MIN_OPTIONS}-{MAX_OPTIONS} distinct products"
        )
    for sku in options:
        product(ctx, sku)
    if sum(1 for poll in room.polls.values() if not poll.closed) >= room.limits.max_open_polls:
        raise LimitExceeded("too_many_polls", f"at most {room.limits.max_open_polls} open polls")
    return [
        e.PollOpened(
            poll_id=ctx.new_id,
            question=question,
            options=tuple(options),
            opened_by=ctx.actor,
            redacted=redacted,
            at=ctx.now,
        )
    ]


def _open_poll(room: Room, poll_id: str) -> Poll:
    poll = room.polls.get(poll_id)
    if poll is None:
        raise NotFound("not_found", f"no poll {poll_id!r}")
    if poll.closed:
        raise PhaseError("poll_closed", "this poll is closed")
    return poll


def cast_poll_vote(room: Room, command: c.CastPollVote, ctx: Context) -> list[e.Event]:
    poll = _open_poll(room, command.poll_id)
    if command.sku not in poll.options:
        raise InvalidCommand("invalid_option", f"{command.sku!r} is not an option of this poll")
    if room.ballots[poll.poll_id].get(ctx.actor) == command.sku:
        return []
    return [e.PollVoteCast(poll_id=poll.poll_id, member_id=ctx.actor, sku=command.sku)]


def close_poll(room: Room, command: c.ClosePoll, ctx: Context) -> list[e.Event]:
    poll = _open_poll(room, command.poll_id)
    if poll.opened_by != ctx.actor and RANK[room.members[ctx.actor].role] < RANK[Role.MODERATOR]:
        raise NotAllowed("forbidden", "only the poll's opener or a moderator may close it")
    ballots = list(room.ballots[poll.poll_id].values())
    counts = tuple(ballots.count(option) for option in poll.options)
    best = max(counts)
    winner = poll.options[counts.index(best)] if best > 0 else None
    events: list[e.Event] = [
        e.PollClosed(poll_id=poll.poll_id, winner=winner, counts=counts, by=ctx.actor, at=ctx.now)
    ]
    if command.add_winner_to_cart and winner is not None:
        # the cart is locked or full, or the product is gone: the poll still closes
        with contextlib.suppress(RoomError):
            facts = product(ctx, winner)
            variant = command.variant if facts.variants else None
            if not facts.variants or variant in facts.variants:
                events += line_events(room, ctx, winner, variant, 1, "")
    return events
