"""Webhook delivery survives restarts: rows a stopped process left are sent by the next one, a
room log nobody fed is found by the next start's recovery pass, and after a SIGKILL between two
attempts the restarted process sends the retry (same webhook-id, verified)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.api.rooms import DEMO_MERCHANT
from tests.server.conftest import free_port, run_server, server_settings, wait_ready
from tests.server.webhook_receiver import Receiver, add_endpoint, receiver, verify_all

KEY = "ck_test_restart_" + "r" * 24


def _rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        return list(conn.execute(query))


async def test_a_delivery_left_by_a_stopped_process_is_sent_by_the_next(tmp_path: Path) -> None:
    settings = server_settings(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    async with run_server(settings) as first:
        await first.app_state.registry.rotate_api_key(DEMO_MERCHANT, KEY)
        first.app_state.webhooks.worker.schedule = (0.3,) * 50
        async with httpx.AsyncClient(base_url=first.base_url) as http:
            endpoint = await add_endpoint(http, KEY, url, ["room.created"])
            r = await http.post("/api/v1/rooms", json={"title": "Left behind"})
            assert r.status_code == 201
            room_id = r.json()["room_id"]
            db = settings.data_dir / "coshop.db"
            # Nobody listens yet: the delivery fails and waits for its retry.
            query = "SELECT attempts FROM webhook_deliveries WHERE done_at IS NULL"
            async with asyncio.timeout(20):
                while not [a for (a,) in await asyncio.to_thread(_rows, db, query) if a >= 1]:
                    await asyncio.sleep(0.05)
    async with receiver(port) as rx, run_server(settings) as second:
        second.app_state.webhooks.worker.schedule = (0.3,) * 50
        (got,) = await rx.until_types("room.created")
        verify_all(rx.received, endpoint["secret"])
        assert got.json["data"]["room_id"] == room_id
        async with httpx.AsyncClient(base_url=second.base_url) as http:
            log_url = f"/api/v1/merchant/webhooks/{endpoint['id']}/deliveries"
            auth = {"Authorization": f"Bearer {KEY}"}
            (delivery,) = (await http.get(log_url, headers=auth)).json()["deliveries"]
            assert delivery["message_id"] == got.id and delivery["attempts"] >= 2


async def test_a_log_nobody_fed_is_found_by_the_next_start(tmp_path: Path) -> None:
    settings = server_settings(tmp_path)
    async with receiver() as rx:
        async with run_server(settings) as first:
            await first.app_state.registry.rotate_api_key(DEMO_MERCHANT, KEY)
            async with httpx.AsyncClient(base_url=first.base_url) as http:
                endpoint = await add_endpoint(http, KEY, rx.url, ["room.created", "member.joined"])
                # As if the process died between the room's commit and the feed: no hook.
                first.app_state.hub.committer.committed = None
                r = await http.post("/api/v1/rooms", json={"title": "Unfed"})
                assert r.status_code == 201
                room_id = r.json()["room_id"]
                await asyncio.sleep(0.3)
        assert rx.received == []
        db = settings.data_dir / "coshop.db"
        assert await asyncio.to_thread(_rows, db, "SELECT * FROM webhook_deliveries") == []
        async with run_server(settings):
            got = await rx.until_types("room.created", "member.joined")
    verify_all(rx.received, endpoint["secret"])
    assert [r.json["type"] for r in got] == ["room.created", "member.joined"]
    assert {r.json["data"]["room_id"] for r in got} == {room_id}


@contextlib.contextmanager
def _coshop(data: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "COSHOP_SECRET_KEY": "k" * 48,
        "COSHOP_DATA_DIR": str(data),
        "COSHOP_PORT": str(port),
        "COSHOP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "COSHOP_ADMIN_TOKEN": "admin-" + "a" * 30,
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"], env=env, stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


async def _attempted(db: Path) -> bool:
    rows = await asyncio.to_thread(
        _rows,
        db,
        "SELECT attempts, claimed_until, last_status FROM webhook_deliveries WHERE done_at IS NULL",
    )
    return any(a >= 1 and claimed is None and status == 503 for a, claimed, status in rows)


@pytest.mark.e2e
@pytest.mark.slow
async def test_sigkill_between_attempts_and_the_restarted_process_sends_the_retry(
    tmp_path: Path,
) -> None:
    data, port, log = tmp_path / "data", free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    async with receiver() as rx:
        rx.statuses = [503]  # the first attempt fails; the retry is 5 s later (the default)
        with _coshop(data, port, log) as proc:
            await wait_ready(base)
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                admin = {"Authorization": "Bearer admin-" + "a" * 30}
                r = await http.post(
                    "/api/v1/merchants", json={"merchant_id": "shop", "name": "Shop"}, headers=admin
                )
                assert r.status_code == 201, r.text
                key = r.json()["api_key"]
                endpoint = await add_endpoint(http, key, rx.url, ["room.created"])
                r = await http.post(
                    "/api/v1/rooms",
                    json={"title": "Crash"},
                    headers={"Authorization": f"Bearer {key}"},
                )
                assert r.status_code == 201, r.text
            async with asyncio.timeout(20):
                while not await _attempted(data / "coshop.db"):
                    await asyncio.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        assert [r.status for r in rx.received] == [503]
        with _coshop(data, port, log):
            await wait_ready(base)
            await _wait_delivered(rx)
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                detail_url = f"/api/v1/merchant/webhooks/{endpoint['id']}/deliveries"
                auth = {"Authorization": f"Bearer {key}"}
                (delivery,) = (await http.get(detail_url, headers=auth)).json()["deliveries"]
                attempts = (await http.get(f"{detail_url}/{delivery['id']}", headers=auth)).json()[
                    "attempt_log"
                ]
    verify_all(rx.received, endpoint["secret"])
    assert [r.status for r in rx.received] == [503, 200]
    assert rx.received[0].id == rx.received[1].id == delivery["message_id"]
    assert [a["status"] for a in attempts] == [503, 200]


async def _wait_delivered(rx: Receiver) -> None:
    await rx.until(lambda: any(r.status == 200 for r in rx.received), timeout=30)
