"""A received mail's new thread and ticket, on both engines: the thread's row is written
with the mail's activity in its INSERT (``create_thread(..., inbound=…)``) and the ticket
keeps the sender's WhatsApp id read with the contact, so both must read as the general
path leaves them: a thread made first, then counted by ``count_inbound``, and the ids
read from the contact's row."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend import schemas
from backend.domain.clock import FixedClock
from backend.email.receive import MailReceiver
from backend.store import PostgresStore, SqliteStore
from backend.store import conversations as conv
from backend.store.engine import Tx
from tests.backend.test_outbox_leases import SUPPORT
from tests.email.test_mail_store import NOW, mail

Store = SqliteStore | PostgresStore
# the thread's list columns and inbound counters: what count_inbound writes
ACTIVITY = (
    "last_message_at, last_message_preview, last_message_direction, unread_count, "
    "inbound_count, first_inbound_at, last_inbound_at, inbound_stored_at, "
    "session_expires_at, session_counted, status, owner_id, channel_type, email_channel_id"
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
async def store(request, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        made: Store = SqliteStore(tmp_path / "desk.db", clock=FixedClock(NOW))
    else:
        url = request.getfixturevalue("postgresql_url")
        made = PostgresStore(url, pool_size=4, clock=FixedClock(NOW))
    await made.open()
    try:
        yield made
    finally:
        await made.close()


def _made_then_counted(tx: Tx, *, like: int, contact_id: int) -> int:
    """A thread as the general path makes it for the message ``like``: created empty, then
    the message inserted and counted on the row."""
    message = tx.one(
        "SELECT m.kind, m.text, m.created_at, th.owner_id, th.status, th.email_channel_id "
        "FROM messages m JOIN threads th ON th.id = m.thread_id WHERE m.id = ?",
        (like,),
    )
    assert message is not None
    thread_id, _ = conv.create_thread(
        tx,
        contact_id=contact_id,
        phone_number_id=None,
        business_number=SUPPORT,
        subject="Where is my order?",
        owner_id=message["owner_id"],
        email_channel_id=message["email_channel_id"],
        moved_to=message["status"],
    )
    conv.insert_message(
        tx,
        thread_id=thread_id,
        direction=schemas.Direction.inbound,
        kind=message["kind"],
        text=message["text"],
        at=conv.parse_dt(message["created_at"]),
    )
    return thread_id


async def test_a_mail_s_new_thread_reads_as_one_made_then_counted(store: Store, tmp_path: Path):
    await store.add_mailbox(SUPPORT, "Acme Support")
    await store.create_agent(schemas.AgentCreate(name="Ada", role=schemas.Role.agent))
    known = await store.create_contact(
        schemas.ContactCreate(email="ana@example.com", wa_id="34600111222")
    )
    receiver = MailReceiver(store, tmp_path / "media")
    for sender, text in (
        ("Ana <ana@example.com>", "My order has not arrived. " * 8),  # a known contact
        ("bo@example.com", "Where  is\nmy parcel?"),  # a new one
    ):
        raw = mail(text, sender=sender, message_id=f"<{sender[-15:]}>")
        received = await receiver.receive(raw, (SUPPORT,))
        assert received.thread_id is not None and received.message_id is not None
        contact_id = await store.readers.value(
            "SELECT contact_id FROM threads WHERE id = ?", (received.thread_id,)
        )
        counted = await store.write(
            functools.partial(_made_then_counted, like=received.message_id, contact_id=contact_id)
        )
        rows = [
            tuple(await store.readers.one(f"SELECT {ACTIVITY} FROM threads WHERE id = ?", (id_,)))
            for id_ in (received.thread_id, counted)
        ]
        assert rows[0] == rows[1]
        assert rows[0][3:5] == (1, 1)  # unread, inbound
        tickets = [
            await store.readers.value(
                "SELECT t.contact_wa_id FROM threads th JOIN tickets t ON t.id = th.ticket_id "
                "WHERE th.id = ?",
                (id_,),
            )
            for id_ in (received.thread_id, counted)
        ]
        assert tickets[0] == tickets[1]
        assert tickets[0] == ("34600111222" if contact_id == known.id else None)
