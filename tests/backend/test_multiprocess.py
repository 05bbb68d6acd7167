"""Three ``ttydesk serve`` processes on one PostgreSQL database serve one team (issue 16,
step 3): real subprocesses, the simulator, signed webhooks (tests/multiprocess.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.multiprocess import Team, customer_text, running_team, signed_post

pytestmark = pytest.mark.postgresql

WEBHOOKS = 30


@pytest.fixture
async def team(postgresql_url, tmp_path) -> AsyncIterator[Team]:
    async with running_team(postgresql_url, tmp_path / "team", processes=3) as started:
        yield started


async def test_webhooks_spread_over_three_processes_are_each_stored_once(team):
    for n in range(WEBHOOKS):
        async with team.processes[n % 3].client() as meta:
            response = await signed_post(meta, customer_text(n, f"hello {n}"))
            assert response.status_code == 200, response.text
    stored = await team.rows("SELECT text FROM messages ORDER BY id")
    assert sorted(row["text"] for row in stored) == sorted(f"hello {n}" for n in range(WEBHOOKS))
    # every process serves the same threads
    listed = []
    for process in team.processes:
        async with process.client(team.agent_token) as api:
            page = (await api.get("/api/v1/threads", params={"limit": 100})).json()
            listed.append(sorted(thread["id"] for thread in page["items"]))
    assert listed[0] == listed[1] == listed[2]
    assert len(listed[0]) == WEBHOOKS
