"""A minimal WebSocket client on a bare asyncio protocol: the one load client of every benchmark.

Thousands of connections per process must cost little, so this is not a general client: it
upgrades with one HTTP request, parses server frames (unmasked, RFC 6455) from one buffer, answers
pings and close frames, and hands each data frame's payload to a callback as bytes. Frames it sends
carry an all-zero masking key (legal on the wire, and the payload needs no XOR); the servers under
test never check that keys are unpredictable. The same class talks to coshop, the bare
``websockets`` server, the naive Starlette endpoint and python-socketio (Engine.IO over WebSocket),
so every server is measured with the same client.

It must not: decode JSON on the hot path (callbacks look for byte markers), or await per frame.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from collections.abc import Callable

__all__ = ["WsConn", "open_ws"]

OnMessage = Callable[["WsConn", bytes, int], None]

_ZERO_MASK = b"\x00\x00\x00\x00"


def encode_frame(payload: bytes, opcode: int = 1) -> bytes:
    """A masked client frame (FIN set) with an all-zero key: the payload goes out unchanged."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + _ZERO_MASK + payload


class WsConn(asyncio.Protocol):
    """One client connection. ``opened`` resolves after the 101; ``closed`` when the TCP ends."""

    def __init__(
        self,
        host: str,
        path: str,
        subprotocol: str | None,
        on_message: OnMessage,
        *,
        rcvbuf: int | None = None,
        state: object = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.host = host
        self.path = path
        self.subprotocol = subprotocol
        self.on_message = on_message
        self.rcvbuf = rcvbuf
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.close_code: int | None = None
        self.transport: asyncio.Transport | None = None
        # free slot for the benchmark using this connection; set before the upgrade, because
        # frames that arrive with the 101 response are handled in the same callback
        self.state: object = state
        self._buf = bytearray()
        self._upgraded = False
        self._frag: bytearray | None = None
        self._frag_op = 0

    # ---- asyncio protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {self.path} HTTP/1.1",
            f"Host: {self.host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if self.subprotocol:
            lines.append(f"Sec-WebSocket-Protocol: {self.subprotocol}")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:end]).split(b"\r\n", 1)[0]
            del buf[: end + 4]
            if b" 101 " not in status + b" ":
                if not self.opened.done():
                    self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                self.abort()
                return
            self._upgraded = True
            if not self.opened.done():
                self.opened.set_result(None)
        self._parse()

    def _parse(self) -> None:
        buf = self._buf
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            n = b1 & 0x7F
            head = 2
            if n == 126:
                if size - pos < 4:
                    break
                n = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            masked = b1 & 0x80
            if masked:
                head += 4
            if size - pos < head + n:
                break
            payload = bytes(buf[pos + head : pos + head + n])
            if masked:  # servers never mask, but stay correct if one does
                key = buf[pos + head - 4 : pos + head]
                payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            pos += head + n
            self._frame(b0 & 0x80, b0 & 0x0F, payload)
        if pos:
            del buf[:pos]

    def _frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode == 0:  # continuation
            if self._frag is None:
                return
            self._frag += payload
            if fin:
                data, op = bytes(self._frag), self._frag_op
                self._frag = None
                self.on_message(self, data, op)
            return
        if opcode in (1, 2):
            if fin:
                self.on_message(self, payload, opcode)
            else:
                self._frag, self._frag_op = bytearray(payload), opcode
            return
        if opcode == 8:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(encode_frame(payload[:2], 8))
                self.transport.close()
            return
        if opcode == 9 and self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_frame(payload, 10))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the upgrade"))
        if not self.closed.done():
            self.closed.set_result(None)

    # ---- use -------------------------------------------------------------------------------

    def send(self, payload: bytes, opcode: int = 1) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_frame(payload, opcode))

    def pause(self) -> None:
        """Stop reading: the slow client that never reads."""
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_frame(struct.pack("!H", 1000), 8))
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def open_ws(
    host: str,
    port: int,
    path: str,
    on_message: OnMessage,
    *,
    subprotocol: str | None = None,
    rcvbuf: int | None = None,
    timeout: float = 20.0,
    state: object = None,
) -> WsConn:
    """Connect and upgrade; raises ConnectionError/TimeoutError/OSError on failure."""
    loop = asyncio.get_running_loop()
    sock: socket.socket | None = None
    if rcvbuf is not None:
        # a small receive buffer set before connect() also caps the advertised TCP window
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout)
        _, conn = await loop.create_connection(
            lambda: WsConn(
                f"{host}:{port}", path, subprotocol, on_message, rcvbuf=rcvbuf, state=state
            ),
            sock=sock,
        )
    else:
        _, conn = await asyncio.wait_for(
            loop.create_connection(
                lambda: WsConn(f"{host}:{port}", path, subprotocol, on_message, state=state),
                host,
                port,
            ),
            timeout,
        )
    await asyncio.wait_for(asyncio.shield(conn.opened), timeout)
    return conn
