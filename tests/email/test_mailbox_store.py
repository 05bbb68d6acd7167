"""A mailbox edited or removed, in the store, on both engines: a new address takes the
sends still queued from the old one; removing deletes nothing — the mailbox is marked,
its saved connection (passwords) forgotten, each queued send failed with the reason, and
nothing more can be sent from it — and connecting the address again revives it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend import schemas
from backend.domain.errors import Conflict, InvalidField, NotFound
from backend.store import PostgresStore, SqliteStore
from tests.backend.test_outbox_leases import SUPPORT, message_status, queue_email, states

Store = SqliteStore | PostgresStore
NEW = "help@acme.test"
LATER = datetime.now(UTC) + timedelta(hours=1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
async def store(request, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        made: Store = SqliteStore(tmp_path / "desk.db")
    else:
        made = PostgresStore(request.getfixturevalue("postgresql_url"), pool_size=4)
    await made.open()
    try:
        yield made
    finally:
        await made.close()


async def test_a_new_address_takes_the_queued_sends_and_keeps_the_threads(
    store: Store, tmp_path: Path
):
    [queued] = await queue_email(store, tmp_path, 1)
    [mailbox] = await store.mailboxes()
    await store.connect_mailbox(NEW + ".old", None, {})  # another mailbox, for the clash
    edited = await store.edit_mailbox(mailbox.id, NEW.upper(), " Acme Help ", {"relay": {}})
    assert (edited.address, edited.display_name) == (NEW, "Acme Help")
    [job] = await store.claim_email_outbox(LATER, 10)
    assert (job.message_id, job.sender, job.sender_name) == (queued, NEW, "Acme Help")
    saved = await store.mailbox_connection(mailbox.id)
    assert saved.settings == {"relay": {}}
    with pytest.raises(Conflict) as clash:
        await store.edit_mailbox(mailbox.id, NEW + ".old", None, {})
    assert clash.value.field == "address"
    with pytest.raises(InvalidField):
        await store.edit_mailbox(mailbox.id, "not an address", None, {})


async def test_removing_fails_queued_sends_refuses_new_ones_and_reconnecting_revives(
    store: Store, tmp_path: Path
):
    first, second = await queue_email(store, tmp_path, 2)
    [mailbox] = await store.mailboxes()
    await store.connect_mailbox(SUPPORT, "Acme Support", {"relay": {"password": "secret"}})
    [job] = await store.claim_email_outbox(LATER, 1)  # on the wire as it is removed
    removed = await store.remove_mailbox(mailbox.id)
    assert removed.address == SUPPORT
    assert await states(store, "email_outbox") == {first: "in_flight", second: "done"}
    assert await message_status(store, second) == "failed"
    reason = await store.readers.value("SELECT error_message FROM messages WHERE id = ?", (second,))
    assert reason == f"Not sent: the mailbox {SUPPORT} was disconnected before it went out."
    assert await store.mailboxes() == [] and await store.mailbox_connections() == []
    secrets = await store.readers.value("SELECT count(*) FROM settings_kv WHERE key LIKE 'email.%'")
    assert secrets == 0
    with pytest.raises(NotFound):
        await store.remove_mailbox(mailbox.id)
    with pytest.raises(NotFound):
        await store.edit_mailbox(mailbox.id, SUPPORT, None, {})

    thread_id = await store.readers.value("SELECT thread_id FROM messages WHERE id = ?", (second,))
    reply = schemas.SendText(kind="text", text="Still there?")
    with pytest.raises(InvalidField) as refused:
        await store.send_message(thread_id, None, reply)
    assert refused.value.code == "mailbox_removed"
    with pytest.raises(InvalidField) as not_again:
        await store.retry_message(thread_id, second, None)
    assert not_again.value.code == "mailbox_removed"

    again = await store.connect_mailbox(SUPPORT, None, {})
    assert again.id == mailbox.id
    sent = await store.send_message(thread_id, None, reply)
    assert sent.message.status == "queued"
