"""A bare WebSocket peer for transport tests: speaks frames directly, no client-side smarts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from server.wire import JSON, MSGPACK, Codec


class Peer:
    def __init__(self, ws: ClientConnection, codec: Codec) -> None:
        self.ws = ws
        self.codec = codec

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
        frame = await asyncio.wait_for(self.ws.recv(), timeout)
        return self.codec.decode(frame)

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


__all__ = ["JSON", "MSGPACK", "Peer", "create_room", "join"]
