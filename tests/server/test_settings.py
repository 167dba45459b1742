"""Settings: environment parsing, production checks, the development key, origins."""

from __future__ import annotations

import base64
import secrets
from dataclasses import replace
from pathlib import Path

import pytest

from server.api.common import normalize_origin
from server.settings import (
    GENERATE_KEY_COMMAND,
    ConfigError,
    Settings,
    load_settings,
    secret_key_problem,
)


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


STRONG_KEY = "Zq3-vR8_pL2xN7cT5wK1mB9yH4dG6sJ0aF"  # 34 bytes, 34 distinct characters
ORIGINS = ("https://a.example",)


def test_production_needs_a_key_and_origins(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="COSHOP_SECRET_KEY") as refused:
        Settings(production=True, data_dir=tmp_path).checked()
    assert GENERATE_KEY_COMMAND in str(refused.value)
    assert "COSHOP_ALLOWED_ORIGINS" in str(refused.value)  # every problem at once
    with pytest.raises(ConfigError, match="COSHOP_ALLOWED_ORIGINS"):
        Settings(production=True, secret_key=STRONG_KEY, data_dir=tmp_path).checked()
    ok = Settings(production=True, secret_key=STRONG_KEY, allowed_origins=ORIGINS).checked()
    assert ok.production
    assert ok.secret_key == STRONG_KEY
    assert not (tmp_path / "secret.key").exists()  # production never invents a key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (" " * 48, "is 0 bytes long"),
        ("\t\n " * 20, "is 0 bytes long"),
        ("k" * 31, "is 31 bytes long"),
        ("  " + "abcdefghijklmnopqrstuvwxyz01234" + "  ", "is 31 bytes long"),  # blanks aside
        ("s" * 40, "uses 1 distinct characters"),
        ("abab123123" * 4, "uses 5 distinct characters"),
        ("abcdefghijk" * 3, "repeats a run of 11 characters"),
        ("abcdefghijkl" * 2 + "abcdefghi", "repeats a run of 12 characters"),
        ("purple-monkey-dish" * 2, "repeats a run of 18 characters"),
        ("0123456789abcdef" * 2 + "0123", "repeats a run of 16 characters"),
    ],
    ids=lambda value: repr(value)[:24],
)
def test_production_refuses_a_weak_secret_key_and_says_how_to_make_one(
    key: str, reason: str
) -> None:
    problem = secret_key_problem(key)
    assert problem is not None
    assert problem.startswith(reason)
    with pytest.raises(ConfigError) as refused:
        Settings(production=True, secret_key=key, allowed_origins=ORIGINS).checked()
    message = str(refused.value)
    assert "COSHOP_SECRET_KEY" in message
    assert reason in message
    assert GENERATE_KEY_COMMAND in message
    if key.strip():
        assert key.strip() not in message  # the key itself is never echoed


def test_keys_from_the_documented_generators_pass() -> None:
    for _ in range(200):
        assert secret_key_problem(secrets.token_urlsafe(48)) is None
        assert secret_key_problem(secrets.token_urlsafe(32)) is None
        assert secret_key_problem(base64.b64encode(secrets.token_bytes(32)).decode()) is None
    assert secret_key_problem("é" * 8 + STRONG_KEY[:24]) is None  # bytes, not characters
    assert (
        secret_key_problem("é" * 4 + "abcdefghijklmnopqrstuv")
        == "is 30 bytes long (needs at least 32)"
    )
    # a repeat that does not tile the whole key is no repeated pattern
    assert secret_key_problem(STRONG_KEY[:20] + STRONG_KEY[:20] + "!") is None


def test_production_refuses_public_rooms_and_the_demo_unless_forced() -> None:
    base = Settings(production=True, secret_key=STRONG_KEY, allowed_origins=ORIGINS)
    with pytest.raises(ConfigError, match="--allow-public-rooms-in-production") as refused:
        replace(base, public_rooms=True).checked()
    assert "COSHOP_ALLOW_PUBLIC_ROOMS_IN_PRODUCTION=1" in str(refused.value)
    with pytest.raises(ConfigError, match="--allow-demo-in-production") as refused:
        replace(base, demo=True).checked()
    assert "COSHOP_ALLOW_DEMO_IN_PRODUCTION=1" in str(refused.value)
    with pytest.raises(ConfigError) as refused:
        replace(base, demo=True, public_rooms=True, allow_demo_in_production=True).checked()
    assert "public rooms" in str(refused.value)
    assert "the demo" not in str(refused.value)
    forced = replace(
        base,
        demo=True,
        public_rooms=True,
        allow_demo_in_production=True,
        allow_public_rooms_in_production=True,
    ).checked()
    assert forced.demo and forced.public_rooms
    # the same through the environment, as a deployment sets it
    env = {
        "COSHOP_PRODUCTION": "1",
        "COSHOP_SECRET_KEY": STRONG_KEY,
        "COSHOP_ALLOWED_ORIGINS": "https://a.example",
        "COSHOP_PUBLIC_ROOMS": "1",
    }
    with pytest.raises(ConfigError, match="public rooms"):
        load_settings(env=env).checked()
    env["COSHOP_ALLOW_PUBLIC_ROOMS_IN_PRODUCTION"] = "1"
    assert load_settings(env=env).checked().public_rooms
    # development mode needs no forcing
    assert Settings(demo=True, public_rooms=True, secret_key=STRONG_KEY).checked().demo


def test_development_replaces_a_blank_key_with_its_own(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, secret_key="   ").checked()
    assert s.secret_key == (tmp_path / "secret.key").read_text().strip()
    assert secret_key_problem(s.secret_key) is None


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
        Settings(allowed_origins=("https://a.example/x",), secret_key=STRONG_KEY).checked()
    s = Settings(public_url="https://Rooms.Example/app", allowed_origins=("https://A.example",))
    assert s.origins == frozenset({"https://rooms.example", "https://a.example"})


def test_serving_limits_are_read_and_checked(tmp_path: Path) -> None:
    env = {
        "COSHOP_HEADER_TIMEOUT_S": "2.5",
        "COSHOP_BODY_TIMEOUT_S": "7",
        "COSHOP_BODY_MIN_RATE": "1000",
        "COSHOP_FD_RESERVE": "300",
        "COSHOP_MAX_CONNECTIONS": "900",
    }
    s = load_settings(env=env)
    assert (s.header_timeout_s, s.body_timeout_s, s.body_min_rate) == (2.5, 7.0, 1000)
    assert (s.fd_reserve, s.max_connections) == (300, 900)
    base = Settings(data_dir=tmp_path)
    for name in ("header_timeout_s", "body_timeout_s", "body_min_rate", "max_connections"):
        with pytest.raises(ConfigError, match=f"COSHOP_{name.upper()} must be above 0"):
            replace(base, **{name: 0}).checked()  # type: ignore[arg-type]  # one field by name
    with pytest.raises(ConfigError, match="COSHOP_FD_RESERVE"):
        replace(base, fd_reserve=-1).checked()


def test_live_pacing_is_read_and_checked(tmp_path: Path) -> None:
    env = {
        "COSHOP_LIVE_TICK_MS": "40",
        "COSHOP_LIVE_BUSY_TICK_MS": "200",
        "COSHOP_LIVE_WINDOW_US_PER_VIEWER": "50",
    }
    s = load_settings(env=env)
    assert (s.live_tick_ms, s.live_busy_tick_ms, s.live_window_us_per_viewer) == (40, 200, 50)
    assert Settings().live_window_us_per_viewer == 10  # each event alone up to 1,000 viewers
    base = Settings(data_dir=tmp_path)
    for name in ("live_tick_ms", "live_busy_tick_ms"):
        with pytest.raises(ConfigError, match=f"COSHOP_{name.upper()} must be above 0"):
            replace(base, **{name: 0}).checked()  # type: ignore[arg-type]  # one field by name
    with pytest.raises(ConfigError, match="COSHOP_LIVE_WINDOW_US_PER_VIEWER must be 0 or more"):
        replace(base, live_window_us_per_viewer=-1).checked()
    assert replace(base, live_window_us_per_viewer=0).checked().live_window_us_per_viewer == 0
