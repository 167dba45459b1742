"""The feed's pieces on their own: the committer's hook never holds a commit back, and the pure
mapping from logged room events to webhook messages."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from server.db.engine import create_engine, database_url_for_data_dir, upgrade_engine
from server.hub.committer import Committer
from server.metrics import Metrics
from server.storage import Append, EventStore, NewEvent, StoredEvent
from server.webhooks.events import SUBSCRIBABLE, Message, envelope, room_message


def _ev(n: int) -> NewEvent:
    return NewEvent(type="note", data={"n": n}, at=1_700_000_000_000 + n, actor="ann")


async def test_the_commit_hook_sees_each_group_and_its_failure_stops_nothing(
    tmp_path: Path,
) -> None:
    engine = create_engine(database_url_for_data_dir(tmp_path))
    await upgrade_engine(engine)
    store = EventStore(engine)
    committer = Committer(store, Metrics())
    seen: list[list[str]] = []

    def listener(results: Sequence[tuple[StoredEvent, ...]]) -> None:
        seen.append([stored[0].room_id for stored in results])
        raise RuntimeError("a listener's bug")

    committer.committed = listener
    committer.start()
    try:
        first = await committer.commit(Append("r1", 0, (_ev(1),)))
        both = await asyncio.gather(
            committer.commit(Append("r1", 1, (_ev(2),))),
            committer.commit(Append("r2", 0, (_ev(1),))),
        )
    finally:
        await committer.close()
        await store.close()
        await engine.dispose()
    assert first[0].seq == 1 and [s[0].seq for s in both] == [2, 1]
    assert seen[0] == ["r1"] and sorted(r for group in seen[1:] for r in group) == ["r1", "r2"]


def test_room_events_become_messages_and_the_rest_do_not() -> None:
    names = {"m1": "Ada", "m2": "Bea"}
    added = {
        "line_id": "l1", "sku": "tent-2p", "variant": "green", "quantity": 2, "note": "gift",
        "redacted": False, "added_by": "m2", "payer": "m1", "title": "Tent",
        "price_minor": 28900, "currency": "USD", "at": 5,
    }  # fmt: skip
    ctx = {"room_id": "r1", "merchant_id": "shop", "names": names, "lines": {"l1": added}}
    line = room_message("LineAdded", added, at=5, **ctx)  # type: ignore[arg-type]
    assert line is not None and line.type == "cart.line_added"
    assert line.data["line"]["added_by"] == {"member_id": "m2", "display_name": "Bea"}
    assert line.data["line"]["payer"]["display_name"] == "Ada"
    assert "note" not in line.data["line"]  # a shopper's note stays in the room
    removed = room_message("LineRemoved", {"line_id": "l1", "by": "m1"}, at=6, **ctx)  # type: ignore[arg-type]
    assert removed is not None and removed.data["line"]["sku"] == "tent-2p"
    gone = room_message("LineRemoved", {"line_id": "l9", "by": "m1"}, at=6, **ctx)  # type: ignore[arg-type]
    assert gone is not None and gone.data["line"] == {"line_id": "l9"}
    for quiet in ("MessagePosted", "VoteCast", "CartLocked", "ProductPinned"):
        assert room_message(quiet, {}, at=1, **ctx) is None  # type: ignore[arg-type]
    assert {"order.paid", "show.starting"} <= SUBSCRIBABLE


def test_the_envelope_is_type_timestamp_and_data() -> None:
    body = envelope(Message("room.created", {"room_id": "r1"}, 1_796_622_000_123))
    assert body == {
        "type": "room.created",
        "timestamp": "2026-12-07T05:40:00.123Z",
        "data": {"room_id": "r1"},
    }
