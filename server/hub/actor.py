"""A room actor: the one task that owns a loaded room's state in this process.

The actor takes its mailbox's work a turn at a time (``server/hub/mailbox.py``) and hands each
item to the part it concerns: commands to the pipeline it is built on (decide → commit → apply
→ ack, ``server/hub/pipeline.py``), sockets to its roster (welcome, resume, presence:
``server/hub/roster.py``), other processes' messages (``server/hub/peers.py``) to the log's
order — a gap is filled from the log, the log and not the broker is the truth.

What was committed goes to its audience (``rooms/audience.py``, DESIGN.md §11): the actor notes
each event's audience as it applies it, and ``server/hub/fanout.py`` encodes once per audience
class. A live room's frames go out on its pacer's ticks (``server/hub/pacing.py``); while a busy
room's tick is pending, its commands are held and decided when it fires.

The actor receives the few services it uses (``server/hub/services.py``), not the hub. It must
not: await a client (sessions have outboxes), or keep state the log cannot rebuild.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, assert_never

from rooms import EVERYONE, Context, Phase, Role, RoomError, Signal
from rooms.commands import Join, LockAtDeadline
from server.hub.fanout import AudienceBatch, Item, visible
from server.hub.mailbox import Mailbox
from server.hub.pacing import LivePacer
from server.hub.peers import (
    EventsCommitted,
    HeadAnnounced,
    PresenceChanged,
    PresenceQuery,
    SignalRelayed,
)
from server.hub.pipeline import CommandPipeline
from server.hub.roster import Roster, event_message
from server.hub.services import RoomServices
from server.hub.work import (
    Attach,
    CatchUp,
    Detach,
    Inspect,
    PeersChanged,
    Relay,
    Remote,
    Submit,
    SystemSubmit,
    Tick,
    Unload,
    Work,
)
from server.ids import new_id, now_ms
from server.protocol import frames
from server.storage import StorageError, StorageUnavailable, StoredEvent
from server.transport.session import CLOSE_CODES, Session
from server.waiting import stop_task

__all__ = ["RoomActor", "event_message", "signal_to_wire"]

log = logging.getLogger("coshop.room")

_BIG_ROOM = 50  # above this many sessions, rosters become counts


class RoomActor(CommandPipeline):
    def __init__(self, services: RoomServices, room_id: str, merchant_id: str) -> None:
        super().__init__()
        self.services = services
        self.room_id = room_id
        self.merchant_id = merchant_id
        self.mailbox = Mailbox()
        self.queue = self.mailbox.queue
        self.roster = Roster(room_id, merchant_id, services.metrics)
        self.sessions = self.roster.sessions  # session id -> session (the roster's)
        self.pacer = LivePacer(
            services.live_tick_ms,
            services.live_busy_tick_ms,
            self._on_timer,
            on_cursor=self._move_cursors,
            audience=lambda: len(self.roster.sessions),
            us_per_viewer=services.live_window_us_per_viewer,
            clock=services.clock,
            call_later=services.call_later,
        )
        self._in_tick = False  # deciding held commands: their events join the tick's frame
        # sessions welcomed while events waited for the tick -> their welcome's seq
        self._welcomed: dict[Session, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        # the cart's deadline (rooms/rules/deadline.py): the one this timer is armed for
        self._deadline_for: int | None = None
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._deadline_fired = False  # fired for _deadline_for already: retry slower

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"room:{self.room_id}"
        )
        room = self.room
        if room is not None and room.deadline is not None and room.deadline <= now_ms():
            # loaded after its deadline (a restart, an idle room): lock before anyone is
            # welcomed — this is the first work in the queue
            self._deadline_for = room.deadline
            self._deadline_due()
        else:
            self._arm_deadline()

    async def stop(self) -> None:
        self._disarm_deadline()
        self.pacer.close()
        if self._task is not None:
            await stop_task(self._task)
        left = self.mailbox.take_all()
        self._fail_unanswered(left, "shutting_down", "the server is stopping; reconnect")

    def post(self, work: Work) -> None:
        self.mailbox.queue.put_nowait(work)

    def hold(self, item: Submit) -> bool:
        """Hold ``item`` for the pending busy tick without a turn of its own, if it may be.

        Only when nothing waits in the queue before it, so this is what the actor would do
        on its next turn anyway; False means: post it.
        """
        if self.pacer.holding and self.mailbox.queue.empty():
            self.mailbox.held.append(item)
            return True
        return False

    @property
    def idle_since(self) -> float | None:
        """Since when nobody is connected here (None: someone is)."""
        return self.roster.idle_since

    @property
    def is_big(self) -> bool:
        """Live rooms and crowded group rooms get counts and coalesced frames, not rosters."""
        return self.is_live or len(self.sessions) > _BIG_ROOM

    # ---- turns -----------------------------------------------------------------------------

    async def _run(self) -> None:
        mailbox = self.mailbox
        while not self._stopped:
            items = await mailbox.turn()
            try:
                await self._handle(items)
            except asyncio.CancelledError:
                self._fail_unanswered(items, "shutting_down", "the server is stopping")
                held = mailbox.take_held()
                self._fail_unanswered(held, "shutting_down", "the server is stopping")
                raise
            except Exception as exc:
                # Never leave a turn half done: roll the room back to what was committed
                # before it, and answer everyone who waits (DESIGN.md §4: every error is a frame
                # with a code). The next command that meets the log's real head re-syncs.
                if isinstance(exc, StorageUnavailable):
                    # an outage, not a bug: one line per failed turn, no traceback
                    log.warning(
                        "room turn failed: storage unavailable", extra={"room_id": self.room_id}
                    )
                else:
                    log.exception("room turn failed", extra={"room_id": self.room_id})
                self._restore_checkpoint()
                code = exc.code if isinstance(exc, StorageError) else "storage_unavailable"
                self._fail_unanswered(items, code, "the server could not save this; retry")

    def _fail_unanswered(self, items: Sequence[Work], code: str, message: str) -> None:
        for item in items:
            match item:
                case Submit() if not item.answered:
                    self._refuse(item, code, message)
                case SystemSubmit() if not item.done.done():
                    item.done.set_exception(StorageError(message, code=code))
                case Attach() if not item.done.done():
                    self._detach(item.session)
                    item.session.send_message(frames.err(code, message))
                    item.session.close(CLOSE_CODES["server_error"], code)
                    item.done.set_result(False)
                case Inspect() if not item.done.done():
                    item.done.set_exception(StorageError(message, code=code))
                case Tick():
                    self._fail_unanswered(item.held, code, message)
                case _:
                    pass

    async def _handle(self, items: list[Work]) -> None:
        # Consecutive commands share one commit, and so do consecutive joins; order is kept.
        commands: list[Submit | SystemSubmit] = []
        attaches: list[Attach] = []
        pacer = self.pacer
        for item in items:
            if isinstance(item, Inspect):
                # Answered where it stands, before the commands and joins gathered so far: the
                # room is at a turn's end (committed), and nobody has been answered for those
                # yet, so this is the answer it would get had it come first. Splitting the group
                # instead would cost an arrival storm one commit and one checkpoint per hello
                # (server/transport/ws.py looks into the room before a first join).
                assert self.room is not None
                if not item.done.done():
                    item.done.set_result(item.fn(self.room, self.seq))
                continue
            if commands and not isinstance(item, Submit | SystemSubmit):
                await self._run_commands(commands)
                commands = []
            if attaches and not isinstance(item, Attach):
                await self._attach_group(attaches)
                attaches = []
            match item:
                case Submit() | SystemSubmit() if pacer.holding:
                    self.mailbox.held.append(item)  # decided when the pending tick fires
                case Submit() | SystemSubmit():
                    commands.append(item)
                case Tick():
                    self._in_tick = True
                    try:
                        await self._run_commands(item.held)
                    finally:
                        self._in_tick = False
                    self._tick()
                case Attach():
                    attaches.append(item)
                case Detach():
                    self._detach(item.session)
                case Relay():
                    self._relay(item)
                case Remote():
                    await self._remote(item)
                case CatchUp():
                    await self.catch_up()
                case PeersChanged():
                    self._presence_changed()
                case Inspect():  # pragma: no cover - answered above
                    pass
                case Unload():
                    if not self.sessions and self.queue.empty() and not self.mailbox.held:
                        self._stopped = True
                        self._disarm_deadline()  # a reload arms it again, or locks at once
                        self.services.unloaded(self.room_id, self)
                case _:  # pragma: no cover - the type checker proves this unreachable
                    assert_never(item)
        if commands:
            await self._run_commands(commands)
        if attaches:
            await self._attach_group(attaches)
        if not self._stopped:
            self._arm_deadline()

    # ---- the cart's deadline ---------------------------------------------------------------

    def _arm_deadline(self) -> None:
        """Keep one timer for the open cart's deadline, as the room now has it.

        At the deadline the room is asked to lock (``LockAtDeadline`` as the system, through
        the queue like any command); the room checks the time itself, so a timer for an older
        deadline, or another process's timer for the same one, changes nothing. A try that did
        not lock (too early by a clock's jitter, storage down) is armed again, at most once a
        second.
        """
        room = self.room
        due = room.deadline if room is not None and room.phase is Phase.OPEN else None
        if due != self._deadline_for:
            self._disarm_deadline()
            self._deadline_for = due
        if due is None or self._deadline_timer is not None:
            return
        delay = max(0.0, (due - now_ms()) / 1000) + 0.005
        if self._deadline_fired:
            delay = max(delay, 1.0)
        loop = asyncio.get_running_loop()
        self._deadline_timer = loop.call_later(delay, self._deadline_due)

    def _disarm_deadline(self) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        self._deadline_timer = None
        self._deadline_for = None
        self._deadline_fired = False

    def _deadline_due(self) -> None:
        self._deadline_timer = None
        self._deadline_fired = True
        done: asyncio.Future[tuple[StoredEvent, ...]] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_deadline_answered)
        self.post(SystemSubmit(LockAtDeadline(), done))

    # ---- membership and presence ------------------------------------------------------------

    async def _attach_group(self, items: Sequence[Attach]) -> None:
        """Attach sessions in arrival order; the new members among them join in one commit.

        A newcomer is welcomed first (their own ``MemberJoined`` follows the welcome), and told
        and closed if the join cannot be committed. Two sockets of one newcomer share its join.
        """
        room = self.room
        assert room is not None
        joining: dict[str, tuple[SystemSubmit, list[Attach]]] = {}
        for item in items:
            session = item.session
            if session.closing:
                item.done.set_result(False)
                continue
            pending = joining.get(session.member_id)
            if pending is None and not room.is_member(session.member_id):
                join = Join(session.name, Role(session.role))
                ctx = Context(session.member_id, now_ms(), new_id(), await self._catalog())
                try:
                    room.decide(join, ctx)  # a dry run: decide never changes the room
                except RoomError as exc:
                    session.send_message(frames.err(exc.code, exc.message))
                    session.close(CLOSE_CODES["forbidden"], exc.code)
                    item.done.set_result(False)
                    continue
                done: asyncio.Future[tuple[StoredEvent, ...]] = (
                    asyncio.get_running_loop().create_future()
                )
                pending = (SystemSubmit(join, done, actor=session.member_id), [])
                joining[session.member_id] = pending
            self._register(item)
            if pending is None:
                item.done.set_result(True)
            else:
                pending[1].append(item)
        if joining:
            # Committed like any commands (with conflict retries); the sessions are registered,
            # so they receive their own MemberJoined after their welcome.
            await self._run_commands([submit for submit, _ in joining.values()])
            for submit, waiting in joining.values():
                self._joined(submit.done, waiting)
        self._presence_changed(tell_peers=True)

    def _register(self, item: Attach) -> None:
        session = item.session
        room = self.room
        assert room is not None
        self.roster.adopt_identity(room, session)
        if self.pacer.events:
            # What waits for the tick is older than the welcome, which covers it: the tick
            # sends this session only what comes after (see _send_batch). Ticking early here
            # instead sent every viewer a frame for every actor turn that admitted someone.
            self._welcomed[session] = self.seq
        missed = self._missed_since(item.last_seq)
        self.roster.welcome(session, room, self.seq, missed, self._audience_of)
        self.roster.add(session)
        session.on_evicted = self._evicted
        self.roster.limit_sessions_of(session)

    def _joined(self, done: asyncio.Future[tuple[StoredEvent, ...]], waiting: list[Attach]) -> None:
        error = done.exception() if done.done() else None
        for item in waiting:
            session = item.session
            if error is None and done.done():
                assert self.room is not None
                self.roster.adopt_identity(self.room, session)
                item.done.set_result(True)
                continue
            code = getattr(error, "code", "storage_unavailable")
            message = getattr(error, "message", "could not join; reconnect")
            self._detach(session)
            session.send_message(frames.err(code, message))
            session.close(
                CLOSE_CODES["forbidden" if isinstance(error, RoomError) else "server_error"], code
            )
            item.done.set_result(False)

    def _detach(self, session: Session) -> None:
        self.roster.remove(session)
        self._presence_changed(tell_peers=True)

    def _evicted(self, session: Session) -> None:
        self.services.metrics.evictions.inc()
        self.post(Detach(session))

    def presence(self) -> dict[str, dict[str, Any]]:
        return self.roster.presence()

    def _presence_changed(self, *, tell_peers: bool = False) -> None:
        """Tell this room's sessions who is here; ``tell_peers``: other processes too.

        Big rooms get counts on their ticks instead, and tell peers only their count (thousands
        of names on every join would be quadratic).
        """
        if tell_peers:
            self.services.publish(self.room_id, self.roster.announcement(roster=not self.is_big))
        if self.is_big:
            self.pacer.schedule()
            return
        members = {**self.services.remote_presence(self.room_id), **self.roster.presence()}
        self.roster.broadcast(frames.presence(sorted(members.values(), key=_by_id)))

    def _enforce_membership(self, events: Sequence[StoredEvent]) -> None:
        room = self.room
        assert room is not None
        staff_changed = self.roster.enforce_membership(room, self.seq, events, self._audience_of)
        if staff_changed and self.is_live:
            # the audience was shown them joining or leaving the stage, which its clients
            # count: the next tick sends everyone the true count
            self.pacer.recount()
            self.pacer.schedule()

    # ---- signals ---------------------------------------------------------------------------

    def _relay(self, item: Relay) -> None:
        room = self.room
        assert room is not None
        session = item.session
        if session.session_id not in self.sessions:
            return
        ctx = Context(session.member_id, now_ms(), "", self.catalog)
        try:
            signal = room.check_signal(item.signal, ctx)
        except RoomError as exc:
            session.send_message(frames.err(exc.code, exc.message))
            return
        wire = signal_to_wire(signal)
        self.services.metrics.signals.inc()
        if not self.is_live or wire.get("type") == "React":  # audiences see only reactions
            self.services.publish(
                self.room_id, SignalRelayed(session.member_id, session.name, wire)
            )
        self._deliver_signal(session.member_id, session.name, wire, skip=session)
        if wire.get("type") == "Viewing":
            sku = wire.get("sku")
            session.viewing = sku if isinstance(sku, str) else None

    def _deliver_signal(
        self, member_id: str, name: str, wire: dict[str, Any], *, skip: Session | None
    ) -> None:
        kind = wire.get("type")
        if kind == "React" and self.is_big:
            self.pacer.react(str(wire.get("emoji")))
            return
        if self.is_live and kind != "React":
            return  # audiences do not see each other's browsing or typing
        self.roster.broadcast(frames.sig(member_id, name, wire), skip=skip)

    # ---- other processes -------------------------------------------------------------------

    async def _remote(self, item: Remote) -> None:
        message = item.message
        match message:
            case EventsCommitted(events):
                await self._apply_foreign(events)
            case SignalRelayed(member_id, name, signal):
                self._deliver_signal(member_id, name, signal, skip=None)
            case PresenceChanged():
                self._presence_changed()  # the hub keeps the roster (remote_presence)
            case PresenceQuery():
                pass  # the hub answers it (it reads the roster it asks about)
            case HeadAnnounced(head):
                if head > self.seq:
                    await self.catch_up()
            case _:  # pragma: no cover - the type checker proves this unreachable
                assert_never(message)

    # ---- fan-out and pacing ----------------------------------------------------------------

    def _fan_out(self, events: Sequence[StoredEvent]) -> None:
        if not events:
            return
        items = [(event_message(e), self._audience_of(e.seq)) for e in events]
        if self.is_live:
            pacer = self.pacer
            pacer.events.extend(items)
            pacer.committed(len(items))
            if not self._in_tick and pacer.send_now():
                # a quiet room sends at once and opens a tick window as long as its audience
                # makes frames dear: what arrives within it is coalesced into the next batch
                # (server/hub/pacing.py, docs/performance.md)
                self._flush_events()
                pacer.sent()
            return
        if all(who is EVERYONE for _, who in items):
            broadcast = self.roster.broadcast
            for msg, _ in items:
                broadcast(msg)
            return
        self._send_batch(items)  # some are not for everyone: a batch that says its range

    def _send_batch(self, items: list[Item], *, live: bool = False) -> None:
        """One batch frame per audience class, covering ``from``..``to`` (rooms/audience.py).

        Sessions welcomed while these events waited for the tick get only the events after
        their welcome's seq, in a batch of their own (their welcome covered the rest).
        ``live``: a live room's tick, whose audience goes without a frame that holds none of
        their events while their cursor may lag (server/hub/pacing.py); frames then start where
        it lags.
        """
        roster = self.roster
        welcomed: dict[Session, int] = {}
        if self._welcomed:
            welcomed, self._welcomed = self._welcomed, {}
            self._send_after_welcome(items, welcomed)
        first, last = items[0][0]["seq"], items[-1][0]["seq"]
        pacer = self.pacer
        start = pacer.frame_from(first) if live else first
        if all(who is EVERYONE for _, who in items):  # the common case: one frame for all
            to = [s for s in roster.sessions.values() if s not in welcomed] if welcomed else None
            roster.broadcast(frames.batch(start, last, [msg for msg, _ in items]), to=to)
            if live:
                pacer.covered(last, audience=True)
            return
        batch = AudienceBatch(items, first=start)
        public = not live or batch.public_has_events or not pacer.skip_audience(first, last)
        # without the audience's frame, only the staff and the events' owners get one
        sessions = roster.sessions.values() if public else roster.staff_and(batch.owners)
        if welcomed:
            sessions = [s for s in sessions if s not in welcomed]
        sent = batch.send(list(sessions), roster.encoding_failed, public=public)
        self.services.metrics.frames_out.inc(sent)
        if live:
            pacer.covered(last, audience=public)

    def _move_cursors(self) -> None:
        """The audience's cursor lagged long enough: one frame without events moves it."""
        pacer = self.pacer
        if pacer.quiet_from is not None:
            self.roster.broadcast(frames.batch(pacer.quiet_from, pacer.sent_to, []))
            pacer.cursors_moved()

    def _send_after_welcome(self, items: list[Item], welcomed: dict[Session, int]) -> None:
        """The part of ``items`` after each session's welcome, in its audience's view."""
        last = items[-1][0]["seq"]
        sessions = self.roster.sessions
        for session, since in welcomed.items():
            if sessions.get(session.session_id) is not session or since >= last:
                continue  # gone, or welcomed with all of it
            rest = [item for item in items if item[0]["seq"] > since]
            evs = visible(rest, session.member_id, session.role)
            session.send_message(frames.batch(since + 1, last, evs))

    def _on_timer(self) -> None:
        held = self.mailbox.take_held()
        if held:
            # commands wait for this tick: decide them in the actor's turn, which then ticks
            self.mailbox.queue.put_nowait(Tick(held))
        else:
            self._tick()

    def _flush_events(self) -> int:
        items = self.pacer.take_events()
        if items:
            self._send_batch(items, live=True)
        return len(items)

    def _tick(self) -> None:
        pacer = self.pacer
        pacer.cancel()  # ticking early (held commands, a welcome): this one is it
        pacer.window_closed(self._flush_events())
        reactions = pacer.take_reactions()
        if reactions:
            self.roster.broadcast(frames.reactions(reactions))
        for session, msg in pacer.take_after():
            self.move_cursor(session)
            session.send_message(msg)
        count = self.roster.member_count + self.services.remote_count(self.room_id)
        # members: the room's member count, which a live audience cannot count from the
        # joins of other viewers (those are not theirs to see: rooms/audience.py)
        members = self.room.member_count if self.room is not None else 0
        if pacer.count_due(count, members):
            self.roster.broadcast(frames.count(count, members))


def _deadline_answered(done: asyncio.Future[tuple[StoredEvent, ...]]) -> None:
    """Nobody waits for the deadline's lock: read its answer (a refusal is expected, e.g. when
    another process locked first) so that no error goes unretrieved."""
    if done.cancelled():
        return
    error = done.exception()
    if error is not None and not isinstance(error, RoomError):
        log.warning("the cart's deadline could not lock it now; retrying", exc_info=error)


def signal_to_wire(signal: Signal) -> dict[str, Any]:
    return {"type": type(signal).__name__, **asdict(signal)}


def _by_id(m: dict[str, Any]) -> str:
    return str(m["member_id"])
