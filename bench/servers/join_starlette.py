"""Baseline for arrivals: bare Starlette on uvicorn answering coshop's join handshake.

``POST /api/v1/rooms/{room_id}/join`` reads the JSON body and answers a token; the WebSocket
``/ws/rooms/{room_id}`` accepts ``coshop.v1.json``, reads the ``hello`` frame and answers a
``welcome`` shaped like coshop's, then holds the socket. Same server (uvicorn, websockets-sansio,
no compression) and the same client as coshop's case; nothing is stored, signed or checked: this
is the floor of the stack, what a join costs before coshop does anything.
"""

from __future__ import annotations

import json
import secrets

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bench.servers import port_arg

SUBPROTOCOL = "coshop.v1.json"


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok\n")


async def join(request: Request) -> JSONResponse:
    data = await request.json()
    member_id = "m" + secrets.token_hex(6)
    return JSONResponse(
        {
            "room_id": request.path_params["room_id"],
            "member_id": member_id,
            "role": "viewer",
            "name": str(data.get("name", "")),
            "token": secrets.token_urlsafe(48),
        },
        status_code=201,
    )


async def room_socket(ws: WebSocket) -> None:
    await ws.accept(subprotocol=SUBPROTOCOL)
    try:
        hello = json.loads(await ws.receive_text())
        welcome = {
            "t": "welcome",
            "room": {"id": ws.path_params["room_id"], "kind": "live", "merchant": "demo"},
            "member": {"member_id": "m", "display_name": "Viewer", "role": "viewer"},
            "seq": 0,
            "resumed": hello.get("last_seq") is not None,
            "view": None,
        }
        await ws.send_text(json.dumps(welcome, separators=(",", ":")))
        while True:
            await ws.receive_text()
    except WebSocketDisconnect:
        return


app = Starlette(
    routes=[
        Route("/", health),
        Route("/api/v1/rooms/{room_id}/join", join, methods=["POST"]),
        WebSocketRoute("/ws/rooms/{room_id}", room_socket),
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
