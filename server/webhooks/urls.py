"""Which URLs a webhook endpoint may have, checked when it is saved and again before each send.

Production (``COSHOP_PRODUCTION``): ``https://`` only, and the host may not be, or resolve to, a
loopback, private, link-local, shared, reserved or multicast address (no requests into the
operator's own network through a merchant's endpoint). Development and tests allow ``http://``
and any address, so a receiver on this machine can be tried.

Problem codes (``UrlRefused.code``): ``invalid_webhook_url`` (not an absolute http(s) URL, too
long, credentials or a fragment in it), ``webhook_url_not_https``, ``webhook_url_private``,
``webhook_url_unresolvable`` (production: the host has no address now).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["MAX_URL", "UrlRefused", "check_address", "check_url", "resolve_public"]

MAX_URL = 2048
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".home.arpa")


class UrlRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_address(host: str) -> None:
    """Refuse an IP address that is not a public unicast one (``webhook_url_private``)."""
    ip = ipaddress.ip_address(host.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        raise UrlRefused(
            "webhook_url_private",
            f"{host} is a loopback, private or link-local address; use a public https:// URL",
        )


def _ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_url(value: object, *, production: bool) -> str:
    """The URL if it may be saved (syntax and literal addresses); raises :class:`UrlRefused`."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL or not value.isascii():
        raise UrlRefused(
            "invalid_webhook_url", f"url must be an absolute URL of at most {MAX_URL} characters"
        )
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused("invalid_webhook_url", f"url is not a valid URL: {exc}") from exc
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in value):
        raise UrlRefused("invalid_webhook_url", "url must be an absolute http(s) URL")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise UrlRefused("invalid_webhook_url", "url may not hold credentials or a #fragment")
    if port == 0:
        raise UrlRefused("invalid_webhook_url", "url has no usable port")
    if not production:
        return value
    if parts.scheme != "https":
        raise UrlRefused("webhook_url_not_https", "webhook URLs must use https://")
    if _ip(host):
        check_address(host)
    elif host.endswith(_LOCAL_NAMES) or "." not in host:
        raise UrlRefused(
            "webhook_url_private", f"{host} is a local name; use a public https:// URL"
        )
    return value


async def resolve_public(url: str) -> None:
    """Production: every address the URL's host resolves to must be public.

    Raises ``webhook_url_unresolvable`` when the name has no address now.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _ip(host):
        check_address(host)
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or 443, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError) as exc:
        raise UrlRefused(
            "webhook_url_unresolvable", f"{host} does not resolve to an address"
        ) from exc
    for info in infos:
        check_address(str(info[4][0]))
