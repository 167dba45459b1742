"""Settings: environment parsing, production checks, the development key, origins."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.api.common import normalize_origin
from server.settings import ConfigError, Settings, load_settings


def test_environment_and_flags() -> None:
    env = {
        "COSHOP_PORT": "9001",
        "COSHOP_DEMO": "yes",
        "COSHOP_ALLOWED_ORIGINS": "https://a.example, https://b.example/",
        "COSHOP_LIVE_TICK_MS": "25",
        "COSHOP_COMMANDS_PER_SECOND": "7.5",
    }
    s = load_settings({"port": 9002}, env=env)
    assert s.port == 9002  # a flag wins over the environment
    assert s.demo is True
    assert s.allowed_origins == ("https://a.example", "https://b.example")
    assert s.live_tick_ms == 25
    assert s.commands_per_second == 7.5
    assert s.public_url == "http://127.0.0.1:9002"
    with pytest.raises(ConfigError, match="COSHOP_PORT"):
        load_settings(env={"COSHOP_PORT": "eighty"})
    with pytest.raises(ConfigError, match="COSHOP_DEMO"):
        load_settings(env={"COSHOP_DEMO": "maybe"})


def test_secrets_stay_out_of_repr() -> None:
    s = Settings(secret_key="k" * 40, webhook_secret="whsec_x", stripe_api_key="sk_live_x")
    text = repr(s)
    assert "k" * 40 not in text
    assert "whsec_x" not in text
    assert "sk_live_x" not in text


def test_production_needs_a_key_and_origins(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="COSHOP_SECRET_KEY"):
        Settings(production=True, data_dir=tmp_path).checked()
    with pytest.raises(ConfigError, match="COSHOP_ALLOWED_ORIGINS"):
        Settings(production=True, secret_key="s" * 40, data_dir=tmp_path).checked()
    ok = Settings(
        production=True, secret_key="s" * 40, allowed_origins=("https://a.example",)
    ).checked()
    assert ok.production


def test_development_makes_one_key_and_keeps_it(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).checked().secret_key
    second = Settings(data_dir=tmp_path).checked().secret_key
    assert len(first) >= 48
    assert first == second
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0


def test_origins_are_plain_and_normalised() -> None:
    assert normalize_origin("HTTPS://Shop.Example/") == "https://shop.example"
    assert normalize_origin("http://localhost:8080") == "http://localhost:8080"
    for bad in (
        "shop.example",
        "ftp://shop.example",
        "https://shop.example/path",
        "https://user@shop.example",
        "https://shop.example; script-src *",
        "https://shop.example?x=1",
        "https://",
        5,
    ):
        assert normalize_origin(bad) is None, bad
    with pytest.raises(ConfigError, match="not an origin"):
        Settings(allowed_origins=("https://a.example/x",), secret_key="s" * 40).checked()
    s = Settings(public_url="https://Rooms.Example/app", allowed_origins=("https://A.example",))
    assert s.origins == frozenset({"https://rooms.example", "https://a.example"})
