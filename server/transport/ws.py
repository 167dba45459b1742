"""The WebSocket transport: ``/ws/rooms/{room_id}``.

Handshake: the ``Origin`` header must be on the exact allow-list (browsers always send one;
non-browser clients may omit it), the subprotocol is ``coshop.v1.json`` or
``coshop.v1.msgpack``. The first frame must be ``hello`` with a signed member token for this
room. After that, frames are commands (``cmd``), signals (``sig``) and ``ping``. Every refusal is
an ``err`` frame with a code, or a documented close code (docs/protocol.md). A bad frame never
closes the socket by itself; only a flood, a bad hello or a lost membership do. Frames are read
into typed values and built by :mod:`server.protocol.frames`, whose schemas are the published
contract (``/asyncapi.json``, docs/protocol-reference.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import MutableMapping
from typing import Any, assert_never

from starlette.types import Receive
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from rooms import (
    CLIENT_COMMANDS,
    Room,
    RoomError,
    command_from_wire,
    signal_from_wire,
)
from rooms.cardgate import op_id_may_be_card
from server.auth import AuthError, MemberClaims, TokenSigner, invite_refusal
from server.http.problem import ProblemError, problem_response
from server.http.ratelimit import RateLimits, client_address, rate_limited
from server.hub.actor import RoomActor
from server.hub.hub import ClientShareExceeded, Hub, HubFull, RoomNotFound
from server.hub.opdigest import op_digest
from server.hub.shares import current_client
from server.protocol import frames
from server.protocol.frames import Cmd, FrameError, Ping, Sig
from server.settings import Settings
from server.storage import StorageError
from server.transport.direct import direct_writer, limit_send_buffer, release_handshake
from server.transport.session import CLOSE_CODES, RateLimiter, Session
from server.transport.wire import CODECS, JSON, Codec, WireError

__all__ = ["RoomSockets", "room_socket"]

log = logging.getLogger("coshop.ws")

_ROOM_PATH = re.compile(r"/ws/rooms/([^/]+)")
_OP_CARD_MESSAGE = "this op id reads as a card number; use a counter, UUID or timestamp"
_OP_PEEK = re.compile(r'"op"\s*:\s*"([A-Za-z0-9._:-]{1,64})"')
_DROPS_BEFORE_CLOSE = 50  # frames dropped by the limits within _DROP_WINDOW_S before closing
_DROP_WINDOW_S = 10.0


def _pick_codec(websocket: WebSocket) -> Codec | None:
    offered = websocket.scope.get("subprotocols") or []
    if not offered:
        return JSON  # a bare client (e.g. a debugging tool) gets JSON
    for name in offered:
        codec = CODECS.get(name)
        if codec is not None:
            return codec
    return None


def _origin_ok(websocket: WebSocket, settings: Settings) -> bool:
    # read from the scope: ``websocket.headers`` would keep a parsed copy for the socket's life
    origin = next((v for k, v in websocket.scope["headers"] if k == b"origin"), None)
    if origin is None:
        return True
    return origin.decode("latin-1").lower().rstrip("/") in settings.origins


async def _receive_frame(websocket: WebSocket) -> str | bytes | None:
    return _payload(await websocket.receive())


def _payload(message: MutableMapping[str, Any]) -> str | bytes | None:
    """The frame an ASGI WebSocket message carries; None for a disconnect."""
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is not None:
        return str(text)
    data = message.get("bytes")
    return bytes(data) if data is not None else b""


_error = frames.err


class RoomSockets:
    """ASGI middleware: ``/ws/rooms/{room_id}`` WebSockets go straight to :func:`room_socket`.

    Straight from the server rather than through Starlette's exception middleware and router:
    a room connection lives for hours, and every wrapper layer keeps a coroutine alive for all
    of it (about 4 KiB per connection in all, docs/performance.md). It also gives the fan-out
    the server's own ``send`` for its direct writes (``server/transport/direct.py``).
    """

    def __init__(self, app: Any, *, owner: Any = None) -> None:
        self.app = app
        self.owner = owner

    @classmethod
    def outermost(cls, app: Any) -> RoomSockets:
        """Room sockets ahead of ``app`` itself (a Starlette application), not only of its
        router: the server's own coroutine calls :func:`room_socket` directly, so an idle socket
        also keeps no frame of Starlette's ``__call__`` and its ``ServerErrorMiddleware``
        (which let WebSockets pass untouched). ``coshop serve`` and the test servers are served
        this way (``server/cli.py``); the application keeps its own ``RoomSockets`` for any other
        server."""
        return cls(app, owner=app)

    @property
    def state(self) -> Any:
        """The application's ``state`` when this wraps it (``outermost``): the server's own code
        finds the app's metrics through ``config.app.state`` (server/serving.py)."""
        return getattr(self.owner, "state", None)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            found = _ROOM_PATH.fullmatch(scope["path"])
            if found is not None:
                if self.owner is not None:
                    scope["app"] = self.owner  # what Starlette would have set
                scope["path_params"] = {"room_id": found.group(1)}
                websocket = WebSocket(scope, receive, send)
                await room_socket(websocket, asgi_send=send, asgi_receive=receive)
                return
        await self.app(scope, receive, send)


async def _deny(websocket: WebSocket, error: ProblemError) -> None:
    """Refuse a handshake with an HTTP problem (e.g. ``429`` and ``Retry-After``) where the
    server can send one before accepting, else with an HTTP 403."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(problem_response(error))
    else:
        await websocket.close(CLOSE_CODES["policy"])


async def room_socket(
    websocket: WebSocket, asgi_send: object = None, asgi_receive: Receive | None = None
) -> None:
    """Admit the handshake if its client is within its windows and its share of the
    connection cap, then serve the socket; the share is given back when it closes."""
    app = websocket.app
    settings: Settings = app.state.settings
    hub: Hub = app.state.hub
    limits: RateLimits | None = getattr(app.state, "rate_limits", None)
    client = client_address(websocket.scope) if limits is None else limits.address(websocket.scope)
    if not _origin_ok(websocket, settings):
        app.state.metrics.rejected_frames.labels("origin_not_allowed").inc()
        await websocket.close(CLOSE_CODES["policy"])  # before accept: an HTTP 403
        return
    if limits is not None:
        wait = await limits.hit([("socket", f"a:{client}"), ("address", f"a:{client}")])
        if wait is not None:
            app.state.metrics.rejected_frames.labels("rate_limited").inc()
            await _deny(websocket, rate_limited(wait, f"too many connections; retry in {wait} s"))
            return
    shares = hub.shares
    if not shares.take(shares.sockets, client, shares.cap(settings.max_connections)):
        app.state.metrics.rejected_frames.labels("rate_limited").inc()
        message = "this client holds its share of this server's connections; close some first"
        await _deny(websocket, rate_limited(ClientShareExceeded.retry_after_s, message))
        return
    token = current_client.set(client)
    try:
        await _serve(websocket, asgi_send, asgi_receive)
    finally:
        current_client.reset(token)
        shares.give_back(shares.sockets, client)


async def _serve(websocket: WebSocket, asgi_send: object, asgi_receive: Receive | None) -> None:
    app = websocket.app
    settings: Settings = app.state.settings
    hub: Hub = app.state.hub
    signer: TokenSigner = app.state.signer
    metrics = app.state.metrics
    room_id = str(websocket.path_params["room_id"])

    codec = _pick_codec(websocket)
    if codec is None:
        await websocket.close(CLOSE_CODES["policy"])
        return
    await websocket.accept(subprotocol=codec.name if websocket.scope.get("subprotocols") else None)
    limit_send_buffer(asgi_send, settings.socket_send_buffer)
    # This coroutine lives as long as the connection: it keeps nothing it needs not (memory
    # per idle member, docs/performance.md). The handshake's request and headers are read.
    release_handshake(asgi_send)
    websocket.scope["headers"] = []
    sock = _Socket(websocket)

    async def refuse(code: str, message: str, close: str) -> None:
        await _refuse(sock, codec, code, message, close)

    # ---- hello -----------------------------------------------------------------------------
    try:
        async with asyncio.timeout(settings.hello_timeout_s):
            frame = await _receive_frame(websocket)
    except TimeoutError:
        await refuse("hello_timeout", "send a hello frame first", "hello_timeout")
        return
    except WebSocketDisconnect:
        return
    if frame is None:
        return
    try:
        hello = frames.read_hello(codec.decode(frame))
    except WireError as exc:
        await refuse("bad_hello", str(exc), "bad_hello")
        return
    except FrameError as exc:
        await refuse(exc.code, exc.message, "bad_hello")
        return
    last_seq = hello.last_seq
    try:
        claims = signer.read_member_token(hello.token)
    except AuthError as exc:
        await refuse(exc.code, str(exc), "unauthorized")
        return
    if claims.room_id != room_id:
        await refuse("token_invalid", "this token is for another room", "unauthorized")
        return
    if claims.invite_id is not None:
        revoked = await _first_join_refusal(hub, claims)
        if revoked is not None:
            await refuse(*revoked)
            return
    del hello, frame, refuse  # (see above: kept no longer than the hello)

    session = Session(
        session_id=secrets.token_hex(8),
        room_id=room_id,
        member_id=claims.member_id,
        name=claims.name,
        role=claims.role,
        codec=codec,
        send_frame=sock.send,
        close_socket=sock.close,
        outbox_limit=settings.outbox_frames,
        limiter=RateLimiter(settings.commands_per_second, settings.command_burst),
        write_now=direct_writer(asgi_send),
    )
    session.start()
    try:
        actor = await _attach(hub, session, last_seq, settings)
    except BaseException:
        await session.stop()
        raise
    if actor is None:
        await session.drain_and_wait(2.0)
        await session.stop()
        return

    member_id = claims.member_id
    del claims  # the session holds what is needed of it
    log.debug(
        "member connected",
        extra={"room_id": room_id, "member_id": member_id, "codec": codec.name},
    )
    # ---- frames ----------------------------------------------------------------------------
    # Two budgets per connection: frames per second and bytes per second (so a flood of big
    # frames costs the server no more than a trickle). Dropped frames are not decoded. The byte
    # budget is made with the first frame: most members of a live room never send one.
    byte_budget: RateLimiter | None = None
    drops: deque[float] | None = None  # when frames were dropped (made on the first drop)
    try:
        while not session.closing:
            if asgi_receive is not None:
                # the server's own receive: one coroutine less waiting on every idle socket
                # (and on every frame) than Starlette's, whose one state change is made here
                frame = _payload(await asgi_receive())
                if frame is None:
                    websocket.client_state = WebSocketState.DISCONNECTED
                    break
            else:
                frame = await _receive_frame(websocket)
                if frame is None:
                    break
            if len(frame) > settings.max_frame_bytes:  # uvicorn enforces it too when configured
                session.send_message(_error("frame_too_big", "frames are limited in size"))
                session.close(CLOSE_CODES["too_big"], "frame_too_big")
                break
            now = time.monotonic()
            if byte_budget is None:
                byte_budget = RateLimiter(
                    float(settings.bytes_per_second),
                    float(max(4 * settings.max_frame_bytes, 1 << 20)),
                    stamp=now,
                )
            if not (session.limiter.allow(now) and byte_budget.allow(now, len(frame))):
                metrics.rejected_frames.labels("rate_limited").inc()
                if drops is None:
                    drops = deque()
                drops.append(now)
                while drops and now - drops[0] > _DROP_WINDOW_S:
                    drops.popleft()
                if len(drops) >= _DROPS_BEFORE_CLOSE:
                    session.send_message(_error("rate_limited", "too many frames; slow down"))
                    session.close(CLOSE_CODES["rate_limited"], "rate_limited")
                    break
                session.send_message(
                    _error(
                        "rate_limited",
                        "too many commands; this one was dropped, send it again later",
                        _peek_op(frame),
                    )
                )
                continue
            reply = _dispatch(hub, actor, session, frame)
            if reply is not None:
                metrics.rejected_frames.labels(reply["code"]).inc()
                session.send_message(reply)
    except WebSocketDisconnect:
        pass
    finally:
        log.debug("member disconnected", extra={"room_id": room_id, "member_id": member_id})
        hub.detach(actor, session)
        if session.closing:
            await session.drain_and_wait(2.0)
        await session.stop()


class _Socket:
    """What a session sends through when the direct path declines: the ASGI socket."""

    __slots__ = ("_websocket",)

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self._websocket.send_bytes(frame)
        else:
            await self._websocket.send_text(frame)

    async def close(self, code: int, reason: str) -> None:
        await self._websocket.close(code, reason)


async def _refuse(sock: _Socket, codec: Codec, code: str, message: str, close: str) -> None:
    log.info("websocket refused", extra={"code": code})  # the path is untrusted text
    with contextlib.suppress(Exception):
        await sock.send(codec.encode(_error(code, message)))
        await sock.close(CLOSE_CODES[close], code)


async def _attach(
    hub: Hub, session: Session, last_seq: int | None, settings: Settings
) -> RoomActor | None:
    """Join the session to its room; on refusal, queue an error frame and a close code."""
    refusal: tuple[str, str, str] | None = None
    try:
        if hub.connection_count >= settings.max_connections:
            refusal = ("server_full", "this server has as many connections as it may", "too_slow")
        else:
            return await hub.attach(session, last_seq)
    except RoomNotFound as exc:
        refusal = (exc.code, str(exc), "room_not_found")
    except HubFull as exc:
        refusal = (exc.code, str(exc), "too_slow")
    except ClientShareExceeded as exc:
        refusal = (exc.code, str(exc), "rate_limited")
    except StorageError as exc:
        log.warning("attach failed", extra={"room_id": session.room_id, "code": exc.code})
        refusal = (exc.code, "the room could not be loaded; reconnect", "server_error")
    code, message, close = refusal
    session.send_message(_error(code, message))
    session.close(CLOSE_CODES[close], code)
    return None


async def _first_join_refusal(hub: Hub, claims: MemberClaims) -> tuple[str, str, str] | None:
    """Refuse a member token whose invite was revoked before its member joined the room.

    One look into the room (is this member known there?) and, only for a first join, one
    registry read. The look is :meth:`Hub.peek` when the room is loaded: a member is known
    only through a join that was checked, so a join being committed cannot fool it. Members
    the room already has — connected, gone, kicked or banned — are the room's business, not
    the invite's: they stay (and the host can remove them).
    """
    member_id = claims.member_id

    def known(room: Room, _seq: int) -> bool:
        return (
            member_id in room.members
            or member_id in room.former_roles
            or member_id in room.kicked
            or member_id in room.banned
        )

    try:
        # a loaded room answers at once (an arrival storm would wait for the actor's turn)
        seen = hub.peek(claims.room_id, known)
        if seen is None:
            seen = await hub.inspect(claims.room_id, known)
        if seen:
            return None
        why = await invite_refusal(hub.registry, claims)
    except (RoomNotFound, HubFull, ClientShareExceeded):
        return None  # attaching meets the same and says so
    except StorageError as exc:
        return (exc.code, "the invite could not be checked; reconnect", "server_error")
    return None if why is None else ("invite_revoked", why, "unauthorized")


def _peek_op(frame: str | bytes) -> str | None:
    """The op id of a dropped JSON frame, found without decoding it (None for msgpack)."""
    if isinstance(frame, bytes):
        return None
    found = _OP_PEEK.search(frame, 0, 256)
    return found.group(1) if found else None


def _dispatch(hub: Hub, actor: Any, session: Session, frame: str | bytes) -> dict[str, Any] | None:
    """Route one frame; returns an error message for the client, or None."""
    try:
        msg = frames.read_frame(session.codec.decode(frame))
    except WireError as exc:
        return _error(exc.code, str(exc))
    except FrameError as exc:
        if exc.op is not None and op_id_may_be_card(exc.op):
            return _error("op_looks_like_card", _OP_CARD_MESSAGE, exc.op)  # as below
        return exc.frame()
    match msg:
        case Cmd(op=op, name=name, args=args):
            if op_id_may_be_card(op):
                # Op ids are stored with the op's outcome, so never one that reads as a card
                # number (rooms.cardgate.op_id_may_be_card: digit groups across . _ : - read
                # together, Luhn-valid 13-19 digits, timestamps and UUIDs exempt). The op goes
                # back only to the socket that sent it, so its client can fail that command;
                # nothing is stored.
                return _error("op_looks_like_card", _OP_CARD_MESSAGE, op)
            if name not in CLIENT_COMMANDS:
                return _error("unknown_command", f"no client command {name[:40]!r}", op)
            try:
                command = command_from_wire(name, args)
            except RoomError as exc:
                return _error(exc.code, exc.message, op)
            # The digest tells a resend of this op (same arguments) from its id reused with
            # other arguments, which is refused with op_conflict (docs/protocol.md, "Op ids and
            # retries").
            hub.submit(actor, session, op, command, msg.retry, op_digest(name, args))
            return None
        case Sig(name=name, args=args):
            try:
                signal = signal_from_wire(name, args)
            except RoomError as exc:
                return _error(exc.code, exc.message)
            hub.relay(actor, session, signal)
            return None
        case Ping():
            # after the events up to that seq: a client may wait for its cursor to get there
            actor.send_after_events(session, frames.pong(actor.seq))
            return None
        case _:  # pragma: no cover - read_frame returns only these
            assert_never(msg)
