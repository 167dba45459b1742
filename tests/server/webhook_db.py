"""The webhook tables on both databases, for tests that drive the store, the feed and the worker
directly: SQLite in the test's directory, or a PostgreSQL schema of the test's own (dropped
afterwards; xdist-safe). ``Db.engine()`` opens another "process" onto the same data."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engine import create_engine, database_url_for_data_dir, upgrade_database
from server.storage.tables import merchants, room_events, rooms
from server.webhooks.store import Endpoint, WebhookStore, delivery_id, insert_deliveries
from server.webhooks.worker import DeliveryWorker
from tests.services import postgres_url, unique_name

DAY_MS = 24 * 3600 * 1000
SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
T0 = 1_800_000_000_000  # a fixed "now" (ms) the fake clocks start from


@dataclass
class Db:
    name: str
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)
    engines: list[AsyncEngine] = field(default_factory=list)

    def engine(self) -> AsyncEngine:
        engine = create_engine(self.url, connect_args=self.connect_args)
        self.engines.append(engine)
        return engine

    async def close(self) -> None:
        for engine in self.engines:
            await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Db]:
    if request.param == "sqlite":
        url = database_url_for_data_dir(tmp_path / "data")
        await upgrade_database(url)
        lite = Db("sqlite", url)
        yield lite
        await lite.close()
        return
    url = postgres_url()
    schema = unique_name("wh")
    admin = create_engine(url)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        args = {"server_settings": {"search_path": schema}}
        await upgrade_database(url, connect_args=args)
        pg = Db("postgres", url, args)
        try:
            yield pg
        finally:
            await pg.close()
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


class Clock:
    """A fake wall clock (seconds) the worker reads."""

    def __init__(self, ms: int = T0) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000

    def advance(self, ms: int) -> None:
        self.ms += ms


class Answers:
    """A receiver behind ``httpx.MockTransport``: answers ``status`` (and ``body``), keeps every
    request."""

    def __init__(self, status: int = 200, body: bytes = b"ok") -> None:
        self.status = status
        self.body = body
        self.requests: list[httpx.Request] = []

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return httpx.Response(self.status, content=self.body)

        return httpx.MockTransport(handle)

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]


def worker(
    engine: AsyncEngine, answers: Answers, clock: Callable[[], float], **options: Any
) -> DeliveryWorker:
    return DeliveryWorker(
        WebhookStore(engine),
        production=False,
        clock=clock,
        jitter=lambda: 0.5,  # every delay exactly the schedule's
        transport=answers.transport(),
        **options,
    )


async def add_endpoint(
    store: WebhookStore, endpoint_id: str, at: int, merchant_id: str = "shop"
) -> Endpoint:
    endpoint = Endpoint(
        endpoint_id=endpoint_id,
        merchant_id=merchant_id,
        url=f"http://receiver.test/{endpoint_id}",
        events=("*",),
        description="",
        secret=SECRET,
        previous_secret=None,
        previous_until=None,
        enabled=True,
        created_at=at,
        updated_at=at,
    )
    await store.create_endpoint(endpoint)
    return endpoint


async def add_delivery(
    engine: AsyncEngine, endpoint_id: str, message_id: str, at: int, room_id: str = "room1"
) -> str:
    """One ``room.created`` delivery written now (``at``), as the feed writes them."""
    did = delivery_id(endpoint_id, message_id)
    body = json.dumps(
        {
            "type": "room.created",
            "timestamp": "2027-01-15T08:00:00.000Z",
            "data": {"room_id": room_id},
        }
    )
    async with engine.begin() as conn:
        await insert_deliveries(
            conn,
            [
                {
                    "delivery_id": did,
                    "endpoint_id": endpoint_id,
                    "message_id": message_id,
                    "event_type": "room.created",
                    "room_id": room_id,
                    "position": at * 1000,
                    "payload": body,
                    "created_at": at,
                }
            ],
        )
    return did


async def add_room(engine: AsyncEngine, room_id: str, at: int, merchant_id: str = "shop") -> None:
    """A merchant's room and its log: opened by Ada, then Bea, Cy and Di join."""
    async with engine.begin() as conn:
        found = await conn.scalar(
            text("SELECT count(*) FROM merchants WHERE merchant_id = :m"), {"m": merchant_id}
        )
        if not found:
            await conn.execute(
                insert(merchants).values(
                    merchant_id=merchant_id,
                    name="Shop",
                    origins="[]",
                    api_key_hash=unique_name("h"),
                    created_at=at,
                )
            )
        await conn.execute(
            insert(rooms).values(
                room_id=room_id,
                merchant_id=merchant_id,
                kind="group",
                title="Trip",
                created_at=at,
                closed=False,
            )
        )
        opened = {"kind": "group", "title": "Trip", "host_id": "m0"}
        log = [("RoomOpened", opened)] + [
            ("MemberJoined", {"member_id": f"m{i}", "display_name": name, "role": "member"})
            for i, name in enumerate(["Ada", "Bea", "Cy", "Di"])
        ]
        await conn.execute(
            insert(room_events),
            [
                {
                    "room_id": room_id,
                    "seq": seq,
                    "type": kind,
                    "data": json.dumps(data),
                    "at": at,
                    "actor": "m0",
                }
                for seq, (kind, data) in enumerate(log, start=1)
            ],
        )
