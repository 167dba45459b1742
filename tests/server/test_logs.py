"""Logs: no secret, text or SQL parameter in any record, at INFO and at DEBUG.

The live test reads exactly what an operator reads: the JSON lines ``configure_logging`` writes
(server/logs.py), while a real server on a real socket serves chat, names, tokens, a merchant
key, SQL traffic, a WebSocket handshake and a page that both carry query strings.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from server.db.engine import create_engine, database_url_for_data_dir
from server.logs import configure_logging, strip_query
from tests.server.conftest import free_port, run_server, server_settings
from tests.server.peers import Peer, create_room, join
from tests.services import postgres_url

ADMIN_TOKEN = "adm_" + "Qx7-Lp2_Vz9Rk4Tn8Wc3Hb6Jd1Fg5Ms0Ya"


@contextlib.contextmanager
def _operator_logs(level: str) -> Iterator[io.StringIO]:
    """What ``coshop serve --log-level <level>`` writes to stderr, into a string.

    A ``coshop serve`` process starts with uvicorn's loggers untouched (``log_config=None``);
    earlier tests in this process may have run uvicorn servers with its default log config,
    which leaves "uvicorn" with a handler of its own and no propagation and ``uvicorn.access`` at
    the server's level for good, so they start fresh here and are put back after.
    """
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    # uvicorn's default log config gives "uvicorn" its own handler and no propagation
    uvicorn_loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.access", "uvicorn.error")]
    saved = [(lg.level, lg.handlers[:], lg.propagate, lg.disabled) for lg in uvicorn_loggers]
    for lg in uvicorn_loggers:
        lg.setLevel(logging.NOTSET)
        lg.handlers[:] = []
        lg.propagate, lg.disabled = True, False
    stream = io.StringIO()
    configure_logging(level, stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        for lg, (lvl, hs, prop, dis) in zip(uvicorn_loggers, saved, strict=True):
            lg.setLevel(lvl)
            lg.handlers[:] = hs
            lg.propagate, lg.disabled = prop, dis


@pytest.mark.parametrize("level", ["info", "debug"])
async def test_no_secret_in_any_log_record(tmp_path: Path, level: str) -> None:
    words = "very-private-words-" + secrets.token_hex(4)
    name = "Zelda" + secrets.token_hex(4)
    title = "Surprise party for " + secrets.token_hex(4)
    query_secret = "qs_" + secrets.token_hex(8)
    settings = server_settings(tmp_path, admin_token=ADMIN_TOKEN)
    with _operator_logs(level) as stream:
        async with (
            run_server(settings) as srv,
            httpx.AsyncClient(base_url=srv.base_url, timeout=10) as http,
        ):
            room = await create_room(http, title=title)
            room_id = room["room_id"]
            member = await join(http, room, name)
            # a merchant and its key: created with the admin token, then used (a SQL lookup by
            # the key's hash)
            made = await http.post(
                "/api/v1/merchants",
                json={"merchant_id": "acme", "name": "Acme"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
            assert made.status_code == 201, made.text
            merchant_key = made.json()["api_key"]
            me = await http.get(
                "/api/v1/merchant", headers={"Authorization": f"Bearer {merchant_key}"}
            )
            assert me.status_code == 200
            # pages whose query strings carry an invite and whatever else a link held
            page = await http.get(
                f"/join/{room_id}", params={"invite": room["invite"]["token"], "x": query_secret}
            )
            assert page.status_code == 200
            await http.get(f"/r/{room_id}", params={"t": member["token"]})
            # chat over a socket whose handshake carries the member's token in its query
            ws_url = srv.ws_url(room_id) + f"?token={member['token']}&x={query_secret}"
            peer = await Peer.open(ws_url)
            await peer.hello(member["token"])
            await peer.send(
                {"t": "cmd", "op": "m1", "name": "PostMessage", "args": {"text": words}}
            )
            await peer.recv_until("ack")
            await peer.send({"t": "hello", "token": "garbage"})  # a stray frame
            bad = await Peer.open(srv.ws_url(room_id))
            await bad.send({"t": "hello", "token": member["token"] + "tampered", "last_seq": None})
            await bad.recv_until("err")
            await peer.close()
            await bad.close()
    logged = stream.getvalue()

    assert '"logger": "coshop' in logged, "the server logged nothing of its own"
    if level == "debug":
        assert '"level": "DEBUG"' in logged, "nothing was logged at DEBUG"
    # the access lines are there, without their query strings
    assert f'\\"GET /join/{room_id} HTTP/1.1\\" 200' in logged
    assert f'\\"WebSocket /ws/rooms/{room_id}\\" [accepted]' in logged
    assert "?" not in "".join(
        line for line in logged.splitlines() if '"uvicorn.access"' in line or "WebSocket" in line
    )
    for secret in (
        words,
        name,
        title,
        query_secret,
        room["host"]["token"],
        member["token"],
        room["invite"]["token"],
        ADMIN_TOKEN,
        merchant_key,
        hashlib.sha256(merchant_key.encode()).hexdigest(),  # what the registry stores and queries
        settings.secret_key,
    ):
        assert secret not in logged


def test_the_guards_hold_whoever_logs() -> None:
    """Records that would carry data are dropped or cut, even at DEBUG."""
    with _operator_logs("debug") as stream:
        logging.getLogger("aiosqlite").debug("executing %s", ("INSERT", "secret-param-1"))
        logging.getLogger("sqlalchemy.engine.Engine").info("[generated] ('secret-param-2',)")
        logging.getLogger("httpcore.http11").debug("send_request_headers secret-header-3")
        logging.getLogger("python_multipart.multipart").debug("field secret-field-4")
        logging.getLogger("websockets.server").debug("< TEXT '{\"secret-frame-5\"}'")
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/join/r1?invite=secret-6", "1.1", 200
        )
        logging.getLogger("uvicorn.error").info(
            '%s - "WebSocket %s" [accepted]', "127.0.0.1:1", "/ws/rooms/r1?token=secret-7"
        )
        logging.getLogger("httpx").info(
            'HTTP Request: %s %s "%s %d %s"',
            "POST",
            httpx.URL("https://merchant.example/hook?sig=secret-8"),
            "HTTP/1.1",
            200,
            "OK",
        )
        logging.getLogger("coshop.test").debug("kept at debug")
    logged = stream.getvalue()
    assert "secret" not in logged
    assert "kept at debug" in logged
    assert "/join/r1 HTTP/1.1" in logged
    assert "WebSocket /ws/rooms/r1" in logged
    assert "https://merchant.example/hook" in logged
    assert strip_query("/a/b?c=d?e") == "/a/b"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_database_errors_name_the_statement_not_its_values(
    tmp_path: Path, backend: str
) -> None:
    url = database_url_for_data_dir(tmp_path) if backend == "sqlite" else postgres_url()
    engine = create_engine(url)
    secret = "card-4242-" + secrets.token_hex(4)
    try:
        with _operator_logs("debug") as stream:
            async with engine.connect() as conn:
                with pytest.raises(DBAPIError) as failed:
                    await conn.execute(
                        text("SELECT * FROM no_such_table WHERE x = :x"), {"x": secret}
                    )
                logging.getLogger("coshop.test").exception("query failed", exc_info=failed.value)
    finally:
        await engine.dispose()
    assert "no_such_table" in str(failed.value)
    assert secret not in str(failed.value)
    assert "no_such_table" in stream.getvalue()
    assert secret not in stream.getvalue()


async def test_the_sandbox_providers_access_lines_have_no_query_strings(tmp_path: Path) -> None:
    port = free_port()
    secret = "qs_" + secrets.token_hex(8)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSHOP_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "sandbox-pay", "--port", str(port),
        "--data-dir", str(tmp_path / "sandbox"),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        await _wait_answering(base)
        async with httpx.AsyncClient(base_url=base) as http:
            await http.get("/pay/nothing-here", params={"token": secret})
    finally:
        proc.terminate()
        raw, _ = await asyncio.wait_for(proc.communicate(), 20)
    output = raw.decode()
    assert '"GET /pay/nothing-here HTTP/1.1"' in output
    assert secret not in output


async def _wait_answering(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(400):
            with contextlib.suppress(httpx.HTTPError):
                await http.get("/")
                return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{base} did not answer")
