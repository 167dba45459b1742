"""bench/drops.py keeps working in a tiny configuration (figures produced, never how fast)."""

from __future__ import annotations

import pytest

from bench.drops import run_drops

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_claims_are_decided_and_timed() -> None:
    tables, result = await run_drops(viewers=20, units=5)
    assert (result.won, result.lost) == (5, {"drop_sold_out": 15})
    assert result.remaining == 0
    assert all(value is not None for value in (*result.claim_ms, *result.baseline_ms))
    rendered = "\n".join(table.render() for table in tables)
    assert "ClaimDrop" in rendered and "Targets (issue 18, item 4)" in rendered
