"""When the outbox worker looks next: the earliest send it could take, not a send that waits
behind its thread's earlier one (the worker passed every ~10 ms, two writer transactions a
pass, for as long as that earlier send was on the wire or in its back-off)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend import schemas
from backend.store import Lease
from backend.store.engine import iso
from tests.backend.test_outbox_leases import queue_whatsapp, stores  # noqa: F401 - a fixture


async def _second_message_in_the_thread_of(store, message_id: int) -> int:
    thread_id = await store.readers.value(
        "SELECT thread_id FROM messages WHERE id = ?", (message_id,)
    )
    text = schemas.SendText(kind="text", text="and one more thing")
    return (await store.send_message(thread_id, None, text)).message.id


async def test_a_send_behind_its_threads_send_on_the_wire_is_not_due(stores):  # noqa: F811
    store = stores[0]
    [first] = await queue_whatsapp(store, 1)
    await _second_message_in_the_thread_of(store, first)
    assert await store.next_outbox_due() is not None  # both queued: the first can go
    now = datetime.now(UTC)
    claimed = await store.claim_outbox(now, 5, Lease("w", now + timedelta(minutes=1)))
    assert [job.message_id for job in claimed] == [first]  # the second waits its turn
    # nothing can be taken until the first settles (which wakes the worker)
    assert await store.next_outbox_due() is None


async def test_a_send_behind_its_threads_retry_is_due_when_that_retry_is(stores):  # noqa: F811
    store = stores[0]
    [first] = await queue_whatsapp(store, 1)
    await _second_message_in_the_thread_of(store, first)
    retry_at = iso(datetime.now(UTC) + timedelta(minutes=5))
    await store.write(
        lambda tx: tx.execute(
            "UPDATE outbox SET next_attempt = ? WHERE message_id = ?", (retry_at, first)
        )
    )
    assert await store.next_outbox_due() == retry_at
