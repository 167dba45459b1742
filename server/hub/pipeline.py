"""The command pipeline of a room actor: decide → append → commit → apply → ack.

Commands that arrive together are decided together against the room (``Room.decide``), their
events applied at once (so the next command in the turn sees them), and one ``Append`` per op
goes to the committer; the turn's events reach clients only after the commit, and the sender's
ack follows its events. Before the turn the room is copied (``Room.copy``, the *checkpoint*):
if a commit fails (another process won the race, a duplicate op, the database is down) the
room rolls back to it, reads what the log holds beyond it, and retries (conflicts, up to
``MAX_CONFLICT_RETRIES`` times) or refuses. An op id seen lately is answered from memory (its
original ack, ``dup``, or ``op_conflict`` for other arguments), one marked ``retry`` from the
log's op table.

:class:`CommandPipeline` is the base of ``RoomActor``: it owns the room's state as this process
knows it (the room, its seq, the recent events and their audiences, the ops answered lately)
and keeps it in step with the log — loading, applying other processes' events in seq order,
reading a gap from the log. What leaves the room (fan-out, membership, pacing) is the actor's.

It must not: await a client, or keep state the log cannot rebuild.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

from rooms import (
    EVERYONE,
    SYSTEM_ACTOR,
    Audience,
    Catalog,
    Context,
    Event,
    ProductFacts,
    Room,
    RoomError,
    RoomKind,
    audience,
    event_from_wire,
    event_to_wire,
)
from server.hub.pacing import LivePacer
from server.hub.peers import EventsCommitted
from server.hub.roster import Roster
from server.hub.services import RoomServices
from server.hub.work import Submit, SystemSubmit
from server.ids import new_id, now_ms
from server.protocol import frames
from server.storage import (
    Append,
    DuplicateOp,
    NewEvent,
    OpKey,
    SeqConflict,
    StorageError,
    StoredEvent,
)
from server.transport.session import Session

__all__ = ["MAX_CONFLICT_RETRIES", "RECENT_EVENTS", "RECENT_OPS", "CommandPipeline"]

log = logging.getLogger("coshop.room")

MAX_CONFLICT_RETRIES = 20
RECENT_EVENTS = 512  # kept in memory to resume clients without reading the log
RECENT_OPS = 2_048

_Item = Submit | SystemSubmit  # what the pipeline decides: a client op or a server command


class CommandPipeline:
    """Decides, commits and acknowledges a room's commands; keeps the room in step with the log."""

    room_id: str
    merchant_id: str
    services: RoomServices
    roster: Roster
    pacer: LivePacer

    def __init__(self) -> None:
        self.room: Room | None = None
        self.seq = 0
        self.catalog: Catalog = _NO_CATALOG
        self._recent: deque[StoredEvent] = deque(maxlen=RECENT_EVENTS)
        # seq -> audience of recent events that are not for everyone (rooms/audience.py)
        self._audiences: dict[int, Audience] = {}
        # (member, op id) → (seq range, arguments digest) of ops this actor answered lately
        self._ops: dict[tuple[str, str], tuple[tuple[int, int], str | None]] = {}
        self._checkpoint: tuple[Room, int] | None = None  # state before an uncommitted turn
        self._snapshot_seq = 0

    # ---- what the actor does with what the pipeline committed --------------------------------

    def _fan_out(self, events: Sequence[StoredEvent]) -> None:
        """Send committed events to the room's sessions: a hook ``RoomActor`` (actor.py) fills;
        the pipeline itself never talks to a socket."""
        raise NotImplementedError  # hook: RoomActor overrides it

    def _enforce_membership(self, events: Sequence[StoredEvent]) -> None:
        """Close the sockets of members the events removed: a hook ``RoomActor`` fills."""
        raise NotImplementedError  # hook: RoomActor overrides it

    def move_cursor(self, session: Session) -> None:
        """Bring this session's cursor to what was sent, if a live audience's lags
        (server/hub/pacing.py): before an ack or a pong, whose seq the client may wait for."""
        pacer = self.pacer
        if pacer.quiet_from is not None:
            session.send_message(frames.batch(pacer.quiet_from, pacer.sent_to, []))

    @property
    def is_live(self) -> bool:
        return self.room is not None and self.room.kind is RoomKind.LIVE

    # ---- the room as the log has it ----------------------------------------------------------

    async def load(self) -> None:
        await self._catalog()
        store = self.services.store
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
        self._recent.extend(events[-RECENT_EVENTS:])

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
        if len(self._audiences) > 2 * RECENT_EVENTS:
            floor = seq - RECENT_EVENTS
            self._audiences = {k: v for k, v in self._audiences.items() if k > floor}

    def _audience_of(self, seq: int) -> Audience:
        return self._audiences.get(seq, EVERYONE)

    def _missed_since(self, last_seq: int | None) -> list[StoredEvent] | None:
        """Events after ``last_seq`` from memory, or None when a snapshot is the better answer."""
        if last_seq is None or last_seq < 0 or last_seq > self.seq:
            return None
        if self.seq - last_seq > self.services.replay_limit:
            return None
        if last_seq == self.seq:
            return []
        if self._recent and self._recent[0].seq <= last_seq + 1:
            return [e for e in self._recent if e.seq > last_seq]
        return None  # older than memory: a snapshot is cheaper than reading the log here

    async def _apply_foreign(self, events: Sequence[StoredEvent]) -> None:
        room = self.room
        assert room is not None
        fresh = [e for e in events if e.seq > self.seq]
        if not fresh:
            return
        if fresh[0].seq != self.seq + 1:
            fresh = await self.services.store.read(self.room_id, after_seq=self.seq)
        self._apply_stored(room, fresh)
        if fresh:
            self.seq = fresh[-1].seq
            self._recent.extend(fresh)
            self._fan_out(fresh)
            self._enforce_membership(fresh)

    async def catch_up(self) -> None:
        """Read anything the log has beyond our seq (after a broker outage)."""
        fresh = await self.services.store.read(self.room_id, after_seq=self.seq)
        await self._apply_foreign(fresh)

    async def _reload(self, checkpoint: tuple[Room, int] | None = None) -> None:
        """Rebuild from the log; fan out what was committed that clients have not seen."""
        seen = self.seq
        if checkpoint is not None:
            self.room, self.seq = checkpoint
            fresh = await self.services.store.read(self.room_id, after_seq=self.seq)
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
            self.services.publish(self.room_id, EventsCommitted(fresh))
            self._enforce_membership(fresh)

    def _restore_checkpoint(self) -> None:
        if self._checkpoint is not None:
            self.room, self.seq = self._checkpoint
            self._checkpoint = None

    async def _maybe_snapshot(self) -> None:
        services = self.services
        if self.room is not None and self.seq - self._snapshot_seq >= services.snapshot_every:
            try:
                await services.store.save_snapshot(self.room_id, self.seq, self.room.to_snapshot())
                self._snapshot_seq = self.seq
            except Exception:
                log.warning("snapshot failed; will retry later", exc_info=True)

    async def _catalog(self) -> Catalog:
        self.catalog = await self.services.catalogs.get(self.merchant_id)
        return self.catalog

    # ---- commands ----------------------------------------------------------------------------

    async def _run_commands(self, items: Sequence[_Item]) -> None:
        room = self.room
        assert room is not None
        services = self.services
        catalog = await self._catalog()
        # A commit can fail (another process won the race, a duplicate op, the database is
        # down): keep a cheap checkpoint to roll back to instead of replaying the whole log.
        checkpoint = (room.copy(), self.seq)
        self._checkpoint = checkpoint
        accepted: list[tuple[_Item, list[Event], str, list[Audience]]] = []
        later: list[_Item] = []
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
                services.metrics.commands.labels("refused").inc()
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
        committer = services.committer
        results = await _settled([committer.submit(a) for a in appends if a is not None])
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
        retry: list[_Item] = []
        for (item, _events, _actor, audiences), outcome in zip(accepted, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self._after_failure(item, outcome, retry)
                continue
            stored = outcome or ()
            committed.extend(stored)
            if not failed:  # after a failure, _reload noted what the log holds
                for e, who in zip(stored, audiences, strict=True):
                    self._note_audience(e.seq, who)
            services.metrics.commands.labels("accepted").inc()
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
                services.publish(self.room_id, EventsCommitted(committed))
                self._enforce_membership(committed)
            self.roster.notify_redactions(committed)
            await self._maybe_snapshot()
        if retry or later:
            await self._run_commands([*retry, *later])

    def _after_failure(self, item: _Item, error: BaseException, retry: list[_Item]) -> None:
        if isinstance(error, SeqConflict) and item.attempts < MAX_CONFLICT_RETRIES:
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
        self.services.metrics.commands.labels("failed").inc()
        if code == "write_refused":
            message = "the server could not store this command; sending it again will not help"
        else:
            message = "the command was not saved; retry with the same op id"
        self._refuse(item, code, message)

    # ---- answers -----------------------------------------------------------------------------

    async def _answer_known_op(self, item: Submit) -> bool:
        key = (item.session.member_id, item.op_id)
        known = self._ops.get(key)
        if known is None and item.retry:
            outcome = await self.services.store.find_op(OpKey(self.room_id, key[0], key[1]))
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
            self.services.metrics.commands.labels("refused").inc()
            self._refuse(
                item,
                "op_conflict",
                "this op id was already used for a different command; use a new op id",
            )
            return
        self._ack(item, rng, duplicate=True)

    def _remember_op(self, item: Submit, rng: tuple[int, int], digest: str | None) -> None:
        self._ops[(item.session.member_id, item.op_id)] = (rng, digest)
        if len(self._ops) > RECENT_OPS:
            # dicts keep insertion order: drop the oldest quarter
            for k in list(self._ops)[: RECENT_OPS // 4]:
                del self._ops[k]

    def _refuse(self, item: _Item, code: str, message: str) -> None:
        if isinstance(item, SystemSubmit):
            if not item.done.done():
                item.done.set_exception(RoomError(code, message))
            return
        item.answered = True
        item.session.send_message(frames.err(code, message, item.op_id))

    def _ack(self, item: Submit, rng: tuple[int, int], *, duplicate: bool = False) -> None:
        item.answered = True
        self.send_after_events(item.session, frames.ack(item.op_id, *rng, dup=duplicate))

    def send_after_events(self, session: Session, msg: dict[str, Any]) -> None:
        """Send ``msg`` (an ack, a pong: a seq the client may wait for) once every event
        committed so far has reached ``session``'s cursor: in a live room after the tick, if
        events wait for it, and after a frame that moves a lagging cursor."""
        if self.is_live and self.pacer.events:
            self.pacer.after.append((session, msg))  # the tick moves the cursor first
            return
        if self.is_live:
            self.move_cursor(session)
        session.send_message(msg)


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


def _conflicts(item: Submit, digest: str | None) -> bool:
    """The op id is known with other arguments (unknown digests never conflict)."""
    return digest is not None and item.digest is not None and digest != item.digest


class _NoCatalog:
    def product(self, sku: str) -> ProductFacts | None:
        return None


_NO_CATALOG = _NoCatalog()
