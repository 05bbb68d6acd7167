"""Snooze (pending until a time): out of the open views until then, back by itself when the
time passes (the backend's periodic check, or a list read), with timeline entries; a
customer's message or a status change ends it early. The clock is injected: nothing sleeps
to make time pass."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from backend.domain.clock import FixedClock
from tests.backend.seed import seed_thread
from tests.backend.wsclient import LiveClient
from tests.support import LiveBackend

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
async def clocked(tmp_path):
    backend = LiveBackend(
        data_dir=tmp_path / "data",
        clock=FixedClock(NOW),
        overrides={"snooze_check_interval": 0.05},
    )
    await backend.start()
    await backend.seed_agents()
    try:
        yield backend
    finally:
        await backend.stop()


async def _open_ids(client) -> list[int]:  # noqa: ANN001
    page = (await client.get("/api/v1/threads", params={"view": "builtin:all_open"})).json()
    return [thread["id"] for thread in page["items"]]


async def test_a_snoozed_ticket_leaves_the_open_views_and_comes_back_by_itself(clocked):
    thread = await seed_thread(clocked.store, name="Ann", phone="+34611111111", text="hi")
    ticket_id = thread.ticket.id
    until = NOW + timedelta(hours=2)
    async with clocked.client(clocked.agent_token) as client:
        response = await client.patch(
            f"/api/v1/tickets/{ticket_id}", json={"snoozed_until": until.isoformat()}
        )
        assert response.status_code == 200, response.text
        ticket = response.json()
        assert ticket["status"] == "waiting_on_contact"
        assert ticket["snoozed_until"] == "2026-11-26T11:00:00Z"
        assert thread.id not in await _open_ids(client)
        counts = (await client.get("/api/v1/views/counts")).json()["counts"]
        assert counts["builtin:all_open"] == 0
        async with LiveClient.connect(clocked, clocked.agent_token) as live:
            clocked.clock.advance(timedelta(hours=2, seconds=1))  # the periodic check wakes it
            woken = await live.next_of("ticket.updated")
            assert woken["data"]["status"] == "waiting_on_us"
            assert woken["data"]["snoozed_until"] is None
        assert thread.id in await _open_ids(client)
        timeline = (await client.get(f"/api/v1/tickets/{ticket_id}/timeline")).json()["items"]
    actions = [(e["action"], e["actor_id"]) for e in timeline]
    assert ("snoozed", clocked.agent.id) in actions
    assert ("snooze_ended", None) in actions


async def test_a_list_read_wakes_what_is_due(tmp_path):
    backend = LiveBackend(data_dir=tmp_path / "data", clock=FixedClock(NOW))  # checks: 30 s
    await backend.start()
    await backend.seed_agents()
    try:
        thread = await seed_thread(backend.store, name="Ann", phone="+34611111111", text="hi")
        async with backend.client(backend.agent_token) as client:
            until = (NOW + timedelta(minutes=5)).isoformat()
            await client.patch(f"/api/v1/tickets/{thread.ticket.id}", json={"snoozed_until": until})
            assert thread.id not in await _open_ids(client)
            backend.clock.advance(timedelta(minutes=6))
            assert thread.id in await _open_ids(client)
    finally:
        await backend.stop()


async def test_a_status_change_ends_a_snooze(clocked):
    thread = await seed_thread(clocked.store, name="Ann", phone="+34611111111", text="hi")
    ticket_id = thread.ticket.id
    async with clocked.client(clocked.agent_token) as client:
        until = (NOW + timedelta(days=1)).isoformat()
        await client.patch(f"/api/v1/tickets/{ticket_id}", json={"snoozed_until": until})
        reopened = await client.patch(
            f"/api/v1/tickets/{ticket_id}", json={"status": "waiting_on_us"}
        )
        assert reopened.json()["snoozed_until"] is None
        assert thread.id in await _open_ids(client)


async def test_a_snooze_in_the_past_or_with_a_status_is_refused_and_changes_nothing(clocked):
    thread = await seed_thread(clocked.store, name="Ann", phone="+34611111111", text="hi")
    ticket_id = thread.ticket.id
    async with clocked.client(clocked.agent_token) as client:
        for body in (
            {"snoozed_until": (NOW - timedelta(minutes=1)).isoformat()},
            {"snoozed_until": (NOW + timedelta(hours=1)).isoformat(), "status": "closed"},
        ):
            response = await client.patch(f"/api/v1/tickets/{ticket_id}", json=body)
            assert response.status_code == 422, response.text
            assert response.json()["error"]["field"] == "snoozed_until"
        ticket = (await client.get(f"/api/v1/tickets/{ticket_id}")).json()
    assert ticket["snoozed_until"] is None and ticket["status"] == thread.ticket.status.value


async def test_unsnooze_ends_a_snooze_keeping_the_status_and_refuses_with_a_time(clocked):
    """A snooze of a ticket already waiting on the contact changes no status, so undoing it
    needs ``unsnooze``: the snooze ends, the ticket is back in the open views, the status
    stays and the timeline says who ended it. With a time as well it is refused."""
    thread = await seed_thread(clocked.store, name="Ann", phone="+34611111111", text="hi")
    ticket_id = thread.ticket.id
    async with clocked.client(clocked.agent_token) as client:
        await client.patch(f"/api/v1/tickets/{ticket_id}", json={"status": "waiting_on_contact"})
        until = (NOW + timedelta(hours=1)).isoformat()
        await client.patch(f"/api/v1/tickets/{ticket_id}", json={"snoozed_until": until})
        both = await client.patch(
            f"/api/v1/tickets/{ticket_id}", json={"snoozed_until": until, "unsnooze": True}
        )
        assert both.status_code == 422, both.text
        assert both.json()["error"]["field"] == "unsnooze"
        assert (await client.get(f"/api/v1/tickets/{ticket_id}")).json()["snoozed_until"]
        ended = await client.patch(f"/api/v1/tickets/{ticket_id}", json={"unsnooze": True})
        assert ended.status_code == 200, ended.text
        assert ended.json()["snoozed_until"] is None
        assert ended.json()["status"] == "waiting_on_contact"
        assert thread.id in await _open_ids(client)
        timeline = (await client.get(f"/api/v1/tickets/{ticket_id}/timeline")).json()["items"]
    assert ("unsnoozed", clocked.agent.id) in [(e["action"], e["actor_id"]) for e in timeline]


async def test_a_snooze_wakes_at_its_time_not_at_the_next_periodic_check(tmp_path):
    """The periodic check is every 30 s; a snooze ending in a second wakes in about a
    second (the wake-up task sleeps until the soonest snooze ends, and learns of a new
    snooze when it is set). The real clock: the wait is for the event, not a sleep."""
    backend = LiveBackend(data_dir=tmp_path / "data")  # checks every 30 s (the default)
    await backend.start()
    await backend.seed_agents()
    try:
        thread = await seed_thread(backend.store, name="Ann", phone="+34611111111", text="hi")
        async with (
            backend.client(backend.agent_token) as client,
            LiveClient.connect(backend, backend.agent_token) as live,
        ):
            until = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
            response = await client.patch(
                f"/api/v1/tickets/{thread.ticket.id}", json={"snoozed_until": until}
            )
            assert response.status_code == 200, response.text
            while True:
                event = await live.next_of("ticket.updated", timeout=10)
                if event["data"]["snoozed_until"] is None:
                    break
            assert event["data"]["status"] == "waiting_on_us"
    finally:
        await backend.stop()


WAKE_QUERIES = (
    "SELECT 1 FROM tickets WHERE snoozed_until IS NOT NULL AND snoozed_until <=",
    "SELECT MIN(snoozed_until) FROM tickets",
)


async def test_ticket_changes_that_snooze_nothing_cost_the_wake_up_task_no_query(tmp_path):
    """The wake-up task looks again only when a change snoozes a ticket sooner than it
    wakes anyway: priority changes cost it nothing, a snooze one look (is anything due, when
    is the next). That it still wakes on time: the tests above (injected and real clock)."""
    backend = LiveBackend(data_dir=tmp_path / "data", clock=FixedClock(NOW))  # checks every 30 s
    await backend.start()
    await backend.seed_agents()
    try:
        ann = await seed_thread(backend.store, name="Ann", phone="+34611111111", text="hi")
        bea = await seed_thread(backend.store, name="Bea", phone="+34622222222", text="hi")
        looks: list[str] = []
        for connection in backend.store.readers._connections:
            await connection.set_trace_callback(
                lambda sql: looks.append(sql) if sql.startswith(WAKE_QUERIES) else None
            )

        async def change(ticket_id: int, **fields: str) -> None:
            response = await client.patch(f"/api/v1/tickets/{ticket_id}", json=fields)
            assert response.status_code == 200, response.text

        async with backend.client(backend.agent_token) as client:
            for priority in ("high", "low", "urgent", "medium", "high", "low"):
                await change(ann.ticket.id, priority=priority)
            await change(bea.ticket.id, snoozed_until=(NOW + timedelta(hours=1)).isoformat())
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while not any(sql.startswith(WAKE_QUERIES[1]) for sql in looks):
                assert loop.time() < deadline, "the snooze was not looked at"
                await asyncio.sleep(0.01)
            assert [sql.startswith(WAKE_QUERIES[1]) for sql in looks] == [False, True], looks
            # a change of the snoozed ticket that ends no sooner, then a later snooze: no look;
            # an earlier one: one more
            await change(bea.ticket.id, priority="urgent")
            await change(ann.ticket.id, snoozed_until=(NOW + timedelta(hours=2)).isoformat())
            await change(ann.ticket.id, snoozed_until=(NOW + timedelta(minutes=30)).isoformat())
            while len(looks) < 4:
                assert loop.time() < deadline, looks
                await asyncio.sleep(0.01)
            assert [sql.startswith(WAKE_QUERIES[1]) for sql in looks] == [False, True] * 2, looks
    finally:
        await backend.stop()
