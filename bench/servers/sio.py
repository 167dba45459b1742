"""Baseline: python-socketio (ASGI) on uvicorn, one room, ``emit(..., room=...)`` per event.

Clients connect straight over WebSocket (``/socket.io/?EIO=4&transport=websocket``); ``pub=1`` in
the query string marks the publisher, who is not in the room.
"""

from __future__ import annotations

from typing import Any

import socketio
import uvicorn

from bench.servers import port_arg

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*", logger=False)
_seq = 0


async def _health(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok\n"})


@sio.event  # type: ignore[untyped-decorator]  # socketio ships no types
async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
    if "pub=1" not in environ.get("QUERY_STRING", ""):
        await sio.enter_room(sid, "room")


@sio.on("pub")  # type: ignore[untyped-decorator]  # socketio ships no types
async def pub(sid: str, data: dict[str, Any]) -> None:
    import time

    global _seq
    _seq += 1
    event = {
        "t": "ev",
        "seq": _seq,
        "at": int(time.time() * 1000),
        "actor": "publisher",
        "ev": {"type": "MessagePosted", "text": data["text"]},
    }
    await sio.emit("ev", event, room="room")


app = socketio.ASGIApp(sio, other_asgi_app=_health)

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
