"""Baseline: a bare ``websockets`` server that fans out with ``websockets.broadcast()``.

``/pub`` is the publisher; any other path subscribes. ``broadcast`` writes synchronously to every
socket and skips those whose write buffer is full: the library's own answer to slow clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response

from bench.servers import envelope, port_arg

SUBSCRIBERS: set[ServerConnection] = set()


def _health(connection: ServerConnection, request: Request) -> Response | None:
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return connection.respond(200, "ok\n")
    return None


async def handler(ws: ServerConnection) -> None:
    if ws.request is not None and ws.request.path == "/pub":
        seq = 0
        async for raw in ws:
            seq += 1
            broadcast(SUBSCRIBERS, json.dumps(envelope(seq, raw), separators=(",", ":")))
        return
    SUBSCRIBERS.add(ws)
    try:
        await ws.wait_closed()
    finally:
        SUBSCRIBERS.discard(ws)


async def main(port: int) -> None:
    async with serve(
        handler, "127.0.0.1", port, compression=None, process_request=_health, max_queue=16
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(port_arg()))
