"""A REST call while the database cannot be written answers 503 storage_unavailable with
Retry-After — never a 500 — and works again once the database is back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

import server.db.engine as engine_module
from tests.server.conftest import run_server, server_settings


async def test_room_creation_during_a_locked_database_is_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "_SQLITE_BUSY_TIMEOUT_MS", 50)
    settings = server_settings(tmp_path)
    async with run_server(settings) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        body = {"kind": "group", "title": "Trip", "host_name": "Ada"}
        assert (await http.post("/api/v1/rooms", json=body)).status_code == 201
        other = sqlite3.connect(settings.data_dir / "coshop.db", isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another writer holds the lock past our timeout
            r = await http.post("/api/v1/rooms", json=body)
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "storage_unavailable"
            assert r.headers["retry-after"] == "1"
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert (await http.post("/api/v1/rooms", json=body)).status_code == 201
