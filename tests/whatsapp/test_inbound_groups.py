"""WhatsApp groups: a group's messages go to the group's own thread (not the sender's
1:1 conversation), each shows who wrote it, and replies go to the group."""

from __future__ import annotations

from datetime import timedelta

from backend.store.conversations import load_message
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, SIM_CUSTOMER, rows, signed_post

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


async def test_group_messages_get_the_groups_thread(backend, meta, agent):
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


async def test_replies_go_to_the_group_and_to_the_private_chat_as_meta_receives_them(sim):
    """What Meta (the simulator) receives: a group thread's reply is addressed to the
    group, the same customer's private thread's reply to them alone."""
    private_wamid = await sim.customer_sends({"type": "text", "text": "my own question"})
    group_wamid = await sim.customer_sends(
        {"type": "text", "text": "hello all", "group_id": GROUP_ID}
    )
    private = await sim.stored(private_wamid)
    in_group = await sim.stored(group_wamid)
    assert private.thread_id != in_group.thread_id
    async with sim.backend.client(sim.backend.agent_token) as agent:
        group_reply = await agent.post(
            f"/api/v1/threads/{in_group.thread_id}/messages",
            json={"kind": "text", "text": "Hi all"},
        )
        assert group_reply.status_code == 202, group_reply.text
        private_reply = await agent.post(
            f"/api/v1/threads/{private.thread_id}/messages", json={"kind": "text", "text": "Hi"}
        )
        assert private_reply.status_code == 202, private_reply.text

    async def received() -> dict[str, dict] | None:
        items = (await sim.control("GET", "/sent"))["items"]
        by_text = {item["body"]["text"]["body"]: item["body"] for item in items}
        return by_text if len(by_text) == 2 else None

    bodies = await sim.until(received)
    assert (bodies["Hi all"]["recipient_type"], bodies["Hi all"]["to"]) == ("group", GROUP_ID)
    assert "recipient" not in bodies["Hi all"]
    assert (bodies["Hi"]["recipient_type"], bodies["Hi"]["to"]) == ("individual", SIM_CUSTOMER)
    assert bodies["Hi all"]["biz_opaque_callback_data"] == f"ttydesk:{group_reply.json()['id']}"


async def test_a_group_keeps_one_open_thread_per_business_number(backend, meta):
    for second in range(3):
        await deliver(
            meta, p.text(f"msg {second}", at=AT + timedelta(seconds=second), group_id=GROUP_ID)
        )
    (thread,) = await rows(backend, "SELECT id, group_id FROM threads")
    assert thread["group_id"] == GROUP_ID
    (ticket,) = await rows(backend, "SELECT subject FROM tickets")
    assert ticket["subject"] == "msg 0"
