"""Sends claimed under a lease (issue 16, step 3): on PostgreSQL several ``serve``
processes claim from one queue, each send by one of them, and only a send whose lease
lapsed (its process died) or was handed back (it stopped) is taken for "not known whether
sent" — never a live neighbour's. SQLite is one process (its serving lock): at start-up
whatever was left claimed is from before, as it always was.

Two ``PostgresStore`` objects on one database stand for two processes; on SQLite the one
store is both the process that claimed and the one that starts again. WhatsApp's outbox
and e-mail's share the rule (``outbox_rows``): both are checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend import schemas
from backend.email.receive import MailReceiver
from backend.store import Lease, PostgresStore, SqliteStore
from backend.store.engine import iso
from tests.backend.pg_locks import run_while_locked
from tests.email.test_mail_store import mail
from tests.seed_rows import connect_number, contact_thread

SUPPORT = "support@acme.test"
NOW = datetime.now(UTC)  # the workers' clock: every lease below is set and read against it
WAIT = NOW + timedelta(seconds=60)  # an ambiguous send's wait for a status
LIVE = Lease("live-worker", NOW + timedelta(hours=1))
DEAD = Lease("dead-worker", NOW - timedelta(seconds=1))  # its process died a while ago
STOPPED = Lease("stopped-worker", NOW + timedelta(hours=1))  # handed back below

Store = SqliteStore | PostgresStore


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
async def stores(request, tmp_path: Path) -> AsyncIterator[list[Store]]:
    """SQLite: one store; PostgreSQL: two stores (two processes) on one database."""
    made: list[Store] = []
    if request.param == "sqlite":
        made.append(SqliteStore(tmp_path / "desk.db"))
    else:
        url = request.getfixturevalue("postgresql_url")
        made.extend(PostgresStore(url, pool_size=4) for _ in range(2))
    for store in made:
        await store.open()
    try:
        yield made
    finally:
        for store in made:
            await store.close()


async def queue_whatsapp(store: Store, count: int) -> list[int]:
    """``count`` queued WhatsApp replies, each in a thread of its own (a thread's sends go
    one at a time)."""

    def seed(tx: Any) -> list[int]:
        connect_number(tx, template=False)
        open_until = tx.now + timedelta(hours=20)
        return [contact_thread(tx, n, session_until=open_until) for n in range(count)]

    threads = await store.write(seed)
    text = schemas.SendText(kind="text", text="hi")
    return [(await store.send_message(thread, None, text)).message.id for thread in threads]


async def queue_email(store: Store, tmp_path: Path, count: int) -> list[int]:
    """``count`` queued e-mail replies, each to a mail of its own."""
    await store.add_mailbox(SUPPORT, "Acme Support")
    receiver = MailReceiver(store, tmp_path / "media")
    ids = []
    for n in range(count):
        received = await receiver.receive(
            mail(sender=f"c{n}@example.com", message_id=f"<m{n}@example.com>"), (SUPPORT,)
        )
        text = schemas.SendText(kind="text", text="Thanks, on its way.")
        ids.append((await store.send_message(received.thread_id, None, text)).message.id)
    return ids


async def states(store: Store, table: str) -> dict[int, str]:
    rows = await store.readers.all(f"SELECT message_id, state FROM {table}")
    return {row[0]: row[1] for row in rows}


async def message_status(store: Store, message_id: int) -> str:
    return await store.readers.value("SELECT status FROM messages WHERE id = ?", (message_id,))


async def test_start_up_takes_for_ambiguous_only_sends_whose_lease_lapsed_or_was_handed_back(
    stores: list[Store],
):
    claimer, starting = stores[0], stores[-1]
    live, dead, stopped, waiting = await queue_whatsapp(claimer, 4)
    for lease in (LIVE, DEAD, STOPPED):
        (job,) = await claimer.claim_outbox(NOW, 1, lease)
    assert await claimer.release_outbox_leases(STOPPED.holder) == 1

    recovered = await starting.recover_outbox(WAIT, NOW)

    found = await states(starting, "outbox")
    if starting.single_process:  # SQLite: the claimer was this process, before it stopped
        assert recovered == 3
        assert found == {
            live: "ambiguous",
            dead: "ambiguous",
            stopped: "ambiguous",
            waiting: "pending",
        }
    else:  # a neighbour is alive and sending `live`: it is left alone
        assert recovered == 2
        assert found == {
            live: "in_flight",
            dead: "ambiguous",
            stopped: "ambiguous",
            waiting: "pending",
        }
        assert await message_status(starting, live) == "queued"
    assert await message_status(starting, dead) == "checking"
    assert await starting.readers.value(
        "SELECT next_attempt FROM outbox WHERE message_id = ?", (dead,)
    ) == iso(WAIT)
    # why it waits, in words an operator reads in the outbox row
    assert (
        await starting.readers.value("SELECT last_error FROM outbox WHERE message_id = ?", (dead,))
        == "the backend stopped while sending"
    )


async def test_a_claim_goes_on_past_a_send_it_cannot_read(stores: list[Store]):
    """A queued request this version cannot read is failed at claim time, and the same
    claim still takes the sends queued after it (in other threads), not a later one."""
    store = stores[0]
    unreadable, fine = await queue_whatsapp(store, 2)
    await store.write(
        lambda tx: tx.execute(
            "UPDATE outbox SET request = ? WHERE message_id = ?", ('{"kind":"text"}', unreadable)
        )
    )

    jobs = await store.claim_outbox(NOW, 10, LIVE)

    assert [job.message_id for job in jobs] == [fine]
    assert await message_status(store, unreadable) == "failed"


async def test_a_running_worker_sweeps_only_lapsed_leases_and_renewing_keeps_a_send_live(
    stores: list[Store],
):
    claimer, sweeper = stores[0], stores[-1]
    short = Lease(LIVE.holder, NOW + timedelta(seconds=10))
    live, dead = await queue_whatsapp(claimer, 2)
    await claimer.claim_outbox(NOW, 1, short)
    await claimer.claim_outbox(NOW, 1, DEAD)
    transactions = sweeper.writer.transactions

    assert await sweeper.expire_outbox_leases(WAIT, NOW) == 1
    assert await states(sweeper, "outbox") == {live: "in_flight", dead: "ambiguous"}
    assert await message_status(sweeper, dead) == "checking"
    assert sweeper.writer.transactions == transactions + 1
    # nothing lapsed: a read, no write
    assert await sweeper.expire_outbox_leases(WAIT, NOW) == 0
    assert sweeper.writer.transactions == transactions + 1

    # the claimer renews while its send is on the wire: past the first lease it is kept
    assert await claimer.renew_outbox_leases(Lease(LIVE.holder, NOW + timedelta(hours=1))) == 1
    later = NOW + timedelta(seconds=20)
    assert await sweeper.expire_outbox_leases(WAIT, later) == 0
    assert (await states(sweeper, "outbox"))[live] == "in_flight"
    # a renewal never revives a send already taken for ambiguous
    assert await claimer.renew_outbox_leases(Lease(DEAD.holder, later)) == 0
    assert (await states(sweeper, "outbox"))[dead] == "ambiguous"
    # once its lease lapses too, it is taken
    assert await sweeper.expire_outbox_leases(WAIT, NOW + timedelta(hours=2)) == 1
    assert (await states(sweeper, "outbox"))[live] == "ambiguous"


async def test_the_email_outbox_keeps_the_same_rule(stores: list[Store], tmp_path: Path):
    claimer, starting = stores[0], stores[-1]
    live, dead, stopped = await queue_email(claimer, tmp_path, 3)
    for lease in (LIVE, DEAD, STOPPED):
        (job,) = await claimer.claim_email_outbox(NOW, 1, lease)
    assert await claimer.release_email_leases(STOPPED.holder) == 1
    transactions = starting.writer.transactions

    recovered = await starting.recover_email_outbox(NOW)

    found = await states(starting, "email_outbox")
    if starting.single_process:
        assert recovered == 3
        assert found == {live: "ambiguous", dead: "ambiguous", stopped: "ambiguous"}
        return
    assert recovered == 2
    assert found == {live: "in_flight", dead: "ambiguous", stopped: "ambiguous"}
    assert await message_status(starting, dead) == "failed"  # "not known whether sent"
    assert await message_status(starting, live) == "queued"
    # the running sweep: nothing lapsed is a read only; the renewed live one is kept
    assert await starting.expire_email_leases(NOW) == 0
    assert starting.writer.transactions == transactions + 1
    assert await claimer.renew_email_leases(Lease(LIVE.holder, NOW + timedelta(hours=3))) == 1
    assert await starting.expire_email_leases(NOW + timedelta(hours=2)) == 0
    assert await starting.expire_email_leases(NOW + timedelta(hours=4)) == 1
    assert (await states(starting, "email_outbox"))[live] == "ambiguous"


# ------------------------------------------------------------------ two processes claim at once


@pytest.mark.postgresql
async def test_two_processes_claiming_at_once_never_claim_one_send_twice(postgresql_url):
    first, second = PostgresStore(postgresql_url), PostgresStore(postgresql_url)
    await first.open()
    await second.open()
    try:
        queued = await queue_whatsapp(first, 6)
        claims = [
            store.claim_outbox(NOW, 10, Lease(f"worker-{n}", LIVE.until))
            for n, store in enumerate((first, second))
        ]
        batches = await run_while_locked(postgresql_url, claims, "SELECT 1 FROM outbox FOR UPDATE")
        # the rows were locked: passed by, not claimed twice; claimed once let go
        for store in (first, second, first):
            batches.append(await store.claim_outbox(NOW, 10, Lease("late", LIVE.until)))
        claimed = [job.message_id for batch in batches for job in batch]
        assert sorted(claimed) == queued
        assert set((await states(first, "outbox")).values()) == {"in_flight"}
    finally:
        await first.close()
        await second.close()


@pytest.mark.postgresql
async def test_two_processes_judging_one_ambiguous_send_fail_it_once(postgresql_url):
    """An ambiguous send's wait is over with no status: each process's worker fails it
    at the same moment; one does, the other passes it by (one failure, one event)."""
    first, second = PostgresStore(postgresql_url), PostgresStore(postgresql_url)
    await first.open()
    await second.open()
    try:
        (message_id,) = await queue_whatsapp(first, 1)
        await first.claim_outbox(NOW, 1, DEAD)
        await first.expire_outbox_leases(NOW, NOW)  # ambiguous, its wait already over
        judged = await run_while_locked(
            postgresql_url,
            [store.resolve_ambiguous(NOW, "not known") for store in (first, second)],
            f"SELECT 1 FROM messages WHERE id = {message_id} FOR UPDATE",
        )
        assert sorted(judged) == [[], [message_id]]
        assert await message_status(first, message_id) == "failed"
    finally:
        await first.close()
        await second.close()
