"""Counts right across processes (issue 16, step 3): the hourly message counts the
reports read (``message_hours``), and the ``view.counts`` a process logs only if no event
was numbered since its counts were read. Two ``PostgresStore``
objects on one database stand for two ``serve`` processes; the transactions under test
are held open on a ``threading.Event`` so that they commit in the order the test needs,
every run. The counts' bookkeeping differs between the engines (a mark of the newest id
counted on SQLite, each transaction's own messages on PostgreSQL): the last test holds
both to the same result."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from backend import schemas
from backend.store import PostgresStore, SqliteStore
from backend.store.conversations import insert_message
from backend.store.engine import replayable
from backend.store.pg_events import append_events
from tests.backend.pg_locks import lock_waiters
from tests.seed_rows import connect_number, contact_thread

WAIT_SECONDS = 30.0


async def opened(stores: list[Any]) -> list[Any]:
    for store in stores:
        await store.open()
    return stores


@pytest.fixture
async def processes(postgresql_url) -> AsyncIterator[list[PostgresStore]]:
    stores = await opened([PostgresStore(postgresql_url, pool_size=4) for _ in range(2)])
    try:
        yield stores
    finally:
        for store in stores:
            await store.close()


def seed_threads(tx: Any) -> list[int]:
    """Two customers' threads: the two processes' transactions touch no row in common."""
    connect_number(tx, template=False)
    return [contact_thread(tx, n, session_until=None) for n in range(2)]


def customer_writes(thread_id: int, text: str, *, kind: str = "text") -> Any:
    def write(tx: Any) -> int:
        message_id = insert_message(
            tx, thread_id=thread_id, direction="inbound", kind=kind, text=text
        )
        if text == "refused":
            raise ValueError("refused after its message was stored")
        return message_id

    return write


async def hourly_counts(store: PostgresStore) -> list[tuple[str, str, int]]:
    rows = await store.readers.all(
        "SELECT business_number, direction, messages FROM message_hours ORDER BY 1, 2"
    )
    return [tuple(row) for row in rows]


@pytest.mark.postgresql
async def test_a_message_that_commits_after_a_newer_one_is_counted(processes):
    """The first process stores a message (the lower id) and has not committed when the
    second stores one (a higher id) and commits: counting "every id above the newest
    counted" then passes the first one by for good."""
    first, second = processes
    threads = await first.write(seed_threads)
    stored, release = threading.Event(), threading.Event()

    def lower_id_held_open(tx: Any) -> int:
        message_id = customer_writes(threads[0], "first")(tx)
        stored.set()
        if not release.wait(WAIT_SECONDS):
            raise AssertionError("the second process's transaction did not commit")
        return message_id

    held = asyncio.create_task(first.write(lower_id_held_open))
    assert await asyncio.to_thread(stored.wait, WAIT_SECONDS)
    higher = await second.write(customer_writes(threads[1], "second"))
    release.set()
    lower = await held

    assert lower < higher
    assert await hourly_counts(first) == [("15550001111", "inbound", 2)]
    assert await first.readers.value("SELECT COUNT(*) FROM messages") == 2


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
async def stores(request, tmp_path) -> AsyncIterator[list[Any]]:
    """Two stores on one database: two processes on PostgreSQL; on SQLite, whose
    database one process serves, the same store twice."""
    if request.param == "sqlite":
        sqlite = await opened([SqliteStore(tmp_path / "ttydesk.db")])
        stores = sqlite * 2
    else:
        url = request.getfixturevalue("postgresql_url")
        stores = await opened([PostgresStore(url, pool_size=4) for _ in range(2)])
    try:
        yield stores
    finally:
        for store in set(stores):
            await store.close()


async def test_messages_written_in_groups_are_counted_once_each(stores):
    """Writes that share a transaction (group commit), one of them failing (its group
    rolled back and run again one by one), notes among them (not messages), from two
    processes at once: every message stored is counted once, none that was rolled back."""
    threads = await stores[0].write(seed_threads)
    writes = []
    for n in range(40):
        text = "refused" if n == 17 else f"message {n}"
        kind = "note" if n % 10 == 3 else "text"
        write = replayable(customer_writes(threads[n % 2], text, kind=kind))
        writes.append(stores[n % 2].write(write))
    outcomes = await asyncio.gather(*writes, return_exceptions=True)

    assert [type(o) for o in outcomes if isinstance(o, BaseException)] == [ValueError]
    stored = await stores[0].readers.value(
        "SELECT COUNT(*) FROM messages WHERE kind NOT IN ('note', 'event')"
    )
    assert stored == 40 - 1 - 4
    assert await hourly_counts(stores[1]) == [("15550001111", "inbound", stored)]


async def logged_view_counts(store: PostgresStore) -> list[dict[str, int]]:
    rows = await store.readers.all(
        "SELECT payload FROM events WHERE type = ? ORDER BY seq",
        (schemas.EventType.view_counts.value,),
    )
    return [json.loads(row[0])["data"]["counts"] for row in rows]


@pytest.mark.postgresql
async def test_view_counts_are_not_logged_after_an_event_another_process_is_numbering(
    processes, postgresql_url
):
    """Counts read before another process's event must not be logged after it: the check
    waits for a transaction that holds the event counter, and then sees its number."""
    first, _ = processes
    read_at = first.newest_event_seq()
    assert await first.emit_view_counts(
        schemas.ViewCounts(counts={"builtin:open": 1}), unless_logged_after=read_at
    )

    read_at = first.newest_event_seq()
    other = await asyncio.to_thread(psycopg.connect, postgresql_url)
    try:
        await asyncio.to_thread(
            append_events, other, [("test.other", {"n": 1})], "2026-12-06T10:00:00+00:00"
        )  # numbered, not yet committed: the counter's row is locked
        emitting = asyncio.create_task(
            first.emit_view_counts(
                schemas.ViewCounts(counts={"builtin:open": 2}), unless_logged_after=read_at
            )
        )
        async with asyncio.timeout(WAIT_SECONDS):
            while not emitting.done() and await lock_waiters(postgresql_url) == 0:
                await asyncio.sleep(0.02)
        await asyncio.to_thread(other.commit)
    finally:
        await asyncio.to_thread(other.close)

    assert await emitting is False
    assert await logged_view_counts(first) == [{"builtin:open": 1}]
