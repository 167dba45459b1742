"""Server processes under test: start, wait until they answer, read their own CPU time and RSS.

CPU time comes from ``/proc/<pid>/task/*/schedstat`` (nanoseconds on a CPU, every thread: the
aiosqlite worker thread is part of coshop's cost), falling back to ``/proc/<pid>/stat`` ticks.
Memory is ``VmRSS`` from ``/proc/<pid>/status``. Nothing here knows what a benchmark measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from server.auth import MemberClaims, TokenSigner

__all__ = [
    "SECRET",
    "ServerProc",
    "cpu_ns",
    "describe_machine",
    "free_port",
    "mint",
    "rss_bytes",
    "run_server",
]

SECRET = "bench-secret-" + "x" * 40
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_ROOT = Path(__file__).resolve().parent.parent


# Listening ports for servers started here come from below the kernel's ephemeral range
# (32768-60999 by default). A port the kernel hands out for "any free port" is also the one it
# hands the next outgoing connection as its local port: on a busy machine a client socket of a
# parallel test took a port between free_port() and the server's bind, and the server process
# exited with "address already in use" (a CI run saw "did not become ready"). Below the
# ephemeral range only another free_port() can take a port, so each pytest-xdist worker draws
# from a block of its own, in turn, skipping ports something still holds.
_PORT_BLOCK = 2000
_PORT_BLOCKS = 5  # 10000-19999: a Redis Cluster node's bus port (+10000) stays below 30000
_FIRST_PORT = 10000
_port_turn = int.from_bytes(os.urandom(2), "big")


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port nothing listens on, that no outgoing connection will take meanwhile."""
    global _port_turn
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    block = int(worker) % _PORT_BLOCKS if worker.isdigit() else 0
    first = _FIRST_PORT + block * _PORT_BLOCK
    if _ephemeral_low() >= _FIRST_PORT + _PORT_BLOCKS * _PORT_BLOCK * 2:
        for _ in range(_PORT_BLOCK):
            _port_turn += 1
            port = first + _port_turn % _PORT_BLOCK
            if _bindable(port):
                return port
    with socket.socket() as s:  # a machine with another port layout: any free port
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_ns(pid: int) -> int:
    """CPU time the process (all its threads) has used, in nanoseconds."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        if total:
            return total
    except OSError:
        pass
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // _CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def mint(room_id: str, member_id: str, role: str, name: str) -> str:
    """A member token the server accepts (same secret): the member joins on hello."""
    return TokenSigner(SECRET).member_token(MemberClaims(room_id, member_id, role, name))


class ServerProc:
    def __init__(self, kind: str, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.kind = kind
        self.proc = proc
        self.port = port
        self.log = log
        self.base = f"http://127.0.0.1:{port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_ns(self) -> int:
        return cpu_ns(self.pid)

    def rss(self) -> int:
        return rss_bytes(self.pid)

    async def metric(self, name: str) -> float:
        """A Prometheus sample of coshop's /metrics (0 when absent)."""
        async with httpx.AsyncClient(base_url=self.base) as http:
            text = (await http.get("/metrics")).text
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def tail(self, n: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        return ""


_BASELINES = {
    "websockets": "bench.servers.bare_ws",
    "starlette": "bench.servers.naive_starlette",
    "socketio": "bench.servers.sio",
    "join-starlette": "bench.servers.join_starlette",
}


@contextlib.asynccontextmanager
async def run_server(
    kind: str,
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
    profile: Path | None = None,
) -> AsyncIterator[ServerProc]:
    """Start ``coshop`` or a baseline (``websockets``, ``starlette``, ``socketio``) and stop it."""
    port = port or free_port()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="coshop-bench-")))
        log = tmp / "server.log"
        full_env: dict[str, str] = {**os.environ, "PYTHONPATH": str(_ROOT)}
        if kind == "coshop":
            full_env.update(
                {
                    "COSHOP_SECRET_KEY": SECRET,
                    "COSHOP_DATA_DIR": str(data_dir or tmp / "data"),
                    "COSHOP_PORT": str(port),
                    "COSHOP_DEMO": "true",
                    "COSHOP_PUBLIC_ROOMS": "true",
                    "COSHOP_LOG_LEVEL": "warning",
                    # the load clients run from one address: measure the hub, not the limits
                    "COSHOP_RATE_LIMITS": "false",
                    "COSHOP_CLIENT_SHARE": "0",
                }
            )
            target = ["-m", "server.cli", "serve"]
        else:
            target = ["-m", _BASELINES[kind], "--port", str(port)]
        full_env.update(env or {})
        argv = [sys.executable]
        if profile is not None:
            argv += ["-m", "pyinstrument", "-r", "text", "-o", str(profile)]
        argv += target
        with log.open("ab") as out:
            # a blocking Popen is fine here: it returns at once and nothing else is running yet
            proc = subprocess.Popen(  # noqa: ASYNC220  # see above
                argv, env=full_env, stdout=out, stderr=out, cwd=_ROOT
            )
        server = ServerProc(kind, proc, port, log)
        try:
            await _wait_ready(server)
            yield server
        finally:
            await _stop(proc)


async def _wait_ready(server: ServerProc) -> None:
    deadline = time.monotonic() + 60
    path = "/healthz" if server.kind == "coshop" else "/"
    async with httpx.AsyncClient(base_url=server.base) as http:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(f"{server.kind} exited:\n{server.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                await http.get(path, timeout=1)
                return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{server.kind} did not become ready:\n{server.tail()}")


async def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # uvicorn (and pyinstrument) shut down cleanly on SIGINT
        for _ in range(200):
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
    await asyncio.to_thread(proc.wait, 10)


def describe_machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
                break
    return {
        "cpus": os.cpu_count() or 0,
        "model": model,
        "memory_gib": round(mem / 2**30, 1),
        "python": sys.version.split()[0],
    }
