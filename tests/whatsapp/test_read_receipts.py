"""Opening a thread marks the customer's newest message read on WhatsApp (blue ticks)."""

from __future__ import annotations

from tests.whatsapp import outbound_fixtures as fx

wa = fx.wa  # the fixture


async def _read_by_business(wa) -> dict[str, bool]:
    items = (await wa.control("GET", "/received"))["items"]
    return {item["wamid"]: item["read_by_business"] for item in items}


async def test_marking_a_thread_read_sends_a_read_receipt_for_the_newest_message(wa):
    await wa.customer_writes("first")
    thread = await wa.customer_writes("second")
    received = await _read_by_business(wa)
    assert not any(received.values())
    response = await wa.agent.post(f"/api/v1/threads/{thread['id']}/read")
    assert response.status_code == 200
    assert response.json()["unread_count"] == 0

    async def newest_read():
        state = await _read_by_business(wa)
        return state if any(state.values()) else None

    state = await wa.until(newest_read)
    newest = list(state)[-1]
    assert state[newest] is True


async def test_a_failing_read_receipt_does_not_fail_the_agent(wa):
    thread = await wa.customer_writes("hello")
    await wa.faults(token_expired=True)
    response = await wa.agent.post(f"/api/v1/threads/{thread['id']}/read")
    assert response.status_code == 200
    assert response.json()["unread_count"] == 0
