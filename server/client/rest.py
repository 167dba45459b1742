"""The REST calls a client needs before it can open a room's socket: create, invite, join.

Thin wrappers over ``httpx.AsyncClient`` that return the JSON body as a dict and turn a problem
response (``application/problem+json``) into :class:`ApiError` with its ``code``. Pass ``http=``
to reuse a client (connection pooling, test transports); otherwise each call opens its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx

from server.client.errors import ApiError

__all__ = ["create_invite", "create_room", "join_room", "room_snapshot"]


async def create_room(
    base_url: str,
    kind: str = "group",
    title: str = "Shopping together",
    host_name: str = "Host",
    api_key: str | None = None,
    *,
    http: httpx.AsyncClient | None = None,
) -> dict[str, Any]:
    """POST /api/v1/rooms → ``room_id``, ``host`` {member_id, token}, ``invite``, ``links``."""
    body = {"kind": kind, "title": title, "host_name": host_name}
    return await _call(http, "POST", base_url, "/api/v1/rooms", api_key, body)


async def create_invite(
    base_url: str,
    room_id: str,
    credential: str,
    *,
    role: str = "member",
    expires_in: int | None = None,
    max_uses: int | None = None,
    http: httpx.AsyncClient | None = None,
) -> dict[str, Any]:
    """POST /api/v1/rooms/{id}/invites with a host/cohost member token or the merchant API key."""
    body: dict[str, Any] = {"role": role}
    if expires_in is not None:
        body["expires_in"] = expires_in
    if max_uses is not None:
        body["max_uses"] = max_uses
    path = f"/api/v1/rooms/{quote(room_id, safe='')}/invites"
    return await _call(http, "POST", base_url, path, credential, body)


async def join_room(
    base_url: str,
    room_id: str,
    invite_token: str,
    name: str,
    *,
    http: httpx.AsyncClient | None = None,
) -> dict[str, Any]:
    """POST /api/v1/rooms/{id}/join → ``member_id``, ``role``, ``token`` (for hello), ``ws_url``."""
    path = f"/api/v1/rooms/{quote(room_id, safe='')}/join"
    return await _call(http, "POST", base_url, path, None, {"invite": invite_token, "name": name})


async def room_snapshot(
    base_url: str,
    room_id: str,
    credential: str,
    *,
    http: httpx.AsyncClient | None = None,
) -> dict[str, Any]:
    """GET /api/v1/rooms/{id} → ``seq`` and ``view`` (member token or merchant API key)."""
    path = f"/api/v1/rooms/{quote(room_id, safe='')}"
    return await _call(http, "GET", base_url, path, credential, None)


@asynccontextmanager
async def _client(http: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    if http is not None:
        yield http
        return
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as own:
        yield own


async def _call(
    http: httpx.AsyncClient | None,
    method: str,
    base_url: str,
    path: str,
    bearer: str | None,
    body: dict[str, Any] | None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    url = base_url.rstrip("/") + path
    async with _client(http) as client:
        response = await client.request(method, url, json=body, headers=headers)
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.is_error:
        problem = data if isinstance(data, dict) else {}
        raise ApiError(
            str(problem.get("code", f"http_{response.status_code}")),
            str(problem.get("detail", response.reason_phrase)),
            response.status_code,
        )
    if not isinstance(data, dict):
        raise ApiError("bad_response", "the server did not answer with a JSON object", 502)
    return data
