"""WhatsApp groups: a group's messages go to the group's own thread (not the sender's
1:1 conversation), each shows who wrote it, and replies go to the group."""

from __future__ import annotations

import json
from datetime import timedelta

from backend.store.conversations import load_message
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, rows, signed_post

AT = NOW - timedelta(minutes=5)
GROUP_ID = "120363025555555555"
OTHER_WA_ID = "34699111222"
OTHER_USER_ID = "ES.2002"


async def deliver(meta, *messages, **kw) -> None:
    response = await signed_post(meta, p.messages_envelope(*messages, **kw))
    assert response.status_code == 200, response.text


async def message_of(backend, wamid):
    (row,) = await rows(backend, "SELECT id FROM messages WHERE wamid = ?", (wamid,))
    return await backend.store.write(lambda tx: load_message(tx, row["id"]))


async def payload_of(backend, message_id: int) -> dict:
    (row,) = await rows(backend, "SELECT payload FROM outbox WHERE message_id = ?", (message_id,))
    return json.loads(row["payload"])


async def test_group_messages_get_the_groups_thread_and_replies_go_to_the_group(
    backend, meta, agent
):
    private = p.text("my own question", at=AT)
    await deliver(meta, private)
    in_group = p.text("hello all", at=AT + timedelta(seconds=1), group_id=GROUP_ID)
    await deliver(meta, in_group)
    other = p.text(
        "me too", at=AT + timedelta(seconds=2), group_id=GROUP_ID, from_=OTHER_WA_ID,
        user_id=OTHER_USER_ID,
    )  # fmt: skip
    await deliver(
        meta, other, contacts=[p.contact(wa_id=OTHER_WA_ID, user_id=OTHER_USER_ID, name="Luis")]
    )
    one_to_one = await message_of(backend, private["id"])
    first, second = (
        await message_of(backend, in_group["id"]),
        await message_of(backend, other["id"]),
    )
    assert first.thread_id == second.thread_id != one_to_one.thread_id
    assert (first.group_sender.name, first.from_number) == (p.CUSTOMER_NAME, p.CUSTOMER_WA_ID)
    assert (second.group_sender.name, second.from_number) == ("Luis", OTHER_WA_ID)
    assert one_to_one.group_sender is None
    threads = {t["id"]: t for t in (await agent.get("/api/v1/threads")).json()["items"]}
    assert threads[first.thread_id]["group_id"] == GROUP_ID
    assert threads[one_to_one.thread_id]["group_id"] is None
    assert len(threads) == 2

    group_reply = await agent.post(
        f"/api/v1/threads/{first.thread_id}/messages", json={"kind": "text", "text": "Hi all"}
    )
    assert group_reply.status_code == 202, group_reply.text
    payload = await payload_of(backend, group_reply.json()["id"])
    assert (payload["recipient_type"], payload["to"]) == ("group", GROUP_ID)
    private_reply = await agent.post(
        f"/api/v1/threads/{one_to_one.thread_id}/messages", json={"kind": "text", "text": "Hi"}
    )
    payload = await payload_of(backend, private_reply.json()["id"])
    assert (payload["recipient_type"], payload["to"]) == ("individual", p.CUSTOMER_WA_ID)


async def test_a_group_keeps_one_open_thread_per_business_number(backend, meta):
    for second in range(3):
        await deliver(
            meta, p.text(f"msg {second}", at=AT + timedelta(seconds=second), group_id=GROUP_ID)
        )
    (thread,) = await rows(backend, "SELECT id, group_id FROM threads")
    assert thread["group_id"] == GROUP_ID
    (ticket,) = await rows(backend, "SELECT subject FROM tickets")
    assert ticket["subject"] == "msg 0"
