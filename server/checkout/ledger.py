"""A merchant's orders, read for the console (``GET /api/v1/merchant/orders``).

This module is for: listing a merchant's orders newest first, each summed up from the order's
own record (status, currency, total, what is paid and refunded, how many payers). It must not
write, and knows nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.checkout.store import CheckoutStore
from server.checkout.tables import orders
from server.storage import translate_unavailable

__all__ = ["OrderSummary", "merchant_orders", "page_cursor"]


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """One order as the merchant's console lists it (amounts in minor units, times in ms)."""

    order_id: str
    room_id: str
    status: str
    currency: str
    total_minor: int
    paid_minor: int
    refunded_minor: int
    payers: int
    paid_payers: int
    created_at: int
    updated_at: int


def page_cursor(summary: OrderSummary) -> str:
    """The cursor that continues a page ending with ``summary`` (``before=`` of the next call)."""
    return f"{summary.created_at // 1000}-{summary.order_id}"


def _cursor(before: str) -> tuple[int, str] | None:
    seconds, _, order_id = before.partition("-")
    ok = seconds.isascii() and seconds.isdigit() and len(seconds) <= 12 and bool(order_id)
    return (int(seconds), order_id) if ok else None


async def merchant_orders(
    engine: AsyncEngine, merchant_id: str, *, limit: int = 50, before: str | None = None
) -> list[OrderSummary]:
    """The merchant's orders, newest first; ``before`` (a :func:`page_cursor`) continues a page.
    Raises ValueError for a cursor this module did not make.

    ``checkout_orders`` keeps the order core's clock, whole seconds; summaries answer
    milliseconds like every other time on coshop's API.
    """
    stmt = select(orders.c.order_id, orders.c.created_at, orders.c.updated_at).where(
        orders.c.merchant_id == merchant_id
    )
    if before is not None:
        cursor = _cursor(before)
        if cursor is None:
            raise ValueError("not a page cursor")
        seconds, last_id = cursor
        stmt = stmt.where(
            or_(
                orders.c.created_at < seconds,
                and_(orders.c.created_at == seconds, orders.c.order_id < last_id),
            )
        )
    stmt = stmt.order_by(orders.c.created_at.desc(), orders.c.order_id.desc()).limit(limit)
    store = CheckoutStore(engine)
    out: list[OrderSummary] = []
    with translate_unavailable():
        async with engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        records = [
            (await store.load(order_id), created, updated) for order_id, created, updated in rows
        ]
    for record, created_at, updated_at in records:
        if record is None:  # pragma: no cover - the row was just read; orders are never deleted
            continue
        order = record.order
        out.append(
            OrderSummary(
                order_id=order.order_id,
                room_id=order.room_id,
                status=order.status,
                currency=order.currency,
                total_minor=sum(s.amount_minor for s in order.shares),
                paid_minor=sum(s.paid_minor for s in order.shares),
                refunded_minor=sum(s.refunded_minor for s in order.shares),
                payers=len(order.shares),
                paid_payers=sum(1 for s in order.shares if s.paid_minor > 0),
                created_at=int(created_at) * 1000,
                updated_at=int(updated_at) * 1000,
            )
        )
    return out
