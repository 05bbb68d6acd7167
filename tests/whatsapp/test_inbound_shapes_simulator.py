"""End to end through the real simulator: a customer's call, a message sent from the
WhatsApp Business app, the legacy security-code change, an ad and a group message, as
the simulator builds, signs and POSTs them to the real backend."""

from __future__ import annotations

from backend.store.conversations import load_message, load_thread
from tests.whatsapp.conftest import SIM_TOKEN, rows

CALL_ID = "wacid.HBgLMzQ2MTIzNDU2NzgVAgARGCBBQkNE"


async def message_by_wamid(sim, wamid: str):
    async def probe():
        found = await rows(sim.backend, "SELECT id FROM messages WHERE wamid = ?", (wamid,))
        return found[0]["id"] if found else None

    message_id = await sim.until(probe)
    return await sim.backend.store.write(lambda tx: load_message(tx, message_id))


async def test_a_call_through_the_simulator_is_a_line_and_reopens_the_window(sim):
    first = await sim.stored(await sim.customer_sends({"type": "text", "text": "hello"}))
    await sim.customer_sends({"type": "call", "event": "connect", "call_id": CALL_ID})
    await sim.customer_sends(
        {"type": "call", "event": "terminate", "call_id": CALL_ID, "duration": 125}
    )

    async def ended():
        line = await message_by_wamid(sim, CALL_ID)
        return line if line.text == "Customer called — 2 min" else None

    line = await sim.until(ended)
    assert (line.kind, line.event, line.thread_id) == ("event", "call", first.thread_id)
    thread = await sim.backend.store.write(lambda tx: load_thread(tx, first.thread_id))
    assert thread.session_expires_at is not None
    assert thread.ticket.inbound_count == 1


async def test_an_echo_through_the_simulator_is_ours_sent_from_the_phone(sim):
    first = await sim.stored(await sim.customer_sends({"type": "text", "text": "hi"}))
    wamid = await sim.customer_sends({"type": "echo", "text": "Hi! Sent from my phone"})
    echo = await message_by_wamid(sim, wamid)
    assert (echo.direction, echo.text, echo.sent_from_phone) == (
        "out",
        "Hi! Sent from my phone",
        True,
    )
    assert echo.thread_id == first.thread_id


async def test_the_legacy_identity_change_through_the_simulator(sim):
    await sim.stored(await sim.customer_sends({"type": "text", "text": "hello"}))
    (before,) = await rows(sim.backend, "SELECT wa_id, wa_user_id FROM contacts")
    wamid = await sim.customer_sends({"type": "system", "system_type": "customer_identity_changed"})
    line = await message_by_wamid(sim, wamid)
    assert (line.kind, line.event) == ("event", "identity_key_changed")
    assert await rows(sim.backend, "SELECT wa_id, wa_user_id FROM contacts") == [before]


async def test_an_ad_and_a_group_message_through_the_simulator(sim):
    from_ad = await sim.stored(
        await sim.customer_sends({"type": "text", "text": "saw your ad", "referral": {}})
    )
    assert from_ad.referral is not None
    assert (from_ad.referral.headline, from_ad.referral.source_id) == (
        "Spring offers",
        "120226305854810726",
    )
    in_group = await sim.stored(
        await sim.customer_sends({"type": "text", "text": "hi all", "group_id": "1203630255"})
    )
    assert in_group.thread_id != from_ad.thread_id
    assert in_group.group_sender is not None
    group = await sim.backend.store.write(lambda tx: load_thread(tx, in_group.thread_id))
    assert group.group_id == "1203630255"
    ad_thread = await sim.backend.store.write(lambda tx: load_thread(tx, from_ad.thread_id))
    assert ad_thread.from_ad is True


async def test_a_reply_to_a_group_is_accepted_and_delivered_to_the_group(sim):
    """The simulator takes a send to a group it has seen (recipient_type "group", the group
    id as "to"): statuses come back for the group, and the reply ends delivered."""
    in_group = await sim.stored(
        await sim.customer_sends({"type": "text", "text": "hi all", "group_id": "1203630256"})
    )
    async with sim.backend.client(sim.backend.agent_token) as agent:
        reply = await agent.post(
            f"/api/v1/threads/{in_group.thread_id}/messages",
            json={"kind": "text", "text": "Hello everyone"},
        )
    assert reply.status_code == 202, reply.text

    async def delivered():
        (row,) = await rows(
            sim.backend, "SELECT status FROM messages WHERE id = ?", (reply.json()["id"],)
        )
        return row["status"] if row["status"] in ("delivered", "read", "failed") else None

    assert await sim.until(delivered) in ("delivered", "read")
    sent = await sim.control("GET", "/sent")
    (to_group,) = [item for item in sent["items"] if item["body"].get("to") == "1203630256"]
    assert to_group["body"]["recipient_type"] == "group"
    assert to_group["statuses"][:2] == ["sent", "delivered"]


async def test_a_send_to_a_group_the_simulator_never_saw_is_refused(sim):
    response = await sim.http.post(
        "/v23.0/106540352242922/messages",
        headers={"Authorization": f"Bearer {SIM_TOKEN}"},
        json={
            "messaging_product": "whatsapp",
            "recipient_type": "group",
            "to": "999999999",
            "type": "text",
            "text": {"body": "anyone?"},
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 131009
