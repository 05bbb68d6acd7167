"""Late and out-of-order delivery: Meta retries for days and never promises order. The
message log follows WhatsApp's timestamps (arrival only breaks ties), the list preview
follows the newest message, and an identity change applies only when it is newer than
the one the contact already has (SPEC §3, "Order")."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, rows, signed_post

AT = NOW - timedelta(hours=2)


async def deliver(meta, *messages, **kw) -> None:
    response = await signed_post(meta, p.messages_envelope(*messages, **kw))
    assert response.status_code == 200, response.text


async def the_thread(agent) -> dict:
    response = await agent.get("/api/v1/threads")
    assert response.status_code == 200, response.text
    (thread,) = response.json()["items"]
    return thread


async def every_page(agent, thread_id: int, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        params = {"limit": limit} | ({"before": cursor} if cursor else {})
        response = await agent.get(f"/api/v1/threads/{thread_id}/messages", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([message["text"] for message in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


async def test_messages_delivered_newest_first_are_listed_by_their_timestamp(backend, meta, agent):
    texts = [f"message {n}" for n in range(5)]
    for n in reversed(range(5)):
        await deliver(meta, p.text(texts[n], at=AT + timedelta(minutes=n)))
    thread = await the_thread(agent)
    assert await every_page(agent, thread["id"], limit=50) == [texts[::-1]]
    # the preview and last_message_at are the newest message's, not the last to arrive
    assert thread["last_message_preview"] == "message 4"
    assert thread["last_message_at"] == "2026-11-26T08:04:00Z"
    assert thread["ticket"]["first_inbound_at"] == "2026-11-26T08:00:00Z"
    assert thread["ticket"]["last_inbound_at"] == "2026-11-26T08:04:00Z"
    assert thread["ticket"]["subject"] == "message 4"  # the first to arrive opened the ticket


async def test_paging_with_before_across_late_messages_loses_and_repeats_nothing(
    backend, meta, agent
):
    arrival = [3, 0, 6, 1, 5, 2, 4, 7]  # minutes after AT, in the order Meta delivers them
    for minute in arrival:
        await deliver(meta, p.text(f"minute {minute}", at=AT + timedelta(minutes=minute)))
    # two messages of the same second: arrival breaks the tie
    await deliver(meta, p.text("minute 4, second to arrive", at=AT + timedelta(minutes=4)))
    thread = await the_thread(agent)
    expected = [f"minute {m}" for m in range(7, -1, -1)]
    expected.insert(expected.index("minute 4"), "minute 4, second to arrive")
    for limit in (1, 2, 3, 4):
        pages = await every_page(agent, thread["id"], limit)
        assert [text for page in pages for text in page] == expected, limit
        assert all(len(page) == limit for page in pages[:-1])
    assert thread["last_message_preview"] == "minute 7"


async def test_a_late_old_message_does_not_become_the_preview(backend, meta, agent):
    await deliver(meta, p.text("newest", at=AT + timedelta(minutes=10)))
    await deliver(meta, p.text("sent long ago", at=AT - timedelta(days=2)))
    thread = await the_thread(agent)
    assert thread["last_message_preview"] == "newest"
    assert thread["last_message_at"] == "2026-11-26T08:10:00Z"
    assert thread["unread_count"] == 2
    assert thread["ticket"]["inbound_count"] == 2


def changed_number(at, new_wa_id: str, new_user_id: str, **kw):
    return p.message(
        "system",
        {
            "body": f"Maria changed their number to {new_wa_id}",
            "type": "user_changed_number",
            "wa_id": new_wa_id,
            "user_id": new_user_id,
        },
        at=at,
        **kw,
    )


async def contact_identity(backend) -> dict:
    (contact,) = await rows(
        backend, "SELECT wa_id, wa_user_id, wa_username, first_name FROM contacts"
    )
    return contact


async def test_an_identity_change_older_than_the_applied_one_is_ignored(backend, meta, agent):
    await deliver(meta, p.text("hello", at=AT))
    newer = changed_number(AT + timedelta(minutes=20), "34600000002", "ES.SECOND")
    older = changed_number(AT + timedelta(minutes=10), "34600000001", "ES.FIRST")
    await deliver(meta, newer, contacts=[])
    await deliver(meta, older, contacts=[])  # delivered late
    assert await contact_identity(backend) == {
        "wa_id": "34600000002",
        "wa_user_id": "ES.SECOND",
        "wa_username": None,
        "first_name": "Maria",
    }
    # the late change is kept as an event line in its place, marked as not applied
    thread = await the_thread(agent)
    response = await agent.get(f"/api/v1/threads/{thread['id']}/messages")
    events = [m for m in response.json()["items"] if m["kind"] == "event"]
    assert [m["wamid"] for m in events] == [newer["id"], older["id"]]
    (content,) = await rows(backend, "SELECT content FROM messages WHERE wamid = ?", (older["id"],))
    stored = json.loads(content["content"])
    assert (stored["current"], stored["applied"]) == ({}, False)
    assert "applied" not in json.loads(
        (await rows(backend, "SELECT content FROM messages WHERE wamid = ?", (newer["id"],)))[0][
            "content"
        ]
    )


async def test_a_late_message_from_the_old_number_does_not_switch_the_contact_back(backend, meta):
    await deliver(meta, p.text("hello", at=AT))
    await deliver(
        meta, changed_number(AT + timedelta(minutes=10), "34600000002", "ES.SECOND"), contacts=[]
    )
    # sent from the old phone before the change, delivered after it
    await deliver(meta, p.text("sent before I changed", at=AT + timedelta(minutes=5)))
    identity = await contact_identity(backend)
    assert (identity["wa_id"], identity["wa_user_id"]) == ("34600000002", "ES.SECOND")
    assert len(await rows(backend, "SELECT id FROM threads")) == 1


async def test_a_late_message_does_not_bring_back_an_old_username(backend, meta):
    await deliver(
        meta,
        p.text("new name", at=AT + timedelta(minutes=10)),
        contacts=[p.contact(username="@maria_new")],
    )
    await deliver(
        meta,
        p.text("old name", at=AT + timedelta(minutes=5)),
        contacts=[p.contact(username="@maria_old")],
    )
    assert (await contact_identity(backend))["wa_username"] == "@maria_new"
    # a newer one still applies
    await deliver(
        meta,
        p.text("newest name", at=AT + timedelta(minutes=15)),
        contacts=[p.contact(username="@maria_newest")],
    )
    assert (await contact_identity(backend))["wa_username"] == "@maria_newest"


async def test_the_read_receipt_goes_to_the_newest_message_not_the_last_to_arrive(
    backend, meta, agent
):
    newest = p.text("newest", at=AT + timedelta(minutes=10))
    await deliver(meta, newest)
    await deliver(meta, p.text("sent earlier", at=AT))
    thread = await the_thread(agent)
    assert await backend.store.last_inbound_wamid(thread["id"]) == (
        newest["id"],
        p.PHONE_NUMBER_ID,
    )


def changed_from(at, old_wa_id: str, old_user_id: str, new_wa_id: str, new_user_id: str):
    """A number change sent from ``old_wa_id``/``old_user_id`` (not the first number)."""
    return changed_number(at, new_wa_id, new_user_id, from_=old_wa_id, user_id=old_user_id)


async def customers(backend) -> list[dict]:
    """The contacts that stand for a customer (a merged duplicate names its survivor)."""
    return await rows(
        backend, "SELECT id, wa_id, wa_user_id, first_name FROM contacts WHERE merged_into IS NULL"
    )


async def test_a_number_changed_twice_delivered_in_reverse_is_one_customer(backend, meta, agent):
    await deliver(meta, p.text("hello", at=AT))
    first = changed_number(AT + timedelta(minutes=10), "34600000002", "ES.SECOND")
    second = changed_from(
        AT + timedelta(minutes=20), "34600000002", "ES.SECOND", "34600000003", "ES.THIRD"
    )
    await deliver(meta, second, contacts=[])  # the second change first
    await deliver(meta, first, contacts=[])
    (customer,) = await customers(backend)
    assert (customer["wa_id"], customer["wa_user_id"], customer["first_name"]) == (
        "34600000003",
        "ES.THIRD",
        "Maria",
    )
    newest = p.text(
        "from my third number",
        at=AT + timedelta(minutes=30),
        from_="34600000003",
        user_id="ES.THIRD",
    )
    await deliver(meta, newest, contacts=[p.contact(wa_id="34600000003", user_id="ES.THIRD")])
    assert len(await customers(backend)) == 1
    thread = await the_thread(agent)
    response = await agent.get(f"/api/v1/threads/{thread['id']}/messages")
    assert [m["wamid"] for m in reversed(response.json()["items"])][-1] == newest["id"]
    assert len(await rows(backend, "SELECT id FROM threads")) == 1


async def test_a_late_message_from_the_middle_number_finds_the_customer(backend, meta):
    await deliver(meta, p.text("hello", at=AT))
    await deliver(
        meta,
        changed_from(
            AT + timedelta(minutes=20), "34600000002", "ES.SECOND", "34600000003", "ES.THIRD"
        ),
        contacts=[],
    )
    await deliver(
        meta, changed_number(AT + timedelta(minutes=10), "34600000002", "ES.SECOND"), contacts=[]
    )
    # sent from the second number between the two changes, delivered after both
    middle = p.text(
        "sent from my second number", at=AT + timedelta(minutes=15), from_="34600000002",
        user_id="ES.SECOND",
    )  # fmt: skip
    await deliver(meta, middle, contacts=[p.contact(wa_id="34600000002", user_id="ES.SECOND")])
    (customer,) = await customers(backend)
    assert customer["wa_user_id"] == "ES.THIRD"  # the newest identity stays
    assert len(await rows(backend, "SELECT id FROM threads")) == 1


async def test_a_message_from_the_new_number_before_its_change_arrives_is_the_customer(
    backend, meta, agent
):
    await deliver(meta, p.text("hello", at=AT))
    # written from the new number, delivered before the change that announces it
    later = p.text(
        "it is me, new phone", at=AT + timedelta(minutes=15), from_="34600000002",
        user_id="ES.SECOND",
    )  # fmt: skip
    await deliver(meta, later, contacts=[p.contact(wa_id="34600000002", user_id="ES.SECOND")])
    await deliver(
        meta, changed_number(AT + timedelta(minutes=10), "34600000002", "ES.SECOND"), contacts=[]
    )
    (customer,) = await customers(backend)
    assert (customer["wa_user_id"], customer["first_name"]) == ("ES.SECOND", "Maria")
    # both conversations are the customer's now, marked for an agent to look at
    tickets = await rows(backend, "SELECT contact_id, needs_review FROM tickets ORDER BY id")
    assert tickets == [{"contact_id": customer["id"], "needs_review": 1}] * 2
    detail = (await agent.get(f"/api/v1/contacts/{customer['id']}")).json()
    assert len(detail["tickets"]) == 2  # the contact panel lists both
