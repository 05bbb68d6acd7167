"""Fixtures for the API tests that throw every kind of request at every endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.backend.seed import seed_threads
from tests.support import LiveBackend

# Meta's API behind a dead port: a send ends in a 502/504, never in a real request
UNREACHABLE_GRAPH = "http://127.0.0.1:9"


@pytest.fixture
async def backend(tmp_path, database_url) -> AsyncIterator[LiveBackend]:
    """A real backend with an admin, an agent and three threads to aim requests at."""
    live = LiveBackend(
        data_dir=tmp_path / "data",
        overrides={"whatsapp_graph_url": UNREACHABLE_GRAPH},
        database=database_url,
    )
    await live.start()
    await live.seed_agents()
    await seed_threads(live.store, 3)
    try:
        yield live
    finally:
        await live.stop()
