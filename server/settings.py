"""Configuration: ``COSHOP_*`` environment variables with matching ``coshop serve`` flags.

Every field of :class:`Settings` is one variable (``data_dir`` ↔ ``COSHOP_DATA_DIR`` ↔
``--data-dir``). Secrets never appear in ``repr`` or logs. Production mode refuses to start
without a strong secret key (:func:`secret_key_problem`) and an origin allow-list (DESIGN.md §7),
and with public rooms or the demo unless each is forced by its own ``allow_*_in_production``
setting; development mode makes a random key once and keeps it in the data directory so tokens
survive a restart.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "GENERATE_KEY_COMMAND",
    "MIN_SECRET_KEY_BYTES",
    "MIN_SECRET_KEY_DISTINCT",
    "ConfigError",
    "Settings",
    "load_settings",
    "secret_key_problem",
]


class ConfigError(Exception):
    """The configuration cannot run: the message says which variable to set."""


MIN_SECRET_KEY_BYTES = 32
"""A production secret key has at least this many bytes (UTF-8), leading/trailing blanks aside."""

MIN_SECRET_KEY_DISTINCT = 10
"""…and at least this many distinct characters (a random 32-byte key has far more)."""

GENERATE_KEY_COMMAND = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
"""The command the refusal suggests: 48 random bytes, 64 URL-safe characters."""


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` is too weak to sign production tokens, or None if it will do.

    The rule is deliberately simple and documented (docs/operations.md): after stripping
    leading and trailing whitespace the key must be at least :data:`MIN_SECRET_KEY_BYTES` bytes
    long, use at least :data:`MIN_SECRET_KEY_DISTINCT` distinct characters, and not be one
    shorter run repeated (``abcdabcdabcd…``). A key from :data:`GENERATE_KEY_COMMAND`, or
    ``openssl rand -base64 32``, passes.
    """
    stripped = key.strip()
    size = len(stripped.encode())
    if size < MIN_SECRET_KEY_BYTES:
        blanks = " without its leading and trailing blanks" if stripped != key else ""
        return f"is {size} bytes long{blanks} (needs at least {MIN_SECRET_KEY_BYTES})"
    distinct = len(set(stripped))
    if distinct < MIN_SECRET_KEY_DISTINCT:
        return f"uses {distinct} distinct characters (needs at least {MIN_SECRET_KEY_DISTINCT})"
    period = _period(stripped)
    if period <= len(stripped) // 2:
        return f"repeats a run of {period} characters"
    return None


def _period(text: str) -> int:
    """The length of the shortest run that ``text`` repeats (``len(text)`` if none)."""
    # the prefix function of Knuth-Morris-Pratt: text[:n - border] tiles text
    border = [0] * len(text)
    k = 0
    for i in range(1, len(text)):
        while k and text[i] != text[k]:
            k = border[k - 1]
        if text[i] == text[k]:
            k += 1
        border[i] = k
    return len(text) - (border[-1] if text else 0)


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
    allow_demo_in_production: bool = False  # production refuses demo unless this is set too
    allow_public_rooms_in_production: bool = False  # likewise for public_rooms
    max_frame_bytes: int = 65_536
    commands_per_second: float = 20.0
    command_burst: int = 40
    bytes_per_second: int = 262_144  # inbound bytes per connection (bursts of 4 frames)
    outbox_frames: int = 2_000
    # kernel send buffer per socket (bytes; 0 = the kernel's autotuning, up to 4 MiB on Linux)
    socket_send_buffer: int = 262_144
    max_rooms: int = 10_000
    # TCP connections per process (HTTP and WebSocket); more are refused with 503 server_full.
    # An upper bound: the effective cap is also kept under the open-file limit (server/serving.py)
    max_connections: int = 50_000
    fd_reserve: int = 0  # descriptors kept back from connections; 0 = 10 % of the limit, >= 128
    header_timeout_s: float = 10.0  # request line and headers must arrive within this
    body_timeout_s: float = 15.0  # a request body gets this long, plus…
    body_min_rate: int = 500  # …one more second per this many bytes received
    # Rate limits per client (docs/operations.md, "Rate limits"): "N/second|minute|hour",
    # several joined by ";" ("10/minute;100/hour"); "" = no limit for that group.
    rate_limits: bool = True  # off: no REST/handshake windows at all (shares still apply)
    rate_limit_url: str = ""  # "" = the broker's Redis if it has one, else memory://
    trusted_proxies: tuple[str, ...] = ()  # proxy addresses/CIDRs whose X-Forwarded-For counts
    rate_room_create: str = "10/minute;100/hour"  # anonymous room creation, per address
    rate_join: str = "30/minute"  # POST …/join per address
    rate_socket: str = "60/minute"  # WebSocket handshakes per address
    rate_invite: str = "60/minute"  # invite minting/revoking per member or address
    rate_checkout: str = "30/minute"  # checkout, hand-off, pay, cancel per member or address
    rate_merchant: str = "600/minute"  # every call made with one merchant key (or any bearer key)
    rate_webhook: str = "1200/minute"  # provider webhooks per address
    rate_api: str = "600/minute"  # every other /api/ request per member or address
    rate_address: str = "1200/minute"  # every limited request of one address, whoever it says it is
    rate_show_status: str = "6000/minute"  # a show's status polls (waiting pages) per address
    # shopper rooms started with one publishable key, from any address (POST /api/v1/shopper-rooms)
    rate_publishable: str = "120/minute;2000/hour"
    # One client (address; IPv6 by /64) may hold at most this share of the room and connection
    # caps, and never fewer than client_share_floor of each; 0 = no shares.
    client_share: float = 0.1
    client_share_floor: int = 16
    # The rooms started with one publishable key may be at most this share of the room cap (never
    # fewer than client_share_floor), whoever loads them; 0 = no share per key.
    publishable_share: float = 0.5
    token_ttl_s: int = 86_400
    hello_timeout_s: float = 10.0
    live_tick_ms: int = 50
    live_busy_tick_ms: int = 150  # a live room receiving >= 40 events/s coalesces this long
    # the window after a live room's frame grows by this much per viewer (server/hub/pacing.py)
    live_window_us_per_viewer: int = 10
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
    # a webhook endpoint whose every attempt failed this long is disabled (reason "failing")
    webhook_disable_after_s: float = 432_000.0
    catalog_refresh_s: float = 30.0  # rooms' catalogue snapshots refresh in the background
    log_level: str = "info"
    access_log: bool = True  # one line per HTTP request / WebSocket handshake, no query strings
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
        self._check_limits()
        if self.production:
            self._check_production()
            return self
        if self.secret_key.strip():
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / "secret.key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return replace(self, secret_key=key_file.read_text().strip())

    def _check_limits(self) -> None:
        positive = {
            "max_connections": self.max_connections,
            "header_timeout_s": self.header_timeout_s,
            "body_timeout_s": self.body_timeout_s,
            "body_min_rate": self.body_min_rate,
            "catalog_refresh_s": self.catalog_refresh_s,
            "live_tick_ms": self.live_tick_ms,
            "live_busy_tick_ms": self.live_busy_tick_ms,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{_ENV_PREFIX}{name.upper()} must be above 0, not {value}")
        if self.live_window_us_per_viewer < 0:
            raise ConfigError(f"{_ENV_PREFIX}LIVE_WINDOW_US_PER_VIEWER must be 0 or more")
        if self.fd_reserve < 0:
            raise ConfigError(f"{_ENV_PREFIX}FD_RESERVE must be 0 (automatic) or more")
        if not 0 <= self.client_share <= 1:
            raise ConfigError(f"{_ENV_PREFIX}CLIENT_SHARE must be between 0 and 1")
        if self.client_share_floor < 1:
            raise ConfigError(f"{_ENV_PREFIX}CLIENT_SHARE_FLOOR must be 1 or more")
        if not 0 <= self.publishable_share <= 1:
            raise ConfigError(f"{_ENV_PREFIX}PUBLISHABLE_SHARE must be between 0 and 1")
        from server.http.ratelimit import check_rate_settings

        check_rate_settings(self)

    def _check_production(self) -> None:
        problems = []
        if not self.secret_key:
            problems.append(f"needs COSHOP_SECRET_KEY; generate one with: {GENERATE_KEY_COMMAND}")
        elif (why := secret_key_problem(self.secret_key)) is not None:
            problems.append(
                f"refuses COSHOP_SECRET_KEY: it {why}; generate one with: {GENERATE_KEY_COMMAND}"
            )
        if not self.allowed_origins:
            problems.append("needs COSHOP_ALLOWED_ORIGINS (the origins allowed to embed rooms)")
        if self.public_rooms and not self.allow_public_rooms_in_production:
            problems.append(
                "refuses public rooms (--public-rooms, COSHOP_PUBLIC_ROOMS: anyone may create "
                "rooms); drop it, or force it with --allow-public-rooms-in-production "
                "(COSHOP_ALLOW_PUBLIC_ROOMS_IN_PRODUCTION=1)"
            )
        if self.demo and not self.allow_demo_in_production:
            problems.append(
                "refuses the demo (--demo, COSHOP_DEMO: the demo catalogue and anonymous demo "
                "rooms); drop it, or force it with --allow-demo-in-production "
                "(COSHOP_ALLOW_DEMO_IN_PRODUCTION=1)"
            )
        if problems:
            raise ConfigError("production mode " + "; ".join(problems))


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
