"""Rules that check and then write, right across processes (issue 16, step 3): the
usage limit (count the period's conversations, then record one) and round-robin routing
(read who was assigned last, then write the next). On SQLite the one writer runs them
one at a time; on PostgreSQL each runs under an advisory lock taken in its transaction
(``Tx.exclusive``). Two ``PostgresStore`` objects on one database stand for two
``serve`` processes; ``run_while_locked`` makes their transactions read before either
writes, the race the lock must win every run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from backend import schemas
from backend.domain.errors import UsageLimitReached
from backend.store import PostgresStore
from backend.store.conversations import route_ticket
from tests.backend.pg_locks import run_while_locked
from tests.seed_rows import connect_number, contact_thread

pytestmark = pytest.mark.postgresql


TEMPLATE = schemas.SendTemplate(kind="template", name="hello", language="en_US")


@pytest.fixture
async def processes(postgresql_url) -> AsyncIterator[list[PostgresStore]]:
    stores = [PostgresStore(postgresql_url, pool_size=4) for _ in range(2)]
    for store in stores:
        await store.open()
    try:
        yield stores
    finally:
        for store in stores:
            await store.close()


async def seed_contacts(store: PostgresStore, count: int) -> list[int]:
    """A connected number, an approved template and ``count`` contacts, each with a
    thread whose session is closed: a template to each starts a counted conversation."""

    def seed(tx: Any) -> list[int]:
        connect_number(tx)
        closed = tx.now - timedelta(days=2)
        return [contact_thread(tx, n, session_until=closed) for n in range(count)]

    return await store.write(seed)


async def test_concurrent_first_messages_in_two_processes_never_pass_the_usage_limit(
    processes, postgresql_url
):
    first, second = processes
    limit = 1
    for store in processes:
        store.set_usage_rules(limit=limit, subscription_start=date(2026, 1, 1))
    threads = await seed_contacts(first, 2)

    # each process counts the period's conversations while the other's is not yet in
    outcomes = await run_while_locked(
        postgresql_url,
        [
            first.send_message(threads[0], None, TEMPLATE),
            second.send_message(threads[1], None, TEMPLATE),
        ],
        "LOCK TABLE usage_records IN SHARE ROW EXCLUSIVE MODE",
    )

    sent = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, UsageLimitReached)]
    assert (len(sent), len(refused)) == (1, 1), outcomes
    assert await first.readers.value("SELECT COUNT(*) FROM usage_records") == limit
    assert (await second.usage()).used == limit
    # the refused send left nothing behind: one message, one queued send
    assert await first.readers.value("SELECT COUNT(*) FROM messages") == 1
    assert await first.readers.value("SELECT COUNT(*) FROM outbox") == 1


async def seed_agents(store: PostgresStore, count: int) -> list[int]:
    def seed(tx: Any) -> list[int]:
        return [
            tx.insert(
                "agents",
                {
                    "name": f"Agent {n}",
                    "token_hash": f"hash-{n}",
                    "created_at": tx.now_iso,
                    "updated_at": tx.now_iso,
                },
            )
            for n in range(count)
        ]

    return await store.write(seed)


def routed(tx: Any) -> int | None:
    return route_ticket(tx, rules=(), country=None, text="")


async def test_round_robin_hands_new_tickets_out_in_turn_across_processes(
    processes, postgresql_url
):
    first, second = processes
    agents = await seed_agents(first, 3)

    # each process reads who was assigned last while the other's choice is not yet in
    owners = await run_while_locked(
        postgresql_url,
        [first.write(routed), second.write(routed)],
        "LOCK TABLE settings_kv IN SHARE ROW EXCLUSIVE MODE",
    )

    assert sorted(owners) == agents[:2], owners  # one each, in turn
    assert await second.write(routed) == agents[2]
    assert await first.write(routed) == agents[0]
