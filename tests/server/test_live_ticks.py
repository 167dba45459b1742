"""How a live room's actor paces its batch frames: at once when quiet, coalesced when busy.

Also what it remembers of its recent events' audiences (rooms/audience.py) for resumes."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from rooms import EVERYONE, Audience, RoomKind
from rooms.commands import PostMessage
from server.hub.actor import RoomActor
from server.hub.work import Submit, SystemSubmit, Tick
from server.metrics import Metrics
from server.settings import Settings
from server.storage import StoredEvent
from tests.rooms.support import Driver

_seq = itertools.count(1)


class _Hub:
    """What the actor's tick reads from its hub: settings, metrics, other processes' counts."""

    def __init__(self, tmp_path: Path) -> None:
        self.settings = Settings(data_dir=tmp_path, live_tick_ms=50, live_busy_tick_ms=100)
        self.metrics = Metrics()

    def remote_count(self, room_id: str) -> int:
        return 0


def _events(n: int) -> list[StoredEvent]:
    return [
        StoredEvent("r1", next(_seq), "MessagePosted", {"type": "MessagePosted"}, 0, "host")
        for _ in range(n)
    ]


def _actor(tmp_path: Path) -> RoomActor:
    hub: Any = _Hub(tmp_path)
    actor = RoomActor(hub, "r1", "demo")
    actor.room = Driver(RoomKind.LIVE).room
    return actor


def _tick(actor: RoomActor) -> None:
    """Fire the pending tick now (instead of waiting for the loop's timer)."""
    assert actor._tick_handle is not None
    actor._tick_handle.cancel()
    actor._tick()


async def test_a_quiet_room_sends_at_once_and_a_busy_one_coalesces_longer(
    tmp_path: Path,
) -> None:
    actor = _actor(tmp_path)
    actor._fan_out(_events(1))
    assert actor._tick_msgs == []  # sent at once
    assert actor._window_ms == 50  # and a short window is open

    actor._fan_out(_events(2))  # two more within the window: they wait for the tick
    assert len(actor._tick_msgs) == 2
    _tick(actor)
    assert actor._tick_msgs == [] and actor._window_ms == 50  # 40 ev/s: not busy

    actor._fan_out(_events(3))  # 3 in 50 ms = 60 ev/s: busy
    _tick(actor)
    assert actor._window_ms == 100

    actor._fan_out(_events(5))  # 50 ev/s over the long window: still busy
    _tick(actor)
    assert actor._window_ms == 100

    actor._fan_out(_events(3))  # 30 ev/s: back to the short window
    _tick(actor)
    assert actor._window_ms == 50

    _tick(actor)  # an empty window closes: the next event goes out at once again
    assert actor._tick_handle is None
    actor._fan_out(_events(1))
    assert actor._tick_msgs == []
    _tick(actor)


class _Session:
    """What answering a held command touches on its session."""

    member_id = "host"
    closing = False

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, message: dict[str, Any]) -> bool:
        self.sent.append(message)
        return True


def _busy(actor: RoomActor) -> bool:
    return actor._busy


def _pending(actor: RoomActor) -> bool:
    return actor._tick_handle is not None


def _cancel(actor: RoomActor) -> None:
    assert actor._tick_handle is not None
    actor._tick_handle.cancel()


def _ops(items: list[Submit | SystemSubmit]) -> list[str]:
    return [item.op_id for item in items if isinstance(item, Submit)]


def _submit(session: _Session, op: str) -> Submit:
    return Submit(session, op, PostMessage("hi"))  # type: ignore[arg-type]


async def test_a_busy_window_holds_commands_only_while_its_tick_is_pending(
    tmp_path: Path,
) -> None:
    actor = _actor(tmp_path)
    session = _Session()
    actor._fan_out(_events(1))
    actor._fan_out(_events(3))
    _tick(actor)
    assert _busy(actor) and _pending(actor)
    await actor._handle([_submit(session, "a"), _submit(session, "b")])
    assert _ops(actor._held) == ["a", "b"]  # nothing decided yet
    # the socket's reader may hold a command itself, unless other work waits before it
    assert actor.hold(_submit(session, "c"))
    actor.post(_submit(session, "d"))
    assert not actor.hold(_submit(session, "e"))
    assert _ops(actor._held) == ["a", "b", "c"]
    actor.queue.get_nowait()

    # the tick's timer hands the held commands to the actor's own turn, in order
    _cancel(actor)
    actor._on_timer()
    assert actor._held == [] and not _pending(actor)
    [tick] = [actor.queue.get_nowait()]
    assert isinstance(tick, Tick) and _ops(tick.held) == ["a", "b", "c"]

    # an empty window ends the busy spell: commands are decided as they come again
    actor._fan_out(_events(1))  # went out at once and opened a window
    _tick(actor)  # which stays empty
    assert not _busy(actor) and not _pending(actor)
    assert not actor.hold(_submit(session, "f"))


async def test_held_commands_are_answered_when_the_room_stops(tmp_path: Path) -> None:
    actor = _actor(tmp_path)
    session = _Session()
    actor._held = [_submit(session, "held")]
    actor.queue.put_nowait(Tick([_submit(session, "ticking")]))  # the timer fired already
    await actor.stop()
    assert [(m["op"], m["code"]) for m in session.sent] == [
        ("held", "shutting_down"),
        ("ticking", "shutting_down"),
    ]


def test_the_actor_remembers_the_audiences_of_its_recent_events_only(tmp_path: Path) -> None:
    """Resumes replay at most the last 512 events: older audiences are forgotten in bulk."""
    actor = _actor(tmp_path)
    mine = Audience(everyone=False, owners=frozenset({"a"}))
    for seq in range(1, 3_001):
        actor._note_audience(seq, mine)
        assert len(actor._audiences) <= 2 * 512
    assert all(actor._audience_of(seq) is mine for seq in range(3_000 - 511, 3_001))
    assert actor._audience_of(1) is EVERYONE
    actor._note_audience(3_000, EVERYONE)  # the log holds another event there now (a reload)
    assert actor._audience_of(3_000) is EVERYONE and 2_999 in actor._audiences
