"""The ``coshop`` command: serve, demo, database, catalogue, merchant and outbox administration.

Every ``serve`` flag mirrors a ``COSHOP_*`` variable (``--data-dir`` ↔ ``COSHOP_DATA_DIR``); a
flag given on the command line wins over the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from server.settings import ConfigError, Settings, load_settings
from server.storage.errors import StorageError

__all__ = ["main"]


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    for f in dataclasses.fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        env = "COSHOP_" + f.name.upper()
        kind = str(f.type)
        if kind == "bool":
            parser.add_argument(
                flag,
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"(env {env})",
            )
        elif kind == "int":
            parser.add_argument(flag, dest=f.name, type=int, default=None, help=f"(env {env})")
        elif kind == "float":
            parser.add_argument(flag, dest=f.name, type=float, default=None, help=f"(env {env})")
        elif kind == "Path":
            parser.add_argument(flag, dest=f.name, type=Path, default=None, help=f"(env {env})")
        elif kind == "tuple[str, ...]":
            parser.add_argument(
                flag,
                dest=f.name,
                default=None,
                type=lambda v: tuple(x.strip().rstrip("/") for x in v.split(",") if x.strip()),
                help=f"comma-separated (env {env})",
            )
        else:
            parser.add_argument(flag, dest=f.name, default=None, help=f"(env {env})")


def _settings_from(args: argparse.Namespace, **forced: Any) -> Settings:
    overrides = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(Settings)}
    overrides.update(forced)
    return load_settings(overrides)


def uvicorn_config(app: Any, settings: Settings) -> uvicorn.Config:
    """How coshop is served: the same for `coshop serve` and for the tests' live servers.

    HTTP goes through :mod:`server.serving`'s protocol: a connection cap kept under the
    open-file limit, slow clients cut, accept errors logged once per interval.
    """
    from server.serving import derive_limits, install_accept_error_throttle, protocol_class
    from server.transport.lean import LeanWebSocketProtocol
    from server.transport.ws import RoomSockets

    limits = derive_limits(settings)
    logging.getLogger("coshop.serving").info("serving limits: %s", limits.describe())
    install_accept_error_throttle()
    config = uvicorn.Config(
        RoomSockets.outermost(app),
        host=settings.host,
        port=settings.port,
        http=protocol_class(limits),
        backlog=limits.backlog,
        # uvicorn's websockets-sansio protocol, lighter per idle socket (server/transport/lean.py)
        ws=LeanWebSocketProtocol,
        ws_max_size=settings.max_frame_bytes,
        # compression costs CPU per frame and leaks through CRIME-style attacks
        ws_per_message_deflate=False,
        lifespan="on",
        log_config=None,
        access_log=settings.access_log,
        timeout_graceful_shutdown=5,
        # X-Forwarded-For is believed only from COSHOP_TRUSTED_PROXIES (uvicorn's default would
        # believe 127.0.0.1): the rate limits and shares key on this address
        # (server/http/ratelimit.py resolves it the same way).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
    )
    if settings.access_log:
        # uvicorn only ever turns this off (access_log=False); the lines go to our handler,
        # where server/logs.py strips their query strings.
        logging.getLogger("uvicorn.access").propagate = True
    return config


# Young-generation collections every 50,000 net allocations instead of 700 (docs/performance.md).
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    """Make Python's cyclic garbage collector cheaper for a long-running server.

    Everything imported so far (modules, classes, functions) lives as long as the process:
    ``gc.freeze`` moves it out of the collector's way, and a higher first threshold makes the
    collector traverse the live rooms and sessions less often. Measured on a 1,000-member live
    room at 50 events/s: about 12 % less CPU and a shorter latency tail.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serve(settings: Settings) -> None:
    from server.app import create_app
    from server.logs import configure_logging
    from server.serving import raise_open_file_limit

    configure_logging(settings.log_level)
    raise_open_file_limit()  # soft → hard, before the connection cap is derived from it
    app = create_app(settings)
    tune_gc()
    uvicorn.Server(uvicorn_config(app, settings)).run()


def _cmd_serve(args: argparse.Namespace) -> int:
    # checked before anything starts: a refused configuration exits 2 with its reason
    serve(_settings_from(args).checked())
    return 0


def _demo_webhook_secret(data_dir: Path) -> str:
    """The demo's sandbox signing secret, made once and kept in the data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "sandbox-webhook.secret"
    if not path.exists():
        path.write_text("whsec_" + secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _exit_on_sigterm() -> None:
    """SIGTERM raises SystemExit, so the ``finally`` blocks of ``coshop demo`` run.

    uvicorn handles SIGTERM and SIGINT itself while it serves, then raises the signal again
    once it has shut down: with the default SIGTERM action that re-raise would kill the process
    before it could stop its sandbox child. SIGINT already raises KeyboardInterrupt.
    """

    def _handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _handler)


def _cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings_from(args, demo=True, public_rooms=True).checked()
    child: subprocess.Popen[bytes] | None = None
    _exit_on_sigterm()
    try:
        if not settings.sandbox_url:
            # The sandbox payment provider runs as its own process and port, as Stripe would.
            secret = settings.webhook_secret or _demo_webhook_secret(settings.data_dir)
            port = args.sandbox_port
            # secrets travel in the environment, not argv (visible in process listings)
            env = {
                **os.environ,
                "COSHOP_SANDBOX_WEBHOOK_SECRET": secret,
                "COSHOP_SANDBOX_API_KEY": settings.sandbox_api_key,
                # the child stops by itself if this process dies without stopping it (SIGKILL)
                _PARENT_PID_ENV: str(os.getpid()),
            }
            child = subprocess.Popen(  # noqa: S603  # our own interpreter, fixed arguments
                [
                    sys.executable, "-m", "server.cli", "sandbox-pay",
                    "--host", settings.host, "--port", str(port),
                    "--data-dir", str(settings.data_dir / "sandbox"),
                    "--webhook-url", f"{settings.public_url.rstrip('/')}/webhooks/stripe",
                ],
                env=env,
            )  # fmt: skip
            settings = dataclasses.replace(
                settings, sandbox_url=f"http://{settings.host}:{port}", webhook_secret=secret
            )
        print(
            f"\n  coshop demo: open {settings.public_url}/"
            f"\n  sandbox payments: {settings.sandbox_url or 'off'}"
            f"\n  merchant console: {settings.public_url}/console (an API key for the demo shop:"
            f" coshop merchant update --id demo --rotate-key --data-dir {settings.data_dir})\n",
            flush=True,
        )
        serve(settings)
    finally:
        if child is not None:
            _stop_child(child)
    return 0


_PARENT_PID_ENV = "COSHOP_SANDBOX_PARENT_PID"


def _exit_with_parent(parent_pid: int) -> None:
    """Stop this process once ``parent_pid`` is no longer its parent (it died)."""

    def _watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=_watch, name="parent-watch", daemon=True).start()


def _cmd_sandbox_pay(args: argparse.Namespace) -> int:
    from checkout_bridge.sandbox import SandboxConfig, run_sandbox
    from server.logs import install_log_guards

    # uvicorn's own logging config (which run_sandbox keeps) adds handlers but not filters:
    # these stay, so the provider's access lines lose their query strings too.
    install_log_guards()
    parent = os.environ.get(_PARENT_PID_ENV, "")
    if parent.isdigit():
        _exit_with_parent(int(parent))

    public = args.public_url or f"http://{args.host}:{args.port}"
    config = SandboxConfig(
        data_dir=Path(args.data_dir),
        public_url=public,
        api_key=args.api_key,
        webhook_url=args.webhook_url or None,
        webhook_secret=args.webhook_secret or None,
    )
    print(f"coshop sandbox payment provider on {public}/ (test mode)", flush=True)
    run_sandbox(config, args.host, args.port)
    return 0


def describe_database(settings: Settings) -> str:
    """Which database an admin command writes to, for its first line (password masked)."""
    from sqlalchemy.engine import make_url

    if settings.database_url:
        try:
            shown = make_url(settings.database_url).render_as_string(hide_password=True)
        except Exception:  # an unparsable URL fails with its own error later; show no secret
            shown = "(COSHOP_DATABASE_URL, unparsable)"
        return f"database: {shown}"
    path = (settings.data_dir / "coshop.db").resolve()
    return (
        f"database: the local SQLite file {path}"
        " (COSHOP_DATABASE_URL is not set; set it to write to the production database)"
    )


def _announce_database(settings: Settings) -> None:
    # on stderr: stdout keeps what scripts read (an API key, a report)
    print(f"coshop: {describe_database(settings)}", file=sys.stderr, flush=True)


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from server.db.engine import upgrade_database

    settings = _settings_from(args)
    _announce_database(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade_database(settings.effective_database_url))
    print("database is at the newest schema")
    return 0


async def _catalog_import(settings: Settings, merchant: str, path: Path, prune: bool) -> int:
    from server.catalog.errors import CatalogError
    from server.catalog.importer import format_report, import_feed, require_merchant
    from server.db.engine import create_engine, upgrade_engine

    _announce_database(settings)
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.effective_database_url)
    try:
        await upgrade_engine(engine)
        await require_merchant(engine, merchant)
        report = await import_feed(engine, merchant, path, int(time.time() * 1000), prune=prune)
    except CatalogError as exc:
        print(f"coshop: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(format_report(report))
    return 0 if report.loaded or not report.errors else 1


def _cmd_catalog_import(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    return asyncio.run(_catalog_import(settings, args.merchant, Path(args.file), args.prune))


async def _merchant_create(
    settings: Settings, merchant_id: str, name: str, origins: tuple[str, ...]
) -> str:
    from server.db.engine import create_engine, upgrade_engine
    from server.storage import Registry

    _announce_database(settings)
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.effective_database_url)
    try:
        await upgrade_engine(engine)
        key = "ck_" + secrets.token_urlsafe(32)
        await Registry(engine).create_merchant(
            merchant_id, name, origins, key, int(time.time() * 1000)
        )
        return key
    finally:
        await engine.dispose()


def _valid_origins(values: list[str]) -> tuple[str, ...]:
    from server.api.common import normalize_origin

    out = []
    for value in values:
        origin = normalize_origin(value)
        if origin is None:
            raise ConfigError(f"{value!r} is not an origin like https://shop.example")
        out.append(origin)
    return tuple(dict.fromkeys(out))


def _cmd_merchant_create(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    origins = _valid_origins(args.origin or [])
    key = asyncio.run(_merchant_create(settings, args.id, args.name, origins))
    print(f"merchant {args.id} created. API key (shown once, store it now):\n{key}")
    return 0


@dataclasses.dataclass(frozen=True)
class _MerchantChanges:
    origins: tuple[str, ...] | None = None
    rotate_key: bool = False
    rotate_signing_secret: bool = False
    public_key: str | None = None  # PEM
    remove_public_key: bool = False
    sign_in_url: str | None = None  # "" clears it
    rotate_publishable_key: bool = False
    remove_publishable_key: bool = False


async def _merchant_update(
    settings: Settings, merchant_id: str, changes: _MerchantChanges
) -> dict[str, str]:
    """Apply ``changes``; returns the new secrets to show once (``api_key``, ``signing_secret``)."""
    from server.db.engine import create_engine, upgrade_engine
    from server.storage import Registry

    _announce_database(settings)
    engine = create_engine(settings.effective_database_url)
    shown: dict[str, str] = {}
    try:
        await upgrade_engine(engine)
        registry = Registry(engine)
        if await registry.get_merchant(merchant_id) is None:
            raise ConfigError(
                f"no merchant {merchant_id!r}; create it with 'coshop merchant create'"
            )
        now = int(time.time() * 1000)
        if changes.origins is not None:
            await registry.set_origins(merchant_id, changes.origins)
        if changes.rotate_key:
            shown["api_key"] = "ck_" + secrets.token_urlsafe(32)
            await registry.rotate_api_key(merchant_id, shown["api_key"])
        if changes.rotate_signing_secret:
            shown["signing_secret"] = "cs_" + secrets.token_urlsafe(32)
            await registry.rotate_signing_secret(merchant_id, shown["signing_secret"], now)
        if changes.public_key is not None or changes.remove_public_key:
            await registry.set_public_key(merchant_id, changes.public_key)
        if changes.sign_in_url is not None:
            await registry.set_sign_in_url(merchant_id, changes.sign_in_url or None)
        if changes.rotate_publishable_key:
            from server.api.merchants import new_publishable_key

            shown["publishable_key"] = new_publishable_key()
            await registry.set_publishable_key(merchant_id, shown["publishable_key"], now)
        elif changes.remove_publishable_key:
            await registry.clear_publishable_key(merchant_id)
        return shown
    finally:
        await engine.dispose()


def _public_key_from(path: str | None) -> str | None:
    from server.identity import IdentityError, normalize_public_key

    if path is None:
        return None
    try:
        return normalize_public_key(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the public key file {path!r}: {exc}") from exc
    except IdentityError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _sign_in_url_from(value: str | None) -> str | None:
    from server.api.merchants import SIGN_IN_URL

    if value is not None and value and not SIGN_IN_URL.fullmatch(value):
        raise ConfigError(f"{value!r} is not an https:// URL (http:// only for localhost)")
    return value


def _cmd_merchant_update(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    changes = _MerchantChanges(
        origins=None if args.origin is None else _valid_origins(args.origin),
        rotate_key=args.rotate_key,
        rotate_signing_secret=args.rotate_signing_secret,
        public_key=_public_key_from(args.public_key),
        remove_public_key=args.remove_public_key,
        sign_in_url=_sign_in_url_from(args.sign_in_url),
        rotate_publishable_key=args.rotate_publishable_key,
        remove_publishable_key=args.remove_publishable_key,
    )
    shown = asyncio.run(_merchant_update(settings, args.id, changes))
    if changes.origins is not None:
        allowed = ", ".join(changes.origins) or "nowhere"
        print(f"merchant {args.id}: embedding allowed from {allowed}")
    if "api_key" in shown:
        print(
            f"merchant {args.id}: new API key (shown once; the old one stops working):\n"
            f"{shown['api_key']}"
        )
    if "signing_secret" in shown:
        print(
            f"merchant {args.id}: new HS256 signing secret for customer tokens (shown once;"
            f" the previous one still verifies for an hour):\n{shown['signing_secret']}"
        )
    if changes.public_key is not None:
        print(f"merchant {args.id}: ES256 public key registered for customer tokens")
    elif changes.remove_public_key:
        print(f"merchant {args.id}: ES256 public key removed")
    if changes.sign_in_url is not None:
        print(f"merchant {args.id}: sign-in URL {changes.sign_in_url or 'cleared'}")
    if "publishable_key" in shown:
        print(
            f"merchant {args.id}: new publishable key for the widget and the store QR sign"
            f" (the old one stops working; docs/shopper-rooms.md):\n{shown['publishable_key']}"
        )
    elif changes.remove_publishable_key:
        print(f"merchant {args.id}: publishable key turned off")
    return 0


def _older_than(value: str) -> int:
    from server.checkout.outbox_admin import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _cmd_outbox_list(args: argparse.Namespace) -> int:
    from server.checkout.outbox_admin import Which
    from server.checkout.outbox_cli import ListArgs, outbox_list

    settings = _settings_from(args)
    _announce_database(settings)
    which: Which = (
        "dead" if args.dead else "pending" if args.pending else "all" if args.all else "open"
    )
    if args.limit < 1:
        raise ConfigError("--limit must be 1 or more")
    request = ListArgs(which, args.room, args.order, args.kind, args.limit, args.json)
    return asyncio.run(outbox_list(settings, request))


def _cmd_outbox_show(args: argparse.Namespace) -> int:
    from server.checkout.outbox_cli import outbox_show

    settings = _settings_from(args)
    _announce_database(settings)
    return asyncio.run(outbox_show(settings, args.id, args.json))


def _cmd_outbox_retry(args: argparse.Namespace) -> int:
    from server.checkout.outbox_cli import RetryArgs, outbox_retry

    settings = _settings_from(args)
    _announce_database(settings)
    request = RetryArgs(
        ids=tuple(args.ids),
        all_dead=args.all_dead,
        older_than_s=args.older_than,
        room=args.room,
        order=args.order,
        kind=args.kind,
        force=args.force,
        dry_run=args.dry_run,
        as_json=args.json,
    )
    return asyncio.run(outbox_retry(settings, request))


def _add_outbox_parser(sub: Any) -> None:
    kinds = ["room_command", "capture", "void", "refund", "expire"]
    box = sub.add_parser(
        "outbox", help="checkout effects: list, show, retry dead ones (docs/runbook.md)"
    ).add_subparsers(dest="outbox_command", required=True)
    p = box.add_parser(
        "list", help="effects not delivered (dead and pending), or --dead, --pending, --all"
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--dead", action="store_true", help="only effects given up for good")
    which.add_argument("--pending", action="store_true", help="only effects still queued")
    which.add_argument("--all", action="store_true", help="delivered ones too (kept a week)")
    p.add_argument("--room", help="only this room's effects")
    p.add_argument("--order", help="only this order's effects")
    p.add_argument("--kind", choices=kinds, help="only this kind")
    p.add_argument("--limit", type=int, default=50, help="at most this many rows (default 50)")
    p.add_argument("--json", action="store_true", help="JSON for scripts")
    _add_settings_flags(p)
    p.set_defaults(func=_cmd_outbox_list)

    p = box.add_parser("show", help="everything about one effect")
    p.add_argument("id")
    p.add_argument("--json", action="store_true", help="JSON for scripts")
    _add_settings_flags(p)
    p.set_defaults(func=_cmd_outbox_show)

    p = box.add_parser(
        "retry",
        help="put dead effects back in the queue (same idempotency key; a running server"
        " runs them on its next pass)",
    )
    p.add_argument("ids", nargs="*", metavar="ID", help="dead effects to retry")
    p.add_argument("--all-dead", action="store_true", help="every dead effect matching")
    p.add_argument(
        "--older-than",
        type=_older_than,
        metavar="DURATION",
        help="with --all-dead: only effects dead at least this long (90s, 10m, 24h, 1d)",
    )
    p.add_argument("--room", help="with --all-dead: only this room's effects")
    p.add_argument("--order", help="with --all-dead: only this order's effects")
    p.add_argument("--kind", choices=kinds, help="with --all-dead: only this kind")
    p.add_argument(
        "--force",
        action="store_true",
        help="retry a room command even though a later one of its order was delivered",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would be retried")
    p.add_argument("--json", action="store_true", help="JSON for scripts")
    _add_settings_flags(p)
    p.set_defaults(func=_cmd_outbox_retry)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coshop", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the server")
    _add_settings_flags(p)
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("demo", help="run the demo: demo catalogue, anonymous demo rooms")
    _add_settings_flags(p)
    p.set_defaults(func=_cmd_demo)

    p.add_argument("--sandbox-port", type=int, default=8790, help="port of the sandbox provider")

    env = os.environ.get
    p = sub.add_parser("sandbox-pay", help="run the sandbox payment provider (its own process)")
    p.add_argument("--host", default=env("COSHOP_SANDBOX_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("COSHOP_SANDBOX_PORT", "8790")))
    p.add_argument("--public-url", default=env("COSHOP_SANDBOX_PUBLIC_URL", ""))
    p.add_argument("--data-dir", default=env("COSHOP_SANDBOX_DATA_DIR", "data/sandbox"))
    p.add_argument("--api-key", default=env("COSHOP_SANDBOX_API_KEY", "sk_test_sandbox"))
    p.add_argument("--webhook-url", default=env("COSHOP_SANDBOX_WEBHOOK_URL", ""))
    p.add_argument("--webhook-secret", default=env("COSHOP_SANDBOX_WEBHOOK_SECRET", ""))
    p.set_defaults(func=_cmd_sandbox_pay)

    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    p = db.add_parser("upgrade", help="apply migrations up to the newest schema")
    _add_settings_flags(p)
    p.set_defaults(func=_cmd_db_upgrade)

    cat = sub.add_parser("catalog", help="product catalogue").add_subparsers(
        dest="catalog_command", required=True
    )
    p = cat.add_parser(
        "import", help="import a schema.org JSON(-LD) or Merchant Center CSV/TSV feed"
    )
    p.add_argument("file")
    p.add_argument("--merchant", default="demo", help="merchant id (default: demo)")
    p.add_argument("--prune", action="store_true", help="delete products missing from a clean feed")
    _add_settings_flags(p)
    p.set_defaults(func=_cmd_catalog_import)

    mer = sub.add_parser("merchant", help="merchants").add_subparsers(
        dest="merchant_command", required=True
    )
    p = mer.add_parser("create", help="register a merchant and print its API key once")
    p.add_argument("--id", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--origin", action="append", help="an origin allowed to embed (repeatable)")
    _add_settings_flags(p)
    p.set_defaults(func=_cmd_merchant_create)
    p = mer.add_parser(
        "update",
        help="set a merchant's embed origins, keys for customer tokens, sign-in URL; rotate keys",
    )
    p.add_argument("--id", required=True)
    p.add_argument(
        "--origin", action="append", help="an origin allowed to embed (repeatable; replaces all)"
    )
    p.add_argument("--rotate-key", action="store_true", help="issue a new API key")
    p.add_argument(
        "--rotate-signing-secret",
        action="store_true",
        help="issue a new HS256 secret for customer tokens (docs/merchant-identity.md)",
    )
    p.add_argument("--public-key", metavar="FILE", help="an ES256 public key (PEM or JWK file)")
    p.add_argument("--remove-public-key", action="store_true", help="forget the ES256 key")
    p.add_argument(
        "--sign-in-url", metavar="URL", help="where shoppers sign in to the shop ('' clears)"
    )
    keys = p.add_mutually_exclusive_group()
    keys.add_argument(
        "--rotate-publishable-key",
        action="store_true",
        help="issue a new publishable key (pk_) for the widget and the store QR sign",
    )
    keys.add_argument(
        "--remove-publishable-key", action="store_true", help="turn the publishable key off"
    )
    _add_settings_flags(p)
    p.set_defaults(func=_cmd_merchant_update)

    _add_outbox_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"coshop: configuration error: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"coshop: {exc.code}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
