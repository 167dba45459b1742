"""The serving limits' arithmetic and the accept-error throttle (server/serving.py).

The behaviour on real sockets is in test_slow_clients.py and test_fd_limit.py.
"""

from __future__ import annotations

import logging
import resource

from server.serving import (
    MIN_RESERVE,
    AcceptErrorThrottle,
    Throttle,
    derive_limits,
    open_descriptors,
    open_file_limit,
    raise_open_file_limit,
)
from server.settings import Settings


def test_the_cap_stays_under_the_open_file_limit() -> None:
    default = Settings()
    small = derive_limits(default, 256)
    assert (small.connection_cap, small.reserve) == (256 - MIN_RESERVE, MIN_RESERVE)
    big = derive_limits(default, 20_000)
    assert (big.connection_cap, big.reserve) == (18_000, 2_000)  # 10 % kept back
    huge = derive_limits(default, 1 << 20)
    assert huge.connection_cap == default.max_connections  # the setting is lower: it wins
    assert huge.backlog == 2_048
    assert derive_limits(Settings(max_connections=100), 20_000).connection_cap == 100
    assert derive_limits(Settings(fd_reserve=500), 20_000).connection_cap == 19_500


def test_a_tiny_limit_still_leaves_connections_and_a_reserve() -> None:
    tiny = derive_limits(Settings(), 100)
    assert tiny.connection_cap == 50
    assert tiny.reserve == 50
    assert tiny.refusing_max >= 4
    assert "connection cap 50" in tiny.describe()


def test_a_throttle_lets_one_through_per_interval_and_counts_the_rest() -> None:
    t = Throttle(10.0)
    assert t.allow(100.0) == 0
    assert [t.allow(100.0 + i / 10) for i in range(1, 50)] == [None] * 49
    assert t.allow(110.0) == 49
    assert t.allow(110.5) is None
    assert t.allow(125.0) == 1


def _record(msg: str, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, None, exc_info)


def test_accept_errors_become_one_short_line_per_interval() -> None:
    f = AcceptErrorThrottle(60.0)
    error = OSError(24, "Too many open files")
    records = [_record("socket.accept() out of system resource\nsocket: <...>", error)]
    records += [_record("socket.accept() out of system resource", error) for _ in range(999)]
    passed = [r for r in records if f.filter(r)]
    assert len(passed) == 1
    line = passed[0].getMessage()
    assert line.startswith("socket.accept() out of system resource: [Errno 24]")
    assert "\n" not in line
    assert passed[0].exc_info is None
    other = _record("Task exception was never retrieved")
    assert f.filter(other)
    assert other.getMessage() == "Task exception was never retrieved"


def test_open_files_are_read_and_the_soft_limit_raised() -> None:
    before = open_file_limit()
    after = raise_open_file_limit()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert after >= before
    assert soft == hard or hard == resource.RLIM_INFINITY or soft >= 1 << 20
    assert open_descriptors() > 2
