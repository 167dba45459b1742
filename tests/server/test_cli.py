"""The ``coshop`` command line: database, merchants, catalogue import, configuration errors."""

from __future__ import annotations

import gc
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from server.catalog.demo import DEMO_FEED
from server.cli import GC_THRESHOLDS, describe_database, main, tune_gc, uvicorn_config
from server.settings import Settings
from tests.server.conftest import free_port


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_merchants_are_created_updated_and_keys_shown_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path)]
    code, out, _ = _run(capsys, "db", "upgrade", *data)
    assert code == 0
    assert "newest schema" in out
    code, out, _ = _run(
        capsys, "merchant", "create", "--id", "acme", "--name", "Acme",
        "--origin", "https://shop.example/", *data,
    )  # fmt: skip
    assert code == 0
    key = out.strip().splitlines()[-1]
    assert key.startswith("ck_")
    code, _, err = _run(capsys, "merchant", "create", "--id", "acme", "--name", "Again", *data)
    assert code == 1
    assert "merchant_exists" in err
    code, out, _ = _run(
        capsys, "merchant", "update", "--id", "acme", "--origin", "https://a.example",
        "--origin", "https://b.example", "--rotate-key", *data,
    )  # fmt: skip
    assert code == 0
    assert "https://a.example, https://b.example" in out
    new_key = out.strip().splitlines()[-1]
    assert new_key.startswith("ck_")
    assert new_key != key
    code, _, err = _run(capsys, "merchant", "update", "--id", "nobody", "--rotate-key", *data)
    assert code == 2
    assert "no merchant" in err


def test_catalog_import_reports_bad_rows_and_loads_good_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path)]
    for merchant in ("demo", "shop"):
        code, _, _ = _run(capsys, "merchant", "create", "--id", merchant, "--name", "S", *data)
        assert code == 0
    code, out, _ = _run(capsys, "catalog", "import", str(DEMO_FEED), "--merchant", "demo", *data)
    assert code == 0
    assert "26" in out
    feed = tmp_path / "feed.tsv"
    feed.write_text(
        "id\ttitle\tlink\timage_link\tprice\tavailability\n"
        "mug-1\tBlue mug\thttps://s.example/mug\thttps://s.example/mug.png\t12.50 USD\tin_stock\n"
        "bad-1\tNo price\thttps://s.example/x\thttps://s.example/x.png\t\tin_stock\n"
        "bad-2\tEvil link\tjavascript:alert(1)\thttps://s.example/x.png\t3.00 USD\tin_stock\n"
    )
    code, out, _ = _run(capsys, "catalog", "import", str(feed), "--merchant", "shop", *data)
    assert code == 0
    assert "row 3" in out
    assert "row 4" in out
    code, _, err = _run(capsys, "catalog", "import", str(tmp_path / "missing.json"), *data)
    assert code == 1
    assert "missing.json" in err


@pytest.mark.usefixtures("clean_environment")
def test_admin_commands_say_which_database_they_write_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path / "here")]
    local = f"database: the local SQLite file {(tmp_path / 'here' / 'coshop.db').resolve()}"
    code, _, err = _run(capsys, "db", "upgrade", *data)
    assert code == 0
    assert err.startswith(f"coshop: {local} (COSHOP_DATABASE_URL is not set")
    code, out, err = _run(capsys, "merchant", "create", "--id", "acme", "--name", "Acme", *data)
    assert code == 0
    assert local in err
    assert out.strip().splitlines()[-1].startswith("ck_")  # the key stays last on stdout
    code, _, err = _run(capsys, "merchant", "update", "--id", "acme", "--rotate-key", *data)
    assert (code, local in err) == (0, True)
    # a production URL is named with its password masked
    settings = Settings(database_url="postgresql+asyncpg://coshop:s3cret@db.example:5432/shop")
    shown = describe_database(settings)
    assert shown == "database: postgresql+asyncpg://coshop:***@db.example:5432/shop"


def test_catalog_import_refuses_an_unregistered_merchant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path)]
    code, _, err = _run(capsys, "catalog", "import", str(DEMO_FEED), "--merchant", "nobody", *data)
    assert code == 1
    assert "coshop: no merchant 'nobody' is registered in this database" in err
    assert "coshop merchant create --id nobody" in err
    code, _, _ = _run(capsys, "merchant", "create", "--id", "other", "--name", "Other", *data)
    assert code == 0
    # nothing was written for the unknown merchant
    code, _, _ = _run(capsys, "catalog", "import", str(DEMO_FEED), "--merchant", "other", *data)
    assert code == 0
    db = sqlite3.connect(tmp_path / "coshop.db")
    try:
        rows = db.execute("SELECT DISTINCT merchant_id FROM catalog_products").fetchall()
    finally:
        db.close()
    owners = {row[0] for row in rows}
    assert owners == {"other"}


def test_production_refuses_to_start_without_a_secret_and_origins(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSHOP_")}
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--production", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "COSHOP_SECRET_KEY" in proc.stderr
    assert "COSHOP_ALLOWED_ORIGINS" in proc.stderr
    assert 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in proc.stderr
    assert not (tmp_path / "secret.key").exists()


STRONG_KEY = "Zq3-vR8_pL2xN7cT5wK1mB9yH4dG6sJ0aF"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No COSHOP_* variable of the shell running the tests leaks into these runs."""
    for name in list(os.environ):
        if name.startswith("COSHOP_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    ("argv", "refusal"),
    [
        (["serve", "--secret-key", " " * 40], "is 0 bytes long"),
        (["serve", "--secret-key", "ab" * 20], "uses 2 distinct characters"),
        (["serve", "--secret-key", "0123456789ab" * 3], "repeats a run of 12 characters"),
        (["serve", "--public-rooms"], "--allow-public-rooms-in-production"),
        (["serve", "--demo"], "--allow-demo-in-production"),
        (["serve", "--demo", "--allow-public-rooms-in-production"], "--allow-demo-in-production"),
        # the demo command turns both on: production refuses it before starting anything
        (["demo", "--sandbox-port", "1"], "--allow-public-rooms-in-production"),
    ],
)
def test_production_refuses_weak_keys_public_rooms_and_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], refusal: str
) -> None:
    base = [
        "--production", "--data-dir", str(tmp_path), "--secret-key", STRONG_KEY,
        "--allowed-origins", "https://shop.example", "--port", "1",
    ]  # fmt: skip
    # the later --secret-key wins; port 1 could not be served: refused before serving
    code, out, err = _run(capsys, argv[0], *base, *argv[1:])
    assert code == 2
    assert err.startswith("coshop: configuration error: production mode ")
    assert refusal in err
    assert "coshop demo: open" not in out
    assert not (tmp_path / "sandbox").exists()  # no sandbox provider was started


def test_serve_tunes_the_garbage_collector_for_a_long_running_process() -> None:
    thresholds = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0  # what was imported is out of the collector's way
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_serve_lifts_the_open_file_limit_and_derives_its_cap_from_it(tmp_path: Path) -> None:
    """A process started with a low soft limit serves under its hard limit, capped below it."""
    port = free_port()
    env = {
        **os.environ,
        "COSHOP_SECRET_KEY": "k" * 48,
        "COSHOP_DATA_DIR": str(tmp_path / "data"),
        "COSHOP_PORT": str(port),
    }
    # soft 200, hard 1,000: serve raises the soft limit to 1,000 and keeps 128 back
    argv = [sys.executable, "-m", "server.cli", "serve"]
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        pytest.skip("needs prlimit (util-linux)")
    with subprocess.Popen(
        [prlimit, "--nofile=200:1000", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        try:
            lines = []
            assert proc.stdout is not None
            for line in proc.stdout:  # bounded: a dozen lines, then this one
                lines.append(line)
                if "serving limits" in line:
                    break
            assert "connection cap 872 (open-file limit 1000, reserve 128)" in lines[-1]
        finally:
            proc.terminate()


def test_every_server_uses_the_guarded_protocol() -> None:
    from server.serving import GuardedH11Protocol

    settings = Settings(max_connections=300, header_timeout_s=3.0)
    config = uvicorn_config(object(), settings)
    assert isinstance(config.http, type) and issubclass(config.http, GuardedH11Protocol)
    assert config.http.limits.connection_cap <= 300
    assert config.http.limits.header_timeout_s == 3.0
    assert config.backlog == config.http.limits.backlog


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1.0)
    except httpx.TransportError:
        return False
    return True


def _wait_until(predicate: Callable[[], bool], what: str, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_demo_takes_its_sandbox_down_when_it_is_stopped(
    tmp_path: Path, sig: signal.Signals
) -> None:
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSHOP_")}
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "server.cli", "demo", "--port", str(port),
            "--sandbox-port", str(sandbox_port), "--data-dir", str(tmp_path),
        ],
        env=env,
    )  # fmt: skip
    sandbox = f"http://127.0.0.1:{sandbox_port}/"
    try:
        _wait_until(lambda: _answers(f"http://127.0.0.1:{port}/livez"), "the demo to start")
        _wait_until(lambda: _answers(sandbox), "the sandbox to start")
        proc.send_signal(sig)
        proc.wait(30)
        # SIGKILL leaves no chance to clean up: the sandbox notices its parent is gone
        _wait_until(lambda: not _answers(sandbox), "the sandbox to stop", 15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
