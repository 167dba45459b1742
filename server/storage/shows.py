"""Scheduled live shows and their reminders: the ``shows`` and ``show_reminders`` tables.

A live room may have one **show**: when it starts (``starts_at``, ms), for how long, its title,
description, cover picture and host's name, the viewer invite its public page sends people
through, and what became of it: ``started_at`` (the host went live), ``ended_at``, and the
recording's URL for the replay. A show **cancelled** before it went live is one with an
``ended_at`` and no ``started_at`` (no other path writes that pair: ending and the replay need a
start), so cancelling needs no column of its own; scheduling it again clears ``ended_at``.
``version`` counts schedule changes and a cancellation (an .ics file's SEQUENCE).
``starting_version`` is the version whose ``show.starting`` message was written (NULL: none
yet): a change that keeps the start time carries it over, one that moves the start time does
not, so the new time is announced again.
A **reminder** is one person who asked to be told when the show starts: ``person`` is a hash
(of the lower-cased e-mail address, or of the browser's guest identity), so asking twice is
one reminder.

Every change that a merchant hears about (scheduled, a reminder, starting soon, started,
cancelled, a reminder taken back) is
written with its outbound webhook deliveries in **one** transaction: :class:`ShowStore` is given
an ``outbox`` (:func:`server.webhooks.shows.show_outbox`) that adds them on the same connection,
so a fact and its messages exist together or not at all (DESIGN §10).

Must not: decide who may change a show (``server.api.shows`` does) or format messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.db.base import metadata
from server.db.engine import begin_write
from server.storage._sql import translate_unavailable

__all__ = [
    "MAX_REMINDERS",
    "Reminder",
    "Show",
    "ShowConflict",
    "ShowMissing",
    "ShowOutbox",
    "ShowStatus",
    "ShowStore",
    "reminders",
    "shows",
]

MAX_REMINDERS = 100_000
"""Reminders one show keeps; more are refused (``show_reminders_full``)."""

ID = 64

shows = Table(
    "shows",
    metadata,
    Column("room_id", String(ID), nullable=False),
    Column("merchant_id", String(ID), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("host_name", String(200), nullable=False),
    Column("cover_url", String(2048), nullable=True),
    Column("starts_at", BigInteger, nullable=False),
    Column("duration_min", Integer, nullable=False),
    Column("invite_id", String(ID), nullable=False),
    Column("version", Integer, nullable=False),
    Column("started_at", BigInteger, nullable=True),
    Column("ended_at", BigInteger, nullable=True),
    Column("replay_url", String(2048), nullable=True),
    Column("replay_offset_ms", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("starting_version", Integer, nullable=True),
    PrimaryKeyConstraint("room_id"),
    Index("ix_shows_merchant", "merchant_id", "starts_at"),
    Index("ix_shows_starts_at", "starts_at"),
)

reminders = Table(
    "show_reminders",
    metadata,
    Column("room_id", String(ID), nullable=False),
    Column("person", String(64), nullable=False),
    Column("reminder_id", String(ID), nullable=False),
    Column("email", String(254), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("room_id", "person"),
)

ShowStatus = Literal["scheduled", "live", "ended", "cancelled"]


@dataclass(frozen=True, slots=True)
class Show:
    room_id: str
    merchant_id: str
    title: str
    description: str
    host_name: str
    cover_url: str | None
    starts_at: int
    duration_min: int
    invite_id: str
    version: int
    started_at: int | None
    ended_at: int | None
    replay_url: str | None
    replay_offset_ms: int  # where in the recording the host went live
    created_at: int
    updated_at: int
    starting_version: int | None = None  # the version show.starting was written for

    @property
    def status(self) -> ShowStatus:
        if self.ended_at is not None:
            return "ended" if self.started_at is not None else "cancelled"
        return "scheduled" if self.started_at is None else "live"

    @property
    def ends_at(self) -> int:
        return self.starts_at + self.duration_min * 60_000


@dataclass(frozen=True, slots=True)
class Reminder:
    reminder_id: str
    email: str | None
    created_at: int


ShowOutbox = Callable[[AsyncConnection, str, Show, dict[str, Any]], Awaitable[None]]
"""``outbox(conn, kind, show, extra)``: add the webhook deliveries of one show fact
(``kind``: ``scheduled``, ``reminder_requested``, ``starting``, ``started``, ``cancelled``,
``reminder_cancelled``) on ``conn``'s transaction."""


async def _no_outbox(conn: AsyncConnection, kind: str, show: Show, extra: dict[str, Any]) -> None:
    return None


def _show(row: Any) -> Show:
    m = row._mapping
    return Show(
        room_id=m["room_id"],
        merchant_id=m["merchant_id"],
        title=m["title"],
        description=m["description"],
        host_name=m["host_name"],
        cover_url=m["cover_url"],
        starts_at=int(m["starts_at"]),
        duration_min=int(m["duration_min"]),
        invite_id=m["invite_id"],
        version=int(m["version"]),
        started_at=None if m["started_at"] is None else int(m["started_at"]),
        ended_at=None if m["ended_at"] is None else int(m["ended_at"]),
        replay_url=m["replay_url"],
        replay_offset_ms=int(m["replay_offset_ms"]),
        created_at=int(m["created_at"]),
        updated_at=int(m["updated_at"]),
        starting_version=None if m["starting_version"] is None else int(m["starting_version"]),
    )


def _values(show: Show) -> dict[str, Any]:
    return {
        "room_id": show.room_id,
        "merchant_id": show.merchant_id,
        "title": show.title,
        "description": show.description,
        "host_name": show.host_name,
        "cover_url": show.cover_url,
        "starts_at": show.starts_at,
        "duration_min": show.duration_min,
        "invite_id": show.invite_id,
        "version": show.version,
        "started_at": show.started_at,
        "ended_at": show.ended_at,
        "replay_url": show.replay_url,
        "replay_offset_ms": show.replay_offset_ms,
        "created_at": show.created_at,
        "updated_at": show.updated_at,
        "starting_version": show.starting_version,
    }


class ShowStore:
    """Shows and reminders on an :class:`AsyncEngine` (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine, *, outbox: ShowOutbox = _no_outbox) -> None:
        self._engine = engine
        self._outbox = outbox

    # ---- reads -----------------------------------------------------------------------------
    async def get(self, room_id: str) -> Show | None:
        with translate_unavailable():
            async with self._engine.connect() as conn:
                row = (await conn.execute(select(shows).where(shows.c.room_id == room_id))).first()
        return None if row is None else _show(row)

    async def reminder_count(self, room_id: str) -> int:
        with translate_unavailable():
            async with self._engine.connect() as conn:
                found = await conn.scalar(
                    select(func.count()).where(reminders.c.room_id == room_id)
                )
        return int(found or 0)

    async def of_merchant(
        self, merchant_id: str, statuses: frozenset[ShowStatus], limit: int
    ) -> list[tuple[Show, int]]:
        """The merchant's shows in ``statuses``, soonest first, with their reminder counts."""
        counts = (
            select(reminders.c.room_id, func.count().label("n"))
            .group_by(reminders.c.room_id)
            .subquery()
        )
        query = (
            select(shows, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.room_id == shows.c.room_id)
            .where(shows.c.merchant_id == merchant_id)
        )
        wanted: list[ColumnElement[bool]] = []
        if "scheduled" in statuses:
            wanted.append(shows.c.started_at.is_(None) & shows.c.ended_at.is_(None))
        if "live" in statuses:
            wanted.append(shows.c.started_at.is_not(None) & shows.c.ended_at.is_(None))
        if "ended" in statuses:
            wanted.append(shows.c.started_at.is_not(None) & shows.c.ended_at.is_not(None))
        if "cancelled" in statuses:
            wanted.append(shows.c.started_at.is_(None) & shows.c.ended_at.is_not(None))
        if len(wanted) < 4:
            query = query.where(or_(*wanted))
        query = query.order_by(shows.c.starts_at, shows.c.room_id).limit(limit)
        with translate_unavailable():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [(_show(row), int(row[-1])) for row in rows]

    # ---- writes ----------------------------------------------------------------------------
    async def schedule(self, show: Show) -> Show:
        """Create the room's show, or change its schedule (``version`` + 1); ``show.invite_id``
        and ``created_at`` are kept from an existing show. Raises :class:`ShowConflict`
        (``show_started``) once the show went live."""
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                row = (
                    await conn.execute(select(shows).where(shows.c.room_id == show.room_id))
                ).first()
                if row is None:
                    show = replace(show, version=1, starting_version=None)
                    try:
                        await conn.execute(insert(shows).values(**_values(show)))
                    except IntegrityError as exc:  # a racing first schedule: try again
                        raise ShowConflict("show_changed", "the show changed; try again") from exc
                else:
                    before = _show(row)
                    if before.started_at is not None:
                        raise ShowConflict(
                            "show_started", "the show already went live; it cannot be rescheduled"
                        )
                    # show.starting announced this start time: it still holds for the new version
                    announced = (
                        before.starting_version == before.version
                        and before.starts_at == show.starts_at
                    )
                    show = replace(
                        show,
                        invite_id=before.invite_id,
                        created_at=before.created_at,
                        version=before.version + 1,
                        starting_version=before.version + 1 if announced else None,
                    )
                    await conn.execute(
                        update(shows).where(shows.c.room_id == show.room_id).values(**_values(show))
                    )
                await self._outbox(conn, "scheduled", show, {})
        return show

    async def starting_due(
        self, now: int, lead_ms: int, *, longest_ms: int, limit: int
    ) -> list[Show]:
        """Shows whose ``show.starting`` is due at ``now``: not live or ended, not announced for
        their version, starting within ``lead_ms`` and not over (the start passed less than
        the show's duration ago; ``longest_ms`` is the longest duration, so the index on
        ``starts_at`` bounds the scan). Soonest first."""
        query = (
            select(shows)
            .where(
                shows.c.starts_at <= now + lead_ms,
                shows.c.starts_at >= now - longest_ms,
                shows.c.starts_at + shows.c.duration_min * 60_000 >= now,
                shows.c.started_at.is_(None),
                shows.c.ended_at.is_(None),
                or_(
                    shows.c.starting_version.is_(None),
                    shows.c.starting_version != shows.c.version,
                ),
            )
            .order_by(shows.c.starts_at, shows.c.room_id)
            .limit(limit)
        )
        with translate_unavailable():
            async with self._engine.connect() as conn:
                return [_show(row) for row in (await conn.execute(query)).all()]

    async def announce_starting(self, show: Show, now: int) -> bool:
        """Mark ``show`` (as :meth:`starting_due` read it) announced and write its
        ``show.starting`` deliveries, in one transaction; ``False`` when it changed meanwhile
        (rescheduled, went live, ended) or another process announced it first: the conditional
        ``UPDATE`` lets one writer through, so each version is announced once."""
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                result = await conn.execute(
                    update(shows)
                    .where(
                        shows.c.room_id == show.room_id,
                        shows.c.version == show.version,
                        shows.c.starts_at == show.starts_at,
                        shows.c.started_at.is_(None),
                        shows.c.ended_at.is_(None),
                        or_(
                            shows.c.starting_version.is_(None),
                            shows.c.starting_version != shows.c.version,
                        ),
                    )
                    .values(starting_version=show.version)
                )
                if int(result.rowcount) != 1:
                    return False
                announced = replace(show, starting_version=show.version)
                await self._outbox(conn, "starting", announced, {"at": now})
        return True

    async def start(self, room_id: str, now: int) -> tuple[Show, bool]:
        """Record that the show went live at ``now``; ``(show, changed)`` (a second start
        changes nothing)."""
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                show = await self._current(conn, room_id)
                if show.started_at is not None:
                    return show, False
                if show.ended_at is not None:
                    raise ShowConflict(
                        "show_cancelled", "the show was cancelled; schedule it again first"
                    )
                show = replace(show, started_at=now, updated_at=now)
                await conn.execute(
                    update(shows)
                    .where(shows.c.room_id == room_id, shows.c.started_at.is_(None))
                    .values(started_at=now, updated_at=now)
                )
                await self._outbox(conn, "started", show, {})
        return show, True

    async def end(self, room_id: str, now: int) -> Show:
        """Record that the show ended at ``now`` (once); it must have started."""
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                show = await self._current(conn, room_id)
                if show.started_at is None and show.ended_at is not None:
                    raise ShowConflict("show_cancelled", "the show was cancelled")
                if show.started_at is None:
                    raise ShowConflict("show_not_started", "the show has not gone live yet")
                if show.ended_at is not None:
                    return show
                show = replace(show, ended_at=now, updated_at=now)
                await conn.execute(
                    update(shows)
                    .where(shows.c.room_id == room_id)
                    .values(ended_at=now, updated_at=now)
                )
        return show

    async def set_replay(self, room_id: str, url: str | None, offset_ms: int, now: int) -> Show:
        """Set (or with ``None`` remove) the recording; the show must have started, and ends
        now if it had not ended yet."""
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                show = await self._current(conn, room_id)
                if show.started_at is None:
                    raise ShowConflict("show_not_started", "the show has not gone live yet")
                ended = show.ended_at if show.ended_at is not None else now
                show = replace(
                    show, replay_url=url, replay_offset_ms=offset_ms, ended_at=ended,
                    updated_at=now,
                )  # fmt: skip
                await conn.execute(
                    update(shows).where(shows.c.room_id == room_id).values(
                        replay_url=url, replay_offset_ms=offset_ms, ended_at=ended,
                        updated_at=now,
                    )
                )  # fmt: skip
        return show

    async def cancel(self, room_id: str, now: int) -> tuple[Show, bool]:
        """Cancel a show that has not gone live: ``ended_at`` without ``started_at``, a new
        ``version`` (an .ics file's SEQUENCE: calendars replace the event); ``(show, changed)``
        (cancelling twice changes nothing). The reminders are kept: the merchant tells those
        people, and a show scheduled again reminds them again. Raises :class:`ShowConflict`
        (``show_started``) once the show went live."""
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                show = await self._current(conn, room_id)
                if show.started_at is not None:
                    raise ShowConflict("show_started", "the show already went live: end it instead")
                if show.ended_at is not None:
                    return show, False
                show = replace(show, ended_at=now, updated_at=now, version=show.version + 1)
                result = await conn.execute(
                    update(shows)
                    .where(
                        shows.c.room_id == room_id,
                        shows.c.started_at.is_(None),
                        shows.c.ended_at.is_(None),
                    )
                    .values(ended_at=now, updated_at=now, version=show.version)
                )
                if int(result.rowcount) != 1:
                    raise ShowConflict("show_changed", "the show changed meanwhile; try again")
                await self._outbox(conn, "cancelled", show, {})
        return show, True

    async def forget_reminder(self, room_id: str, reminder_id: str) -> bool:
        """Remove one reminder (the person changed their mind; its e-mail address goes with
        it); ``False`` when there is none by that id. Its ``show.reminder_cancelled`` message is
        written in the same transaction."""
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                show = await self._current(conn, room_id)
                result = await conn.execute(
                    delete(reminders).where(
                        reminders.c.room_id == room_id, reminders.c.reminder_id == reminder_id
                    )
                )
                if int(result.rowcount) != 1:
                    return False
                await self._outbox(conn, "reminder_cancelled", show, {"reminder_id": reminder_id})
        return True

    async def remind(
        self, room_id: str, person: str, email: str | None, reminder_id: str, now: int
    ) -> tuple[Reminder, bool]:
        """Record that ``person`` wants to be reminded; ``(reminder, new)``. Asking again keeps
        the first reminder (an e-mail address given later is added to it)."""
        with translate_unavailable():
            async with begin_write(self._engine) as conn:
                show = await self._current(conn, room_id)
                if show.started_at is not None:
                    raise ShowConflict("show_started", "the show is already live: watch it now")
                if show.ended_at is not None:
                    raise ShowConflict("show_cancelled", "the show was cancelled")
                row = (
                    await conn.execute(
                        select(reminders).where(
                            reminders.c.room_id == room_id, reminders.c.person == person
                        )
                    )
                ).first()
                if row is not None:
                    m = row._mapping
                    return Reminder(m["reminder_id"], m["email"], int(m["created_at"])), False
                count = await conn.scalar(
                    select(func.count()).where(reminders.c.room_id == room_id)
                )
                if int(count or 0) >= MAX_REMINDERS:
                    raise ShowConflict(
                        "show_reminders_full",
                        f"this show already keeps {MAX_REMINDERS} reminders",
                    )
                try:
                    await conn.execute(
                        insert(reminders).values(
                            room_id=room_id, person=person, reminder_id=reminder_id,
                            email=email, created_at=now,
                        )
                    )  # fmt: skip
                except IntegrityError as exc:
                    raise ShowConflict("show_changed", "asked twice at once; try again") from exc
                reminder = Reminder(reminder_id, email, now)
                await self._outbox(
                    conn, "reminder_requested", show,
                    {"reminder_id": reminder_id, "email": email, "requested_at": now},
                )  # fmt: skip
        return reminder, True

    @staticmethod
    async def _current(conn: AsyncConnection, room_id: str) -> Show:
        row = (await conn.execute(select(shows).where(shows.c.room_id == room_id))).first()
        if row is None:
            raise ShowMissing(room_id)
        return _show(row)


class ShowMissing(LookupError):
    """The room has no show."""


class ShowConflict(Exception):
    """The show's state refuses the change; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
