"""The arrivals benchmark keeps producing figures: tiny sizes, no timing asserted."""

from __future__ import annotations

import pytest

from bench.arrivals import run_arrivals

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_arrivals_and_the_reconnect_storm_are_measured() -> None:
    tables, (results, storm, fsyncs) = await run_arrivals(12, 12, 1, concurrency=4)
    assert [(r.server, r.path.split()[0]) for r in results] == [
        ("coshop", "REST"),
        ("coshop", "hello"),
        ("starlette (bare)", "REST"),
    ]
    assert all(r.members == 12 and not r.errors and r.server_cpu_s > 0 for r in results)
    assert fsyncs > 0
    assert storm is not None
    # every viewer came back after the restart and was resumed with nothing lost
    assert storm.viewers == storm.welcomed == storm.resumed == 12
    assert storm.gaps == 0 and storm.behind == 0 and storm.head > 0
    rendered = "\n".join(t.render() for t in tables)
    assert "Reconnect storm" in rendered and "issue 18" in rendered
