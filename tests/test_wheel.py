"""The wheel is complete: installed into a fresh virtualenv, ``coshop demo`` serves pages.

How: ``pip wheel . --no-deps`` builds the wheel (in pip's isolated build environment, which
fetches setuptools from the package index), a fresh virtualenv is made from the base
interpreter (``sys._base_executable``: no ``--system-site-packages``, so nothing of the
project's ``.venv`` or of the source tree leaks in) and ``pip install <wheel>`` installs it with
its runtime dependencies from the configured index (pip's cache makes this take ~15 s). Then
``coshop demo`` runs from that virtualenv with its working directory in a temporary folder, so
the templates, static files and migrations it uses can only come from the installed copy.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.checkout_bridge.sandbox.support import AUTH, session_form
from tests.server.conftest import free_port

# one worker builds the wheel and the virtualenv once for both tests (docs/testing.md)
pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.xdist_group("wheel")]

REPO = Path(__file__).resolve().parent.parent
DATA = "coshop-0.1.0.data/data/share/coshop/"
_NOT_SOURCES = (
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", ".hypothesis", "node_modules", "artifacts", "data", ".coverage*",
)  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # built from a copy: setuptools writes build/ and *.egg-info next to the sources
    source = tmp_path_factory.mktemp("source") / "coshop"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*_NOT_SOURCES))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
        cwd=out,
    )
    (found,) = out.glob("coshop-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel and its runtime dependencies; returns its bin/."""
    venv = tmp_path_factory.mktemp("venv")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        cwd=venv,
    )
    return venv / "bin"


def _files_under(folder: str) -> set[str]:
    root = REPO / folder
    return {
        p.relative_to(REPO).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_the_wheel_carries_every_template_static_file_and_migration(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assets = _files_under("static") | _files_under("templates")
    assert assets, "no assets found in the checkout"
    missing = sorted(a for a in assets if DATA + a not in names)
    # a new folder under static/ or templates/ needs its line in [tool.setuptools.data-files]
    assert not missing, f"not in the wheel: {missing}"
    migrations = {m for m in _files_under("server/migrations") if m.endswith((".py", ".mako"))}
    assert any("/versions/" in m for m in migrations)
    assert migrations <= names, sorted(migrations - names)


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1.0)
    except httpx.TransportError:
        return False
    return True


def _wait_until(predicate: object, what: str, limit_s: float = 60.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.2)


@pytest.fixture
def demo(installed: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSHOP_")}
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(
        [
            str(installed / "coshop"), "demo", "--host", "127.0.0.1", "--port", str(port),
            "--sandbox-port", str(sandbox_port), "--data-dir", str(tmp_path / "data"),
            "--public-url", f"http://127.0.0.1:{port}",
        ],
        cwd=tmp_path,  # not the checkout: nothing can be found relative to it
        env=env,
    )  # fmt: skip
    try:
        yield proc, port, sandbox_port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_an_installed_wheel_serves_pages_and_stops_its_sandbox_on_sigterm(
    demo: tuple[subprocess.Popen[bytes], int, int],
) -> None:
    proc, port, sandbox_port = demo
    base = f"http://127.0.0.1:{port}"
    _wait_until(lambda: _answers(f"{base}/livez") or proc.poll() is not None, "demo start")
    assert proc.poll() is None, "coshop demo exited"
    page = httpx.get(f"{base}/", timeout=5)
    assert page.status_code == 200
    assert "<html" in page.text.lower()
    static = httpx.get(f"{base}/static/js/util.js", timeout=5)
    assert static.status_code == 200
    assert static.content == (REPO / "static" / "js" / "util.js").read_bytes()
    _wait_until(lambda: _answers(f"http://127.0.0.1:{sandbox_port}/"), "sandbox start")
    # the sandbox provider renders its hosted payment page from the installed templates too
    made = httpx.post(
        f"http://127.0.0.1:{sandbox_port}/v1/checkout/sessions",
        data=session_form(),
        headers=AUTH,
        timeout=5,
    )
    assert made.status_code == 200, made.text
    hosted = httpx.get(made.json()["url"], timeout=5)
    assert hosted.status_code == 200
    assert "<form" in hosted.text.lower()

    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    _wait_until(
        lambda: not _answers(f"http://127.0.0.1:{sandbox_port}/"), "the sandbox to stop", 15
    )
