"""A room actor: the one task that owns a loaded room's state in this process.

Everything that touches a room goes through its queue, so decide → commit → apply → fan-out
happens in one order without locks. Commands that arrive together are decided together and
committed in one group; their events reach clients only after the commit, and the sender's ack
follows its events. Other processes' events arrive through the broker and are applied in seq
order; a gap is filled from the log (the log, not the broker, is the truth).

A busy live room (see ``_tick``) sends its events once per tick anyway, so it also *decides*
them once per tick: commands that arrive while such a tick is pending are held and decided
together when it fires — one turn, one commit, one fsync for the whole window instead of one
per command, and no later for anyone (their events would have waited for that tick).

Every event goes only to its audience (``rooms/audience.py``, DESIGN.md §11): the actor notes
each event's audience as it applies it (decided, from the log or from the broker) and
``server/hub/fanout.py`` encodes once per audience class; resumes replay only what the member
may see, with the seq range they cover.

It must not: await a client (sessions have outboxes), or keep state the log cannot rebuild.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rooms import (
    EVERYONE,
    SYSTEM_ACTOR,
    Audience,
    Catalog,
    Context,
    Event,
    ProductFacts,
    Role,
    Room,
    RoomError,
    RoomKind,
    Signal,
    audience,
    event_from_wire,
    event_to_wire,
)
from rooms.commands import Join
from server.hub.fanout import STAFF_ROLES, AudienceBatch, Item, visible
from server.hub.session import CLOSE_CODES, Session
from server.hub.work import (
    Attach,
    Detach,
    Inspect,
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
from server.storage import (
    Append,
    DuplicateOp,
    NewEvent,
    OpKey,
    SeqConflict,
    StorageError,
    StorageUnavailable,
    StoredEvent,
)
from server.wire import JSON, MSGPACK, decode_any, encode_msgpack

if TYPE_CHECKING:
    from server.hub.hub import Hub

__all__ = ["RoomActor", "event_message"]

log = logging.getLogger("coshop.room")

_MAX_DRAIN = 128  # work items handled per turn of the loop
_MAX_CONFLICT_RETRIES = 20
_RECENT_EVENTS = 512  # kept in memory to resume clients without reading the log
_RECENT_OPS = 2_048
_BIG_ROOM = 50  # above this many sessions, rosters become counts
_COUNT_INTERVAL_S = 1.0  # big rooms: viewer counts at most this often
_BUSY_EVENTS_PER_S = 40.0  # a live room this busy coalesces over live_busy_tick_ms
_SESSIONS_PER_MEMBER = 5  # tabs and devices of one member; more replace the oldest


async def _settled(
    futures: list[asyncio.Future[tuple[StoredEvent, ...]]],
) -> list[tuple[StoredEvent, ...] | BaseException]:
    """Each future's result or exception, in order (``gather(return_exceptions=True)``).

    One future, the common case, is awaited as it is: no gather future, no extra loop turn.
    """
    if len(futures) == 1:
        try:
            return [await futures[0]]
        except Exception as exc:
            return [exc]
    return await asyncio.gather(*futures, return_exceptions=True)


def event_message(stored: StoredEvent) -> dict[str, Any]:
    return frames.ev(stored.seq, stored.at, stored.actor, stored.data)


class RoomActor:
    def __init__(self, hub: Hub, room_id: str, merchant_id: str) -> None:
        self.hub = hub
        self.room_id = room_id
        self.merchant_id = merchant_id
        self.room: Room | None = None
        self.seq = 0
        self.sessions: dict[str, Session] = {}  # session id -> session
        # member id -> that member's sessions by session id, oldest first
        self._by_member: dict[str, dict[str, Session]] = {}
        self.queue: asyncio.Queue[Work] = asyncio.Queue()
        self._recent: deque[StoredEvent] = deque(maxlen=_RECENT_EVENTS)
        # seq -> audience of recent events that are not for everyone (rooms/audience.py)
        self._audiences: dict[int, Audience] = {}
        # (member, op id) → (seq range, arguments digest) of ops this actor answered lately
        self._ops: dict[tuple[str, str], tuple[tuple[int, int], str | None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._tick_msgs: list[Item] = []
        self._tick_after: list[tuple[Session, dict[str, Any]]] = []
        self._reactions: dict[str, int] = {}
        self._last_count = (-1, -1)  # (online, members) last sent
        self._window_ms = 0  # the tick window now open (0: none yet)
        self._busy = False  # the open window is a busy one: commands wait for its tick
        self._held: list[Submit | SystemSubmit] = []  # commands waiting for that tick
        self._in_tick = False  # deciding held commands: their events join the tick's frame
        self._count_at = float("-inf")
        self._snapshot_seq = 0
        self.idle_since: float | None = time.monotonic()
        self.catalog: Catalog = _NO_CATALOG
        self._checkpoint: tuple[Room, int] | None = None  # state before an uncommitted turn
        self._stopped = False

    # ---- lifecycle -------------------------------------------------------------------------

    async def load(self) -> None:
        await self._catalog()
        store = self.hub.store
        snap = await store.load_snapshot(self.room_id)
        room: Room | None = None
        seq = 0
        if snap is not None:
            seq, state = snap
            room = Room.from_snapshot(state)
            self._snapshot_seq = seq
        events = await store.read(self.room_id, after_seq=seq)
        rest: Sequence[StoredEvent] = events
        if room is None:
            room = Room.replay(event_from_wire(e.data) for e in events[:1])
            rest = events[1:]
        self._audiences.clear()
        self._apply_stored(room, rest)
        if events:
            seq = events[-1].seq
        self.room, self.seq = room, seq
        log.info("room loaded", extra={"room_id": self.room_id, "seq": seq})
        self._recent.clear()
        self._recent.extend(events[-_RECENT_EVENTS:])

    def _apply_stored(self, room: Room, events: Sequence[StoredEvent]) -> None:
        """Apply events read from the log or the broker, noting each one's audience first."""
        for e in events:
            event = event_from_wire(e.data)
            self._note_audience(e.seq, audience(room, event))
            room.apply(event)

    def _note_audience(self, seq: int, who: Audience) -> None:
        """Remember who may see event ``seq`` (for the fan-out and for resumes)."""
        if who.everyone:
            self._audiences.pop(seq, None)  # a reload may have replaced a filtered event
            return
        self._audiences[seq] = who
        if len(self._audiences) > 2 * _RECENT_EVENTS:
            floor = seq - _RECENT_EVENTS
            self._audiences = {k: v for k, v in self._audiences.items() if k > floor}

    def _audience_of(self, seq: int) -> Audience:
        return self._audiences.get(seq, EVERYONE)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"room:{self.room_id}"
        )

    async def stop(self) -> None:
        if self._tick_handle is not None:
            self._tick_handle.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        left: list[Work] = [*self._held]
        self._held = []
        while not self.queue.empty():
            left.append(self.queue.get_nowait())
        self._fail_unanswered(left, "shutting_down", "the server is stopping; reconnect")

    def post(self, work: Work) -> None:
        self.queue.put_nowait(work)

    def hold(self, item: Submit) -> bool:
        """Hold ``item`` for the pending busy tick without a turn of its own, if it may be.

        Only when nothing waits in the queue before it, so this is what the actor would do
        on its next turn anyway; False means: post it.
        """
        if self._busy and self._tick_handle is not None and self.queue.empty():
            self._held.append(item)
            return True
        return False

    @property
    def is_live(self) -> bool:
        return self.room is not None and self.room.kind is RoomKind.LIVE

    @property
    def is_big(self) -> bool:
        """Live rooms and crowded group rooms get counts and coalesced frames, not rosters."""
        return self.is_live or len(self.sessions) > _BIG_ROOM

    async def _run(self) -> None:
        while not self._stopped:
            first = await self.queue.get()
            items = [first]
            while len(items) < _MAX_DRAIN and not self.queue.empty():
                items.append(self.queue.get_nowait())
            try:
                await self._handle(items)
            except asyncio.CancelledError:
                self._fail_unanswered(items, "shutting_down", "the server is stopping")
                self._fail_unanswered(self._held, "shutting_down", "the server is stopping")
                self._held = []
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

    def _restore_checkpoint(self) -> None:
        if self._checkpoint is not None:
            self.room, self.seq = self._checkpoint
            self._checkpoint = None

    async def _handle(self, items: list[Work]) -> None:
        # Consecutive commands share one commit, and so do consecutive joins; order is kept.
        commands: list[Submit | SystemSubmit] = []
        attaches: list[Attach] = []
        for item in items:
            if commands and not isinstance(item, Submit | SystemSubmit):
                await self._run_commands(commands)
                commands = []
            if attaches and not isinstance(item, Attach):
                await self._attach_group(attaches)
                attaches = []
            match item:
                case Submit() | SystemSubmit() if self._busy and self._tick_handle is not None:
                    self._held.append(item)  # decided when the pending tick fires
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
                case Inspect():
                    assert self.room is not None
                    if not item.done.done():
                        item.done.set_result(item.fn(self.room, self.seq))
                case Unload():
                    if not self.sessions and self.queue.empty() and not self._held:
                        self._stopped = True
                        self.hub.unloaded(self)
        if commands:
            await self._run_commands(commands)
        if attaches:
            await self._attach_group(attaches)

    # ---- commands --------------------------------------------------------------------------

    async def _catalog(self) -> Catalog:
        self.catalog = await self.hub.catalogs.get(self.merchant_id)
        return self.catalog

    async def _run_commands(self, items: Sequence[Submit | SystemSubmit]) -> None:
        room = self.room
        assert room is not None
        catalog = await self._catalog()
        # A commit can fail (another process won the race, a duplicate op, the database is
        # down): keep a cheap checkpoint to roll back to instead of replaying the whole log.
        checkpoint = (room.copy(), self.seq)
        self._checkpoint = checkpoint
        accepted: list[tuple[Submit | SystemSubmit, list[Event], str, list[Audience]]] = []
        later: list[Submit | SystemSubmit] = []
        ops_here: set[tuple[str, str]] = set()
        for item in items:
            if isinstance(item, Submit):
                if item.session.closing:
                    continue
                if await self._answer_known_op(item):
                    continue
                key = (item.session.member_id, item.op_id)
                if key in ops_here:
                    later.append(item)  # the same op twice in one turn: answer it after the first
                    continue
                ops_here.add(key)
                actor = item.session.member_id
            else:
                actor = item.actor or SYSTEM_ACTOR
            ctx = Context(actor=actor, now=now_ms(), new_id=new_id(), catalog=catalog)
            try:
                events = room.decide(item.command, ctx)
            except RoomError as exc:
                self.hub.metrics.commands.labels("refused").inc()
                self._refuse(item, exc.code, exc.message)
                continue
            audiences: list[Audience] = []
            for event in events:
                audiences.append(audience(room, event))  # decided on the state before it
                room.apply(event)
            accepted.append((item, events, actor, audiences))
        if not accepted:
            self._checkpoint = None
            if later:
                await self._run_commands(later)
            return
        appends: list[Append | None] = []
        after = self.seq
        at = now_ms()
        for item, events, actor, _audiences in accepted:
            if not events:
                appends.append(None)
                continue
            op = (
                OpKey(self.room_id, item.session.member_id, item.op_id)
                if isinstance(item, Submit)
                else None
            )
            new = tuple(NewEvent(type(e).__name__, event_to_wire(e), at, actor) for e in events)
            digest = item.digest if isinstance(item, Submit) else None
            appends.append(Append(self.room_id, after, new, op, op_digest=digest))
            after += len(new)
        results = await _settled([self.hub.committer.submit(a) for a in appends if a is not None])
        outcomes: list[tuple[StoredEvent, ...] | BaseException | None] = []
        it = iter(results)
        for a in appends:
            outcomes.append(None if a is None else next(it))
        failed = any(isinstance(o, BaseException) for o in outcomes)
        if failed:
            # Our in-memory room ran ahead of the log: roll back, then re-read what the log has
            # (what we did commit, and other processes' events) and fan that out. If even the
            # read fails, the turn's handler answers everyone and keeps the checkpoint.
            await self._reload(checkpoint)
        self._checkpoint = None
        committed: list[StoredEvent] = []
        retry: list[Submit | SystemSubmit] = []
        for (item, _events, _actor, audiences), outcome in zip(accepted, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self._after_failure(item, outcome, retry)
                continue
            stored = outcome or ()
            committed.extend(stored)
            if not failed:  # after a failure, _reload noted what the log holds
                for e, who in zip(stored, audiences, strict=True):
                    self._note_audience(e.seq, who)
            self.hub.metrics.commands.labels("accepted").inc()
            if isinstance(item, SystemSubmit) and not item.done.done():
                item.done.set_result(stored)
        if not failed:
            self.seq = max(self.seq, committed[-1].seq) if committed else self.seq
            self._recent.extend(committed)
            self._fan_out(committed)
        # Acks follow the events they acknowledge (through the tick in live rooms).
        for (item, _events, _actor, _audiences), outcome in zip(accepted, outcomes, strict=True):
            if isinstance(item, Submit) and not isinstance(outcome, BaseException):
                stored = outcome or ()
                rng = (stored[0].seq, stored[-1].seq) if stored else (0, 0)
                self._remember_op(item, rng, item.digest)
                self._ack(item, rng)
        if committed:
            if not failed:  # after a failure, _reload already published and enforced
                self.hub.publish_events(self.room_id, committed)
                self._enforce_membership(committed)
            self._notify_redactions(committed)
            await self._maybe_snapshot()
        if retry or later:
            await self._run_commands([*retry, *later])

    def _after_failure(
        self, item: Submit | SystemSubmit, error: BaseException, retry: list[Submit | SystemSubmit]
    ) -> None:
        if isinstance(error, SeqConflict) and item.attempts < _MAX_CONFLICT_RETRIES:
            item.attempts += 1
            retry.append(item)
            return
        if isinstance(error, DuplicateOp) and isinstance(item, Submit):
            outcome = error.outcome
            rng = (outcome.first_seq, outcome.last_seq)
            self._remember_op(item, rng, outcome.args_digest)
            self._answer_duplicate(item, rng, outcome.args_digest)
            return
        code = error.code if isinstance(error, StorageError) else "storage_unavailable"
        self.hub.metrics.commands.labels("failed").inc()
        if code == "write_refused":
            message = "the server could not store this command; sending it again will not help"
        else:
            message = "the command was not saved; retry with the same op id"
        self._refuse(item, code, message)

    async def _answer_known_op(self, item: Submit) -> bool:
        key = (item.session.member_id, item.op_id)
        known = self._ops.get(key)
        if known is None and item.retry:
            outcome = await self.hub.store.find_op(OpKey(self.room_id, key[0], key[1]))
            if outcome is not None:
                known = ((outcome.first_seq, outcome.last_seq), outcome.args_digest)
        if known is None:
            return False
        rng, digest = known
        if rng[1] > self.seq and not _conflicts(item, digest):
            # another process committed it and we have not seen those events yet: the ack must
            # not overtake its events
            await self.catch_up()
        self._answer_duplicate(item, rng, digest)
        return True

    def _answer_duplicate(self, item: Submit, rng: tuple[int, int], digest: str | None) -> None:
        """A known op id: its original ack (``dup``), or ``op_conflict`` for other arguments."""
        if _conflicts(item, digest):
            self.hub.metrics.commands.labels("refused").inc()
            self._refuse(
                item,
                "op_conflict",
                "this op id was already used for a different command; use a new op id",
            )
            return
        self._ack(item, rng, duplicate=True)

    def _remember_op(self, item: Submit, rng: tuple[int, int], digest: str | None) -> None:
        self._ops[(item.session.member_id, item.op_id)] = (rng, digest)
        if len(self._ops) > _RECENT_OPS:
            # dicts keep insertion order: drop the oldest quarter
            for k in list(self._ops)[: _RECENT_OPS // 4]:
                del self._ops[k]

    def _refuse(self, item: Submit | SystemSubmit, code: str, message: str) -> None:
        if isinstance(item, SystemSubmit):
            if not item.done.done():
                item.done.set_exception(RoomError(code, message))
            return
        item.answered = True
        item.session.send_message(frames.err(code, message, item.op_id))

    def _ack(self, item: Submit, rng: tuple[int, int], *, duplicate: bool = False) -> None:
        item.answered = True
        msg = frames.ack(item.op_id, *rng, dup=duplicate)
        if self.is_live and self._tick_msgs:  # its events may wait for the tick: follow them
            self._tick_after.append((item.session, msg))
        else:
            item.session.send_message(msg)

    # ---- fan-out ---------------------------------------------------------------------------

    def _fan_out(self, events: Sequence[StoredEvent]) -> None:
        if not events:
            return
        items = [(event_message(e), self._audience_of(e.seq)) for e in events]
        if self.is_live:
            self._tick_msgs.extend(items)
            if self._tick_handle is None and not self._in_tick:
                # a quiet room sends at once and opens a tick window: what arrives within it
                # is coalesced into the next batch (docs/performance.md)
                self._flush_events()
                self._schedule_tick()
            return
        if all(who is EVERYONE for _, who in items):
            for msg, _ in items:
                self._broadcast(msg)
            return
        self._send_batch(items)  # some are not for everyone: a batch that says its range

    def _send_batch(self, items: list[Item]) -> None:
        """One batch frame per audience class, covering ``from``..``to`` (rooms/audience.py)."""
        if all(who is EVERYONE for _, who in items):  # the common case: one frame for all
            first, last = items[0][0]["seq"], items[-1][0]["seq"]
            self._broadcast(frames.batch(first, last, [msg for msg, _ in items]))
            return
        sent = AudienceBatch(items).send(list(self.sessions.values()), self._encoding_failed)
        self.hub.metrics.frames_out.inc(sent)

    def _encoding_failed(self, session: Session) -> None:
        # cannot happen for validated input (wire.py bounds integers); if it does, close the
        # sessions that cannot be served rather than stall the room
        log.error("frame could not be encoded", extra={"room_id": self.room_id})
        session.close(CLOSE_CODES["server_error"], "encoding_failed")

    def _broadcast(self, msg: dict[str, Any], *, skip: Session | None = None) -> None:
        """Encode once per subprotocol, queue to every session; never awaits."""
        frames: dict[bool, str | bytes] = {}
        sent = 0
        for s in list(self.sessions.values()):
            if s is skip:
                continue
            binary = s.codec.binary
            frame = frames.get(binary)
            if frame is None:
                try:
                    frame = frames[binary] = (MSGPACK if binary else JSON).encode(msg)
                except (TypeError, ValueError, OverflowError):
                    self._encoding_failed(s)
                    continue
            if s.send(frame):
                sent += 1
        self.hub.metrics.frames_out.inc(sent)

    def _schedule_tick(self, window_ms: int | None = None) -> None:
        if self._tick_handle is None:
            self._window_ms = window_ms or self.hub.settings.live_tick_ms
            loop = asyncio.get_running_loop()
            self._tick_handle = loop.call_later(self._window_ms / 1000, self._on_timer)

    def _on_timer(self) -> None:
        self._tick_handle = None
        if self._held:
            # commands wait for this tick: decide them in the actor's turn, which then ticks
            held, self._held = self._held, []
            self.queue.put_nowait(Tick(held))
        else:
            self._tick()

    def _flush_events(self) -> int:
        items = self._tick_msgs
        if items:
            self._tick_msgs = []
            self._send_batch(items)
        return len(items)

    def _tick(self) -> None:
        if self._tick_handle is not None:  # ticking early (held commands): this one is it
            self._tick_handle.cancel()
            self._tick_handle = None
        flushed = self._flush_events()
        if flushed:
            # Still busy: keep coalescing. A room receiving many events a second coalesces
            # over a longer window (fewer, fuller frames: docs/performance.md); it returns to
            # the short one as soon as a window sees fewer.
            settings = self.hub.settings
            busy = flushed >= 3 and flushed * 1000 >= _BUSY_EVENTS_PER_S * self._window_ms
            self._schedule_tick(settings.live_busy_tick_ms if busy else settings.live_tick_ms)
            self._busy = busy
        else:
            self._busy = False
        if self._reactions:
            counts, self._reactions = self._reactions, {}
            self._broadcast(frames.reactions(counts))
        after, self._tick_after = self._tick_after, []
        for session, msg in after:
            session.send_message(msg)
        count = self._member_count()
        # members: the room's member count, which a live audience cannot count from the
        # joins of other viewers (those are not theirs to see: rooms/audience.py)
        members = self.room.member_count if self.room is not None else 0
        if (count, members) != self._last_count:
            now = time.monotonic()
            if now - self._count_at >= _COUNT_INTERVAL_S:
                self._last_count, self._count_at = (count, members), now
                self._broadcast(frames.count(count, members))
            else:  # at most one count a second to everyone, whatever the churn
                self._schedule_tick()

    def _member_count(self) -> int:
        return len(self._by_member) + self.hub.remote_count(self.room_id)

    def _notify_redactions(self, events: Sequence[StoredEvent]) -> None:
        for e in events:
            if e.data.get("redacted") is True:
                for s in self._sessions_of(e.actor):
                    s.send_message(
                        frames.notice(
                            "card_number_redacted",
                            "A card number was removed from your text. Never share card "
                            "details here: pay through the checkout.",
                        )
                    )

    def _enforce_membership(self, events: Sequence[StoredEvent]) -> None:
        room = self.room
        assert room is not None
        touched = {str(e.data["member_id"]) for e in events if "member_id" in e.data}
        for member_id in touched:
            if room.is_member(member_id):
                role = room.role_of(member_id)
                for s in self._sessions_of(member_id):
                    if role is None or s.role == role.value:
                        continue
                    was_staff = s.role in STAFF_ROLES
                    s.role = role.value
                    # a new role changes what this member may do (the view's you.may) and, in a
                    # live room, joining or leaving staff what they may see: a fresh view
                    # replaces what the events they received so far built
                    self._welcome(s, None)
                    if self.is_live and was_staff != (role.value in STAFF_ROLES):
                        # the audience was shown them joining or leaving the stage, which its
                        # clients count: the next tick sends everyone the true count
                        self._last_count = (-1, -1)
                        self._schedule_tick()
                continue
            for s in self._sessions_of(member_id):
                s.close(CLOSE_CODES["forbidden"], "you are no longer a member of this room")

    def _sessions_of(self, member_id: str) -> list[Session]:
        return list(self._by_member.get(member_id, {}).values())

    async def _maybe_snapshot(self) -> None:
        every = self.hub.settings.snapshot_every
        if self.room is not None and self.seq - self._snapshot_seq >= every:
            try:
                await self.hub.store.save_snapshot(self.room_id, self.seq, self.room.to_snapshot())
                self._snapshot_seq = self.seq
            except Exception:
                log.warning("snapshot failed; will retry later", exc_info=True)

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
                join = Join(session.name, _role(session.role))
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
        self._presence_changed()
        self.hub.presence_changed(self)

    def _register(self, item: Attach) -> None:
        session = item.session
        self._adopt_identity(session)
        if self._tick_handle is not None:
            # what is waiting for the tick is older than the welcome: send it first
            self._tick_handle.cancel()
            self._tick()
        self._welcome(session, item.last_seq)
        self.sessions[session.session_id] = session
        self._by_member.setdefault(session.member_id, {})[session.session_id] = session
        self.idle_since = None
        session.on_evicted = self._evicted
        self.hub.metrics.connections.inc()
        self._limit_sessions_of(session)

    def _joined(self, done: asyncio.Future[tuple[StoredEvent, ...]], waiting: list[Attach]) -> None:
        error = done.exception() if done.done() else None
        for item in waiting:
            session = item.session
            if error is None and done.done():
                self._adopt_identity(session)
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

    def _adopt_identity(self, session: Session) -> None:
        """The room's record of a member wins over the token's (promotions, cleaned names)."""
        room = self.room
        assert room is not None
        member = room.members.get(session.member_id)
        if member is not None:
            session.role = member.role.value
            session.name = member.display_name

    def _limit_sessions_of(self, session: Session) -> None:
        """At most a few sockets per member: the oldest is replaced (close 4409)."""
        mine = self._sessions_of(session.member_id)
        for old in mine[: max(0, len(mine) - _SESSIONS_PER_MEMBER)]:
            old.close(CLOSE_CODES["replaced"], "replaced by a newer connection")

    def _welcome(self, session: Session, last_seq: int | None) -> None:
        room = self.room
        assert room is not None
        missed = self._missed_since(last_seq)
        session.send_message(
            frames.welcome(
                room_id=self.room_id,
                kind=room.kind.value,
                merchant=self.merchant_id,
                member_id=session.member_id,
                name=session.name,
                role=session.role,
                seq=self.seq,
                view=room.view(session.member_id) if missed is None else None,
            )
        )
        if missed is None:
            return
        if missed:
            # only what this member's view shows; the range moves their cursor over the rest
            items = [(event_message(e), self._audience_of(e.seq)) for e in missed]
            evs = visible(items, session.member_id, session.role)
            session.send_message(frames.batch(missed[0].seq, missed[-1].seq, evs))

    def _missed_since(self, last_seq: int | None) -> list[StoredEvent] | None:
        """Events after ``last_seq`` from memory, or None when a snapshot is the better answer."""
        if last_seq is None or last_seq < 0 or last_seq > self.seq:
            return None
        if self.seq - last_seq > self.hub.settings.replay_limit:
            return None
        if last_seq == self.seq:
            return []
        if self._recent and self._recent[0].seq <= last_seq + 1:
            return [e for e in self._recent if e.seq > last_seq]
        return None  # older than memory: a snapshot is cheaper than reading the log here

    def _detach(self, session: Session) -> None:
        if self.sessions.pop(session.session_id, None) is not None:
            self.hub.metrics.connections.dec()
            mine = self._by_member.get(session.member_id)
            if mine is not None:
                mine.pop(session.session_id, None)
                if not mine:
                    del self._by_member[session.member_id]
        if not self.sessions:
            self.idle_since = time.monotonic()
        self._presence_changed()
        self.hub.presence_changed(self)

    def _evicted(self, session: Session) -> None:
        self.hub.metrics.evictions.inc()
        self.post(Detach(session))

    def presence(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for s in self.sessions.values():
            out[s.member_id] = {"id": s.member_id, "name": s.name, "viewing": s.viewing}
        return out

    def _presence_changed(self) -> None:
        if self.is_big:
            self._schedule_tick()
            return
        members = {**self.hub.remote_presence(self.room_id), **self.presence()}
        self._broadcast(frames.presence(sorted(members.values(), key=_by_id)))

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
        self.hub.metrics.signals.inc()
        if not self.is_live or wire.get("type") == "React":  # audiences see only reactions
            self.hub.publish_signal(self.room_id, session.member_id, session.name, wire)
        self._deliver_signal(session.member_id, session.name, wire, skip=session)
        if wire.get("type") == "Viewing":
            sku = wire.get("sku")
            session.viewing = sku if isinstance(sku, str) else None

    def _deliver_signal(
        self, member_id: str, name: str, wire: dict[str, Any], *, skip: Session | None
    ) -> None:
        kind = wire.get("type")
        if kind == "React" and self.is_big:
            emoji = str(wire.get("emoji"))
            self._reactions[emoji] = self._reactions.get(emoji, 0) + 1
            self._schedule_tick()
            return
        if self.is_live and kind != "React":
            return  # audiences do not see each other's browsing or typing
        self._broadcast(frames.sig(member_id, name, wire), skip=skip)

    # ---- other processes -------------------------------------------------------------------

    async def _remote(self, item: Remote) -> None:
        if item.kind == "signal":
            data = decode_any(item.payload)
            self._deliver_signal(str(data["m"]), str(data["n"]), dict(data["s"]), skip=None)
            return
        if item.kind == "presence":
            self._presence_changed()
            return
        if item.kind == "head":
            head = decode_any(item.payload)["head"]
            if isinstance(head, int) and head > self.seq:
                await self.catch_up()
            return
        if item.kind == "catchup":
            await self.catch_up()
            return
        rows = decode_any(item.payload)
        events = [StoredEvent(self.room_id, r[0], r[1], r[2], r[3], r[4]) for r in rows]
        await self._apply_foreign(events)

    async def _apply_foreign(self, events: Sequence[StoredEvent]) -> None:
        room = self.room
        assert room is not None
        fresh = [e for e in events if e.seq > self.seq]
        if not fresh:
            return
        if fresh[0].seq != self.seq + 1:
            fresh = await self.hub.store.read(self.room_id, after_seq=self.seq)
        self._apply_stored(room, fresh)
        if fresh:
            self.seq = fresh[-1].seq
            self._recent.extend(fresh)
            self._fan_out(fresh)
            self._enforce_membership(fresh)

    async def catch_up(self) -> None:
        """Read anything the log has beyond our seq (after a broker outage)."""
        fresh = await self.hub.store.read(self.room_id, after_seq=self.seq)
        await self._apply_foreign(fresh)

    async def _reload(self, checkpoint: tuple[Room, int] | None = None) -> None:
        """Rebuild from the log; fan out what was committed that clients have not seen."""
        seen = self.seq
        if checkpoint is not None:
            self.room, self.seq = checkpoint
            fresh = await self.hub.store.read(self.room_id, after_seq=self.seq)
            self._apply_stored(self.room, fresh)
            if fresh:
                self.seq = fresh[-1].seq
                self._recent.extend(fresh)
            # clients saw nothing beyond ``seen``; everything after it is news to them
            fresh = [e for e in fresh if e.seq > seen]
        else:
            await self.load()
            fresh = [e for e in self._recent if e.seq > seen]
        self._fan_out(fresh)
        if fresh:
            self.hub.publish_events(self.room_id, fresh)
            self._enforce_membership(fresh)


def encode_events(events: Sequence[StoredEvent]) -> bytes:
    """Broker payload for committed events: compact rows in seq order."""
    return encode_msgpack([[e.seq, e.type, e.data, e.at, e.actor] for e in events])


def signal_to_wire(signal: Signal) -> dict[str, Any]:
    return {"type": type(signal).__name__, **asdict(signal)}


def _by_id(m: dict[str, Any]) -> str:
    return str(m["id"])


def _role(value: str) -> Role:
    return Role(value)


class _NoCatalog:
    def product(self, sku: str) -> ProductFacts | None:
        return None


_NO_CATALOG = _NoCatalog()


def _conflicts(item: Submit, digest: str | None) -> bool:
    """The op id is known with other arguments (unknown digests never conflict)."""
    return digest is not None and item.digest is not None and digest != item.digest
