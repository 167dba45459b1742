"""A bare WebSocket peer for transport tests: speaks frames directly, no client-side smarts.

Every frame a peer receives is checked against the published schema of its type (the one
``/asyncapi.json`` serves, :func:`server.api.asyncapi.frame_schema`), so every test that talks
to the server through a :class:`Peer` also tests that the server keeps its documented contract.
A frame that does not match fails the test with :class:`FrameContractError`.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import httpx
import jsonschema_rs
from websockets.asyncio.client import ClientConnection, connect

from server.api.asyncapi import frame_schema
from server.protocol.frames import SERVER_FRAMES
from server.transport.wire import JSON, MSGPACK, Codec


class FrameContractError(AssertionError):
    """The server sent a frame that its published schema does not allow."""


@functools.cache
def _validator(t: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(frame_schema(t))


def check_frame(msg: dict[str, Any]) -> None:
    """Raise :class:`FrameContractError` unless ``msg`` matches the schema of its ``t``."""
    t = msg.get("t")
    if t not in SERVER_FRAMES:
        raise FrameContractError(f"the server sent a frame of unknown type {t!r}: {msg!r:.300}")
    errors = [
        f"{'/'.join(map(str, e.instance_path)) or '(frame)'}: {e.message}"
        for e in _validator(str(t)).iter_errors(msg)
    ]
    if errors:
        raise FrameContractError(f"{t} frame breaks its schema: {errors[:5]} in {msg!r:.500}")


class Peer:
    def __init__(self, ws: ClientConnection, codec: Codec, *, check: bool = True) -> None:
        self.ws = ws
        self.codec = codec
        self.check = check  # validate every received frame against its schema

    @classmethod
    async def open(cls, url: str, *, codec: Codec = JSON, origin: str | None = None) -> Peer:
        ws = await connect(
            url,
            subprotocols=[codec.name],  # type: ignore[list-item]  # Subprotocol is a NewType of str
            origin=origin,  # type: ignore[arg-type]  # Origin is a NewType of str
            compression=None,
            open_timeout=5,
            # unbounded: a test peer that stops reading must still see the server's close frame
            max_queue=None,
        )
        return cls(ws, codec)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(self.codec.encode(message))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):  # not wait_for: it swallows cancels (waiting.py)
            frame = await self.ws.recv()
        msg = self.codec.decode(frame)
        if self.check:
            check_frame(msg)
        return msg

    async def recv_until(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            msg = await self.recv(timeout)
            if msg.get("t") == kind:
                return msg

    async def events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The next ``count`` durable events, unpacking batch frames."""
        out: list[dict[str, Any]] = []
        while len(out) < count:
            msg = await self.recv(timeout)
            if msg.get("t") == "ev":
                out.append(msg)
            elif msg.get("t") == "batch":
                out.extend(msg["evs"])
        return out

    async def hello(self, token: str, last_seq: int | None = None) -> dict[str, Any]:
        await self.send({"t": "hello", "token": token, "last_seq": last_seq})
        return await self.recv_until("welcome")

    async def close(self) -> None:
        await self.ws.close()


async def create_room(
    http: httpx.AsyncClient, kind: str = "group", title: str = "Trip", host: str = "Ada"
) -> dict[str, Any]:
    r = await http.post("/api/v1/rooms", json={"kind": kind, "title": title, "host_name": host})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def join(http: httpx.AsyncClient, room: dict[str, Any], name: str) -> dict[str, Any]:
    r = await http.post(
        f"/api/v1/rooms/{room['room_id']}/join",
        json={"invite": room["invite"]["token"], "name": name},
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


__all__ = ["JSON", "MSGPACK", "FrameContractError", "Peer", "check_frame", "create_room", "join"]
