"""One customer is one conversation: a sender is found by the ids WhatsApp gives (the
BSUID and the wa_id exactly as sent), whether or not the phone library calls the number
valid (its metadata lags new number ranges; 447700900555 is in the UK's fictional range,
which it refuses)."""

from __future__ import annotations

from datetime import timedelta

from backend.domain.phones import normalize_phone
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, rows, signed_post

AT = NOW - timedelta(minutes=30)
UNKNOWN_RANGE = "447700900555"
UK_USER_ID = "GB.5550001112223334"


async def deliver(meta, *messages, **kw) -> None:
    response = await signed_post(meta, p.messages_envelope(*messages, **kw))
    assert response.status_code == 200, response.text


def from_unknown_range(body: str, minute: int, *, user_id: str | None, **kw):
    message = p.text(body, at=AT + timedelta(minutes=minute), from_=UNKNOWN_RANGE, user_id=user_id, **kw)  # fmt: skip
    contact = p.contact(wa_id=UNKNOWN_RANGE, user_id=user_id, name="Tom Jones")
    return message, contact


async def one_conversation(backend) -> dict:
    """The one contact, thread and ticket there are, and the thread's texts in order."""
    (contact,) = await rows(backend, "SELECT id, phone, wa_id, wa_user_id FROM contacts")
    (thread,) = await rows(backend, "SELECT id, contact_id, ticket_id FROM threads")
    (ticket,) = await rows(backend, "SELECT id, contact_id, owner_id FROM tickets")
    assert thread["contact_id"] == ticket["contact_id"] == contact["id"]
    assert thread["ticket_id"] == ticket["id"]
    texts = await rows(
        backend, "SELECT text FROM messages WHERE thread_id = ? ORDER BY id", (thread["id"],)
    )
    return {**contact, "texts": [row["text"] for row in texts]}


def test_the_number_is_one_the_phone_library_refuses():
    assert normalize_phone(UNKNOWN_RANGE) is None


async def test_three_texts_without_a_user_id_are_one_conversation(backend, meta):
    for minute, body in enumerate(("one", "two", "three")):
        message, contact = from_unknown_range(body, minute, user_id=None)
        await deliver(meta, message, contacts=[contact])
    found = await one_conversation(backend)
    assert found == {
        "id": found["id"],
        "phone": None,  # not a number the library knows: no phone property
        "wa_id": UNKNOWN_RANGE,
        "wa_user_id": None,
        "texts": ["one", "two", "three"],
    }


async def test_with_and_without_a_user_id_it_is_the_same_customer(backend, meta):
    for minute, (body, user_id) in enumerate(
        (("one", None), ("two", UK_USER_ID), ("three", None), ("four", UK_USER_ID))
    ):
        message, contact = from_unknown_range(body, minute, user_id=user_id)
        await deliver(meta, message, contacts=[contact])
    found = await one_conversation(backend)
    assert found["wa_user_id"] == UK_USER_ID
    assert found["texts"] == ["one", "two", "three", "four"]


async def test_three_texts_with_a_user_id_are_one_conversation(backend, meta):
    for minute, body in enumerate(("one", "two", "three")):
        message, contact = from_unknown_range(body, minute, user_id=UK_USER_ID)
        await deliver(meta, message, contacts=[contact])
    assert (await one_conversation(backend))["texts"] == ["one", "two", "three"]


async def test_a_reply_quoting_the_first_message_lands_in_the_same_thread(backend, meta):
    first, contact = from_unknown_range("my order", 0, user_id=None)
    await deliver(meta, first, contacts=[contact])
    second, _ = from_unknown_range("and also", 1, user_id=None)
    await deliver(meta, second, contacts=[contact])
    quoting, _ = from_unknown_range("see above", 2, user_id=None, context={"id": first["id"]})
    await deliver(meta, quoting, contacts=[contact])
    assert (await one_conversation(backend))["texts"] == ["my order", "and also", "see above"]
    (reply,) = await rows(
        backend,
        "SELECT m.thread_id, q.thread_id AS quoted_thread FROM messages m "
        "JOIN messages q ON q.id = m.reply_to_id WHERE m.wamid = ?",
        (quoting["id"],),
    )
    assert reply["thread_id"] == reply["quoted_thread"]


async def test_a_number_change_then_updates_the_one_contact(backend, meta):
    for minute, body in enumerate(("one", "two")):
        message, contact = from_unknown_range(body, minute, user_id=None)
        await deliver(meta, message, contacts=[contact])
    system = p.message(
        "system",
        {
            "body": "Tom changed their number",
            "type": "user_changed_number",
            "wa_id": "447700900777",
        },
        at=AT + timedelta(minutes=5),
        from_=UNKNOWN_RANGE,
        user_id=None,
    )
    await deliver(meta, system, contacts=[])
    found = await one_conversation(backend)
    assert found["wa_id"] == "447700900777"
    # and the new number's messages are the same customer's
    message = p.text("new phone", at=AT + timedelta(minutes=6), from_="447700900777", user_id=None)
    await deliver(meta, message, contacts=[p.contact(wa_id="447700900777", user_id=None)])
    assert (await one_conversation(backend))["texts"] == [
        "one",
        "two",
        "Tom changed their number",
        "new phone",
    ]


async def test_a_valid_number_is_still_associated_with_a_record_by_its_phone(backend, meta):
    """E.164 normalisation keeps its one job: matching the phone properties of records."""

    def seed(tx):
        return tx.insert(
            "contacts",
            {"first_name": "Known", "phone": "+34612345678", "created_at": tx.now_iso,
             "updated_at": tx.now_iso},
        )  # fmt: skip

    known = await backend.store.write(seed)
    await deliver(meta, p.text("hi", at=AT, user_id=None), contacts=[p.contact(user_id=None)])
    await deliver(
        meta,
        p.text("again", at=AT + timedelta(minutes=1), user_id=None),
        contacts=[p.contact(user_id=None)],
    )
    found = await one_conversation(backend)
    assert found["id"] == known and found["wa_id"] == p.CUSTOMER_WA_ID


async def test_a_late_message_from_the_old_number_finds_the_customer(backend, meta):
    """After a number change the old wa_id is no longer the contact's: a message sent from
    it before the change and delivered after still joins the customer's conversation,
    and does not switch the contact back."""
    first, contact = from_unknown_range("one", 0, user_id=None)
    await deliver(meta, first, contacts=[contact])
    system = p.message(
        "system",
        {
            "body": "Tom changed their number",
            "type": "user_changed_number",
            "wa_id": "447700900777",
        },
        at=AT + timedelta(minutes=5),
        from_=UNKNOWN_RANGE,
        user_id=None,
    )
    await deliver(meta, system, contacts=[])
    late, _ = from_unknown_range("sent before the change", 2, user_id=None)
    await deliver(meta, late, contacts=[contact])
    found = await one_conversation(backend)
    assert found["wa_id"] == "447700900777"
    assert found["texts"] == ["one", "Tom changed their number", "sent before the change"]


async def test_the_old_number_written_from_after_the_change_is_someone_else(backend, meta):
    """Numbers given up are given to others: only messages sent before the change are
    taken for the former owner's."""
    first, contact = from_unknown_range("one", 0, user_id=None)
    await deliver(meta, first, contacts=[contact])
    system = p.message(
        "system",
        {
            "body": "Tom changed their number",
            "type": "user_changed_number",
            "wa_id": "447700900777",
        },
        at=AT + timedelta(minutes=5),
        from_=UNKNOWN_RANGE,
        user_id=None,
    )
    await deliver(meta, system, contacts=[])
    newcomer, _ = from_unknown_range("hi, new here", 20, user_id=None)
    await deliver(
        meta, newcomer, contacts=[p.contact(wa_id=UNKNOWN_RANGE, user_id=None, name="Jo")]
    )
    contacts = await rows(backend, "SELECT first_name, wa_id FROM contacts ORDER BY id")
    assert contacts == [
        {"first_name": "Tom", "wa_id": "447700900777"},
        {"first_name": "Jo", "wa_id": UNKNOWN_RANGE},
    ]
