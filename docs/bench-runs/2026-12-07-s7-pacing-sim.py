"""A fake-clock walk of LivePacer: a command every N ms (argv[1]); frames for 200 events.

A busy room holds commands until its tick (as ``RoomActor.hold`` does) and commits them there.
Run from the repository root: ``python docs/bench-runs/2026-12-07-s7-pacing-sim.py 20``.
"""

import sys

sys.path.insert(0, ".")

from rooms import EVERYONE
from server.hub.pacing import LivePacer
from tests.server.test_live_ticks import FakeClock

clock = FakeClock()
frames: list[tuple[int, int, bool]] = []
held = [0]


def on_timer() -> None:
    n, held[0] = held[0], 0
    if n:
        pacer.committed(n)
        pacer.events += [({"seq": 0}, EVERYONE)] * n
    k = len(pacer.take_events())
    if k:
        frames.append((clock.now_ms, k, pacer.busy))
    pacer.window_closed(k)


pacer = LivePacer(
    50, 150, on_timer, audience=lambda: 1000, clock=clock, call_later=clock.call_later
)
period = int(sys.argv[1]) if len(sys.argv) > 1 else 20
for _ in range(200):
    if pacer.holding:
        held[0] += 1
    else:
        pacer.committed(1)
        if pacer.send_now():
            frames.append((clock.now_ms, 1, pacer.busy))
            pacer.sent()
        else:
            pacer.events.append(({"seq": 0}, EVERYONE))
    clock.advance(period)
print(len(frames), "frames for 200 events")
print(frames[:40])
