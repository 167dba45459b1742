"""Fixtures for the sandbox provider tests: the app in the test's loop with a real receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .support import Sandbox, SandboxFactory, make_sandbox_factory


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> SandboxFactory:
    return make_sandbox_factory(tmp_path)


@pytest.fixture
async def sandbox(sandbox_factory: SandboxFactory) -> AsyncIterator[Sandbox]:
    async with sandbox_factory() as running:
        yield running
