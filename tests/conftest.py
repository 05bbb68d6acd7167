"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import LiveBackend


@pytest.fixture
async def live_backend(tmp_path) -> AsyncIterator[LiveBackend]:
    """A real backend on 127.0.0.1 with a fresh SQLite file, an admin and an agent."""
    backend = LiveBackend(data_dir=tmp_path / "data")
    await backend.start()
    await backend.seed_agents()
    try:
        yield backend
    finally:
        await backend.stop()
