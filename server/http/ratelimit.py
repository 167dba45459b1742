"""Rate limits per client on REST and WebSocket handshakes: one policy table, ``limits`` windows.

This module is for: deciding, before any route runs, whether this client may make this request
now, and answering ``429 rate_limited`` with ``Retry-After`` (whole seconds) when it may not.
It must not: read a body, touch the database, or slow anyone down but the client it refuses.

Who a client is (:func:`client_key`):

- a valid **member token** as bearer (its signature is checked, nothing is read) → that member;
- any other **bearer** (a merchant key, or something posing as one) → that key, by SHA-256; every
  call made with one key shares the ``rate_merchant`` window whatever the route;
- otherwise the **address** (:func:`client_address`: the peer, or what a trusted proxy says in
  ``X-Forwarded-For``; IPv6 by /64, the block one subscriber gets).

A **publishable key** (``pk_…``, which sits in a shop's pages for anyone to read) is a client of
its own: ``POST /api/v1/shopper-rooms`` counts every start with a valid key against that key's
``rate_publishable`` window, from whatever address (:meth:`RateLimits.admit_publishable_key`),
besides the address's ``room_create`` window; the same call refuses a key whose rooms already
fill its share of the room cap (``server.hub.shares``).

Joins, webhooks and WebSocket handshakes are always counted by address (their bearer proves
nothing), and every limited request also counts against ``rate_address``, so a client that
invents a fresh bearer per request still meets a limit.

The windows are ``limits``' sliding-window counters (constant memory per key, one Lua call per
hit on Redis). With ``rate_limit_url`` (or the broker's Redis URL) they live in Redis and every
process shares them; otherwise each process counts alone. If Redis fails, each process falls
back to its own in-memory windows for :data:`FALLBACK_S` and logs a warning: a Redis outage
never refuses a request by itself and never makes one wait for a timeout more than once per
interval (fail open to per-process limits, not to none).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import re
import time
from collections.abc import MutableMapping
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisClusterStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from server.auth import AuthError, TokenSigner
from server.http.problem import ProblemError, problem_response
from server.hub.shares import ClientShareExceeded, current_client, current_key, key_identity
from server.settings import ConfigError, Settings

__all__ = [
    "FALLBACK_S",
    "GROUPS",
    "RateLimitMiddleware",
    "RateLimits",
    "check_rate_settings",
    "client_address",
    "client_key",
    "rate_limited",
    "request_hits",
    "route_group",
]

log = logging.getLogger("coshop.ratelimit")

FALLBACK_S = 5.0
"""After a Redis failure, windows are kept in memory this long before Redis is tried again."""

_REDIS_TIMEOUT_S = 0.25  # a limit check is on every request's path: never wait long for it

# group -> the setting that holds its limit
GROUPS: dict[str, str] = {
    "room_create": "rate_room_create",
    "join": "rate_join",
    "socket": "rate_socket",
    "invite": "rate_invite",
    "checkout": "rate_checkout",
    "merchant": "rate_merchant",
    "webhook": "rate_webhook",
    "api": "rate_api",
    "address": "rate_address",
    "publishable": "rate_publishable",
    "show_status": "rate_show_status",
}

_BY_ADDRESS_ONLY = frozenset({"join", "webhook", "socket", "show_status"})
# Groups whose requests do not also count against the address's overall window: a show's
# waiting page polls its status (answered from memory, server/api/shows.py), and a venue's
# shared Wi-Fi puts hundreds of waiting viewers behind one address.
_OWN_WINDOW_ONLY = frozenset({"show_status"})

# The policy table: (methods, path, group). First match wins; an /api/ path no row names is
# "api"; pages, static files, /healthz and /metrics are not limited.
_ROOM = r"/api/v1/rooms/[^/]+"
_POLICY: tuple[tuple[frozenset[str], re.Pattern[str], str], ...] = (
    (frozenset({"GET"}), re.compile(_ROOM + r"/show"), "show_status"),
    (frozenset({"POST"}), re.compile(r"/api/v1/rooms"), "room_create"),
    (frozenset({"POST"}), re.compile(_ROOM + r"/join"), "join"),
    (frozenset({"POST", "DELETE"}), re.compile(_ROOM + r"/invites(/[^/]+)?"), "invite"),
    (
        frozenset({"POST"}),
        re.compile(_ROOM + r"/checkout(/handoff|/[^/]+/pay|/[^/]+/cancel)?"),
        "checkout",
    ),
    (frozenset({"POST"}), re.compile(r"/api/v1/merchants"), "merchant"),
    (
        frozenset({"GET", "PUT", "POST"}),
        re.compile(r"/api/v1/merchant(/origins|/api-key)?"),
        "merchant",
    ),
    (frozenset({"POST"}), re.compile(r"/webhooks/[^/]+"), "webhook"),
)


def route_group(method: str, path: str) -> str | None:
    """The policy group of a request, or None if it is not limited."""
    for methods, pattern, group in _POLICY:
        if method in methods and pattern.fullmatch(path):
            return group
    if path.startswith("/api/"):
        return "api"
    return None


def _parse(name: str, value: str) -> tuple[RateLimitItem, ...]:
    if not value.strip():
        return ()
    try:
        return tuple(parse_many(value))
    except ValueError as exc:
        raise ConfigError(
            f"COSHOP_{name.upper()}: cannot read {value!r}; write e.g. 10/minute or "
            "10/minute;100/hour, or leave it empty for no limit"
        ) from exc


def check_rate_settings(settings: Settings) -> None:
    """Raise :class:`ConfigError` for a limit or trusted proxy that cannot be read."""
    for name in GROUPS.values():
        _parse(name, str(getattr(settings, name)))
    _networks(settings.trusted_proxies)
    _storage_uri(settings)


def _networks(values: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise ConfigError(
                f"COSHOP_TRUSTED_PROXIES: {value!r} is not an address or network like 10.0.0.0/8"
            ) from exc
    return tuple(out)


def _storage_uri(settings: Settings) -> str:
    """The ``limits`` storage URI: the explicit one, else the broker's Redis, else memory."""
    url = settings.rate_limit_url or settings.broker_url or "memory://"
    for ours, theirs in (
        ("redis+cluster://", "async+redis+cluster://"),
        ("rediss+cluster://", "async+rediss+cluster://"),
        ("redis://", "async+redis://"),
        ("rediss://", "async+rediss://"),
        ("unix://", "async+redis+unix://"),
        ("memory://", "async+memory://"),
    ):
        if url.startswith(ours):
            return theirs + url.removeprefix(ours)
    scheme = url.split("://", 1)[0] if "://" in url else url[:20]
    raise ConfigError(
        f"COSHOP_RATE_LIMIT_URL: unsupported scheme {scheme!r} (redis:// or memory://)"
    )


# ---- who the client is ---------------------------------------------------------------------


def _normal(text: str) -> str | None:
    """An address as a client key: IPv4 as is, IPv6 by its /64; None if not an address."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(
    scope: MutableMapping[str, Any],
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (),
) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy, in which case the
    right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy (the left-most
    entries are whatever the client chose to write)."""
    peer = scope.get("client")
    raw = str(peer[0]) if peer else ""
    if not trusted or not _is_trusted(raw, trusted):
        return _normal(raw) or raw or "unknown"
    forwarded: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded.extend(v.strip() for v in value.decode("latin-1").split(","))
    chosen = raw
    for hop in reversed(forwarded):
        if _normal(hop) is None:
            break  # garbage from here leftwards: keep the last hop we could read
        chosen = hop
        if not _is_trusted(hop, trusted):
            break
    return _normal(chosen) or "unknown"


def _is_trusted(
    text: str, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return False
    return any(address in net for net in trusted)


def client_key(headers: Any, signer: TokenSigner | None, address: str) -> tuple[str, str]:
    """``(kind, key)`` of the caller: ``member``, ``key`` (a bearer that is no member token) or
    ``address``."""
    header = str(headers.get("authorization", ""))
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        if signer is not None:
            try:
                claims = signer.read_member_token(value)
            except AuthError:
                pass
            else:
                return "member", f"{claims.room_id}/{claims.member_id}"
        return "key", hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]
    return "address", address


# ---- the windows ---------------------------------------------------------------------------


class RateLimits:
    """The process's windows: built in the app's lifespan, closed with it."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits
        self.limits = {g: _parse(name, str(getattr(settings, name))) for g, name in GROUPS.items()}
        self.trusted = _networks(settings.trusted_proxies)
        uri = _storage_uri(settings)
        self.shared = not uri.startswith("async+memory")
        self._pool: Any = None
        storage: Storage
        if self.shared:
            options: dict[str, Any] = {
                "socket_timeout": _REDIS_TIMEOUT_S,
                "socket_connect_timeout": _REDIS_TIMEOUT_S,
            }
            if uri.startswith(("async+redis://", "async+rediss://", "async+redis+unix://")):
                import redis.asyncio

                # Our own pool, so close() can release its connections.
                self._pool = redis.asyncio.ConnectionPool.from_url(
                    uri.removeprefix("async+").replace("redis+unix://", "unix://"), **options
                )
                options = {"connection_pool": self._pool}
            cluster = uri.startswith(("async+redis+cluster://", "async+rediss+cluster://"))
            if uri.startswith("async+rediss+cluster://"):  # limits knows only redis+cluster
                uri = "async+redis+cluster://" + uri.removeprefix("async+rediss+cluster://")
                options["ssl"] = True
            storage = (RedisClusterStorage if cluster else RedisStorage)(
                uri,
                implementation="redispy",
                key_prefix=f"{settings.broker_prefix}:ratelimit",
                wrap_exceptions=True,
                **options,
            )
        else:
            storage = MemoryStorage()
        self._storage = storage
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._local = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._fallback_until = 0.0

    def address(self, scope: MutableMapping[str, Any]) -> str:
        return client_address(scope, self.trusted)

    async def hit(self, hits: list[tuple[str, str]]) -> int | None:
        """Count one request against each ``(group, key)``; the seconds to wait if any window is
        full (the request is refused and should not be served), else None."""
        if not self.enabled:
            return None
        wait = 0.0
        for group, key in hits:
            for item in self.limits[group]:
                if await self._hit(item, group, key):
                    continue
                wait = max(wait, await self._reset_in(item, group, key))
        return None if wait == 0.0 else max(1, math.ceil(wait))

    async def _hit(self, item: RateLimitItem, group: str, key: str) -> bool:
        if self.shared and time.monotonic() >= self._fallback_until:
            try:
                return await self._limiter.hit(item, group, key)
            except Exception as exc:  # any storage failure: fall back, say so
                self._fallback_until = time.monotonic() + FALLBACK_S
                log.warning(
                    "rate-limit storage failed (%s); counting in this process for %.0f s",
                    type(exc).__name__,
                    FALLBACK_S,
                )
        limiter = self._limiter if not self.shared else self._local
        return await limiter.hit(item, group, key)

    async def _reset_in(self, item: RateLimitItem, group: str, key: str) -> float:
        limiter = self._limiter
        if self.shared and time.monotonic() < self._fallback_until:
            limiter = self._local
        try:
            stats = await limiter.get_window_stats(item, group, key)
        except Exception:  # the window is full; how long is a guess then
            return float(item.get_expiry())
        return max(1.0, stats.reset_time - time.time())

    async def admit_publishable_key(self, state: Any, publishable_key: str) -> None:
        """A shopper room is about to be started with the valid ``publishable_key``: count it
        against the key's window, refuse it (``429 rate_limited``) when the window is full or
        the key's rooms already fill their share of the room cap, and otherwise name the key for
        the rest of this request (:data:`current_key`), so the room it opens counts against it.
        ``state`` is ``app.state``."""
        key = key_identity(publishable_key)
        wait = await self.hit([("publishable", f"p:{key}")])
        metrics = getattr(state, "metrics", None)
        if wait is not None:
            if metrics is not None:
                metrics.rate_limited.labels("publishable").inc()
            raise rate_limited(
                wait, f"too many rooms started with this shop's key; retry in {wait} s"
            )
        if state.hub.shares.key_full(key, state.settings.max_rooms):
            if metrics is not None:
                metrics.rate_limited.labels("publishable_share").inc()
            raise rate_limited(
                ClientShareExceeded.retry_after_s,
                "the rooms started with this shop's key fill its share of this server; "
                f"retry in {ClientShareExceeded.retry_after_s} s",
            )
        current_key.set(key)  # reset by RateLimitMiddleware when the request ends

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        elif self.shared:
            client = getattr(getattr(self._storage, "bridge", None), "storage", None)
            if client is not None and hasattr(client, "aclose"):
                await client.aclose()


def rate_limited(retry_after: int, detail: str) -> ProblemError:
    """The refusal: ``429 rate_limited`` with ``Retry-After`` in whole seconds."""
    return ProblemError(
        429,
        "rate_limited",
        detail,
        extra={"retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def request_hits(group: str, kind: str, key: str, address: str) -> list[tuple[str, str]]:
    """The windows one request counts against."""
    if group in _BY_ADDRESS_ONLY or kind == "address":
        own = (group, f"a:{address}")
    elif kind == "key":
        own = ("merchant", f"k:{key}")
    else:
        own = (group, f"m:{key}")
    if own[0] == "address" or group in _OWN_WINDOW_ONLY:
        return [own]
    return [own, ("address", f"a:{address}")]


class RateLimitMiddleware:
    """ASGI middleware: counts each limited HTTP request and refuses it with ``429`` when its
    client is over a window. Also tells the hub whose request this is (``current_client``), and
    forgets, when the request ends, any publishable key it started a room with (``current_key``)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = getattr(scope.get("app"), "state", None)
        limits: RateLimits | None = getattr(state, "rate_limits", None)
        if limits is None:
            await self.app(scope, receive, send)
            return
        address = limits.address(scope)
        token = current_client.set(address)
        key_token = current_key.set(None)
        try:
            group = route_group(scope["method"], scope["path"])
            if group is not None and limits.enabled:
                headers = {
                    k.decode("latin-1"): v.decode("latin-1")
                    for k, v in scope.get("headers", ())
                    if k == b"authorization"
                }
                kind, key = client_key(headers, getattr(state, "signer", None), address)
                wait = await limits.hit(request_hits(group, kind, key, address))
                if wait is not None:
                    metrics = getattr(state, "metrics", None)
                    if metrics is not None:
                        metrics.rate_limited.labels(group).inc()
                    detail = f"too many requests ({group.replace('_', ' ')}); retry in {wait} s"
                    await problem_response(rate_limited(wait, detail))(scope, receive, send)
                    return
            await self.app(scope, receive, send)
        finally:
            current_key.reset(key_token)
            current_client.reset(token)
