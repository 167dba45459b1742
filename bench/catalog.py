"""Catalogue at scale: a 50,000-product merchant, a room under steady commands, refreshes behind it.

``python -m bench.catalog [--products N] [--seconds S] [--refresh S] [--postgres]``

A GMC feed of ``--products`` products is generated and imported (``import_feed``) as the demo
merchant's catalogue; coshop is served in a process of its own (as ``coshop serve`` runs it),
the hub's catalogue cache (the one rooms and product search read) set to refresh every
``--refresh`` seconds. Four members of one room send ``SetQuantity`` at a steady rate (``--rate``
a second in all), while a writer *process* changes 500 products' price and stock every refresh
interval (50 of them renamed too) and, first, re-imports every product (new prices and stock,
the same texts). Each command's latency runs from when it was due to its ``ack``; it counts as
*during a refresh* when that span overlaps a refresh (the cache records each one). Product
search runs at 10 requests a second over HTTP during the load, then at 50 a second alone.

Three caches, same load: ``mirror`` (what coshop runs: stale-while-revalidate, incremental, and
search through each snapshot's word index), ``scan`` (the same cache with the index bypassed:
every new search scans every product's text, as before the index) and ``reload`` (the old
cache: the whole catalogue re-read inside the command path when its TTL expires; its searches
go to the database's ``LIKE``), for contrast. Figures only; nothing asserts. Server, load
client and writer share the machine's cores with the database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import random
import sys
import tempfile
import time
from array import array
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from bench.report import Table, percentile_ms
from rooms import StaticCatalog
from rooms.catalog import ProductFacts
from server.app import create_app
from server.catalog.importer import import_feed
from server.catalog.index import SearchIndex
from server.catalog.memory import MerchantCatalog, build
from server.catalog.memory import apply_changes as build_at_once
from server.catalog.models import CatalogChanges, Listed, listed
from server.catalog.records import ProductRecord
from server.catalog.repository import CatalogRepository, search_text
from server.cli import tune_gc, uvicorn_config
from server.db.engine import create_engine, upgrade_engine
from server.hub.catalogs import CatalogCache
from server.logs import configure_logging
from server.settings import Settings

__all__ = ["CatalogCase", "main", "run_catalog"]

MERCHANT = "demo"  # public rooms sell from the demo merchant
SKU_OF_THE_ROOM = "bench-000000"  # stock not tracked: SetQuantity 1 ↔ 2 never runs out
_VOCABULARY = (
    "alpine trail tent jacket wool merino fleece boot sock lamp stove mug bottle pack rope glove "
    "hat scarf chair table ridge summit river forest canyon desert coastal urban classic light "
    "ultra pro max mini"
)
WORDS = _VOCABULARY.split()
QUERIES = ("ridge", "summit river", "merino", "zzz-none", "lamp 12", "classic tent", "07")
_ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-catalog-" + "k7Q2x9Lm4Pz8" * 4


@dataclass
class Window:
    start: float
    end: float = float("inf")


@dataclass
class CatalogCase:
    """One cache's run: command latencies in and out of refreshes, refreshes, searches."""

    cache: str
    during: array[int] = field(default_factory=lambda: array("q"))
    writing: array[int] = field(default_factory=lambda: array("q"))
    outside: array[int] = field(default_factory=lambda: array("q"))
    windows: list[Window] = field(default_factory=list)
    writes: list[Window] = field(default_factory=list)
    search: array[int] = field(default_factory=lambda: array("q"))
    fresh_search: array[int] = field(default_factory=lambda: array("q"))
    alone_search: array[int] = field(default_factory=lambda: array("q"))
    alone_fresh_search: array[int] = field(default_factory=lambda: array("q"))
    first_read_s: float = 0.0
    errors: int = 0
    index: dict[str, int] = field(default_factory=dict)  # the last snapshot's index sizes
    search_cpu: array[int] = field(default_factory=lambda: array("q"))  # in the server, no HTTP


class _MirrorCache(CatalogCache):
    """coshop's cache, noting when each refresh runs."""

    def __init__(self, repo: CatalogRepository, refresh_s: float, windows: list[Window]) -> None:
        super().__init__(repo, refresh_s=refresh_s)
        self.windows = windows

    async def refresh(self, merchant_id: str) -> MerchantCatalog:
        window = Window(time.perf_counter())
        self.windows.append(window)
        try:
            return await super().refresh(merchant_id)
        finally:
            window.end = time.perf_counter()


def _bypass_index() -> None:
    """The ``scan`` case: every search scans every text (the index is still kept up to date)."""

    def nothing(self: SearchIndex, needle: str) -> Generator[None, None, None]:
        return None
        yield  # a generator, as SearchIndex.matches is

    SearchIndex.matches = nothing  # type: ignore[method-assign]  # in this process only


class _ReloadCache:
    """The cache coshop had before: the whole catalogue re-read in ``get`` when its TTL ran out."""

    def __init__(self, repo: CatalogRepository, ttl_s: float, windows: list[Window]) -> None:
        self.repo = repo
        self.ttl_s = ttl_s
        self.windows = windows
        self._cache: dict[str, tuple[float, StaticCatalog]] = {}
        self._lock = asyncio.Lock()

    async def get(self, merchant_id: str) -> StaticCatalog:
        hit = self._cache.get(merchant_id)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        async with self._lock:
            hit = self._cache.get(merchant_id)
            if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
                return hit[1]
            window = Window(time.perf_counter())
            self.windows.append(window)
            catalog = StaticCatalog(await self.repo.all_facts(merchant_id))
            window.end = time.perf_counter()
            self._cache[merchant_id] = (time.monotonic(), catalog)
            return catalog


# ---- the feed and the writer ------------------------------------------------------------------


def _record(i: int, shift: int = 0, title: str | None = None) -> ProductRecord:
    """Product ``i`` as the feed has it (``shift`` 0) or as the writer's ``shift``-th round
    rewrites it: the same texts (seeded by ``i``) unless renamed to ``title``, another price and
    stock."""
    rnd = random.Random(i)
    own_title = " ".join(rnd.choice(WORDS) for _ in range(4)).title() + f" {i}"
    description = " ".join(rnd.choice(WORDS) for _ in range(30))
    brand = rnd.choice(WORDS).title()
    return ProductRecord(
        sku=f"bench-{i:06d}",
        title=own_title if title is None else title,
        price_minor=100 + (i * 37 + shift) % 99_000,
        currency="USD",
        description=description,
        brand=brand,
        stock=None if i == 0 else 5 + (rnd.randrange(496) + 7 * shift) % 496,
    )


def write_feed(path: Path, products: int) -> None:
    """A Google Merchant Center TSV feed of ``products`` products (the same every run)."""
    lines = ["id\ttitle\tdescription\tprice\tbrand\tquantity"]
    for i in range(products):
        p = _record(i)
        quantity = "" if p.stock is None else str(p.stock)
        price = f"{p.price_minor // 100}.{p.price_minor % 100:02d} USD"
        lines.append(f"{p.sku}\t{p.title}\t{p.description}\t{price}\t{p.brand}\t{quantity}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


RENAMED = 50  # of the 500 products a round changes, how many get a new title


async def _write(url: str, products: int, every_s: float, rounds: int) -> None:
    """The writer process: every ``every_s``, 500 products get a new price and stock and 50 of
    them a new title too; the first time, every product is written again (a re-import of the
    feed: new prices and stock, the texts as they are), so that its refreshes fall inside the
    command load."""
    engine = create_engine(url)
    repo = CatalogRepository(engine)
    rnd = random.Random(11)
    titles: dict[int, str] = {}  # products renamed so far
    try:
        for n in range(rounds):
            await asyncio.sleep(every_s)
            if n == 0:
                picked: list[int] = list(range(products))
            else:
                picked = rnd.sample(range(products), 500)
                for i in picked[:RENAMED]:
                    words = " ".join(rnd.choice(WORDS) for _ in range(3)).title()
                    titles[i] = f"{words} Edition {n} {i}"
            changed = [_record(i, n + 1, titles.get(i)) for i in picked]
            start = time.perf_counter()  # CLOCK_MONOTONIC: the same clock as the bench's
            await repo.upsert(MERCHANT, changed, int(time.time() * 1000))
            print(json.dumps({"start": start, "end": time.perf_counter()}), flush=True)
    finally:
        await engine.dispose()


# ---- the server and the load ------------------------------------------------------------------


async def _serve(port: int, url: str, data_dir: Path, cache: str, refresh_s: float) -> None:
    """The server process (``--serve``): coshop as ``coshop serve`` runs it, the hub's catalogue
    cache swapped for a recording one before any room loads. Prints ``ready``; when its stdin
    closes, stops and prints the refresh windows and the index's sizes as one JSON line."""
    settings = Settings(
        port=port,
        data_dir=data_dir,
        database_url=url,
        secret_key=SECRET,
        demo=True,
        public_rooms=True,
        commands_per_second=1_000.0,
        command_burst=1_000,
        log_level="warning",
        access_log=False,
        rate_limits=False,  # one load client on one address: measure the cache, not the limits
        client_share=0.0,
        catalog_refresh_s=refresh_s,
    )
    configure_logging(settings.log_level)
    app = create_app(settings)
    tune_gc()
    server = uvicorn.Server(uvicorn_config(app, settings))
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped during start-up")
        await asyncio.sleep(0.01)
    windows: list[Window] = []
    repo: CatalogRepository = app.state.catalog
    mirror = None
    recording: CatalogCache
    if cache in ("mirror", "scan"):
        if cache == "scan":
            _bypass_index()
        mirror = recording = _MirrorCache(repo, refresh_s, windows)
    else:
        recording = cast(CatalogCache, _ReloadCache(repo, refresh_s, windows))
    # Rooms read the catalogue through the hub's room services, product search through the hub
    # itself: both get the recording cache, so the refreshes recorded are the ones rooms wait
    # behind (swapping only the hub's left the rooms on a cache of their own, and the bench
    # measured the search cache's first 50,000-product read as a "refresh").
    hub = app.state.hub
    await hub.catalogs.close()
    hub.catalogs = recording
    hub.room_services = dataclasses.replace(hub.room_services, catalogs=recording)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the bench closes our stdin
    snapshot = None if mirror is None else mirror.current(MERCHANT)
    index: dict[str, int] = {}
    cpu: list[int] = []
    if snapshot is not None:
        index = {
            "products": len(snapshot),
            "words": snapshot.index.words,
            "postings": snapshot.index.postings,
            "bytes": snapshot.index.footprint(),
        }
        cpu = _search_cpu(snapshot)
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 15)
    out = {"windows": [[w.start, w.end] for w in windows], "index": index, "cpu": cpu}
    print(json.dumps(out), flush=True)


def _search_cpu(snapshot: MerchantCatalog, n: int = 200) -> list[int]:
    """CPU time (ns, this thread) of each of ``n`` searches, none remembered by the snapshot:
    the repeated queries once, then fresh ones as the load asks them."""
    out = []
    for i in range(n):
        query = QUERIES[i] if i < len(QUERIES) else f"{WORDS[i % len(WORDS)]} {i}"
        snapshot._found.clear()  # a search the snapshot has not answered yet
        t0 = time.thread_time_ns()
        snapshot.search(query, 24, 0)
        out.append(time.thread_time_ns() - t0)
    return out


async def _member(ws_url: str, token: str) -> ClientConnection:
    ws = await connect(ws_url, subprotocols=["coshop.v1.json"], compression=None, max_size=2**22)  # type: ignore[list-item]  # Subprotocol is a NewType of str
    await ws.send(json.dumps({"t": "hello", "token": token, "last_seq": None}))
    while json.loads(await ws.recv()).get("t") != "welcome":
        pass
    return ws


async def _ack(ws: ClientConnection, op: str) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = json.loads(await ws.recv())
        if msg.get("op") == op and msg.get("t") in ("ack", "err"):
            return msg


async def _commands(
    ws: ClientConnection, name: str, rate: float, until: float, samples: list[tuple[float, float]]
) -> int:
    """Add a line, then toggle its quantity at ``rate`` a second; (due, acked) per command."""
    op = f"{name}-add"
    args = {"sku": SKU_OF_THE_ROOM, "variant": None, "quantity": 1, "note": name}
    await ws.send(json.dumps({"t": "cmd", "op": op, "name": "AddLine", "args": args}))
    line_id = None
    while line_id is None:
        msg = json.loads(await ws.recv())
        if msg.get("t") == "ev" and msg["ev"]["type"] == "LineAdded" and msg["ev"]["note"] == name:
            line_id = msg["ev"]["line_id"]
        if msg.get("t") == "err":
            raise RuntimeError(f"AddLine refused: {msg}")
    errors, n = 0, 0
    due = time.perf_counter()
    while due < until:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        n += 1
        op = f"{name}-{n}"
        args = {"line_id": line_id, "quantity": 1 + n % 2}
        await ws.send(json.dumps({"t": "cmd", "op": op, "name": "SetQuantity", "args": args}))
        if (await _ack(ws, op))["t"] != "ack":
            errors += 1
        samples.append((due, time.perf_counter()))
        due += 1.0 / rate
    return errors


async def _searches(
    http: httpx.AsyncClient, until: float, case: CatalogCase, *, alone: bool = False
) -> None:
    """10 searches a second (50 alone), alternately a repeated query (paging, a popular term:
    the snapshot remembers it) and a fresh one (a word and a number never asked before: a scan
    of every product)."""
    rnd = random.Random(3)
    n = 0
    while time.perf_counter() < until:
        n += 1
        if n % 2:
            params = {"q": rnd.choice(QUERIES), "offset": str(rnd.choice((0, 0, 24, 480)))}
        else:
            params = {"q": f"{rnd.choice(WORDS)} {n}"}
        t0 = time.perf_counter_ns()
        r = await http.get(f"/api/v1/merchants/{MERCHANT}/products", params=params)
        r.raise_for_status()
        kind = ("alone_" if alone else "") + ("search" if n % 2 else "fresh_search")
        getattr(case, kind).append(time.perf_counter_ns() - t0)
        await asyncio.sleep(0.02 if alone else 0.1)


async def _case(
    kind: str, url: str, tmp: Path, products: int, seconds: float, refresh_s: float, rate: float
) -> CatalogCase:
    from bench.proc import free_port

    case = CatalogCase(kind)
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "bench.catalog", "--serve", url, "--port", str(port)],
        *["--data-dir", str(tmp / "data"), "--cache", kind, "--refresh", str(refresh_s)],
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=_ROOT,
    )
    assert server.stdin is not None and server.stdout is not None
    if (await server.stdout.readline()).strip() != b"ready":
        raise RuntimeError("the bench server did not start")
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:  # a loaded machine
        room = (await http.post("/api/v1/rooms", json={"kind": "group", "host_name": "Ann"})).json()
        ws_url = f"ws://127.0.0.1:{port}/ws/rooms/{room['room_id']}"
        tokens = [room["host"]["token"]]
        for name in ("Bo", "Cy", "Di"):
            joined = await http.post(
                f"/api/v1/rooms/{room['room_id']}/join",
                json={"invite": room["invite"]["token"], "name": name},
            )
            tokens.append(joined.json()["token"])
        t0 = time.perf_counter()
        members = [await _member(ws_url, token) for token in tokens]  # the first loads the room
        case.first_read_s = time.perf_counter() - t0
        loaded_at = time.perf_counter()
        rounds = max(2, int(seconds / refresh_s))
        writer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.catalog",
            "--write",
            url,
            "--products",
            str(products),
            "--every",
            str(refresh_s),
            "--rounds",
            str(rounds),
            stdout=asyncio.subprocess.PIPE,
        )
        until = time.perf_counter() + seconds
        samples: list[tuple[float, float]] = []
        results = await asyncio.gather(
            *(
                _commands(ws, f"m{i}", rate / len(members), until, samples)
                for i, ws in enumerate(members)
            ),
            _searches(http, until, case),
        )
        case.errors = sum(r for r in results if isinstance(r, int))
        out, _ = await writer.communicate()
        case.writes = [Window(**json.loads(line)) for line in out.decode().splitlines() if line]
        if kind != "reload":  # then searches alone: no commands, no writer
            await _searches(http, time.perf_counter() + min(6.0, seconds), case, alone=True)
        for ws in members:
            await ws.close()
    server.stdin.close()
    lines = (await server.stdout.read()).decode().splitlines()
    await server.wait()
    ended = json.loads(lines[-1])
    case.index = ended["index"]
    case.search_cpu = array("q", ended["cpu"])
    windows = [Window(start, end) for start, end in ended["windows"]]
    case.windows = [w for w in windows if w.start >= loaded_at]  # the first read is no refresh
    # A command overlapping a catalogue write counts there first: the writer's commits load the
    # database (on SQLite they hold its one write lock), and room commits wait for that whatever
    # the cache does.
    for due, acked in samples:
        latency = int((acked - due) * 1e9)
        if any(w.start <= acked and due <= w.end for w in case.writes):
            case.writing.append(latency)
        elif any(w.start <= acked and due <= w.end for w in case.windows):
            case.during.append(latency)
        else:
            case.outside.append(latency)
    return case


def _listed(p: ProductRecord) -> Listed:
    facts = ProductFacts(p.sku, p.title, p.price_minor, p.currency, stock=p.stock)
    return listed(facts, search_text(p))


def _timed_build(
    base: MerchantCatalog | None, changes: CatalogChanges
) -> tuple[MerchantCatalog, float, int, float]:
    """The snapshot, its build's CPU (s, this thread), how many slices, the longest slice's CPU."""
    steps = build(base, changes)
    slices, longest, total = 0, 0.0, 0.0
    while True:
        t0 = time.thread_time()
        try:
            next(steps)
        except StopIteration as done:
            spent = time.thread_time() - t0
            return done.value, total + spent, slices + 1, max(longest, spent)
        spent = time.thread_time() - t0
        slices, longest, total = slices + 1, max(longest, spent), total + spent


def refresh_costs(products: int) -> Table:
    """What one refresh of a ``products``-product snapshot costs, by kind of change: CPU of the
    build in this process (no database, no load: steady across machine load), its slices and
    the longest one (how long the loop could wait behind it), and what it did."""
    records = [_record(i) for i in range(products)]
    base = build_at_once(None, CatalogChanges(1, True, tuple(map(_listed, records))))
    rnd = random.Random(5)
    picked = rnd.sample(range(products), min(500, products))
    renamed = [replace(records[i], title=f"Renamed {records[i].title}") for i in picked[:RENAMED]]
    kinds: list[tuple[str, CatalogChanges]] = [
        (
            "500 prices and stock, 50 of them renamed",
            CatalogChanges(
                2,
                False,
                tuple(
                    map(
                        _listed,
                        renamed + [replace(records[i], price_minor=1) for i in picked[RENAMED:]],
                    )
                ),
            ),
        ),
        ("500 deleted", CatalogChanges(2, False, (), tuple(records[i].sku for i in picked))),
        (
            "500 new",
            CatalogChanges(
                2, False, tuple(_listed(replace(records[i], sku=f"new-{i:06d}")) for i in picked)
            ),
        ),
        (
            "every price (a re-import of the feed)",
            CatalogChanges(
                2, False, tuple(_listed(replace(p, price_minor=p.price_minor + 1)) for p in records)
            ),
        ),
        (
            "every product renamed",
            CatalogChanges(
                2, False, tuple(_listed(replace(p, title=f"Other {p.title}")) for p in records)
            ),
        ),
        ("first read (everything)", CatalogChanges(1, True, tuple(map(_listed, records)))),
    ]
    table = Table(
        f"One refresh of the in-memory catalogue ({products:,} products; CPU, no I/O)",
        ["change", "CPU ms", "slices", "longest slice ms", "placed", "indexed", "afresh"],
    )
    for name, changes in kinds:
        snapshot, cpu, slices, longest = _timed_build(base, changes)
        work = snapshot.work
        table.add(
            name,
            f"{cpu * 1000:.1f}",
            slices,
            f"{longest * 1000:.2f}",
            work.placed,
            work.indexed,
            "yes" if work.rebuilt else "no",
        )
    table.notes.append(
        "CPU of server/catalog/memory.py's build in the bench process (thread time), from the "
        "same snapshot each time; a slice is the work between two yields (the mirror runs them "
        "back to back for 2 ms, then lets the loop run); placed: products taken out of the "
        "order or put into it; indexed: texts through the word index"
    )
    return table


async def _database_search(url: str, n: int = 40) -> array[int]:
    """The same searches straight through ``CatalogRepository.list`` (SQL ``LIKE``), no HTTP."""
    engine = create_engine(url)
    repo = CatalogRepository(engine)
    out: array[int] = array("q")
    try:
        for i in range(n):
            t0 = time.perf_counter_ns()
            await repo.list(MERCHANT, query=QUERIES[i % len(QUERIES)], limit=24)
            out.append(time.perf_counter_ns() - t0)
    finally:
        await engine.dispose()
    return out


@contextlib.asynccontextmanager
async def _database(tmp: Path, postgres: bool) -> AsyncIterator[str]:
    if not postgres:
        yield f"sqlite+aiosqlite:///{tmp / 'data' / 'coshop.db'}"
        return
    from bench.durable import postgres_database

    async with postgres_database() as url:
        if url is None:
            raise RuntimeError("PostgreSQL is not reachable at 127.0.0.1:5432")
        yield url


async def run_catalog(
    products: int = 50_000,
    seconds: float = 12.0,
    refresh_s: float = 2.0,
    rate: float = 100.0,
    *,
    postgres: bool = False,
    baseline: bool = True,
) -> tuple[list[Table], list[CatalogCase]]:
    """Run the case (and the old cache's, for contrast); returns the tables and raw results."""
    cases: list[CatalogCase] = []
    with tempfile.TemporaryDirectory(prefix="coshop-bench-catalog-") as name:
        tmp = Path(name)
        feed = tmp / "feed.tsv"
        write_feed(feed, products)
        async with _database(tmp, postgres) as url:
            engine = create_engine(url)
            try:
                await upgrade_engine(engine)
                t0 = time.perf_counter()
                report = await import_feed(engine, MERCHANT, feed, int(time.time() * 1000))
                import_s = time.perf_counter() - t0
            finally:
                await engine.dispose()
            print(
                f"  catalog: imported {report.products:,} products in {import_s:.1f} s "
                f"({'PostgreSQL' if postgres else 'SQLite'})",
                flush=True,
            )
            for kind in ("mirror", "scan", "reload") if baseline else ("mirror",):
                print(f"  catalog: {kind} cache, {seconds:.0f} s at {rate:.0f} cmd/s", flush=True)
                cases.append(await _case(kind, url, tmp, products, seconds, refresh_s, rate))
            database = await _database_search(url)
    tables = _tables(cases, database, products, refresh_s, rate, postgres)
    return [*tables, refresh_costs(products)], cases


def _tables(
    cases: list[CatalogCase],
    database: array[int],
    products: int,
    refresh_s: float,
    rate: float,
    postgres: bool,
) -> list[Table]:
    store = "PostgreSQL" if postgres else "SQLite"
    commands = Table(
        f"Command latency across catalogue refreshes ({products:,} products, {store})",
        [
            "cache",
            "window",
            "commands",
            "p50 ms",
            "p99 ms",
            "max ms",
            "refreshes",
            "refresh p50 ms",
            "refresh max ms",
        ],
    )
    for case in cases:
        ended = [w for w in case.windows if w.start < w.end < float("inf")]  # not cut by the stop
        spans = array("q", [int((w.end - w.start) * 1e9) for w in ended])
        r50, rmax = percentile_ms(spans, 0.5, 1.0)
        for window, values in (
            ("during a refresh", case.during),
            ("during a catalogue write", case.writing),
            ("neither", case.outside),
        ):
            p50, p99, pmax = percentile_ms(values, 0.5, 0.99, 1.0)
            commands.add(
                case.cache, window, len(values), p50, p99, pmax, len(case.windows), r50, rmax
            )
    commands.notes += [
        f"{rate:.0f} SetQuantity/s from 4 members of one room; latency from when a command was "
        f"due to its ack; refresh interval {refresh_s:g} s; a writer process changes the price "
        f"and stock of 500 products every interval ({RENAMED} of them renamed too), and of "
        "every product once, first (a re-import of the feed, in commits of 500)",
        "mirror: coshop's cache (background, incremental); reload: the old cache (the whole "
        "catalogue re-read in the command path when its TTL runs out)",
        "a command overlapping a catalogue write counts there, not as during a refresh: the "
        "writer's commits load the database (on SQLite they hold its one write lock), so room "
        "commits wait for them whatever the cache does",
        "first read of the merchant (room load): "
        + ", ".join(f"{c.cache} {c.first_read_s:.2f} s" for c in cases),
    ]
    if any(c.errors for c in cases):
        commands.notes.append(
            "refused commands: " + ", ".join(f"{c.cache} {c.errors}" for c in cases)
        )
    search = Table(
        f"Product search over {products:,} products", ["path", "searches", "p50 ms", "p99 ms"]
    )
    paths = {"mirror": "word index", "scan": "scan of every text", "reload": "SQL LIKE"}
    for case in cases:
        for name, values in (
            ("fresh, under the command load", case.fresh_search),
            ("repeated, under the command load", case.search),
            ("fresh, alone", case.alone_fresh_search),
            ("repeated, alone", case.alone_search),
        ):
            if values:
                p50, p99 = percentile_ms(values, 0.5, 0.99)
                search.add(f"{case.cache}: {paths[case.cache]}, {name}", len(values), p50, p99)
        if case.search_cpu:
            p50, p99 = percentile_ms(case.search_cpu, 0.5, 0.99)
            name = "CPU of a new search in the server, no HTTP"
            search.add(f"{case.cache}: {paths[case.cache]}, {name}", len(case.search_cpu), p50, p99)
    p50, p99 = percentile_ms(database, 0.5, 0.99)
    search.add(f"repository.list (SQL LIKE, {store}, idle)", len(database), p50, p99)
    search.notes.append(
        "repeated: " + ", ".join(repr(q) for q in QUERIES) + " at offsets 0, 24, 480 (a "
        "snapshot remembers its last 32 searches until the next refresh replaces it); fresh: a "
        "word and a number never asked before; every search is a GET …/products?q= over HTTP "
        "(mirror and scan answer it from the snapshot, no query; reload from the database)"
    )
    search.notes.append(
        "mirror: coshop (the snapshot's word index); scan: the same cache with the index "
        "bypassed (every new search scans every text, as before the index; the index is still "
        "kept up to date); reload: the old cache, whose searches go to the database"
    )
    index = next((c for c in cases if c.cache == "mirror"), None)
    if index is not None:
        under_load = [*index.search, *index.fresh_search]
        (p99,) = percentile_ms(array("q", under_load), 0.99)
        if p99 is not None:
            verdict = "PASS" if p99 <= 50.0 else "MISS"
            search.notes.append(
                f"target: search p99 ≤ 50 ms under the command load (fresh and repeated): "
                f"{p99:.1f} ms, {verdict}"
            )
        if index.index:
            sizes = index.index
            search.notes.append(
                f"word index of the last snapshot: {sizes['products']:,} products, "
                f"{sizes['words']:,} words, {sizes['postings']:,} postings, "
                f"{sizes['bytes'] / 2**20:.1f} MiB"
            )
    return [commands, search]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catalog", description=__doc__)
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=12.0, help="load per cache")
    parser.add_argument("--refresh", type=float, default=2.0, help="refresh interval, s")
    parser.add_argument("--rate", type=float, default=100.0, help="commands a second, in all")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--no-baseline", action="store_true", help="skip the old cache's run")
    parser.add_argument("--write", metavar="URL", help=argparse.SUPPRESS)  # the writer process
    parser.add_argument("--serve", metavar="URL", help=argparse.SUPPRESS)  # the server process
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cache", default="mirror", help=argparse.SUPPRESS)
    parser.add_argument("--every", type=float, default=2.0, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write:
        asyncio.run(_write(args.write, args.products, args.every, args.rounds))
        return 0
    if args.serve:
        asyncio.run(_serve(args.port, args.serve, args.data_dir, args.cache, args.refresh))
        return 0
    tables, _ = asyncio.run(
        run_catalog(
            args.products,
            args.seconds,
            args.refresh,
            args.rate,
            postgres=args.postgres,
            baseline=not args.no_baseline,
        )
    )
    print()
    for table in tables:
        print(table.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
