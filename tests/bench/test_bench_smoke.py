"""The benchmark harness must keep working: each benchmark runs in a tiny configuration.

These tests assert that figures were produced (deliveries counted, CPU read, latencies
collected, tables rendered), never how fast anything was: timing belongs to ``python -m bench``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import main
from bench.durable import run_durable
from bench.fanout import SERVERS, FanoutCase, prepare_room, run_case, run_slow
from bench.idle import run_idle
from bench.loadgen import ClientPool, marker, marker_ns
from bench.report import Table
from bench.targets import Results, targets_table
from tests.services import postgres_url, redis_url

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_marker_survives_the_card_gate_and_round_trips() -> None:
    text = marker("T", 2211299270218)
    assert not any(ch.isdigit() for ch in text)
    assert marker_ns(text[2:-1].encode()) == 2211299270218


async def test_fanout_measures_every_server(tmp_path: Path) -> None:
    pool = ClientPool(1)
    try:
        prepared = await prepare_room(tmp_path, 5, pool)
        assert prepared.join_rate > 0
        for server in SERVERS:
            r = await run_case(FanoutCase(server, 5, 20, 0.5, warmup=0.2), pool, prepared)
            assert r.opened == 5, (server, r.errors)
            assert r.events >= 1
            assert r.deliveries > 0, server
            assert r.us_per_delivery is not None
            assert r.p99_ms is not None
            assert r.server_cpu_s > 0
    finally:
        await pool.close()


async def test_slow_clients_table_is_filled() -> None:
    tables, results = await run_slow(5, 1, 50.0, 1.0, 1, outbox=8, warmup=0.2)
    assert [r.case.slow for r in results] == [0, 1, 0, 1]
    assert all(r.deliveries > 0 for r in results)
    assert len(results[1].slow_codes) == 1  # the slow client reported what it found
    assert "coshop" in tables[0].render()


async def test_durable_commands_are_acknowledged() -> None:
    tables, results = await run_durable([2], 1.0, 1, rate=40.0, postgres=False)
    assert {r.mode.split(",")[0] for r in results} == {"closed", "open"}
    assert all(r.acks > 0 and r.p99_ms is not None for r in results)
    assert "sqlite" in tables[0].render()


async def test_idle_memory_is_read() -> None:
    tables, results = await run_idle(40, 1)
    assert "KiB/member" in tables[0].render()
    assert [r.server for r in results] == ["coshop", "websockets"]
    assert all(r.connections == 40 and r.rss_after > 0 for r in results)


@pytest.mark.postgres
@pytest.mark.redis
async def test_across_processes_through_redis() -> None:
    postgres_url(), redis_url()  # skip on a laptop without them, fail in CI
    from bench.crossproc import run_cross

    tables, results = await run_cross(3, 20.0, 0.5)
    assert "across Redis" in tables[0].render()
    assert len(results) == 2
    assert all(r.deliveries > 0 and r.p50_ms is not None for r in results)


def test_targets_without_figures_say_not_measured() -> None:
    table = targets_table(Results())
    assert isinstance(table, Table)
    assert all(row[1] == "not measured" for row in table.rows)
    assert "Targets" in table.render()


async def test_soak_reports_a_row_per_window() -> None:
    from bench.soak import run_soak

    tables, result = await run_soak(0.05, window_s=1.0, rooms=2, chatters=2, rate=5.0)
    assert len(result.rows) >= 2
    assert all(r.rss_mib > 0 and r.fds > 0 and r.tasks > 0 for r in result.rows)
    assert sum(r.acks for r in result.rows) > 0
    assert any(r.p99_ms is not None for r in result.rows)
    assert sum(r.churns for r in result.rows) > 0  # passers-by joined, posted and left
    assert result.fds_before > 0
    assert "descriptors" in tables[0].render()


def test_soak_runs_alone_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["soak", "--minutes", "0.02", "--window", "1"]) == 0
    out = capsys.readouterr().out
    assert "Soak: a steady load" in out
    assert "Targets" not in out  # the soak alone: no other benchmark ran


def test_cli_refuses_unknown_names() -> None:
    with pytest.raises(SystemExit):
        main(["nonsense"])


async def test_catalog_case_measures_commands_and_search() -> None:
    from bench.catalog import run_catalog

    tables, cases = await run_catalog(1_000, 2.0, refresh_s=0.5, rate=20.0, baseline=False)
    assert [case.cache for case in cases] and cases[0].errors == 0
    assert len(cases[0].during) + len(cases[0].outside) + len(cases[0].writing) > 0
    assert len(cases[0].search) > 0
    assert "products?q=" in tables[1].render()
