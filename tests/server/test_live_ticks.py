"""How a live room's actor paces its batch frames: at once when quiet, coalesced when busy.

Time is a fake clock (``server/hub/pacing.py`` takes its clock and timer), so every window, busy
spell and count below is decided by the test, never by the machine's speed. Also what the actor
remembers of its recent events' audiences (rooms/audience.py) for resumes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from rooms import EVERYONE, Audience, RoomKind
from rooms.commands import PostMessage
from server.hub.actor import RoomActor
from server.hub.pacing import LivePacer
from server.hub.services import RoomServices
from server.hub.work import Attach, Submit, SystemSubmit, Tick
from server.metrics import Metrics
from server.settings import Settings
from server.storage import StoredEvent
from server.transport.session import RateLimiter, Session
from server.transport.wire import JSON
from tests.rooms.support import Driver

_seq = itertools.count(1)


class _Timer:
    def __init__(self, due_ms: int, callback: Callable[[], None]) -> None:
        self.due_ms = due_ms
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A monotonic clock and ``call_later`` that move only when the test says so (whole ms)."""

    def __init__(self) -> None:
        self.now_ms = 100_000
        self.timers: list[_Timer] = []

    def __call__(self) -> float:
        return self.now_ms / 1000

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(self.now_ms + round(delay * 1000), callback)
        self.timers.append(timer)
        return timer

    @property
    def pending(self) -> list[int]:
        """Delays (ms from now) of the timers still to fire."""
        return [t.due_ms - self.now_ms for t in self.timers if not t.cancelled]

    def advance(self, ms: int) -> None:
        """Move time on by ``ms``, firing every timer that falls due, in order."""
        end = self.now_ms + ms
        while True:
            due = [t for t in self.timers if not t.cancelled and t.due_ms <= end]
            if not due:
                break
            timer = min(due, key=lambda t: t.due_ms)
            self.timers.remove(timer)
            self.now_ms = max(self.now_ms, timer.due_ms)
            timer.callback()
        self.now_ms = end


def _services(tmp_path: Path, clock: FakeClock) -> RoomServices:
    """What the actor's pacing reads: settings, metrics, other processes' counts, the clock.

    The store, committer and catalogues are never reached by these tests.
    """
    settings = Settings(data_dir=tmp_path, live_tick_ms=50, live_busy_tick_ms=100)
    unused: Any = None
    return RoomServices(
        store=unused,
        committer=unused,
        catalogs=unused,
        metrics=Metrics(),
        publish=lambda room_id, message: None,
        remote_presence=lambda room_id: {},
        remote_count=lambda room_id: 0,
        unloaded=lambda room_id, actor: None,
        snapshot_every=settings.snapshot_every,
        replay_limit=settings.replay_limit,
        live_tick_ms=settings.live_tick_ms,
        live_busy_tick_ms=settings.live_busy_tick_ms,
        live_window_us_per_viewer=settings.live_window_us_per_viewer,
        clock=clock,
        call_later=clock.call_later,
    )


def _busy(pacer: LivePacer) -> bool:
    return pacer.busy  # through a call: mypy would narrow the attribute across the test


def _scheduled(pacer: LivePacer) -> bool:
    return pacer.scheduled


def _events(n: int) -> list[StoredEvent]:
    return [
        StoredEvent("r1", next(_seq), "MessagePosted", {"type": "MessagePosted"}, 0, "host")
        for _ in range(n)
    ]


def _actor(tmp_path: Path) -> tuple[RoomActor, FakeClock]:
    clock = FakeClock()
    actor = RoomActor(_services(tmp_path, clock), "r1", "demo")
    actor.room = Driver(RoomKind.LIVE).room
    return actor, clock


def _sustain(actor: RoomActor, clock: FakeClock, *, every_ms: int = 20, count: int = 14) -> None:
    """Chat at 1000/every_ms events a second for count events (50 a second over 280 ms)."""
    for _ in range(count):
        actor._fan_out(_events(1))
        clock.advance(every_ms)


def test_a_quiet_room_sends_at_once_and_a_busy_one_coalesces_longer(tmp_path: Path) -> None:
    actor, clock = _actor(tmp_path)  # nobody connected: the shortest window, 10 ms
    pacer = actor.pacer
    actor._fan_out(_events(1))
    assert pacer.events == []  # sent at once
    assert clock.pending == [10]  # and a short window is open

    actor._fan_out(_events(2))  # two more within the window: they wait for the tick
    assert len(pacer.events) == 2
    clock.advance(10)
    assert pacer.events == [] and pacer.window_ms == 10 and not _busy(pacer)
    clock.advance(300)  # quiet again

    _sustain(actor, clock)  # 50 a second over a whole rate window: busy from its end on
    assert _busy(pacer) and pacer.window_ms == 100
    actor._fan_out(_events(5))  # still busy: they wait for the long window, with the last one
    assert len(pacer.events) == 6
    clock.advance(100)
    assert pacer.events == [] and _busy(pacer) and pacer.window_ms == 100

    clock.advance(100)  # an empty window ends the busy spell
    assert not _busy(pacer) and not _scheduled(pacer) and clock.pending == []
    clock.advance(300)  # a whole rate window without a commit: the rate starts again
    actor._fan_out(_events(1))
    assert pacer.events == [] and clock.pending == [10]


def test_forty_events_a_second_make_a_room_busy_even_when_each_goes_out_alone(
    tmp_path: Path,
) -> None:
    """At 50 events a second a 10 ms window never sees two events: the room's rate over a whole
    rate window (250 ms) makes it busy anyway (fewer, fuller frames), and then its commands are
    held."""
    actor, clock = _actor(tmp_path)
    pacer = actor.pacer
    for i in range(13):
        actor._fan_out(_events(1))
        assert pacer.events == [] and not _busy(pacer), i  # at once, inside the first window
        clock.advance(20)
    actor._fan_out(_events(1))  # 260 ms on: 14 events over the window, 54 a second
    assert len(pacer.events) == 1 and pacer.holding and clock.pending == [100]
    clock.advance(100)
    assert pacer.events == [] and _busy(pacer) and clock.pending == [100]
    clock.advance(100)  # nothing came: the busy spell ends with that window
    assert not _busy(pacer) and not _scheduled(pacer)
    clock.advance(20)
    actor._fan_out(_events(1))  # the next event goes out at once, not behind a long window
    assert pacer.events == [] and not _busy(pacer) and clock.pending == [10]


def test_the_window_after_a_frame_grows_with_the_audience() -> None:
    """10 µs per socket on this process, 10 ms at least and live_tick_ms at most: up to 1,000
    viewers get each event within 10 ms, while a frame to 5,000 sockets or more is followed by
    the full 50 ms (coalescing is what keeps a big room up with its events)."""
    clock = FakeClock()
    audience = 0
    pacer = LivePacer(
        50,
        150,
        lambda: None,
        audience=lambda: audience,
        clock=clock,
        call_later=clock.call_later,
    )
    cases = [(0, 10), (200, 10), (1_000, 10), (2_000, 20), (3_500, 35), (5_000, 50), (20_000, 50)]
    for audience, window in cases:
        assert pacer.send_now()
        pacer.sent()
        assert clock.pending == [window], audience
        assert not pacer.send_now()  # events wait for a window that follows events
        pacer.cancel()
    # COSHOP_LIVE_WINDOW_US_PER_VIEWER=50 trades latency for CPU: the full window from 1,000
    slower = LivePacer(
        50, 150, lambda: None, audience=lambda: 700, us_per_viewer=50, clock=clock,
        call_later=clock.call_later,
    )  # fmt: skip
    assert slower.window() == 35
    audience = 1_000
    assert pacer.window() == 10


def test_events_do_not_wait_for_a_window_opened_for_reactions_or_a_count() -> None:
    clock = FakeClock()
    fired: list[float] = []
    pacer = LivePacer(
        50, 150, lambda: fired.append(clock()), clock=clock, call_later=clock.call_later
    )
    pacer.react("🔥")
    assert clock.pending == [50]  # reactions are summed over the full tick
    clock.advance(5)
    assert pacer.send_now()  # an event does not wait 45 ms for the reactions' tick
    pacer.sent()
    assert clock.pending == [10]  # one window: its tick sends the reactions too
    clock.advance(10)
    assert fired == [100.015]


def test_the_busy_threshold_is_forty_events_a_second_over_a_whole_rate_window() -> None:
    clock = FakeClock()
    cases = [  # commits before the one that ends the window (it counts too)
        (9, 250, True),  # 10 in 250 ms: exactly 40 a second
        (8, 250, False),
        (13, 300, True),  # a busy room commits once a tick: its windows end late
    ]
    for events, over_ms, busy in cases:
        pacer = LivePacer(50, 150, lambda: None, clock=clock, call_later=clock.call_later)
        step = over_ms // events
        for _ in range(events):
            pacer.committed(1)
            clock.advance(step)
        clock.advance(over_ms - step * events)
        pacer.committed(1)  # the first commit after the window: it judges the window
        assert pacer.send_now() is not busy, (events, over_ms)
        assert pacer.holding is busy
        pacer.cancel()
    # ... but not this late: 21 commits over 200 ms, then one 220 ms later (no quiet rate
    # window between them) ends a window of 420 ms, which says nothing about the rate now
    pacer = LivePacer(50, 150, lambda: None, clock=clock, call_later=clock.call_later)
    for _ in range(21):
        pacer.committed(1)
        clock.advance(10)
    clock.advance(210)
    pacer.committed(1)
    assert pacer.send_now() and not pacer.holding


def test_a_burst_is_decided_as_it_comes(tmp_path: Path) -> None:
    """500 viewers claim a drop in the same instant: no rate window has ended, so the room keeps
    its short windows and every claim is decided as it comes (holding them for the long window
    doubled their decision time). A later commit after a quiet rate window is no rate either."""
    actor, clock = _actor(tmp_path)
    pacer = actor.pacer
    actor._fan_out(_events(1))
    for _ in range(50):  # 500 events over 50 ms, in the short windows
        actor._fan_out(_events(10))
        assert not pacer.holding
        clock.advance(1)
    clock.advance(10)
    assert pacer.events == [] and not _busy(pacer) and pacer.window_ms == 10
    clock.advance(300)  # quiet: the window that held the burst ended long ago
    actor._fan_out(_events(1))
    assert pacer.events == [] and not _busy(pacer)  # at once, not behind a long window


def test_counts_go_out_at_most_once_a_second_and_a_late_change_is_not_lost() -> None:
    clock = FakeClock()
    fired: list[float] = []
    pacer = LivePacer(
        50, 100, lambda: fired.append(clock()), clock=clock, call_later=clock.call_later
    )
    assert pacer.count_due(1, 1)  # the first count goes out at once
    assert not pacer.count_due(1, 1)  # unchanged: nothing to send
    clock.advance(300)
    assert not pacer.count_due(2, 2)  # changed too soon after the last one
    assert _scheduled(pacer)  # so a tick will come back for it
    clock.advance(50)
    assert fired == [100.35]  # the tick that asks again
    assert not pacer.count_due(2, 2)  # still within the second: the tick asks again later
    clock.advance(650)  # 1 s after the first count
    assert fired == [100.35, 100.4]
    assert pacer.count_due(2, 2)
    pacer.recount()  # a staff change: the audience must hear the true count
    clock.advance(1_000)
    assert pacer.count_due(2, 2)


def test_reactions_are_summed_until_the_tick() -> None:
    clock = FakeClock()
    pacer = LivePacer(50, 100, lambda: None, clock=clock, call_later=clock.call_later)
    for emoji in ("🔥", "🔥", "👍"):
        pacer.react(emoji)
    assert clock.pending == [50]  # one window for all of them
    assert pacer.take_reactions() == {"🔥": 2, "👍": 1}
    assert pacer.take_reactions() == {}


class _Session:
    """What answering a held command touches on its session."""

    member_id = "host"
    closing = False

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, message: dict[str, Any]) -> bool:
        self.sent.append(message)
        return True


def _ops(items: list[Submit | SystemSubmit]) -> list[str]:
    return [item.op_id for item in items if isinstance(item, Submit)]


def _submit(session: _Session, op: str) -> Submit:
    return Submit(session, op, PostMessage("hi"))  # type: ignore[arg-type]


async def test_a_busy_window_holds_commands_only_while_its_tick_is_pending(
    tmp_path: Path,
) -> None:
    actor, clock = _actor(tmp_path)
    session = _Session()
    _sustain(actor, clock)
    actor._fan_out(_events(1))  # this one waits for the long window _sustain's rate opened
    assert _busy(actor.pacer) and _scheduled(actor.pacer)
    await actor._handle([_submit(session, "a"), _submit(session, "b")])
    assert _ops(actor.mailbox.held) == ["a", "b"]  # nothing decided yet
    # the socket's reader may hold a command itself, unless other work waits before it
    assert actor.hold(_submit(session, "c"))
    actor.post(_submit(session, "d"))
    assert not actor.hold(_submit(session, "e"))
    assert _ops(actor.mailbox.held) == ["a", "b", "c"]
    actor.queue.get_nowait()

    # the tick's timer hands the held commands to the actor's own turn, in order
    clock.advance(100)
    assert actor.mailbox.held == [] and not _scheduled(actor.pacer)
    [tick] = [actor.queue.get_nowait()]
    assert isinstance(tick, Tick) and _ops(tick.held) == ["a", "b", "c"]

    # a quiet rate window ends the busy spell: commands are decided as they come again
    clock.advance(300)
    actor._fan_out(_events(1))  # went out at once and opened a window
    clock.advance(50)  # which stays empty
    assert not _busy(actor.pacer) and not _scheduled(actor.pacer)
    assert not actor.hold(_submit(session, "f"))


async def test_held_commands_are_answered_when_the_room_stops(tmp_path: Path) -> None:
    actor, _clock = _actor(tmp_path)
    session = _Session()
    actor.mailbox.held = [_submit(session, "held")]
    actor.queue.put_nowait(Tick([_submit(session, "ticking")]))  # the timer fired already
    await actor.stop()
    assert [(m["op"], m["code"]) for m in session.sent] == [
        ("held", "shutting_down"),
        ("ticking", "shutting_down"),
    ]


def test_the_actor_remembers_the_audiences_of_its_recent_events_only(tmp_path: Path) -> None:
    """Resumes replay at most the last 512 events: older audiences are forgotten in bulk."""
    actor, _clock = _actor(tmp_path)
    mine = Audience(everyone=False, owners=frozenset({"a"}))
    for seq in range(1, 3_001):
        actor._note_audience(seq, mine)
        assert len(actor._audiences) <= 2 * 512
    assert all(actor._audience_of(seq) is mine for seq in range(3_000 - 511, 3_001))
    assert actor._audience_of(1) is EVERYONE
    actor._note_audience(3_000, EVERYONE)  # the log holds another event there now (a reload)
    assert actor._audience_of(3_000) is EVERYONE and 2_999 in actor._audiences


def _socket(session_id: str, member_id: str, got: list[dict[str, Any]]) -> Session:
    """A real session whose direct writer records the frames it is given (decoded)."""

    def write_now(frame: str | bytes) -> bool:
        got.append(JSON.decode(frame))
        return True

    async def unused(*_args: Any) -> None:  # the direct writer never declines here
        raise AssertionError("the ASGI path was taken")

    session = Session(
        session_id=session_id,
        room_id="r1",
        member_id=member_id,
        name=member_id,
        role="viewer",
        codec=JSON,
        send_frame=unused,
        close_socket=unused,
        outbox_limit=100,
        limiter=RateLimiter(10, 10),
        write_now=write_now,
    )
    session.start()
    return session


async def test_a_viewer_welcomed_while_events_wait_for_the_tick_gets_only_what_follows(
    tmp_path: Path,
) -> None:
    """Events committed before a welcome are in its view: the tick sends that newcomer only
    the later ones, in a batch starting right after the welcome's seq; nobody else's frames
    wait for the welcome (no early tick), and everyone's cursor ends at the same head."""
    actor, clock = _actor(tmp_path)
    old: list[dict[str, Any]] = []
    actor.roster.add(_socket("s-old", "old", old))
    first = _events(1)
    actor.seq = first[-1].seq
    actor._fan_out(first)  # a quiet room: at once, and a window opens
    waiting = _events(2)
    actor.seq = waiting[-1].seq
    actor._fan_out(waiting)
    assert len(_batches(old)) == 1 and _scheduled(actor.pacer)

    new: list[dict[str, Any]] = []
    done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    actor._register(Attach(_socket("s-new", "new", new), actor.seq, done))
    assert len(_batches(old)) == 1, "the welcome made nobody's frame go out early"
    assert [m["t"] for m in new] == ["welcome"] and new[0]["seq"] == waiting[-1].seq
    later = _events(1)
    actor.seq = later[-1].seq
    actor._fan_out(later)

    clock.advance(50)
    seqs = [e.seq for e in waiting + later]
    assert (_batches(old)[-1]["from"], _batches(old)[-1]["to"]) == (seqs[0], seqs[-1])
    assert [ev["seq"] for ev in _batches(old)[-1]["evs"]] == seqs
    assert (_batches(new)[-1]["from"], _batches(new)[-1]["to"]) == (seqs[-1], seqs[-1])
    assert [ev["seq"] for ev in _batches(new)[-1]["evs"]] == [later[-1].seq]
    assert len(_batches(new)) == 1

    # the next tick is everyone's again
    actor._fan_out(_events(1))
    clock.advance(100)
    assert _batches(old)[-1] == _batches(new)[-1]
    assert not actor._welcomed


def _batches(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in frames if m["t"] == "batch"]


def test_the_window_per_viewer_is_the_operators_to_set(tmp_path: Path) -> None:
    """COSHOP_LIVE_WINDOW_US_PER_VIEWER reaches the room's pacing (here 20 ms a viewer)."""
    clock = FakeClock()
    services = replace(_services(tmp_path, clock), live_window_us_per_viewer=20_000)
    actor = RoomActor(services, "r1", "demo")
    actor.room = Driver(RoomKind.LIVE).room
    actor.roster.add(_socket("s-1", "one", []))
    actor.roster.add(_socket("s-2", "two", []))
    assert actor.pacer.window() == 40  # two viewers at 20 ms, under live_tick_ms (50)
    actor._fan_out(_events(1))
    assert clock.pending == [40]


# ---- frames that hold nothing for the audience (a viewer's join, one viewer's claim) ------------


def _owned(actor: RoomActor, owner: str, n: int = 1) -> list[StoredEvent]:
    """``n`` committed events only ``owner`` (and the staff) may see, as a viewer's join is."""
    events = _events(n)
    for e in events:
        actor._note_audience(e.seq, Audience(everyone=False, owners=frozenset({owner})))
    actor.seq = events[-1].seq
    return events


def _public(actor: RoomActor, n: int = 1) -> list[StoredEvent]:
    events = _events(n)
    actor.seq = events[-1].seq
    return events


def _span(frame: dict[str, Any]) -> tuple[int, int, list[int]]:
    return frame["from"], frame["to"], [ev["seq"] for ev in frame["evs"]]


def _live_room(tmp_path: Path) -> tuple[RoomActor, FakeClock, dict[str, list[dict[str, Any]]]]:
    """A live room with a host and two viewers; what each socket was sent, by member."""
    actor, clock = _actor(tmp_path)
    got: dict[str, list[dict[str, Any]]] = {"host": [], "a": [], "b": []}
    for member, frames in got.items():
        session = _socket(f"s-{member}", member, frames)
        if member == "host":
            session.role = "host"
        actor.roster.add(session)
    return actor, clock, got


def test_the_audience_gets_no_frame_that_holds_none_of_its_events(tmp_path: Path) -> None:
    """A viewer's own event goes to them and the staff; the rest of the audience gets nothing
    until an event of theirs comes, in a frame whose range starts where their cursor is."""
    actor, clock, got = _live_room(tmp_path)
    joined = _owned(actor, "a")
    actor._fan_out(joined)  # a quiet room: at once
    s = joined[0].seq
    assert [_span(f) for f in _batches(got["a"])] == [(s, s, [s])]
    assert [_span(f) for f in _batches(got["host"])] == [(s, s, [s])]
    assert _batches(got["b"]) == []

    clock.advance(50)
    more = _owned(actor, "a", 2)
    actor._fan_out(more)
    assert _batches(got["b"]) == []
    assert _span(_batches(got["a"])[-1]) == (s, s + 2, [s + 1, s + 2])  # from the lag on

    chat = _public(actor)
    actor._fan_out(chat)
    clock.advance(50)  # the tick
    assert [_span(f) for f in _batches(got["b"])] == [(s, s + 3, [s + 3])]
    assert _span(_batches(got["a"])[-1]) == (s, s + 3, [s + 3])
    assert actor.pacer.quiet_from is None and not clock.pending


def test_a_lagging_cursor_is_moved_within_a_second(tmp_path: Path) -> None:
    actor, clock, got = _live_room(tmp_path)
    joined = _owned(actor, "a")
    actor._fan_out(joined)
    s = joined[0].seq
    clock.advance(999)
    assert _batches(got["b"]) == []
    clock.advance(1)
    assert [_span(f) for f in _batches(got["b"])] == [(s, s, [])]
    assert _span(_batches(got["a"])[-1]) == (s, s, [])  # everyone: one frame, encoded once
    assert actor.pacer.quiet_from is None
    clock.advance(5_000)
    assert len(_batches(got["b"])) == 1, "nothing more to move"


def test_a_cursor_never_lags_by_256_events(tmp_path: Path) -> None:
    """256 events is half the in-memory resume window: a viewer who reconnects is resumed."""
    actor, clock, got = _live_room(tmp_path)
    first = _owned(actor, "a", 200)
    actor._fan_out(first)
    assert _batches(got["b"]) == []
    clock.advance(50)
    rest = _owned(actor, "a", 56)
    actor._fan_out(rest)
    clock.advance(50)
    assert [_span(f)[:2] for f in _batches(got["b"])] == [(first[0].seq, rest[-1].seq)]
    assert actor.pacer.quiet_from is None

    # a single run that long is never held back from the audience
    run = _owned(actor, "a", 300)
    actor._fan_out(run)
    clock.advance(50)
    assert _span(_batches(got["b"])[-1])[:2] == (run[0].seq, run[-1].seq)


async def test_an_ack_or_a_pong_follows_the_frame_that_moves_the_cursor(tmp_path: Path) -> None:
    """A client may wait until its cursor reaches an ack's or a pong's seq (docs/protocol.md):
    a session whose cursor lags gets a frame that moves it first."""
    actor, clock, got = _live_room(tmp_path)
    joined = _owned(actor, "a")
    actor._fan_out(joined)
    s = joined[0].seq
    [b] = actor.roster.sessions_of("b")
    actor._ack(_submit(b, "op-1"), (s, s))  # type: ignore[arg-type]  # a real session
    assert [m["t"] for m in got["b"]] == ["batch", "ack"]
    assert _span(got["b"][0]) == (s, s, [])

    actor.send_after_events(b, {"t": "pong", "seq": actor.seq})
    assert [m["t"] for m in got["b"][-2:]] == ["batch", "pong"]
    assert _span(got["b"][-2]) == (s, s, [])

    # with events waiting for the tick, the ack waits too, and the frame before it
    actor._fan_out(_owned(actor, "a"))
    before = len(got["b"])
    actor._ack(_submit(b, "op-2"), (s + 1, s + 1))  # type: ignore[arg-type]
    assert len(got["b"]) == before
    clock.advance(50)
    told = [m for m in got["b"] if m["t"] != "count"]
    assert [m["t"] for m in told[-2:]] == ["batch", "ack"]
    assert _span(told[-2]) == (s, s + 1, [])

    # a pong too: its seq counts the events waiting for the tick
    actor._fan_out(_owned(actor, "a"))  # at once, and a window opens
    actor._fan_out(_owned(actor, "a"))  # this one waits for the tick
    before = len(got["b"])
    actor.send_after_events(b, {"t": "pong", "seq": actor.seq})
    assert len(got["b"]) == before
    clock.advance(50)
    told = [m for m in got["b"] if m["t"] != "count"]
    assert [m["t"] for m in told[-2:]] == ["batch", "pong"]
    assert told[-2]["to"] == told[-1]["seq"] == s + 3


async def test_the_cursor_timer_stops_with_the_room(tmp_path: Path) -> None:
    actor, clock, _got = _live_room(tmp_path)
    actor._fan_out(_owned(actor, "a"))
    assert 1000 in clock.pending
    await actor.stop()
    assert not clock.pending


def test_the_roster_knows_its_staff_through_role_changes(tmp_path: Path) -> None:
    """Frames without the audience's go to the staff and the owners only, so the roster keeps
    the staff's sessions as roles change (a viewer brought on stage, a host stepping down)."""
    actor, _clock, got = _live_room(tmp_path)
    roster = actor.roster
    [a] = roster.sessions_of("a")
    [host] = roster.sessions_of("host")
    assert roster.staff_and([]) == [host]
    assert roster.staff_and(["a", "host", "nobody"]) == [host, a]
    roster.set_role(a, "cohost")
    assert roster.staff_and([]) == [host, a]
    actor._fan_out(_owned(actor, "b"))
    assert _batches(got["a"]), "staff see every event"
    roster.set_role(host, "viewer")
    roster.remove(a)
    assert roster.staff_and([]) == []
    roster.set_role(a, "host")  # a session gone from the roster is not counted again
    assert roster.staff_and([]) == []
