"""A throwaway Redis Cluster on loopback: three masters, no replicas, no persistence.

Started by the tests (and ``bench``-style scripts) in a temporary directory on free ports and
torn down after. ``redis-server`` and ``redis-cli`` must be on ``PATH``; without them a test is
skipped on a laptop and fails when ``CI=true`` (``tests/services.py``).
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.proc import free_port
from tests.services import in_ci

__all__ = ["LocalCluster", "local_cluster", "require_cluster_tools"]

HOST = "127.0.0.1"
BUS_PORT_OFFSET = 10000  # Redis Cluster talks node to node on port + 10000
START_LIMIT_S = 30.0  # a bound on waiting for the cluster, never a timing assertion


@dataclass(frozen=True)
class LocalCluster:
    ports: tuple[int, ...]

    @property
    def url(self) -> str:
        """The broker URL coshop takes (``COSHOP_BROKER_URL``)."""
        return f"redis+cluster://{HOST}:{self.ports[0]}"

    @property
    def seed_url(self) -> str:
        """A plain ``redis://`` URL of one node (for ``RedisCluster.from_url``)."""
        return f"redis://{HOST}:{self.ports[0]}"


def require_cluster_tools() -> None:
    """Skip (laptop) or fail (CI) the calling test when redis-server/redis-cli are missing."""
    missing = [tool for tool in ("redis-server", "redis-cli") if shutil.which(tool) is None]
    if not missing:
        return
    reason = f"{' and '.join(missing)} not on PATH: cannot start a local Redis Cluster"
    if in_ci():
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """Ports whose cluster bus port (port + 10000) is free too."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()  # below the ephemeral range: no outgoing connection takes it meanwhile
        if port in ports or port + BUS_PORT_OFFSET in ports:
            continue
        if _port_free(port + BUS_PORT_OFFSET):
            ports.append(port)
    return ports


def _cli(port: int, *args: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-h", HOST, "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=START_LIMIT_S,
        check=False,
    )
    return done.stdout


def _server_command(port: int) -> list[str]:
    options = {
        "bind": HOST,
        "port": str(port),
        "cluster-enabled": "yes",
        "cluster-config-file": f"nodes-{port}.conf",
        "save": "",
        "appendonly": "no",
        "daemonize": "no",
        "loglevel": "warning",
        "logfile": f"redis-{port}.log",
    }
    return [
        "redis-server",
        *(arg for name, value in options.items() for arg in (f"--{name}", value)),
    ]


def _answers(port: int) -> bool:
    return _cli(port, "PING").strip() == "PONG"


def _cluster_ok(port: int) -> bool:
    return "cluster_state:ok" in _cli(port, "CLUSTER", "INFO")


def _wait(condition_name: str, check: Callable[[], bool], deadline: float) -> None:
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"local Redis Cluster: {condition_name} not reached")
        time.sleep(0.05)


@contextlib.contextmanager
def local_cluster(workdir: Path, masters: int = 3) -> Iterator[LocalCluster]:
    """Start ``masters`` cluster-enabled redis-servers, create the cluster, wait until it is ok."""
    require_cluster_tools()
    workdir.mkdir(parents=True, exist_ok=True)
    ports = _free_ports(masters)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            processes.append(
                subprocess.Popen(
                    _server_command(port),
                    cwd=workdir,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + START_LIMIT_S
        for port in ports:
            _wait(
                f"node {port} answering",
                functools.partial(_answers, port),
                deadline,
            )
        create = ["--cluster", "create", *(f"{HOST}:{port}" for port in ports)]
        subprocess.run(
            ["redis-cli", *create, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            timeout=START_LIMIT_S,
            check=True,
        )
        for port in ports:
            _wait(
                f"cluster_state:ok on {port}",
                functools.partial(_cluster_ok, port),
                deadline,
            )
        yield LocalCluster(ports=tuple(ports))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
