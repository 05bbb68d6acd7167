"""Contacts, identity changes, welcome events, reactions and routing of inbound messages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.store.conversations import load_message
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, counter, rows, signed_post

AT = NOW - timedelta(minutes=5)


async def deliver(meta, *messages, **kw) -> None:
    response = await signed_post(meta, p.messages_envelope(*messages, **kw))
    assert response.status_code == 200, response.text


async def message_of(backend, wamid):
    (row,) = await rows(backend, "SELECT id FROM messages WHERE wamid = ?", (wamid,))
    return await backend.store.write(lambda tx: load_message(tx, row["id"]))


# ------------------------------------------------------------------ contacts


async def test_a_new_sender_becomes_a_contact_from_the_profile(backend, meta):
    await deliver(
        meta,
        p.text("hi", at=AT),
        contacts=[p.contact(parent_user_id=p.CUSTOMER_PARENT_ID, username="@maria")],
    )
    (contact,) = await rows(
        backend,
        "SELECT first_name, last_name, phone, wa_id, wa_user_id, "
        "wa_parent_user_id, wa_username, country FROM contacts",
    )
    assert contact == {
        "first_name": "Maria",
        "last_name": "Lopez",
        "phone": "+34612345678",
        "wa_id": "34612345678",
        "wa_user_id": p.CUSTOMER_USER_ID,
        "wa_parent_user_id": p.CUSTOMER_PARENT_ID,
        "wa_username": "@maria",
        "country": "ES",
    }


async def test_an_existing_contact_is_matched_by_phone(backend, meta):
    def seed(tx):
        return tx.insert(
            "contacts",
            {
                "first_name": "Known",
                "mobile_phone": "+34612345678",
                "created_at": tx.now_iso,
                "updated_at": tx.now_iso,
            },
        )

    known = await backend.store.write(seed)
    await deliver(meta, p.text("hi", at=AT))
    contacts = await rows(backend, "SELECT id, wa_user_id FROM contacts")
    assert contacts == [{"id": known, "wa_user_id": p.CUSTOMER_USER_ID}]


async def test_messages_from_two_customers_in_one_value_are_told_apart(backend, meta):
    tom = p.text("from tom", at=AT, from_="447700900123", user_id="GB.777")
    maria = p.text("from maria", at=AT)
    contacts = [p.contact(wa_id="447700900123", user_id="GB.777", name="Tom Jones"), p.contact()]
    await deliver(meta, tom, maria, contacts=contacts)
    names = await rows(
        backend,
        "SELECT c.first_name AS name, m.text FROM messages m "
        "JOIN threads t ON t.id = m.thread_id "
        "JOIN contacts c ON c.id = t.contact_id ORDER BY m.text",
    )
    assert names == [{"name": "Maria", "text": "from maria"}, {"name": "Tom", "text": "from tom"}]


# ------------------------------------------------------------------ system messages


async def test_user_changed_number_updates_the_contact_and_adds_an_event_line(backend, meta):
    await deliver(meta, p.text("hello", at=AT))
    system = p.message(
        "system",
        {
            "body": "Maria changed their phone number to a new number",
            "type": "user_changed_number",
            "wa_id": "34699999999",
            "user_id": "ES.NEW.555",
        },
        at=AT + timedelta(minutes=1),
    )
    response = await signed_post(
        meta, p.envelope(("messages", p.value(messages=[system], contacts=[])))
    )
    assert response.status_code == 200
    (contact,) = await rows(backend, "SELECT phone, wa_id, wa_user_id FROM contacts")
    # the identity moves; the phone property is the customer's own and stays
    assert contact == {"phone": "+34612345678", "wa_id": "34699999999", "wa_user_id": "ES.NEW.555"}
    event = await message_of(backend, system["id"])
    assert event.kind == "event"
    assert event.event == "user_changed_number"
    assert event.text == "Maria changed their phone number to a new number"
    (ticket,) = await rows(
        backend,
        "SELECT th.inbound_count, t.contact_wa_id FROM tickets t JOIN threads th ON th.id = t.thread_id",
    )
    assert ticket == {"inbound_count": 1, "contact_wa_id": "34699999999"}
    # the next message from the new identity joins the same thread
    await deliver(
        meta,
        p.text("it's me", at=AT + timedelta(minutes=2), from_="34699999999", user_id="ES.NEW.555"),
        contacts=[p.contact(wa_id="34699999999", user_id="ES.NEW.555")],
    )
    assert len(await rows(backend, "SELECT id FROM threads")) == 1
    assert len(await rows(backend, "SELECT id FROM contacts")) == 1


async def test_user_changed_user_id_and_the_legacy_forms(backend, meta):
    await deliver(meta, p.text("hello", at=AT))
    changed = p.message(
        "system",
        {"body": "user id changed", "type": "user_changed_user_id", "user_id": "ES.2222"},
        at=AT + timedelta(seconds=1),
    )
    legacy = p.message(
        "system",
        {
            "body": "Maria changed from +34 612 to +34 633",
            "type": "customer_changed_number",
            "new_wa_id": "34633333333",
        },
        at=AT + timedelta(seconds=2),
        user_id="ES.2222",
    )
    response = await signed_post(
        meta,
        p.envelope(
            ("messages", p.value(messages=[changed], contacts=[])),
            ("messages", p.value(messages=[legacy], contacts=[])),
        ),
    )
    assert response.status_code == 200
    (contact,) = await rows(backend, "SELECT wa_id, wa_user_id FROM contacts")
    assert contact == {"wa_id": "34633333333", "wa_user_id": "ES.2222"}
    assert (await message_of(backend, changed["id"])).event == "user_changed_user_id"
    assert (await message_of(backend, legacy["id"])).event == "user_changed_number"


async def test_a_system_message_of_an_unknown_contact_with_no_thread(backend, meta):
    system = p.message(
        "system",
        {"body": "changed", "type": "user_changed_user_id", "user_id": "ES.3333"},
        at=AT,
        user_id="ES.unknown",
    )
    await deliver(meta, system, contacts=[])
    assert await rows(backend, "SELECT id FROM messages") == []
    # redelivery is a no-op
    await deliver(meta, system, contacts=[])
    assert await counter(backend, "webhook.duplicate") == 1


async def test_request_welcome_starts_a_conversation_with_an_event_line(backend, meta):
    welcome = p.message("request_welcome", None, at=AT)
    await deliver(meta, welcome)
    event = await message_of(backend, welcome["id"])
    assert (event.kind, event.event) == ("event", "request_welcome")
    (thread,) = await rows(
        backend, "SELECT last_message_at, last_message_preview, session_expires_at FROM threads"
    )
    assert thread["last_message_preview"] == "Started a conversation"
    assert thread["session_expires_at"] is not None
    (ticket,) = await rows(
        backend,
        "SELECT t.status, th.inbound_count, t.subject FROM tickets t JOIN threads th ON th.id = t.thread_id",
    )
    assert ticket == {"status": "new", "inbound_count": 0, "subject": "New conversation"}


# ------------------------------------------------------------------ reactions


async def test_a_reaction_attaches_to_its_message_and_an_empty_emoji_removes_it(backend, meta):
    target = p.text("my parcel", at=AT)
    await deliver(meta, target)
    react = p.message(
        "reaction", {"message_id": target["id"], "emoji": "👍"}, at=AT + timedelta(seconds=1)
    )
    await deliver(meta, react)
    got = await message_of(backend, target["id"])
    assert [(r.emoji, r.by) for r in got.reactions] == [("👍", "in")]
    # redelivered: nothing changes
    await deliver(meta, react)
    assert await counter(backend, "webhook.duplicate") == 1
    change = p.message(
        "reaction", {"message_id": target["id"], "emoji": "❤️"}, at=AT + timedelta(seconds=2)
    )
    await deliver(meta, change)
    assert [r.emoji for r in (await message_of(backend, target["id"])).reactions] == ["❤️"]
    for removal in ({"message_id": target["id"], "emoji": ""}, {"message_id": target["id"]}):
        await deliver(meta, p.message("reaction", removal, at=AT + timedelta(seconds=3)))
        assert (await message_of(backend, target["id"])).reactions == []
    # a reaction is not a message: no row, no counters
    assert len(await rows(backend, "SELECT id FROM messages")) == 1
    (ticket,) = await rows(
        backend, "SELECT th.inbound_count FROM tickets t JOIN threads th ON th.id = t.thread_id"
    )
    assert ticket["inbound_count"] == 1
    events = await rows(backend, "SELECT type FROM events WHERE type = 'message.updated'")
    assert len(events) == 4


# ------------------------------------------------------------------ routing rules from settings


@pytest.fixture
def backend_overrides():
    return {
        "routing_rules": [
            {"required_skills": ["billing"], "keywords": ["invoice"]},
            {"required_skills": ["lang:es"], "countries": ["ES"]},
        ]
    }


async def test_routing_rules_from_settings_pick_the_owner(backend, meta):
    await deliver(meta, p.text("hola", at=AT))
    await deliver(
        meta,
        p.text("my invoice is wrong", at=AT, from_="447700900123", user_id="GB.1"),
        contacts=[p.contact(wa_id="447700900123", user_id="GB.1", name="Tom")],
    )
    owners = await rows(backend, "SELECT subject, owner_id FROM tickets ORDER BY id")
    assert owners == [
        {"subject": "hola", "owner_id": backend.agent.id},  # Bob: lang:es
        {"subject": "my invoice is wrong", "owner_id": backend.admin.id},  # Ada: billing
    ]


async def test_a_returning_sender_is_found_by_bsuid_whatever_else_changed(backend, meta):
    """The ingest reads a returning sender's contact and open thread in the statement that
    admits the message; any identity field that differs (a new username here) or a
    parent BSUID takes the full association instead, and the thread is still theirs."""
    await deliver(meta, p.text("one", at=AT), contacts=[p.contact()])
    await deliver(meta, p.text("two", at=AT + timedelta(minutes=1)), contacts=[p.contact()])
    await deliver(
        meta,
        p.text("three", at=AT + timedelta(minutes=2)),
        contacts=[p.contact(username="@maria")],
    )
    await deliver(
        meta,
        p.text("four", at=AT + timedelta(minutes=3)),
        contacts=[p.contact(username="@maria", parent_user_id=p.CUSTOMER_PARENT_ID)],
    )
    await deliver(
        meta,
        p.text("five", at=AT + timedelta(minutes=4)),
        contacts=[p.contact(username="@maria", parent_user_id=p.CUSTOMER_PARENT_ID)],
    )
    (contact,) = await rows(
        backend, "SELECT id, wa_user_id, wa_parent_user_id, wa_username FROM contacts"
    )
    assert contact["wa_username"] == "@maria"
    assert contact["wa_parent_user_id"] == p.CUSTOMER_PARENT_ID
    (thread,) = await rows(backend, "SELECT id, contact_id, unread_count FROM threads")
    assert thread["contact_id"] == contact["id"] and thread["unread_count"] == 5
    texts = await rows(
        backend, "SELECT text FROM messages WHERE thread_id = ? ORDER BY id", (thread["id"],)
    )
    assert [row["text"] for row in texts] == ["one", "two", "three", "four", "five"]
    (ticket,) = await rows(
        backend, "SELECT th.inbound_count FROM tickets t JOIN threads th ON th.id = t.thread_id"
    )
    assert ticket["inbound_count"] == 5

    # a closed ticket is not found: the next message starts a new thread for the contact
    await backend.store.write(
        lambda tx: tx.execute("UPDATE tickets SET status = 'closed'") and None
    )
    await deliver(
        meta,
        p.text("six", at=AT + timedelta(minutes=5)),
        contacts=[p.contact(username="@maria", parent_user_id=p.CUSTOMER_PARENT_ID)],
    )
    threads = await rows(backend, "SELECT contact_id FROM threads ORDER BY id")
    assert [row["contact_id"] for row in threads] == [contact["id"], contact["id"]]
