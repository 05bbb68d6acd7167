"""Counts of views whose members change as time passes ("session expires within N hours",
"session is open"): the pushed counts follow the clock with no write to set them off, and
the store knows when the next thread enters or leaves such a view. The clock is injected:
nothing sleeps to make time pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.domain.clock import FixedClock
from tests.backend.seed import seed_thread
from tests.backend.wsclient import LiveClient
from tests.support import LiveBackend

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
WITHIN_2_HOURS = [{"property": "session_expires", "operator": "within", "values": ["2"]}]
SESSION_OPEN = [{"property": "session_state", "operator": "is_any_of", "values": ["open"]}]


@pytest.fixture
async def clocked(tmp_path):
    backend = LiveBackend(data_dir=tmp_path / "data", clock=FixedClock(NOW))
    await backend.start()
    await backend.seed_agents()
    try:
        yield backend
    finally:
        await backend.stop()


async def _pushed_count(live: LiveClient, view_id: str, wanted: int) -> None:
    while (await live.next_of("view.counts", timeout=10))["data"]["counts"][view_id] != wanted:
        pass


async def test_pushed_counts_follow_the_clock_into_and_out_of_a_time_window(clocked):
    # the session ends at 13:00: it enters "within 2 hours" at 11:00 and leaves at 13:00
    await seed_thread(
        clocked.store, name="Ann", phone="+34611111111", text="hi", at=NOW - timedelta(hours=20)
    )
    async with clocked.client(clocked.agent_token) as client:
        soon = await client.post("/api/v1/views", json={"name": "2 h", "filters": WITHIN_2_HOURS})
        open_ = await client.post("/api/v1/views", json={"name": "open", "filters": SESSION_OPEN})
        soon_id, open_id = soon.json()["id"], open_.json()["id"]
        counts = (await client.get("/api/v1/views/counts")).json()["counts"]
        assert (counts[soon_id], counts[open_id]) == (0, 1)
        assert await clocked.store.next_count_change() == NOW + timedelta(hours=2)
        async with LiveClient.connect(clocked, clocked.agent_token) as live:
            clocked.clock.advance(timedelta(hours=2, seconds=1))  # no write: only time passes
            await _pushed_count(live, soon_id, 1)
            assert await clocked.store.next_count_change() == NOW + timedelta(hours=4)
            clocked.clock.advance(timedelta(hours=2))
            await _pushed_count(live, soon_id, 0)
            counts = (await client.get("/api/v1/views/counts")).json()["counts"]
            assert (counts[soon_id], counts[open_id]) == (0, 0)
    assert await clocked.store.next_count_change() is None


async def test_no_time_dependent_view_means_no_next_change(clocked):
    await seed_thread(
        clocked.store, name="Ann", phone="+34611111111", text="hi", at=NOW - timedelta(hours=20)
    )
    assert await clocked.store.next_count_change() is None
