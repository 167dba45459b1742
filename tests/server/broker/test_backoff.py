"""Reconnect backoff: grows, is capped, and the jitter stays inside its band."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.broker.backoff import backoff_delay


def test_grows_exponentially_until_the_cap() -> None:
    def top(attempt: int) -> float:
        return backoff_delay(attempt, base=0.1, cap=1.0, rand=lambda: 0.999999)

    assert [round(top(n), 3) for n in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_never_below_half_the_step() -> None:
    assert backoff_delay(3, base=0.1, cap=5.0, rand=lambda: 0.0) == 0.4


@given(attempt=st.integers(min_value=0, max_value=10_000), r=st.floats(0, 1, exclude_max=True))
def test_always_within_the_band(attempt: int, r: float) -> None:
    delay = backoff_delay(attempt, base=0.05, cap=5.0, rand=lambda: r)
    step = min(5.0, 0.05 * 2.0 ** min(attempt, 32))
    assert step / 2 <= delay <= step
