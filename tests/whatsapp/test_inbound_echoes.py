"""Messages the business sent from the WhatsApp Business app on the same number
(coexistence, ``smb_message_echoes``): outbound lines marked "sent from the phone"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.store.conversations import load_message, load_thread
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, counter, rows, signed_post

AT = NOW - timedelta(minutes=5)


def echo(type_: str, payload: Any, *, at, **extra: Any) -> dict[str, Any]:
    data = p.message(type_, payload, at=at, from_=p.DISPLAY_NUMBER, **extra)
    data.pop("from_user_id")
    data["to"] = p.CUSTOMER_WA_ID
    data["to_user_id"] = p.CUSTOMER_USER_ID
    return data


async def deliver_echoes(meta, *echoes: dict[str, Any]) -> None:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": p.DISPLAY_NUMBER,
            "phone_number_id": p.PHONE_NUMBER_ID,
        },
        "message_echoes": list(echoes),
    }
    response = await signed_post(meta, p.envelope(("smb_message_echoes", value)))
    assert response.status_code == 200, response.text


async def message_of(backend, wamid):
    (row,) = await rows(backend, "SELECT id FROM messages WHERE wamid = ?", (wamid,))
    return await backend.store.write(lambda tx: load_message(tx, row["id"]))


async def test_a_reply_sent_from_the_phone_shows_in_the_customers_thread(backend, meta, agent):
    question = p.text("is my order shipped?", at=AT)
    assert (await signed_post(meta, p.messages_envelope(question))).status_code == 200
    (thread_row,) = await rows(backend, "SELECT id FROM threads")
    before = await backend.store.write(lambda tx: load_thread(tx, thread_row["id"]))
    answer = echo(
        "text",
        {"body": "Yes, it left this morning"},
        at=AT + timedelta(minutes=1),
        context={"from": p.CUSTOMER_WA_ID, "id": question["id"]},
    )
    await deliver_echoes(meta, answer)
    got = await message_of(backend, answer["id"])
    assert (got.direction, got.kind, got.text) == ("out", "text", "Yes, it left this morning")
    assert got.sent_from_phone is True
    assert got.thread_id == thread_row["id"]
    assert got.reply_to is not None and got.reply_to.preview == "is my order shipped?"
    after = await backend.store.write(lambda tx: load_thread(tx, thread_row["id"]))
    # our own messages never extend the window
    assert after.session_expires_at == before.session_expires_at
    assert after.last_message_direction == "out"
    page = (await agent.get(f"/api/v1/threads/{thread_row['id']}/messages")).json()
    assert page["items"][0]["sent_from_phone"] is True
    assert page["items"][1]["sent_from_phone"] is False
    # redelivered: stored once
    await deliver_echoes(meta, answer)
    assert len(await rows(backend, "SELECT id FROM messages")) == 2
    assert await counter(backend, "webhook.duplicate") == 1


async def test_an_echo_to_a_new_customer_starts_a_conversation_without_a_window(backend, meta):
    hello = echo("text", {"body": "Hi! Your table is booked"}, at=AT)
    await deliver_echoes(meta, hello)
    got = await message_of(backend, hello["id"])
    assert (got.direction, got.sent_from_phone) == ("out", True)
    (thread,) = await rows(backend, "SELECT session_expires_at FROM threads")
    assert thread["session_expires_at"] is None
    (contact,) = await rows(backend, "SELECT wa_id, wa_user_id FROM contacts")
    assert contact == {"wa_id": p.CUSTOMER_WA_ID, "wa_user_id": p.CUSTOMER_USER_ID}


async def test_a_customer_reaction_to_an_echo_that_came_first_is_attached(backend, meta):
    hello = echo("text", {"body": "Your parcel is on its way"}, at=AT)
    react = p.message(
        "reaction", {"message_id": hello["id"], "emoji": "🙏"}, at=AT + timedelta(seconds=5)
    )
    assert (await signed_post(meta, p.messages_envelope(react))).status_code == 200
    await deliver_echoes(meta, hello)
    got = await message_of(backend, hello["id"])
    assert [(r.emoji, r.by) for r in got.reactions] == [("🙏", "in")]


async def test_a_photo_sent_from_the_phone_is_fetched_like_a_received_one(backend, meta):
    photo = echo(
        "image",
        {"id": "7788990011", "mime_type": "image/jpeg", "sha256": "abc", "caption": "your receipt"},
        at=AT,
    )
    await deliver_echoes(meta, photo)
    got = await message_of(backend, photo["id"])
    assert (got.direction, got.kind, got.sent_from_phone) == ("out", "image", True)
    assert got.media is not None and got.media.caption == "your receipt"
    (media,) = await rows(backend, "SELECT external_id, direction, phone_number_id FROM media")
    assert media == {
        "external_id": "7788990011",
        "direction": "in",
        "phone_number_id": p.PHONE_NUMBER_ID,
    }


async def test_an_echo_without_a_recipient_is_counted_not_filed(backend, meta):
    nobody = echo("text", {"body": "to whom?"}, at=AT)
    del nobody["to"], nobody["to_user_id"]
    await deliver_echoes(meta, nobody)
    assert await rows(backend, "SELECT id FROM messages") == []
    assert await rows(backend, "SELECT id FROM contacts") == []
    assert await counter(backend, "webhook.invalid_item") == 1
