"""Reconnect delays: exponential, capped, jittered. Pure; the random source is passed in.

"Equal jitter": half of the capped exponential delay is fixed, the other half random, so many
processes that lost Redis at the same moment do not reconnect in lockstep, yet none retries in a
tight loop.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["backoff_delay"]


def backoff_delay(attempt: int, *, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Delay in seconds before reconnect attempt ``attempt`` (0 = first retry).

    ``rand`` returns a float in ``[0, 1)``. The result lies in ``[d/2, d]`` with
    ``d = min(cap, base * 2**attempt)``.
    """
    assert attempt >= 0, attempt
    assert 0 < base <= cap, (base, cap)
    # Cap the exponent too so a long outage cannot overflow the float.
    ceiling = min(cap, base * 2.0 ** min(attempt, 32))
    return ceiling / 2 + rand() * ceiling / 2
