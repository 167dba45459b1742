"""``coshop outbox list|show|retry`` against a running coshop, on SQLite and PostgreSQL.

The end-to-end test makes a dead effect for real: a host pays, then cancels the order, so a
refund is due. A proxy in front of the sandbox lets that refund through — the sandbox refunds
and remembers its answer under the request's idempotency key — but hands coshop a 400 instead,
so the worker gives the refund up (``provider_rejected``): the worst case for a retry, since the
money did move. The operator's ``coshop outbox`` (a real process on the server's database, as
in production) lists it, shows it, retries it; the running server delivers it on its next pass
with the same ``Idempotency-Key``, and the sandbox answers with its remembered refund instead of
refunding twice (a retry with a new key would be refused, ``charge_already_refunded``, and die
again).

A capture that died (its order counted the share failed and voided) is refused by ``retry``:
run again it would capture money for a void order.

The other tests drive ``main()`` on a SQLite file with rows written by the outbox store: what
is refused (no database, a database never migrated, a pending or delivered row, a room command
a later one superseded) and the filters.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import tests.server.checkout.support as support
from server.checkout.effects import Effect
from server.checkout.outbox_admin import format_age, parse_duration, shown_payload
from server.checkout.outbox_store import OutboxRow, OutboxStore
from server.cli import main
from server.db.engine import create_engine, database_url_for_data_dir, upgrade_database
from server.settings import Settings
from tests.server.checkout.support import AUTH, add_line, checkout_env, command, frozen_order
from tests.server.checkout.test_outbox import eventually, quick_retries
from tests.server.conftest import free_port, server_settings
from tests.services import POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, postgres_url, unique_name

ROOT = Path(__file__).resolve().parents[2]


# ---- a provider that refuses one call for good ------------------------------------------------
class RefusesOnce:
    """Forwards everything to the sandbox, but coshop's first request whose path ends with
    ``action`` gets a 400 (``provider_rejected``): after the sandbox ran it (``ran``: the money
    moved, the answer is lost) or without it reaching the sandbox."""

    def __init__(self, upstream: str, action: str, *, ran: bool) -> None:
        self.client = httpx.AsyncClient(base_url=upstream, timeout=15)
        self.action, self.ran = action, ran
        self.keys: list[str | None] = []  # the Idempotency-Key of each such request
        self.answers: list[int] = []  # the sandbox's status for each (0: it never saw it)
        self.replayed: list[bool] = []  # whether the sandbox answered it from its memory
        self.url = ""

    async def forward(self, request: Request) -> Response:
        ours = request.method == "POST" and request.url.path.endswith(self.action)
        first = ours and not self.keys
        if ours:
            self.keys.append(request.headers.get("idempotency-key"))
        if first and not self.ran:
            self.answers.append(0)
            self.replayed.append(False)
            return self._refusal()
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
        answer = await self.client.request(
            request.method,
            request.url.path,
            params=str(request.query_params),
            content=await request.body(),
            headers=headers,
        )
        if ours:
            self.answers.append(answer.status_code)
            self.replayed.append(answer.headers.get("idempotent-replayed") == "true")
        if first:
            return self._refusal()
        drop = {"content-length", "content-encoding", "transfer-encoding", "connection"}
        return Response(
            answer.content,
            status_code=answer.status_code,
            headers={k: v for k, v in answer.headers.items() if k.lower() not in drop},
        )

    @staticmethod
    def _refusal() -> Response:
        return JSONResponse(
            {"error": {"type": "invalid_request_error", "message": "refused"}}, status_code=400
        )


@contextlib.asynccontextmanager
async def refuses_once(upstream: str, action: str, *, ran: bool) -> AsyncIterator[RefusesOnce]:
    proxy = RefusesOnce(upstream, action, ran=ran)
    app = Starlette(
        routes=[Route("/{path:path}", proxy.forward, methods=["GET", "POST", "DELETE"])]
    )
    port = free_port()
    running = await support.serve_app(app, port)
    proxy.url = f"http://127.0.0.1:{port}"
    try:
        yield proxy
    finally:
        await support.stop_app(*running)
        await proxy.client.aclose()


# ---- the operator's command, as its own process -----------------------------------------------
class Operator:
    """Runs ``python -m server.cli outbox …`` with only the database settings given."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COSHOP_")}
        self.flags: list[str] = []
        if database_url is None:
            self.flags = ["--data-dir", str(data_dir)]
        else:
            self.env["COSHOP_DATABASE_URL"] = database_url  # as `coshop serve` reads it

    async def run(self, *argv: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "outbox", *argv, *self.flags,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=self.env, cwd=ROOT,
        )  # fmt: skip
        out, err = await proc.communicate()
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    async def json(self, *argv: str) -> Any:
        code, out, err = await self.run(*argv, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own (its URL), dropped afterwards."""
    base = postgres_url()
    name = unique_name("coshop_obx")
    admin = await asyncpg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user=POSTGRES_USER, database="postgres"
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """``None`` (coshop's SQLite file in its data dir) or a PostgreSQL URL coshop runs on."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_database")

    def settings(tmp_path: Path, **changes: Any) -> Settings:
        changes["database_url"] = changes.get("database_url") or url
        return server_settings(tmp_path, **changes)

    monkeypatch.setattr(support, "server_settings", settings)
    return url


async def outbox_rows(env: support.Env, order_id: str) -> list[OutboxRow]:
    return await env.service.store.outbox.rows(order_id)


async def test_a_dead_refund_is_listed_shown_retried_and_delivered_once(
    tmp_path: Path, database: str | None
) -> None:
    sandbox_port = free_port()
    async with (
        refuses_once(f"http://127.0.0.1:{sandbox_port}", "/v1/refunds", ran=True) as proxy,
        checkout_env(tmp_path, sandbox_port=sandbox_port, provider_url=proxy.url) as env,
    ):
        quick_retries(env.service)
        if database is not None:  # the fixture really put coshop on PostgreSQL
            assert env.service.store.outbox._engine.url.get_backend_name() == "postgresql"
        operator = Operator(env.data_dir, database)
        room, (bea,) = await env.room(("Bea",))
        rid, token = room["room_id"], room["host"]["token"]
        host = await env.peer(rid, token)
        guest = await env.peer(rid, bea["token"])
        await host.until_event("MemberJoined", member_id=bea["member_id"])
        assert (await add_line(host, "a1", "tent-2p", 1))["t"] == "ack"
        assert (await add_line(guest, "b1", "tent-4p", 1))["t"] == "ack"
        assert (await command(host, "l1", "LockCart"))["t"] == "ack"
        base = f"/api/v1/rooms/{rid}/checkout"
        r = await env.call("POST", base, token, json={"mode": "own_lines"})
        assert r.status_code == 200, r.text
        oid = r.json()["order"]["order_id"]
        pay = await env.call("POST", f"{base}/{oid}/pay", token)
        await env.pay_on_page(pay.json()["url"])
        await host.until_event("ShareUpdated", status="paid")
        r = await env.call("POST", f"{base}/{oid}/cancel", token)  # the host's payment: refund
        assert r.status_code == 200, r.text

        async def refund_dead() -> bool:
            return any(row.kind == "refund" and row.dead for row in await outbox_rows(env, oid))

        await eventually(refund_dead)
        (refund,) = [row for row in await outbox_rows(env, oid) if row.kind == "refund"]
        assert (refund.attempts, refund.last_error) == (1, "provider_rejected")
        key = f"coshop-fx-{refund.id}"

        # list: the table for a human, JSON for a script
        code, table, err = await operator.run("list", "--dead")
        assert code == 0, err
        header, *lines = table.splitlines()
        assert header.split()[:3] == ["ID", "STATE", "KIND"]
        (line,) = [ln for ln in lines if ln.startswith(refund.id)]
        assert line.split()[1:5] == ["dead", "refund", rid, oid]
        assert "provider_rejected" in line and "died" in line
        expected = "postgresql" if database else str((env.data_dir / "coshop.db").resolve())
        assert expected in err  # it says which database it reads
        listed = await operator.json("list", "--dead", "--order", oid)
        assert listed["matching"] == 1
        (item,) = listed["effects"]
        assert item["id"] == refund.id and item["state"] == "dead"
        assert item["idempotency_key"] == key and item["done_at"] is not None
        assert item["payload"]["payment_id"] == refund.payload["payment_id"]

        # show: everything about it, the order's state, its sibling effects
        code, shown, err = await operator.run("show", refund.id)
        assert code == 0, err
        assert f"{key} (the same on every attempt)" in shown
        assert f"{oid}: void (merchant demo" in shown
        assert f'payment_id: "{refund.payload["payment_id"]}"' in shown
        assert f"amount_minor: {refund.payload['amount_minor']}" in shown
        assert "other effects of this order" in shown and "room SettleOrder" in shown

        # retry: the running server picks it up, no restart
        code, out, err = await operator.run("retry", refund.id)
        assert code == 0, err
        assert f"requeued {refund.id} (refund, died with provider_rejected)" in out

        async def delivered_now() -> bool:
            (row,) = [r for r in await outbox_rows(env, oid) if r.id == refund.id]
            return row.done_at is not None and not row.dead

        await eventually(delivered_now)
        (row,) = [r for r in await outbox_rows(env, oid) if r.id == refund.id]
        assert row.attempts == 2  # kept over the retry: its only history
        assert (await operator.json("list", "--dead", "--order", oid))["effects"] == []

        # one refund, whatever the retry did: the same key, answered from the sandbox's memory
        assert proxy.keys == [key, key]
        assert (proxy.answers, proxy.replayed) == ([200, 200], [False, True])
        events = (await env.sandbox.get("/_sandbox/events", headers=AUTH)).json()["events"]
        refunds = [
            e["body"]["data"]["object"]
            for e in events
            if e["type"] == "charge.refunded"
            and e["body"]["data"]["object"]["payment_intent"] == refund.payload["payment_id"]
        ]
        assert len(refunds) == 1
        assert refunds[0]["amount_refunded"] == refund.payload["amount_minor"]


async def test_a_dead_capture_is_not_retried(tmp_path: Path) -> None:
    """The capture never reached the provider and died: the order counted the share failed and
    voided (all or nothing). The authorization is still there, so a retry would capture money
    for a void order: ``retry`` refuses, and nothing is captured."""
    sandbox_port = free_port()
    async with (
        refuses_once(f"http://127.0.0.1:{sandbox_port}", "/capture", ran=False) as proxy,
        checkout_env(tmp_path, sandbox_port=sandbox_port, provider_url=proxy.url) as env,
    ):
        quick_retries(env.service)
        operator = Operator(env.data_dir, None)
        room, _, host, order = await frozen_order(env, all_or_nothing=True)
        rid, token, oid = room["room_id"], room["host"]["token"], order["order_id"]
        pay = await env.call("POST", f"/api/v1/rooms/{rid}/checkout/{oid}/pay", token)
        await env.pay_on_page(pay.json()["url"])  # authorized: the capture is due
        settled = await host.until_event("OrderSettled", order_id=oid, timeout=30)
        assert settled["outcome"] == "void"  # the share failed: all or nothing voids

        async def capture_dead() -> bool:
            return any(row.kind == "capture" and row.dead for row in await outbox_rows(env, oid))

        await eventually(capture_dead)
        (capture,) = [row for row in await outbox_rows(env, oid) if row.kind == "capture"]
        assert capture.last_error == "provider_rejected"

        code, out, _ = await operator.run("retry", capture.id)
        assert code == 1
        assert f"not retried {capture.id}: a dead capture is never retried" in out
        code, out, err = await operator.run("retry", "--all-dead")
        assert code == 0 and "left 1 dead capture(s) alone" in err
        assert "no dead checkout effects match; nothing retried" in out
        (row,) = [r for r in await outbox_rows(env, oid) if r.id == capture.id]
        assert (row.dead, row.attempts) == (True, 1)
        assert proxy.answers == [0]  # the provider never saw a capture
        intent_url = f"/v1/payment_intents/{capture.payload['payment_id']}"
        intent = (await env.sandbox.get(intent_url, headers=AUTH)).json()
        assert intent["amount_received"] == 0
        assert intent["status"] in ("requires_capture", "canceled")  # held, or let go


# ---- refusals and filters, on a SQLite file -------------------------------------------------
def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["outbox", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _update(payer: str, status: str) -> Effect:
    return Effect(
        "room_command", {"name": "UpdateShare", "payer": payer, "status": status,
                         "amount_minor": 100},
    )  # fmt: skip


async def _rows(data_dir: Path) -> dict[str, str]:
    """Rows of two orders, settled the way the worker settles them; their ids by role."""
    url = database_url_for_data_dir(data_dir)
    await upgrade_database(url)
    engine = create_engine(url)
    store = OutboxStore(engine)
    try:
        t0 = 1_700_000_000_000
        (stale,) = await store.enqueue("o1", "r1", 2, [_update("m1", "checkout_open")], t0)
        (later,) = await store.enqueue("o1", "r1", 3, [_update("m1", "paid")], t0 + 1000)
        (alone,) = await store.enqueue("o2", "r2", 2, [_update("m2", "paid")], t0 + 2000)
        void, refund = await store.enqueue(
            "o2", "r2", 3,
            [Effect("void", {"share_id": "s1", "session_id": "cs_1", "payment_id": "pi_1",
                             "amount_minor": 100, "card": "4242"}),
             Effect("refund", {"share_id": "s2", "session_id": "cs_2", "payment_id": "pi_2",
                               "amount_minor": 50})],
            t0 + 3000,
        )  # fmt: skip
        await store.finish(stale, t0 + 100, error="bad_command", dead=True)
        await store.finish(later, t0 + 1100)
        await store.finish(alone, t0 + 2100, error="room_not_found", dead=True)
        await store.finish(void, t0 + 3100, error="provider_rejected", dead=True)
        await store.retry(refund, t0 + 10**12, "provider_unavailable")  # backing off
    finally:
        await engine.dispose()
    return {"stale": stale, "later": later, "alone": alone, "void": void, "refund": refund}


def test_list_filters_and_hides_unknown_payload_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = asyncio.run(_rows(tmp_path))
    data = ["--data-dir", str(tmp_path)]

    def listed(*argv: str) -> list[str]:
        code, out, err = _run(capsys, "list", *argv, *data, "--json")
        assert code == 0, err
        return [e["id"] for e in json.loads(out)["effects"]]

    # newest first, except the queue (oldest first); the default is dead and pending
    assert listed() == [ids["refund"], ids["void"], ids["alone"], ids["stale"]]
    assert listed("--dead") == [ids["void"], ids["alone"], ids["stale"]]
    assert listed("--pending") == [ids["refund"]]
    assert len(listed("--all")) == 5
    assert listed("--dead", "--room", "r1") == [ids["stale"]]
    assert listed("--dead", "--order", "o2", "--kind", "void") == [ids["void"]]
    code, out, _ = _run(capsys, "list", "--dead", "--limit", "1", *data)
    assert code == 0 and ids["void"] in out and "2 more match" in out
    code, out, _ = _run(capsys, "list", "--pending", *data)
    assert "provider_unavailable" in out and "next in" in out
    code, out, _ = _run(capsys, "list", "--dead", "--room", "nowhere", *data)
    assert (code, out.strip()) == (0, "no dead checkout effects")
    code, out, _ = _run(capsys, "show", ids["void"], *data, "--json")
    payload = json.loads(out)["payload"]
    assert payload["card"] == "(hidden)" and payload["payment_id"] == "pi_1"
    assert shown_payload({"name": "SettleOrder", "token": "x"}) == {
        "name": "SettleOrder", "token": "(hidden)"
    }  # fmt: skip
    code, _, err = _run(capsys, "show", "o9-00001-00", *data)
    assert code == 1 and "no checkout effect 'o9-00001-00'" in err


def test_retry_refuses_what_must_not_run_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = asyncio.run(_rows(tmp_path))
    data = ["--data-dir", str(tmp_path)]
    # a pending row is queued already; a room command a later delivered one superseded
    code, out, _ = _run(capsys, "retry", ids["refund"], ids["stale"], *data)
    assert code == 1
    assert f"not retried {ids['refund']}: not dead (pending)" in out
    assert f"not retried {ids['stale']}: superseded" in out and ids["later"] in out
    # a delivered one must not run again; an unknown one is named
    code, out, _ = _run(capsys, "retry", ids["later"], "o9-00001-00", *data)
    assert code == 1
    assert f"not retried {ids['later']}: not dead (delivered): it was delivered" in out
    assert "not retried o9-00001-00: no such effect" in out
    # --all-dead with filters, dry run first: nothing changes
    code, out, _ = _run(capsys, "retry", "--all-dead", "--order", "o2", "--dry-run", *data)
    assert code == 0 and "2 effect(s) would be retried" in out
    code, out, _ = _run(capsys, "retry", "--all-dead", "--older-than", "4000d", *data)
    assert (code, out.strip()) == (0, "no dead checkout effects match; nothing retried")
    code, out, _ = _run(capsys, "retry", "--all-dead", "--order", "o2", "--json", *data)
    assert code == 0
    results = json.loads(out)["results"]
    assert [(r["id"], r["requeued"]) for r in results] == [
        (ids["alone"], True),
        (ids["void"], True),
    ]
    code, out, _ = _run(capsys, "list", "--pending", *data, "--json")
    pending = {e["id"]: e for e in json.loads(out)["effects"]}
    assert set(pending) == {ids["alone"], ids["void"], ids["refund"]}
    assert pending[ids["void"]]["attempts"] == 0 and pending[ids["void"]]["dead"] is False
    assert pending[ids["void"]]["last_error"] == "provider_rejected"  # kept until it runs
    # a second retry of the same rows finds them queued
    code, out, _ = _run(capsys, "retry", ids["void"], *data)
    assert code == 1 and "not dead (pending)" in out
    # forced: the superseded room command goes back in the queue too
    code, out, _ = _run(capsys, "retry", "--force", ids["stale"], *data)
    assert code == 0 and f"requeued {ids['stale']}" in out
    # names and --all-dead together, or filters without it, are refused
    code, _, err = _run(capsys, "retry", ids["void"], "--all-dead", *data)
    assert code == 2 and "not both" in err
    code, _, err = _run(capsys, "retry", ids["void"], "--older-than", "1h", *data)
    assert code == 2 and "go with --all-dead" in err


def test_no_database_or_an_unmigrated_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    code, out, err = _run(capsys, "list", "--data-dir", str(empty))
    assert code == 2 and out == ""
    assert f"no database at {(empty / 'coshop.db').resolve()}" in err
    assert "COSHOP_DATABASE_URL" in err
    assert not (empty / "coshop.db").exists()  # nothing was created

    async def bare() -> None:
        engine = create_engine(database_url_for_data_dir(empty))
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE other (x INTEGER)")
        await engine.dispose()

    asyncio.run(bare())
    code, _, err = _run(capsys, "retry", "--all-dead", "--data-dir", str(empty))
    assert code == 2 and "no checkout outbox" in err and "coshop db upgrade" in err


def test_durations() -> None:
    assert [parse_duration(t) for t in ("90s", "10m", "24h", "1d", "1h30m")] == [
        90, 600, 86400, 86400, 5400
    ]  # fmt: skip
    for bad in ("", "10", "m", "1w", "-1h", "1h 30m"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)
    assert [format_age(ms) for ms in (0, 45_000, 250_000, 11_520_000, 187_200_000)] == [
        "0s", "45s", "4m10s", "3h12m", "2d4h"
    ]  # fmt: skip
