"""Browser fixtures: the real coshop server on a free port and Debian's Chromium via Playwright.

Tests are marked ``browser``; they skip on a machine without ``/usr/bin/chromium`` and fail in CI
(``CI=true``) when it is missing. Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from tests.server.conftest import LiveServer, run_server, server_settings

# CI machines have 2 cores shared by the server, Chromium and pytest: give assertions the same
# 10 s the actions get (Playwright's default for `expect` is 5 s).
expect.set_options(timeout=10_000)

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _need_chromium() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI: /usr/bin/chromium is missing")
        pytest.skip("Debian's Chromium (/usr/bin/chromium) is not installed")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    _need_chromium()
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with run_server(server_settings(tmp_path)) as srv:
        yield srv


async def new_page(browser: Browser, *, phone: bool = False) -> tuple[BrowserContext, Page]:
    """A fresh browser context (its own storage: a separate person) and one page in it."""
    viewport: ViewportSize = (
        {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    )
    context = await browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _ERRORS[page] = errors
    return context, page


_ERRORS: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


def js_errors(page: Page) -> list[str]:
    """Uncaught JavaScript errors the page has raised so far."""
    return _ERRORS.get(page, [])


async def shot(page: Page, name: str, *, full: bool = True) -> None:
    """Save ``artifacts/screenshots/<name>.png``.

    Several tests (and parallel workers) may take the same name: each picture is written to a
    file of its own and renamed over the name, so the file is always one whole picture.
    """
    SHOTS.mkdir(parents=True, exist_ok=True)
    png = await page.screenshot(full_page=full)
    part = SHOTS / f".{name}.{os.getpid()}.part"
    part.write_bytes(png)
    part.replace(SHOTS / f"{name}.png")
