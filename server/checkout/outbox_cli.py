"""``coshop outbox list|show|retry``: the checkout outbox for an operator (docs/runbook.md).

:mod:`server.cli` parses the arguments and the settings; this module opens the database the
server uses (``COSHOP_DATABASE_URL``, else the SQLite file in ``COSHOP_DATA_DIR``), runs one
command with :class:`~server.checkout.outbox_admin.OutboxAdmin` and prints a table for a human
or, with ``--json``, JSON for a script (stdout; notes go to stderr).

It never creates a database or migrates one: a missing SQLite file or a database without the
outbox table is a configuration error (exit status 2), not an empty, reassuring list.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from server.checkout.outbox_admin import (
    OutboxAdmin,
    OutboxEntry,
    Which,
    format_age,
)
from server.settings import ConfigError, Settings

__all__ = ["ListArgs", "RetryArgs", "outbox_list", "outbox_retry", "outbox_show", "render_table"]


@dataclass(frozen=True, slots=True)
class ListArgs:
    which: Which
    room: str | None = None
    order: str | None = None
    kind: str | None = None
    limit: int = 50
    as_json: bool = False


@dataclass(frozen=True, slots=True)
class RetryArgs:
    ids: tuple[str, ...]
    all_dead: bool = False
    older_than_s: int | None = None
    room: str | None = None
    order: str | None = None
    kind: str | None = None
    force: bool = False
    dry_run: bool = False
    as_json: bool = False


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _iso(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


async def _open(settings: Settings) -> tuple[Any, OutboxAdmin]:
    """The engine and the admin for ``settings``' database; refuses one that is not there."""
    from server.db.engine import create_engine

    if not settings.database_url:
        path = (settings.data_dir / "coshop.db").resolve()
        if not path.is_file():
            raise ConfigError(
                f"no database at {path}: set COSHOP_DATABASE_URL (or --database-url) to the"
                " database the server uses, or --data-dir to its data directory"
            )
    engine = create_engine(settings.effective_database_url)
    admin = OutboxAdmin(engine)
    try:
        found = await admin.has_outbox()
    except Exception:
        await engine.dispose()
        raise
    if not found:
        await engine.dispose()
        raise ConfigError(
            "this database has no checkout outbox (checkout_outbox): is it coshop's? "
            "A server migrates it at start; 'coshop db upgrade' does it by hand"
        )
    return engine, admin


def _when(entry: OutboxEntry, now: int) -> str:
    state = entry.state(now)
    if state == "dead":
        return f"died {format_age(now - (entry.done_at or now))} ago"
    if state == "delivered":
        return f"delivered {format_age(now - (entry.done_at or now))} ago"
    if state == "running":
        return f"running (lease {format_age((entry.claimed_until or now) - now)})"
    if entry.next_attempt_at <= now:
        return "due now"
    return f"next in {format_age(entry.next_attempt_at - now)}"


COLUMNS = ("ID", "STATE", "KIND", "ROOM", "ORDER", "ATTEMPTS", "LAST ERROR", "NEXT / DIED", "AGE")


def render_table(entries: Sequence[OutboxEntry], now: int) -> str:
    rows = [
        (
            e.id, e.state(now), e.what, e.room_id, e.order_id, str(e.attempts),
            e.last_error or "-", _when(e, now), format_age(now - e.created_at),
        )
        for e in entries
    ]  # fmt: skip
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    lines = [COLUMNS, *rows]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)  # fmt: skip


def _print_json(data: object, out: TextIO) -> None:
    print(json.dumps(data, indent=2, sort_keys=True), file=out)


_EMPTY = {
    "open": "no dead or pending checkout effects",
    "dead": "no dead checkout effects",
    "pending": "no pending checkout effects",
    "all": "no checkout effects",
}


async def outbox_list(settings: Settings, args: ListArgs, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # read at call time: a test may have replaced it
    engine, admin = await _open(settings)
    try:
        entries, total = await admin.entries(
            args.which, room=args.room, order=args.order, kind=args.kind, limit=args.limit
        )
    finally:
        await engine.dispose()
    now = _now_ms()
    if args.as_json:
        _print_json({"effects": [e.to_json(now) for e in entries], "matching": total}, out)
        return 0
    if not entries:
        print(_EMPTY[args.which], file=out)
        return 0
    print(render_table(entries, now), file=out)
    if total > len(entries):
        print(f"... {total - len(entries)} more match; raise --limit to see them", file=out)
    return 0


async def outbox_show(
    settings: Settings, row_id: str, as_json: bool, out: TextIO | None = None
) -> int:
    out = out or sys.stdout
    engine, admin = await _open(settings)
    try:
        entry = await admin.entry(row_id)
        if entry is None:
            print(f"coshop: no checkout effect {row_id!r}", file=sys.stderr)
            return 1
        order = await admin.order_info(entry.order_id)
        siblings, _ = await admin.entries("all", order=entry.order_id, limit=200)
    finally:
        await engine.dispose()
    now = _now_ms()
    others = sorted((s for s in siblings if s.id != entry.id), key=lambda s: s.id)
    if as_json:
        data = entry.to_json(now)
        data["order"] = None if order is None else {
            "status": order.status, "merchant_id": order.merchant_id,
            "updated_at": order.updated_at,
        }  # fmt: skip
        data["other_effects"] = [
            {"id": s.id, "state": s.state(now), "kind": s.kind, "last_error": s.last_error}
            for s in others
        ]
        _print_json(data, out)
        return 0
    state = entry.state(now)
    order_line = (
        "(no order row)"
        if order is None
        else f"{order.status} (merchant {order.merchant_id}, last changed"
        f" {_iso(order.updated_at)}, {format_age(now - order.updated_at)} ago)"
    )
    fields = [
        ("effect", entry.id),
        ("state", _when(entry, now) if state == "running" else f"{state}, {_when(entry, now)}"),
        ("kind", entry.what),
        ("room", entry.room_id),
        ("order", f"{entry.order_id}: {order_line}"),
        ("attempts", str(entry.attempts)),
        ("last error", entry.last_error or "-"),
        ("created", f"{_iso(entry.created_at)} ({format_age(now - entry.created_at)} ago)"),
        ("done", _iso(entry.done_at)),
    ]
    if entry.provider_key is not None:
        fields.append(("idempotency key", f"{entry.provider_key} (the same on every attempt)"))
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        print(f"{key.ljust(width)}  {value}", file=out)
    print("payload", file=out)
    for key, value in entry.payload.items():
        print(f"  {key}: {json.dumps(value)}", file=out)
    print(
        "history  not kept per attempt (the count and the last error are): every failed attempt"
        f" is a log line of coshop.checkout.outbox with effect_id={entry.id}",
        file=out,
    )
    if others:
        print("other effects of this order", file=out)
        for s in others:
            print(f"  {s.id}  {s.state(now):9}  {s.what:18}  {s.last_error or '-'}", file=out)
    return 0


async def outbox_retry(settings: Settings, args: RetryArgs, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # read at call time: a test may have replaced it
    if bool(args.ids) == args.all_dead:
        raise ConfigError("name the effects to retry, or give --all-dead (not both)")
    if not args.all_dead and (
        args.older_than_s is not None or args.room or args.order or args.kind
    ):
        raise ConfigError("--older-than, --room, --order and --kind go with --all-dead")
    engine, admin = await _open(settings)
    try:
        now = _now_ms()
        ids: Sequence[str] = args.ids
        if args.all_dead:
            died_before = None if args.older_than_s is None else now - args.older_than_s * 1000
            ids, captures = await admin.dead_ids(
                died_before=died_before, room=args.room, order=args.order, kind=args.kind
            )
            if captures:
                print(
                    f"coshop: left {captures} dead capture(s) alone: a dead capture is never"
                    " retried (docs/runbook.md)",
                    file=sys.stderr,
                )
        if args.dry_run:
            entries = [e for e in [await admin.entry(i) for i in ids] if e is not None]
            if args.as_json:
                _print_json({"would_retry": [e.to_json(now) for e in entries]}, out)
            elif entries:
                print(render_table(entries, now), file=out)
                print(f"(dry run: {len(entries)} effect(s) would be retried)", file=out)
            else:
                print("(dry run: nothing to retry)", file=out)
            return 0
        results = await admin.retry(ids, now, force=args.force)
    finally:
        await engine.dispose()
    if args.as_json:
        _print_json(
            {"results": [{"id": r.id, "requeued": r.requeued, "reason": r.reason}
                         for r in results]},
            out,
        )  # fmt: skip
    elif not results:
        print("no dead checkout effects match; nothing retried", file=out)
    for r in results if not args.as_json else ():
        if r.requeued:
            print(f"requeued {r.id} ({r.reason})", file=out)
        else:
            print(f"not retried {r.id}: {r.reason}", file=out)
    if any(r.requeued for r in results) and not args.as_json:
        print(
            "a running server runs them within a second or two; follow with"
            " 'coshop outbox show ID'",
            file=out,
        )
    return 0 if all(r.requeued for r in results) else 1
