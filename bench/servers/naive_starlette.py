"""Baseline: the naive Starlette endpoint on uvicorn — each subscriber awaited in turn.

This is the pattern STYLE.md calls an anti-pattern (``for ws in clients: await ws.send_text``),
measured because it is what most tutorials ship.
"""

from __future__ import annotations

import json

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bench.servers import envelope, port_arg

SUBSCRIBERS: set[WebSocket] = set()


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok\n")


async def publisher(ws: WebSocket) -> None:
    await ws.accept()
    seq = 0
    try:
        while True:
            raw = await ws.receive_text()
            seq += 1
            frame = json.dumps(envelope(seq, raw), separators=(",", ":"))
            for sub in list(SUBSCRIBERS):
                try:
                    await sub.send_text(frame)
                except Exception:  # the naive pattern: drop whoever failed
                    SUBSCRIBERS.discard(sub)
    except WebSocketDisconnect:
        return


async def subscriber(ws: WebSocket) -> None:
    await ws.accept()
    SUBSCRIBERS.add(ws)
    try:
        while True:
            await ws.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        SUBSCRIBERS.discard(ws)


app = Starlette(
    routes=[
        Route("/", health),
        WebSocketRoute("/pub", publisher),
        WebSocketRoute("/sub", subscriber),
    ]
)

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port_arg(),
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        log_level="warning",
        access_log=False,
    )
