"""The host's manage link: a secret URL that reopens a room as its host on any device.

A manage link is ``{public_url}/r/{room_id}/manage#key=<secret>``: 256 random bits in the URL's
fragment, which browsers never send to a server (no access log, proxy or ``Referer`` sees it);
the manage page's script posts it to ``POST /api/v1/rooms/{room_id}/manage`` and receives a
host member token (``server.api.room_links``). Only a SHA-256 of the secret is stored
(``Registry.set_manage_secret``); issuing a new link replaces the hash, so the previous link
stops working at once. Every way of creating a room calls :func:`issue_manage_link` and returns
its answer once, as ``manage_url``.

This module must not decide who may rotate a link (the permission table does, in the routes).
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote

from server.settings import Settings
from server.storage import Registry

__all__ = ["MANAGE_KEY", "issue_manage_link", "manage_url"]

MANAGE_KEY = re.compile(r"[A-Za-z0-9_-]{32,128}")
"""What a manage-link secret looks like (``secrets.token_urlsafe(32)`` draws 43 characters)."""


def manage_url(settings: Settings, room_id: str, secret: str) -> str:
    """The manage link of ``room_id`` carrying ``secret`` in its fragment."""
    base = settings.public_url.rstrip("/")
    return f"{base}/r/{quote(room_id)}/manage#key={secret}"


async def issue_manage_link(settings: Settings, registry: Registry, room_id: str, now: int) -> str:
    """Draw a new manage-link secret for the room, store its hash, return the link (once)."""
    secret = secrets.token_urlsafe(32)
    await registry.set_manage_secret(room_id, secret, now)
    return manage_url(settings, room_id, secret)
