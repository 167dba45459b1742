"""An async client of one coshop room over WebSockets: reconnect, resume and op-id retry.

:class:`CoshopClient` keeps the durable events it received in seq order with no duplicates and no
gaps other than the events the room does not show this member (``events``). When the socket
drops it reconnects with back-off, says the last seq it saw, and takes the missed events (or a
fresh snapshot when it is too far behind). A command waiting for
its answer is sent again with ``retry: true`` on the new socket: the server answers a known op
with its original result instead of applying it twice. Close codes that say "do not retry"
(4401, 4403, 4404, …) stop the client with a :class:`ServerClosed`;
what each code means comes from :mod:`server.protocol.close` (``CLOSE_ACTIONS``).

One task per client reads the socket and handles every frame in order; callbacks run in that
task and must not block. This module knows the protocol (docs/protocol.md), not the room rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeAlias

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Origin, Subprotocol

from server.client.errors import (
    ClientError,
    CommandRefused,
    CommandTimeout,
    ConnectionFailed,
    ProtocolViolation,
    ServerClosed,
)
from server.client.frames import Ack, Event, Notice, ServerError, Welcome, decode_frame
from server.protocol.close import UNKNOWN_ACTION, CloseAction, CloseCode
from server.transport.wire import CODECS, Codec
from server.waiting import stop_task

__all__ = ["CLOSE_ACTIONS", "CoshopClient", "State"]

log = logging.getLogger("coshop.client")

State: TypeAlias = Literal["idle", "connecting", "open", "reconnecting", "closed"]

# What the client does with each close code, from the one table (server.protocol.close):
# code -> (action, name). A code missing here means UNKNOWN_ACTION (stop).
CLOSE_ACTIONS: Mapping[int, tuple[CloseAction, str]] = {
    int(code): (code.action, code.wire_name) for code in CloseCode
}
_SLOW_DOWN_S = 1.0  # minimum pause after a back_off close or a rate_limited error
_MAX_INCOMING = 16 * 1024 * 1024  # a welcome view or resume batch may be large

EventCallback = Callable[[Event], None]
MessageCallback = Callable[[Mapping[str, Any]], None]


@dataclass(slots=True)
class _PendingOp:
    op: str
    name: str
    args: Mapping[str, Any]
    future: asyncio.Future[Ack]
    conn: int = 0  # the connection it was last sent on; 0: never sent


class _Resume(Exception):
    """The socket ended in a way that calls for reconnecting (with a minimum pause)."""

    def __init__(self, reason: str, pause: float = 0.0) -> None:
        super().__init__(reason)
        self.pause = pause


class CoshopClient:
    """One member's connection to one room. Use ``async with`` or :meth:`connect`/:meth:`close`.

    ``events`` holds the durable events after ``base_seq`` (the seq of the latest snapshot,
    ``view``) up to ``last_seq``: in order, each once, with no gap except the events this
    member may not see (a live room's viewer gets only their own cart lines; a ``batch`` says
    which seqs it covers, so the cursor moves over those). A snapshot (a fresh welcome
    after falling too far behind) clears it and moves ``base_seq``. Ephemeral frames (``sig``,
    ``presence``, ``reactions``, ``count``, ``notice``, op-less ``err``) go to ``on_message``.
    """

    def __init__(
        self,
        ws_url: str,
        token: str,
        *,
        codec: Literal["json", "msgpack"] = "json",
        origin: str | None = None,
        reconnect: bool = True,
        backoff: tuple[float, float] = (0.05, 2.0),
        last_seq: int | None = None,
        open_timeout: float = 10.0,
        max_frame_bytes: int = 65_536,
    ) -> None:
        self.ws_url = ws_url
        self.codec: Codec = CODECS[f"coshop.v1.{codec}"]
        self.origin = origin
        self.reconnect = reconnect
        self.backoff = backoff
        self.open_timeout = open_timeout
        self.max_frame_bytes = max_frame_bytes
        self.events: list[Event] = []
        self.base_seq = last_seq or 0
        self.view: Mapping[str, Any] | None = None
        self.welcome: Welcome | None = None
        # who is connected (group rooms): ``{member_id, display_name, role, viewing}`` maps
        self.presence: list[Mapping[str, Any]] = []
        self.online: int | None = None
        # live rooms: the room's member count (the audience receives no other viewer's join)
        self.members: int | None = None
        self.notices: list[Notice] = []
        self.errors: list[ServerError] = []  # op-less err frames
        self.on_event: list[EventCallback] = []
        self.on_message: list[MessageCallback] = []
        self.reconnects = 0
        self.snapshots = 0
        self.error: ClientError | None = None  # why the client stopped, if it did
        self._token = token
        self._last_seq = last_seq
        self._state: State = "idle"
        self._ws: ClientConnection | None = None
        self._conn = 0
        self._pending: dict[str, _PendingOp] = {}
        self._pings: deque[asyncio.Future[int]] = deque()
        self._unread: deque[Event] = deque()
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._first_welcome: asyncio.Future[Welcome] | None = None
        self._last_error: ServerError | None = None
        self._resend: asyncio.Task[None] | None = None
        self._resend_due = False
        self._closing = False

    # ---- public surface ----------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def last_seq(self) -> int | None:
        """The seq of the last durable event seen (or of the snapshot); None before welcome."""
        return self._last_seq

    @property
    def member_id(self) -> str | None:
        return None if self.welcome is None else self.welcome.member_id

    async def __aenter__(self) -> CoshopClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> Welcome:
        """Open the socket, say hello, return the welcome. The first attempt is not retried."""
        if self._state != "idle":
            raise ConnectionFailed("already_started", "connect() may be called once")
        self._state = "connecting"
        self._first_welcome = asyncio.get_running_loop().create_future()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="coshop-client")
        return await self._first_welcome

    async def close(self) -> None:
        """Close the socket (1000) and stop; waiting commands fail with ``closed``."""
        self._closing = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._task is not None and not self._task.done():
            await stop_task(self._task)
        self._finish(ConnectionFailed("closed", "the client was closed"))

    async def command(
        self,
        name: str,
        args: Mapping[str, Any] | None = None,
        *,
        op_id: str | None = None,
        timeout: float = 10.0,
    ) -> Ack:
        """Send a command and wait until it is committed; raise :class:`CommandRefused` on err.

        A lost connection does not lose the op: it is sent again (``retry: true``) after the
        client resumes. After a :class:`CommandTimeout` the op may still apply: call again with
        the same ``op_id`` to get its answer without applying it twice.
        """
        self._raise_if_closed()
        if self._state == "idle":
            raise ConnectionFailed("not_connected", "call connect() first")
        op = op_id or secrets.token_urlsafe(12)
        if op in self._pending:
            raise ClientError("op_in_flight", f"op {op!r} is already waiting for its answer")
        args = dict(args or {})
        if len(self._encode_cmd(op, name, args, retry=True)) > self.max_frame_bytes:
            raise ClientError("frame_too_big", f"the command exceeds {self.max_frame_bytes} bytes")
        pending = _PendingOp(op, name, args, asyncio.get_running_loop().create_future())
        self._pending[op] = pending
        try:
            async with asyncio.timeout(timeout):
                await self._send_op(pending)
                return await pending.future
        except TimeoutError:
            raise CommandTimeout(op, timeout) from None
        finally:
            if self._pending.get(op) is pending:
                del self._pending[op]

    async def signal(self, name: str, args: Mapping[str, Any] | None = None) -> None:
        """Send an ephemeral signal (``Viewing``, ``Typing``, ``React``); dropped while offline."""
        self._raise_if_closed()
        ws = self._ws
        if ws is None or self._state != "open":
            return
        with contextlib.suppress(ConnectionClosed):
            await ws.send(self.codec.encode({"t": "sig", "name": name, "args": dict(args or {})}))

    async def ping(self, timeout: float = 10.0) -> int:
        """Ask the server for the room's current seq (a ``pong``)."""
        self._raise_if_closed()
        ws = self._ws
        if ws is None or self._state != "open":
            raise ConnectionFailed("not_connected", "the client is not connected right now")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pings.append(future)
        with contextlib.suppress(ConnectionClosed):  # the reader then fails the future
            await ws.send(self.codec.encode({"t": "ping"}))
        async with asyncio.timeout(timeout):
            return await future

    async def sync(self, timeout: float = 10.0) -> int:
        """Wait until this client has every event the room had when it was called."""
        async with asyncio.timeout(timeout):
            while True:
                self._raise_if_closed()
                if self._ws is None or self._state != "open":
                    await self._changed()
                    continue
                try:
                    seq = await self.ping(timeout)
                except ConnectionFailed:
                    continue  # the socket dropped under the ping: ask again once resumed
                await self.wait_for_seq(seq, timeout)
                return seq

    async def wait_for_seq(self, seq: int, timeout: float = 10.0) -> None:
        """Wait until ``last_seq >= seq`` (raises TimeoutError, or the error that stopped us)."""
        async with asyncio.timeout(timeout):
            while self._last_seq is None or self._last_seq < seq:
                self._raise_if_closed()
                await self._changed()

    async def next_event(self, type: str | None = None, timeout: float = 10.0) -> Event:
        """The next event not yet returned here (of ``type``, skipping and consuming others)."""
        async with asyncio.timeout(timeout):
            while True:
                while self._unread:
                    event = self._unread.popleft()
                    if type is None or event.type == type:
                        return event
                self._raise_if_closed()
                await self._changed()

    # ---- connection loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self.backoff[0]
        while True:
            try:
                await self._connect_once()
                raise _Resume("connection_lost")
            except _Resume as exc:
                if self._closing:
                    return
                if self.welcome is None or not self.reconnect:
                    err = self._last_error
                    self._finish(
                        ConnectionFailed(err.code, err.message)
                        if err is not None
                        else ConnectionFailed(str(exc), "the connection was lost")
                    )
                    return
                if self._state == "open":
                    delay = self.backoff[0]  # it worked for a while: start again from the floor
                self._set_state("reconnecting")
                self.reconnects += 1
                pause = max(exc.pause, random.uniform(delay / 2, delay))
                delay = min(self.backoff[1], delay * 2)
                await asyncio.sleep(pause)
            except ClientError as exc:
                self._finish(exc)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug here must not leave callers waiting forever
                log.exception("client loop failed")
                self._finish(ConnectionFailed("client_error", f"{type(exc).__name__}: {exc}"))
                return

    async def _connect_once(self) -> None:
        self._last_error = None
        try:
            ws = await connect(
                self.ws_url,
                origin=None if self.origin is None else Origin(self.origin),
                subprotocols=[Subprotocol(self.codec.name)],
                compression=None,
                open_timeout=self.open_timeout,
                max_size=_MAX_INCOMING,
                proxy=None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status >= 500 or status == 429:
                raise _Resume(f"http_{status}", _SLOW_DOWN_S) from exc
            raise ServerClosed(
                "handshake_refused",
                f"the server refused the WebSocket handshake with HTTP {status} "
                "(Origin not allowed, unknown path or subprotocol)",
                1008,
            ) from exc
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise _Resume("connect_failed") from exc
        self._conn += 1
        self._ws = ws
        resume: _Resume | None = None
        try:
            if ws.subprotocol != self.codec.name:
                raise ProtocolViolation("bad_subprotocol", f"server chose {ws.subprotocol!r}")
            hello = {"t": "hello", "token": self._token, "last_seq": self._last_seq}
            await ws.send(self.codec.encode(hello))
            async for frame in ws:
                await self._handle(ws, decode_frame(self.codec, frame))
        except ConnectionClosed:
            pass
        except _Resume as exc:
            resume = exc
        finally:
            self._ws = None
            self._fail_pings()
            if resume is not None or ws.close_code is None:
                with contextlib.suppress(Exception):
                    await ws.close()
        if resume is not None:
            raise resume
        self._after_close(ws.close_code, ws.close_reason)

    def _after_close(self, code: int | None, reason: str | None) -> None:
        code = 1006 if code is None else code
        action, name = CLOSE_ACTIONS.get(code, (UNKNOWN_ACTION, "unknown"))
        if self._closing:
            return
        if action is CloseAction.RESUME:
            raise _Resume(name, 0.0)
        if action is CloseAction.BACK_OFF:
            raise _Resume(name, _SLOW_DOWN_S)
        err = self._last_error
        raise ServerClosed(
            err.code if err is not None else (reason or name),
            err.message if err is not None else f"the server closed the socket ({code})",
            code,
        )

    # ---- frames ------------------------------------------------------------------------------

    async def _handle(self, ws: ClientConnection, msg: dict[str, Any]) -> None:
        kind = msg["t"]
        if kind == "ev":
            self._accept(Event.parse(msg))
        elif kind == "batch":
            evs = msg.get("evs")
            if not isinstance(evs, list):
                raise ProtocolViolation("bad_batch", "batch needs an evs list")
            first, last = msg.get("from"), msg.get("to")
            if type(first) is int and type(last) is int:
                self._accept_range(first, last, evs)
                return
            for item in evs:
                if isinstance(item, dict) and item.get("t", "ev") == "ev":
                    self._accept(Event.parse(item))
        elif kind == "ack":
            ack = Ack.parse(msg)
            self._answer(ack.op, ack)
        elif kind == "err":
            self._on_error(ServerError.parse(msg))
        elif kind == "welcome":
            await self._on_welcome(ws, Welcome.parse(msg))
        elif kind == "pong":
            seq = msg.get("seq")
            while self._pings:
                future = self._pings.popleft()
                if not future.done():
                    future.set_result(seq if type(seq) is int else -1)
                    break
        else:
            self._on_ephemeral(kind, msg)

    async def _on_welcome(self, ws: ClientConnection, welcome: Welcome) -> None:
        if not welcome.resumed:
            if self.welcome is not None or self.events:
                self.snapshots += 1
            self.events.clear()
            self.view = welcome.view
            self.base_seq = welcome.seq
            self._last_seq = welcome.seq
        self.welcome = welcome
        self._set_state("open")
        if self._first_welcome is not None and not self._first_welcome.done():
            self._first_welcome.set_result(welcome)
        # Ops that were waiting (sent on a lost socket, or queued while offline) go out now, in
        # the order they were made; those sent before carry retry: true.
        for pending in list(self._pending.values()):
            await self._send_op(pending)

    def _accept_range(self, first: int, last: int, evs: list[Any]) -> None:
        """A batch that covers seqs ``first``..``last``; events it leaves out are not for us.

        Live rooms send a viewer only what their view shows (DESIGN.md §11), so the seqs in
        between are expected, not a gap. A range that starts beyond our cursor is a gap.
        """
        seen = self._last_seq
        if seen is not None and first > seen + 1:
            raise _Resume("gap")  # reconnect and let the server fill in from last_seq
        for item in evs:
            if isinstance(item, dict) and item.get("t", "ev") == "ev":
                event = Event.parse(item)
                if not first <= event.seq <= last:
                    raise ProtocolViolation("bad_batch", "an event outside its batch's range")
                if seen is None or event.seq > seen:
                    self._record(event)
        if seen is None or last > seen:
            self._last_seq = last
            self._wake()

    def _accept(self, event: Event) -> None:
        last = self._last_seq
        if last is not None and event.seq <= last:
            return  # already seen (e.g. a live batch overlapping a resume batch)
        if last is not None and event.seq != last + 1:
            raise _Resume("gap")  # reconnect and let the server fill in from last_seq
        self._record(event)

    def _record(self, event: Event) -> None:
        self._last_seq = event.seq
        self.events.append(event)
        self._unread.append(event)
        for callback in list(self.on_event):
            try:
                callback(event)
            except Exception:
                log.exception("on_event callback failed")
        self._wake()

    def _answer(self, op: str, result: Ack | ClientError) -> None:
        pending = self._pending.get(op)
        if pending is None or pending.future.done():
            return  # an answer to an op nobody waits for any more (e.g. a duplicate ack)
        if isinstance(result, Ack):
            pending.future.set_result(result)
        else:
            pending.future.set_exception(result)

    def _on_error(self, err: ServerError) -> None:
        if err.code == "rate_limited":
            # The server dropped a frame unapplied (it names the op when it was a command):
            # send every unanswered op again after a pause; the op ids make that safe.
            self._last_error = err
            self.errors.append(err)
            self._resend_due = True
            if self._resend is None:
                self._resend = asyncio.get_running_loop().create_task(self._resend_later())
            self._emit({"t": "err", "code": err.code, "message": err.message, "op": err.op})
            return
        if err.op is not None and err.op in self._pending:
            self._answer(err.op, CommandRefused(err.code, err.message, err.op))
            return
        self._last_error = err
        self.errors.append(err)
        self._emit({"t": "err", "code": err.code, "message": err.message, "op": err.op})

    def _on_ephemeral(self, kind: str, msg: Mapping[str, Any]) -> None:
        if kind == "presence" and isinstance(msg.get("members"), list):
            self.presence = [m for m in msg["members"] if isinstance(m, dict)]
        elif kind == "count" and type(msg.get("online")) is int:
            self.online = msg["online"]
            if type(msg.get("members")) is int:
                self.members = msg["members"]
        elif kind == "notice":
            self.notices.append(Notice.parse(msg))
        self._emit(msg)

    def _emit(self, msg: Mapping[str, Any]) -> None:
        for callback in list(self.on_message):
            try:
                callback(msg)
            except Exception:
                log.exception("on_message callback failed")

    # ---- sending -----------------------------------------------------------------------------

    def _encode_cmd(self, op: str, name: str, args: Mapping[str, Any], *, retry: bool) -> bytes:
        frame = self.codec.encode(
            {"t": "cmd", "op": op, "name": name, "args": args, "retry": retry}
        )
        return frame.encode() if isinstance(frame, str) else frame

    async def _send_op(self, pending: _PendingOp, *, again: bool = False) -> None:
        """Send an op on the current socket unless it went out on this socket already."""
        ws, conn = self._ws, self._conn
        if ws is None or self._state != "open" or (pending.conn == conn and not again):
            return
        retry = pending.conn != 0
        pending.conn = conn
        frame = self.codec.encode(
            {
                "t": "cmd",
                "op": pending.op,
                "name": pending.name,
                "args": pending.args,
                "retry": retry,
            }
        )
        with contextlib.suppress(ConnectionClosed):
            await ws.send(frame)

    async def _resend_later(self) -> None:
        try:
            while self._resend_due:
                self._resend_due = False
                await asyncio.sleep(_SLOW_DOWN_S)
                for pending in list(self._pending.values()):
                    if not pending.future.done() and pending.conn == self._conn:
                        await self._send_op(pending, again=True)
                # A dropped frame may have been a ping (its refusal names no op): ask again for
                # every ping still unanswered. A spare pong finds no ping waiting and is ignored.
                ws = self._ws
                if ws is not None:
                    for _ in range(sum(1 for future in self._pings if not future.done())):
                        with contextlib.suppress(ConnectionClosed):  # the reader fails the pings
                            await ws.send(self.codec.encode({"t": "ping"}))
        finally:
            self._resend = None

    # ---- state -------------------------------------------------------------------------------

    def _set_state(self, state: State) -> None:
        self._state = state
        self._wake()

    def _wake(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()

    async def _changed(self) -> None:
        await self._progress.wait()

    def _raise_if_closed(self) -> None:
        if self._state == "closed":
            raise self.error or ConnectionFailed("closed", "the client is closed")

    def _fail_pings(self) -> None:
        while self._pings:
            future = self._pings.popleft()
            if not future.done():
                future.set_exception(ConnectionFailed("connection_lost", "the socket closed"))

    def _finish(self, error: ClientError) -> None:
        if self._state == "closed":
            return
        self.error = error
        self._state = "closed"
        if self._first_welcome is not None and not self._first_welcome.done():
            self._first_welcome.set_exception(error)
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._fail_pings()
        if self._resend is not None:
            self._resend.cancel()
        self._wake()
