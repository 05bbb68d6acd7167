"""Three ``ttydesk serve`` processes on one PostgreSQL database serve one team (issue 16,
step 3): real subprocesses, the simulator, signed webhooks (tests/multiprocess.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest

from tests.multiprocess import Team, customer_text, listening, running_team, signed_post, until

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


async def test_a_client_of_each_process_is_sent_every_event_in_one_order(team):
    """Webhooks spread over three processes: a WebSocket client on each is sent every
    event of every process, in one order, with no gap and none twice."""
    async with contextlib.AsyncExitStack() as stack:
        listeners = [
            await stack.enter_async_context(listening(process, team.agent_token))
            for process in team.processes
        ]
        for n in range(WEBHOOKS):
            async with team.processes[n % 3].client() as meta:
                response = await signed_post(meta, customer_text(n, f"hello {n}"))
                assert response.status_code == 200, response.text
        newest = await team.newest_seq()
        for listener in listeners:
            await listener.reached(newest)
    start = min(listener.hello for listener in listeners)
    logged = await team.store.events_after(start, limit=10_000)
    expected = [json.loads(frame) for _, frame in logged]
    assert [frame["seq"] for frame in expected] == list(range(start + 1, newest + 1))
    for listener in listeners:
        # a client connected later than another starts later in the one order
        assert listener.frames == [frame for frame in expected if frame["seq"] > listener.hello]
    texts = {
        frame["data"]["text"]
        for frame in expected
        if frame["type"] == "message.created" and frame["data"]["direction"] == "in"
    }
    assert texts == {f"hello {n}" for n in range(WEBHOOKS)}


async def send_webhooks(team: Team, first: int, count: int) -> None:
    for n in range(first, first + count):
        async with team.processes[n % 3].client() as meta:
            response = await signed_post(meta, customer_text(n, f"hello {n}"))
            assert response.status_code == 200, response.text


async def test_a_client_that_reconnects_to_another_process_gets_exactly_what_it_missed(team):
    """A client of process 0 goes away; while it is gone, and while it reconnects to
    process 1 with ``?since=``, webhooks keep coming to all three: its replay and the
    live events after it are every event after ``since``, once each, in the log's order
    (a client of process 2 that stayed connected is sent the same)."""
    async with listening(team.processes[2], team.agent_token) as stayed:
        async with listening(team.processes[0], team.agent_token) as leaving:
            await send_webhooks(team, 0, 9)
            await leaving.reached(await team.newest_seq())
            since = leaving.last_seq
        await send_webhooks(team, 9, 9)  # missed
        coming = asyncio.create_task(send_webhooks(team, 18, 12))  # during the replay
        async with listening(team.processes[1], team.agent_token, since=since) as back:
            await coming
            newest = await team.newest_seq()
            await back.reached(newest)
            await stayed.reached(newest)
    # an event logged after ``newest`` was read (a process's own later event) may come too:
    # the claim is about every event up to it
    replayed = [frame for frame in back.frames if frame["seq"] <= newest]
    assert [frame["seq"] for frame in replayed] == list(range(since + 1, newest + 1))
    assert replayed == [frame for frame in stayed.frames if since < frame["seq"] <= newest]
    assert back.seqs == sorted(set(back.seqs))  # none twice, in order, after it too
    texts = [frame["data"].get("text") for frame in replayed]
    assert {f"hello {n}" for n in range(9, 30)} <= set(texts)


async def test_view_counts_are_right_in_every_process_whichever_process_wrote(team):
    """Each process keeps the view counts cached: a commit of another process makes its
    cache stale as soon as it has followed that commit (as its clients are sent it),
    and every process's clients are pushed the counts as they are. (Tickets are closed
    through the API: a change that wakes nothing else in the other processes.)"""
    await send_webhooks(team, 0, 3)
    async with team.processes[0].client(team.admin_token) as api:
        threads = (await api.get("/api/v1/threads", params={"limit": 10})).json()["items"]
    assert len(threads) == 3
    async with contextlib.AsyncExitStack() as stack:
        listeners = [
            await stack.enter_async_context(listening(process, team.admin_token))
            for process in team.processes
        ]
        for process in team.processes:  # every cache warm
            async with process.client(team.admin_token) as api:
                assert (await api.get("/api/v1/views/counts")).status_code == 200
        for n, thread in enumerate(threads):
            async with team.processes[n % 3].client(team.admin_token) as api:
                response = await api.patch(
                    f"/api/v1/tickets/{thread['ticket']['id']}", json={"status": "closed"}
                )
                assert response.status_code == 200, response.text
            newest = await team.newest_seq()
            for listener in listeners:
                await listener.reached(newest)
            truth = (await team.store.view_counts(team.admin)).model_dump(mode="json")
            assert truth["counts"]["builtin:closed"] == n + 1
            for process in team.processes:
                async with process.client(team.admin_token) as api:
                    answer = (await api.get("/api/v1/views/counts")).json()
                assert answer == truth, f"serve {process.index} after a write to {n % 3}"
        live = (await team.store.live_view_counts()).model_dump(mode="json")
        for listener in listeners:

            async def pushed_as_they_are(listener=listener) -> bool:
                pushed = [f["data"] for f in listener.frames if f["type"] == "view.counts"]
                return bool(pushed) and pushed[-1] == live

            await until(pushed_as_they_are, "the counts as they are pushed to every client")


async def send_presence(socket, thread_id: int | None, state: str) -> None:
    await socket.send(json.dumps({"type": "presence", "thread_id": thread_id, "state": state}))


def presence_of(listener, agent_id: int) -> list[tuple[int | None, str]]:
    return [
        (frame["data"]["thread_id"], frame["data"]["state"])
        for frame in listener.others
        if frame["type"] == "presence" and frame["data"]["agent_id"] == agent_id
    ]


async def test_presence_reaches_every_process_and_ends_when_its_process_is_killed(team):
    """An agent viewing a thread on process 0 is seen by a client of process 1 (live) and
    of process 2 (in the snapshot sent on connecting); when process 0 is killed with
    ``kill -9`` its agents' presence ends for the others within a bounded time."""
    await send_webhooks(team, 0, 1)
    [thread] = await team.rows("SELECT id FROM threads")
    agent_id = team.agent.id
    async with (
        listening(team.processes[1], team.admin_token) as first_watcher,
        listening(team.processes[2], team.admin_token) as second_watcher,
        listening(team.processes[0], team.agent_token) as viewer,
    ):
        watchers = (first_watcher, second_watcher)
        await send_presence(viewer.socket, thread["id"], "viewing")
        for watcher in watchers:

            async def seen_viewing(watcher=watcher) -> bool:
                return (thread["id"], "viewing") in presence_of(watcher, agent_id)

            await until(seen_viewing, "the agent's presence at a client of another process")
        async with listening(team.processes[2], team.admin_token) as late:
            await late.settled()
            assert presence_of(late, agent_id) == [(thread["id"], "viewing")]
        await team.processes[0].kill()
        for watcher in watchers:

            async def seen_gone(watcher=watcher) -> bool:
                return presence_of(watcher, agent_id)[-1] == (None, "idle")

            await until(seen_gone, "the killed process's agent to end (heartbeat expired)")
    async with listening(team.processes[2], team.admin_token) as later:
        await later.settled()
        assert presence_of(later, agent_id) == []
