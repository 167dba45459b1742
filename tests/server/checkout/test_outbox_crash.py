"""SIGKILL coshop between a payment webhook's commit and the room update; the restart settles.

To hold the window open deterministically, the room's storage refuses writes (a SQLite trigger
on ``room_events`` for that room): the webhook commits the paid order and its outbox rows, the
room update keeps failing, and the real server process is killed while it waits to retry. The
trigger is dropped, the server starts again on the same data directory, and its outbox worker
delivers what was left: the room shows ``OrderSettled`` exactly once.
"""

from __future__ import annotations

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

from checkout_bridge.sandbox import SandboxConfig, create_sandbox_app
from tests.server.checkout.support import SECRET, add_line, command, serve_app, stop_app
from tests.server.checkout.test_outbox import allow_room_writes, eventually, refuse_room_writes
from tests.server.conftest import free_port, wait_ready
from tests.server.peers import Peer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@contextlib.contextmanager
def coshop(data: Path, port: int, sandbox_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "COSHOP_SECRET_KEY": "k" * 48,
        "COSHOP_DATA_DIR": str(data),
        "COSHOP_PORT": str(port),
        "COSHOP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "COSHOP_DEMO": "true",
        "COSHOP_PUBLIC_ROOMS": "true",
        "COSHOP_SANDBOX_URL": sandbox_url,
        "COSHOP_WEBHOOK_SECRET": SECRET,
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


def outbox_rows(database: Path, order_id: str) -> list[dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        found = conn.execute(
            "SELECT * FROM checkout_outbox WHERE order_id = ? ORDER BY created_at, id", (order_id,)
        )
        return [dict(row) for row in found]


async def test_sigkill_after_the_webhook_commit_and_the_restart_settles_the_room(
    tmp_path: Path,
) -> None:
    data, port, log = tmp_path / "data", free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    sandbox_port = free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    sandbox = await serve_app(
        create_sandbox_app(
            SandboxConfig(
                data_dir=tmp_path / "sandbox",
                public_url=sandbox_url,
                webhook_url=f"{base}/webhooks/stripe",
                webhook_secret=SECRET,
                webhook_retry_schedule=(0.2, 0.5, 1.0, 2.0),
                sweep_interval=0.05,
            )
        ),
        sandbox_port,
    )
    database = data / "coshop.db"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=15) as http:
            with coshop(data, port, sandbox_url, log) as proc:
                await wait_ready(base)
                r = await http.post(
                    "/api/v1/rooms", json={"kind": "group", "title": "Trip", "host_name": "Ada"}
                )
                assert r.status_code == 201, r.text
                room = r.json()
                rid, token = room["room_id"], room["host"]["token"]
                auth = {"Authorization": f"Bearer {token}"}
                host = await Peer.open(f"ws://127.0.0.1:{port}/ws/rooms/{rid}")
                await host.hello(token)
                assert (await add_line(host, "a1", "tent-2p", 1))["t"] == "ack"
                assert (await command(host, "l1", "LockCart"))["t"] == "ack"
                await host.close()
                r = await http.post(
                    f"/api/v1/rooms/{rid}/checkout", json={"mode": "host_pays"}, headers=auth
                )
                assert r.status_code == 200, r.text
                oid = r.json()["order"]["order_id"]

                refuse_room_writes(database, rid)
                r = await http.post(f"/api/v1/rooms/{rid}/checkout/{oid}/pay", headers=auth)
                assert r.status_code == 200, r.text
                async with httpx.AsyncClient() as browser:
                    done = await browser.post(
                        r.json()["url"],
                        data={
                            "card_number": "4242 4242 4242 4242",
                            "expiry": "12/39",
                            "cvc": "123",
                            "scenario": "pay",
                        },
                    )
                    assert done.status_code == 303, done.text

                async def committed_and_waiting() -> bool:
                    order = (await http.get(f"/api/v1/rooms/{rid}/checkout", headers=auth)).json()
                    pending = [
                        row
                        for row in outbox_rows(database, oid)
                        if row["done_at"] is None and '"SettleOrder"' in row["payload"]
                    ]
                    return order["order"]["status"] == "paid" and bool(pending)

                await eventually(committed_and_waiting)
                view = (await http.get(f"/api/v1/rooms/{rid}", headers=auth)).json()["view"]
                assert view["checkout"]["phase"] == "settling"  # the room has not heard yet
                proc.send_signal(signal.SIGKILL)  # no shutdown hooks: a real crash
                proc.wait(10)

            allow_room_writes(database)
            left = [row for row in outbox_rows(database, oid) if row["done_at"] is None]
            assert any('"SettleOrder"' in row["payload"] for row in left)

            with coshop(data, port, sandbox_url, log):
                await wait_ready(base)

                async def settled() -> bool:
                    r = await http.get(f"/api/v1/rooms/{rid}", headers=auth)
                    return bool(r.json()["view"]["checkout"]["phase"] == "open")

                await eventually(settled, timeout=90)
                view = (await http.get(f"/api/v1/rooms/{rid}", headers=auth)).json()["view"]
                assert view["lines"] == []
                assert view["checkout"]["last_order"] == {"order_id": oid, "outcome": "paid"}
                reader = await Peer.open(f"ws://127.0.0.1:{port}/ws/rooms/{rid}")
                welcome = await reader.hello(token, last_seq=0)
                events = [e["ev"] for e in await reader.events(welcome["seq"])]
                await reader.close()
                settlements = [e for e in events if e["type"] == "OrderSettled"]
                assert [(e["order_id"], e["outcome"]) for e in settlements] == [(oid, "paid")]

                async def all_done() -> bool:
                    return all(row["done_at"] is not None for row in outbox_rows(database, oid))

                await eventually(all_done)
                assert not any(row["dead"] for row in outbox_rows(database, oid))
    finally:
        await stop_app(*sandbox)
