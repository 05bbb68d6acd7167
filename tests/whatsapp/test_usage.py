"""The usage limit (SPEC §5) with an injected clock: reset days, the 2024-11-01 rule,
50 business-initiated conversations per 24 h for an unverified business."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.domain.clock import FixedClock
from tests.seed_rows import connect_number, contact_thread
from tests.support import REFUSED_URL, LiveBackend


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def start(tmp_path, clock, **overrides) -> LiveBackend:
    backend = LiveBackend(
        data_dir=tmp_path / "data",
        clock=clock,
        # a closed port: queued messages are never sent anywhere
        overrides={"whatsapp_graph_url": REFUSED_URL} | overrides,
    )
    await backend.start()
    await backend.seed_agents()
    return backend


async def seed(backend: LiveBackend, *, verified: bool = True) -> None:
    await backend.store.write(lambda tx: connect_number(tx, verified=verified))


async def new_thread(backend: LiveBackend, n: int, *, session_until: datetime | None) -> int:
    return await backend.store.write(lambda tx: contact_thread(tx, n, session_until=session_until))


TEMPLATE = {"kind": "template", "name": "hello", "language": "en_US"}
TEXT = {"kind": "text", "text": "hi"}


async def usage(client):
    response = await client.get("/api/v1/usage")
    assert response.status_code == 200
    return response.json()


async def count(backend, table):
    return await backend.store.write(lambda tx: tx.one(f"SELECT COUNT(*) FROM {table}")[0])


async def test_limit_across_a_short_month_reset_day(tmp_path):
    clock = FixedClock(at("2025-02-27T10:00:00"))
    backend = await start(tmp_path, clock, usage_limit=2, subscription_start=date(2025, 1, 31))
    try:
        await seed(backend)
        thread = await new_thread(backend, 1, session_until=None)
        async with backend.client(backend.agent_token) as client:
            for _ in range(2):
                assert (
                    await client.post(f"/api/v1/threads/{thread}/messages", json=TEMPLATE)
                ).status_code == 202
            meter = await usage(client)
            assert (meter["used"], meter["limit"], meter["level"]) == (2, 2, "exhausted")
            assert meter["period_start"] == "2025-01-31" and meter["resets_on"] == "2025-02-28"
            messages, records = (
                await count(backend, "messages"),
                await count(backend, "usage_records"),
            )
            refused = await client.post(f"/api/v1/threads/{thread}/messages", json=TEMPLATE)
            assert refused.status_code == 429
            error = refused.json()["error"]
            assert error["code"] == "usage_limit_reached" and error["resets_on"] == "2025-02-28"
            assert "2025-02-28" in error["message"]
            assert await count(backend, "messages") == messages
            assert await count(backend, "usage_records") == records
            assert await count(backend, "outbox") == 2
            clock.set(at("2025-02-28T00:00:01"))  # the reset day (February has no 31st)
            assert (
                await client.post(f"/api/v1/threads/{thread}/messages", json=TEMPLATE)
            ).status_code == 202
            meter = await usage(client)
            assert (meter["used"], meter["period_start"], meter["resets_on"]) == (
                1,
                "2025-02-28",
                "2025-03-31",
            )
    finally:
        await backend.stop()


async def test_a_conversation_at_exactly_the_reset_midnight_counts_in_the_new_period(tmp_path):
    clock = FixedClock(at("2025-03-27T23:59:59.999999"))
    backend = await start(tmp_path, clock, usage_limit=1, subscription_start=date(2024, 10, 28))
    try:
        await seed(backend)
        thread = await new_thread(backend, 1, session_until=None)
        async with backend.client(backend.agent_token) as client:
            send = f"/api/v1/threads/{thread}/messages"
            assert (await client.post(send, json=TEMPLATE)).status_code == 202
            assert (await usage(client))["used"] == 1
            clock.set(at("2025-03-28T00:00:00"))  # the reset, to the microsecond
            meter = await usage(client)
            assert (meter["used"], meter["period_start"]) == (0, "2025-03-28")
            assert (await client.post(send, json=TEMPLATE)).status_code == 202
            assert (await usage(client))["used"] == 1
            refused = await client.post(send, json=TEMPLATE)
            assert refused.status_code == 429
            assert refused.json()["error"]["resets_on"] == "2025-04-28"
            clock.set(at("2025-03-27T23:59:59.999999"))  # the old period: its one send only
            assert (await usage(client))["used"] == 1
    finally:
        await backend.stop()


async def test_rule_change_on_2024_11_01(tmp_path):
    clock = FixedClock(at("2024-10-31T20:00:00"))
    backend = await start(tmp_path, clock, subscription_start=date(2024, 1, 1))
    try:
        await seed(backend)
        open_thread = await new_thread(backend, 1, session_until=at("2024-11-01T12:00:00"))
        async with backend.client(backend.agent_token) as client:
            # before: the whole contact-opened session counts as one conversation
            for _ in range(3):
                assert (
                    await client.post(f"/api/v1/threads/{open_thread}/messages", json=TEXT)
                ).status_code == 202
            assert (await usage(client))["used"] == 1
            # from 2024-11-01 on (same session still open): in-session replies are free
            clock.set(at("2024-11-01T00:00:00"))
            assert (
                await client.post(f"/api/v1/threads/{open_thread}/messages", json=TEXT)
            ).status_code == 202
            meter = await usage(client)
            assert meter["used"] == 0  # a new period began on Nov 1 too (start day 1)
            closed_thread = await new_thread(backend, 2, session_until=None)
            for _ in range(2):
                assert (
                    await client.post(f"/api/v1/threads/{closed_thread}/messages", json=TEMPLATE)
                ).status_code == 202
            meter = await usage(client)
            assert meter["used"] == 2 and meter["business_initiated_24h"] == 2
    finally:
        await backend.stop()


async def test_pre_rule_in_session_count_is_per_session(tmp_path):
    clock = FixedClock(at("2024-06-10T10:00:00"))
    backend = await start(tmp_path, clock, subscription_start=date(2024, 6, 1))
    try:
        await seed(backend)
        thread = await new_thread(backend, 1, session_until=at("2024-06-10T12:00:00"))
        async with backend.client(backend.agent_token) as client:
            for _ in range(2):
                await client.post(f"/api/v1/threads/{thread}/messages", json=TEXT)
            assert (await usage(client))["used"] == 1
            assert (await usage(client))["business_initiated_24h"] == 0
            # the contact writes again later: a new session, counted once more
            clock.set(at("2024-06-11T10:00:00"))
            from backend.store.conversations import open_session

            await backend.store.write(
                lambda tx: open_session(tx, thread, at("2024-06-12T10:00:00"))
            )
            for _ in range(2):
                await client.post(f"/api/v1/threads/{thread}/messages", json=TEXT)
            assert (await usage(client))["used"] == 2
    finally:
        await backend.stop()


async def test_unverified_business_50_conversations_per_24h(tmp_path):
    clock = FixedClock(at("2026-03-10T09:00:00"))
    backend = await start(tmp_path, clock)
    try:
        await seed(backend, verified=False)
        thread = await new_thread(backend, 1, session_until=None)
        async with backend.client(backend.agent_token) as client:
            for n in range(50):
                clock.advance(60)
                response = await client.post(f"/api/v1/threads/{thread}/messages", json=TEMPLATE)
                assert response.status_code == 202, (n, response.text)
            meter = await usage(client)
            assert meter["business_initiated_24h"] == 50 and meter["verified_business"] is False
            refused = await client.post(f"/api/v1/threads/{thread}/messages", json=TEMPLATE)
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "business_initiated_limit_reached"
            # in-session replies are not business-initiated: still allowed
            session = await new_thread(backend, 2, session_until=clock.now() + timedelta(hours=1))
            assert (
                await client.post(f"/api/v1/threads/{session}/messages", json=TEXT)
            ).status_code == 202
            clock.advance(timedelta(hours=24))
            assert (
                await client.post(f"/api/v1/threads/{thread}/messages", json=TEMPLATE)
            ).status_code == 202
    finally:
        await backend.stop()


async def test_usage_updated_event_and_store_usage(tmp_path):
    clock = FixedClock(at("2026-05-05T09:00:00"))
    backend = await start(tmp_path, clock, usage_limit=10, subscription_start=date(2026, 1, 28))
    try:
        await seed(backend)
        thread = await new_thread(backend, 1, session_until=None)
        async with backend.client(backend.agent_token) as client:
            await client.post(f"/api/v1/threads/{thread}/messages", json=TEMPLATE)
        frames = [
            frame for _, frame in await backend.store.events_after(0) if '"usage.updated"' in frame
        ]
        assert len(frames) == 1 and '"used":1' in frames[0]
        meter = await backend.store.usage()
        assert (meter.used, meter.period_start, meter.resets_on) == (
            1,
            date(2026, 4, 28),
            date(2026, 5, 28),
        )
    finally:
        await backend.stop()


@pytest.mark.parametrize(
    ("now", "start_day", "period"),
    [
        ("2026-03-30T12:00:00", date(2025, 10, 31), ("2026-03-31", "2026-03-31")),
    ],
)
async def test_period_before_reset_in_a_long_month(tmp_path, now, start_day, period):
    backend = await start(tmp_path, FixedClock(at(now)), subscription_start=start_day)
    try:
        meter = await backend.store.usage()
        # 30 March: the period began on the last day of February, resets on the 31st
        assert (meter.period_start.isoformat(), meter.resets_on.isoformat()) == (
            "2026-02-28",
            period[1],
        )
    finally:
        await backend.stop()
