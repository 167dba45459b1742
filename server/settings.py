"""Configuration: ``COSHOP_*`` environment variables with matching ``coshop serve`` flags.

Every field of :class:`Settings` is one variable (``data_dir`` ↔ ``COSHOP_DATA_DIR`` ↔
``--data-dir``). Secrets never appear in ``repr`` or logs. Production mode refuses to start
without a secret key and an origin allow-list (DESIGN.md §7); development mode makes a random key
once and keeps it in the data directory so tokens survive a restart.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ConfigError", "Settings", "load_settings"]


class ConfigError(Exception):
    """The configuration cannot run: the message says which variable to set."""


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip().rstrip("/") for v in value.split(",") if v.strip())


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # how browsers reach us; default http://{host}:{port}
    data_dir: Path = Path("data")
    database_url: str = ""  # default: SQLite in data_dir
    broker_url: str = ""  # "" or memory:// = in-process; redis://… for several processes
    broker_prefix: str = "coshop"  # Redis key and channel prefix (several deployments, one Redis)
    secret_key: str = field(default="", repr=False)
    admin_token: str = field(default="", repr=False)  # enables POST /api/v1/merchants
    production: bool = False
    allowed_origins: tuple[str, ...] = ()  # exact origins for WebSockets and embeds
    demo: bool = False  # load the demo catalogue and allow anonymous demo rooms
    public_rooms: bool = False  # anyone may create a room for the demo merchant
    max_frame_bytes: int = 65_536
    commands_per_second: float = 20.0
    command_burst: int = 40
    bytes_per_second: int = 262_144  # inbound bytes per connection (bursts of 4 frames)
    outbox_frames: int = 2_000
    # kernel send buffer per socket (bytes; 0 = the kernel's autotuning, up to 4 MiB on Linux)
    socket_send_buffer: int = 262_144
    max_rooms: int = 10_000
    max_connections: int = 50_000  # sockets per process; more are refused with server_full
    token_ttl_s: int = 86_400
    hello_timeout_s: float = 10.0
    live_tick_ms: int = 50
    live_busy_tick_ms: int = 150  # a live room receiving >= 40 events/s coalesces this long
    snapshot_every: int = 500
    replay_limit: int = 2_000
    presence_ttl_s: int = 30
    sandbox_url: str = ""  # the sandbox payment provider; "" = none
    sandbox_api_key: str = field(default="sk_test_sandbox", repr=False)
    stripe_api_key: str = field(default="", repr=False)  # real Stripe Checkout; wins over sandbox
    webhook_secret: str = field(default="", repr=False)  # the provider's webhook signing secret
    handoff_shop: str = ""  # shop domain for cart hand-off permalinks (e.g. shop.example.com)
    payment_window_s: int = 3_600  # how long payers have before an order is voided
    checkout_sweep_s: float = 5.0  # how often deadlines and expiries are checked
    log_level: str = "info"
    process_id: str = ""

    def __post_init__(self) -> None:
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://{self.host}:{self.port}")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'coshop.db').resolve()}"

    @property
    def origins(self) -> frozenset[str]:
        """Origins allowed to open a WebSocket: the allow-list plus our own public origin."""
        own = urlsplit(self.public_url)
        return frozenset(
            o.lower().rstrip("/") for o in (*self.allowed_origins, f"{own.scheme}://{own.netloc}")
        )

    def checked(self) -> Settings:
        """Validate, and in development fill in a persistent random secret key."""
        from server.api.common import normalize_origin

        for origin in self.allowed_origins:
            if normalize_origin(origin) is None:
                raise ConfigError(
                    f"COSHOP_ALLOWED_ORIGINS: {origin!r} is not an origin like https://shop.example"
                )
        if self.production:
            missing = []
            if len(self.secret_key) < 32:
                missing.append("COSHOP_SECRET_KEY (at least 32 characters)")
            if not self.allowed_origins:
                missing.append("COSHOP_ALLOWED_ORIGINS")
            if missing:
                raise ConfigError("production mode needs " + " and ".join(missing))
            return self
        if self.secret_key:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / "secret.key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return replace(self, secret_key=key_file.read_text().strip())


_ENV_PREFIX = "COSHOP_"


def _convert(name: str, kind: Any, raw: str) -> Any:
    try:
        if kind in (bool, "bool"):
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{_ENV_PREFIX}{name.upper()}: cannot read {raw!r}") from exc
    if kind in (Path, "Path"):
        return Path(raw)
    if kind in ("tuple[str, ...]",):
        return _split(raw)
    return raw


def load_settings(
    overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None
) -> Settings:
    """Settings from the environment, then ``overrides`` (CLI flags that were given)."""
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = env.get(_ENV_PREFIX + f.name.upper())
        if raw is not None:
            values[f.name] = _convert(f.name, f.type, raw)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return Settings(**values)
