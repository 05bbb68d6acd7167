"""A customer's WhatsApp call (Calling API ``calls`` webhook): an event line in their
thread, and the 24-hour window re-opened from the call's time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.store.conversations import load_message, load_thread
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, counter, rows, signed_post

AT = NOW - timedelta(minutes=5)
CALL_ID = "wacid.HBgLMTIxMTU1NTAxMDcVAgARGCAyODRQIAFRoA"


def call(event: str, *, at, direction: str = "USER_INITIATED", **extra: Any) -> dict[str, Any]:
    data = {
        "id": CALL_ID,
        "to": p.DISPLAY_NUMBER,
        "from": p.CUSTOMER_WA_ID,
        "from_user_id": p.CUSTOMER_USER_ID,
        "event": event,
        "timestamp": p.ts(at),
        "direction": direction,
    }
    if event == "connect":
        data["session"] = {"sdp_type": "offer", "sdp": "v=0\r\n"}
    data.update(extra)
    return data


async def deliver_calls(meta, *calls: dict[str, Any]) -> None:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": p.DISPLAY_NUMBER,
            "phone_number_id": p.PHONE_NUMBER_ID,
        },
        "contacts": [p.contact()],
        "calls": list(calls),
    }
    response = await signed_post(meta, p.envelope(("calls", value)))
    assert response.status_code == 200, response.text


async def the_thread(backend):
    (row,) = await rows(backend, "SELECT id FROM threads")
    return await backend.store.write(lambda tx: load_thread(tx, row["id"]))


async def call_line(backend):
    (row,) = await rows(backend, "SELECT id FROM messages WHERE wamid = ?", (CALL_ID,))
    return await backend.store.write(lambda tx: load_message(tx, row["id"]))


async def test_a_customer_call_shows_in_the_thread_and_reopens_the_window(backend, meta):
    wrote = AT - timedelta(hours=30)  # the window of that message closed 6 hours ago
    response = await signed_post(meta, p.messages_envelope(p.text("any news?", at=wrote)))
    assert response.status_code == 200
    ended = AT + timedelta(minutes=2)
    await deliver_calls(meta, call("connect", at=AT))
    assert (await call_line(backend)).text == "Customer called"  # ringing
    await deliver_calls(
        meta, call("terminate", at=ended, status="COMPLETED", duration=125, start_time=p.ts(AT))
    )
    line = await call_line(backend)
    assert (line.kind, line.event, line.text) == ("event", "call", "Customer called — 2 min")
    thread = await the_thread(backend)
    assert thread.session_expires_at == ended + timedelta(hours=24)
    # an event line, not a message: no counters, no unread, the preview stays
    assert thread.ticket.inbound_count == 1
    assert thread.last_message_preview == "any news?"
    assert len(await rows(backend, "SELECT id FROM messages")) == 2
    # redelivered: nothing changes
    await deliver_calls(meta, call("terminate", at=ended, status="COMPLETED", duration=125))
    assert await counter(backend, "webhook.duplicate") == 1


async def test_a_call_with_no_conversation_starts_one_whatever_the_order(backend, meta):
    await deliver_calls(meta, call("terminate", at=AT + timedelta(seconds=30), status="FAILED"))
    await deliver_calls(meta, call("connect", at=AT))  # delivered late
    line = await call_line(backend)
    assert line.text == "Missed call from the customer"
    thread = await the_thread(backend)
    assert thread.ticket.subject == "Phone call"
    assert thread.last_message_preview == "Phone call"
    assert thread.session_expires_at == AT + timedelta(seconds=30, hours=24)
    assert len(await rows(backend, "SELECT id FROM messages")) == 1


async def test_a_call_the_business_made_is_not_a_customer_call(backend, meta):
    await deliver_calls(meta, call("connect", at=AT, direction="BUSINESS_INITIATED"))
    assert await rows(backend, "SELECT id FROM messages") == []
    assert await rows(backend, "SELECT id FROM threads") == []
    assert await counter(backend, "webhook.ignored_call") == 1


async def test_a_call_from_nobody_is_counted_not_filed(backend, meta):
    anonymous = call("connect", at=AT)
    del anonymous["from"], anonymous["from_user_id"]
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": p.DISPLAY_NUMBER,
            "phone_number_id": p.PHONE_NUMBER_ID,
        },
        "calls": [anonymous, {"event": "connect"}],  # the second has no id either
    }
    response = await signed_post(meta, p.envelope(("calls", value)))
    assert response.status_code == 200
    assert await rows(backend, "SELECT id FROM contacts") == []
    assert await counter(backend, "webhook.invalid_item") == 2
