"""An idle webhook worker's pass is one query; deliveries written elsewhere still go out.

A server polls for due deliveries every few seconds (other processes write them too): when none
is due, the pass reads the earliest due time only, not the due rows as well (docs/performance.md,
"idle CPU").
"""

from __future__ import annotations

import asyncio

from server.webhooks.store import Delivery, WebhookStore
from tests.server.webhook_db import T0, Answers, Clock, Db, add_delivery, add_endpoint, db, worker

__all__ = ["db"]  # the fixture


async def test_an_idle_pass_reads_one_minimum_and_a_delivery_from_elsewhere_still_goes(
    db: Db,
) -> None:
    answers = Answers()
    deliveries = worker(db.engine(), answers, Clock(T0), poll_s=0.01)
    store = deliveries.store
    dues: list[int] = []
    read_due = store.due

    async def counted(now_ms: int, limit: int) -> list[Delivery]:
        dues.append(now_ms)
        return await read_due(now_ms, limit)

    store.due = counted  # type: ignore[method-assign]
    await deliveries.start()
    try:
        await asyncio.sleep(0.3)  # many idle passes
        assert dues == []
        elsewhere = db.engine()  # another process writes a delivery, without waking this one
        await add_endpoint(WebhookStore(elsewhere), "ep1", T0)
        await add_delivery(elsewhere, "ep1", "msg_1", T0)
        async with asyncio.timeout(10):
            while answers.ids() != ["msg_1"]:
                await asyncio.sleep(0.01)
        assert dues
    finally:
        await deliveries.close()
