"""The PostgreSQL writer's group commit: replayable jobs that wait share one transaction
(one COMMIT, one turn at the event counter), a failing one is rolled back alone, any
other job keeps a transaction of its own, and two processes whose groups lock rows in
opposite orders both get through (the group PostgreSQL picks as the deadlock's victim
runs again one job per transaction)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from backend.store import PostgresStore
from backend.store.engine import replayable

pytestmark = pytest.mark.postgresql

JOBS = 60


@pytest.fixture
async def store(postgresql_url) -> AsyncIterator[PostgresStore]:
    published: list[int] = []
    store = PostgresStore(
        postgresql_url, on_commit=lambda events: published.extend(e.seq for e in events)
    )
    store.published = published  # type: ignore[attr-defined]
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def put(name: str, *, fail: bool = False, runs: dict[str, int] | None = None) -> Any:
    def fn(tx: Any) -> str:
        if runs is not None:
            runs[name] = runs.get(name, 0) + 1
        tx.execute("INSERT INTO settings_kv (key, value) VALUES (?, ?)", (name, "v"))
        tx.emit("test.put", {"name": name})
        if fail:
            raise ValueError("refused")
        return name

    return fn


async def logged_names(store: PostgresStore) -> list[str]:
    page = await store.event_page(0, 1000)
    return [json.loads(text)["data"]["name"] for _, text in page.frames]


async def test_waiting_replayable_jobs_share_transactions_and_keep_their_order(store):
    before = store.writer.transactions
    names = [f"k{n:02d}" for n in range(JOBS)]
    results = await asyncio.gather(*(store.write(replayable(put(name))) for name in names))
    assert results == names
    assert store.writer.transactions - before < JOBS  # grouped
    assert await logged_names(store) == names  # numbered in the order they were given
    assert store.published == sorted(store.published)
    assert len(set(store.published)) == JOBS


async def test_a_failing_job_of_a_group_is_rolled_back_alone(store):
    runs: dict[str, int] = {}
    outcomes = await asyncio.gather(
        *(
            store.write(replayable(put(name, fail=name == "c", runs=runs)))
            for name in ("a", "b", "c", "d")
        ),
        return_exceptions=True,
    )
    assert outcomes[:2] == ["a", "b"] and outcomes[3] == "d"
    assert isinstance(outcomes[2], ValueError)
    keys = [row[0] for row in await store.readers.all("SELECT key FROM settings_kv ORDER BY key")]
    assert keys == ["a", "b", "d"]
    assert await logged_names(store) == ["a", "b", "d"]
    assert runs["c"] >= 1


async def test_other_jobs_keep_a_transaction_each(store):
    before = store.writer.transactions
    names = [f"n{n}" for n in range(10)]
    assert await asyncio.gather(*(store.write(put(name)) for name in names)) == names
    assert store.writer.transactions - before == len(names)
    assert await logged_names(store) == names


async def test_two_processes_whose_groups_lock_rows_in_opposite_orders_both_commit(
    postgresql_url,
):
    """Each process's group updates row ``x`` then ``y`` (the other: ``y`` then ``x``),
    each job waiting until the other process's first job has run: a deadlock, every run.
    PostgreSQL aborts one group; its jobs run again alone, and every job commits."""
    stores = [PostgresStore(postgresql_url, pool_size=4) for _ in range(2)]
    for store in stores:
        await store.open()
    try:

        def seed(tx: Any) -> None:
            for key in ("x", "y"):
                tx.execute("INSERT INTO settings_kv (key, value) VALUES (?, '0')", (key,))

        await stores[0].write(seed)
        first_ran = [threading.Event(), threading.Event()]
        holding = [threading.Event(), threading.Event()]
        gates = [threading.Event(), threading.Event()]

        def hold(index: int) -> Any:
            def fn(tx: Any) -> None:  # not replayable: a transaction of its own
                holding[index].set()
                gates[index].wait(10)

            return fn

        def bump(index: int, key: str, first: bool) -> Any:
            def fn(tx: Any) -> str:
                tx.execute(
                    "UPDATE settings_kv SET value = value || ? WHERE key = ?", (str(index), key)
                )
                if first:
                    first_ran[index].set()
                    first_ran[1 - index].wait(10)  # both hold their first row
                return key

            return replayable(fn)

        work = []
        for index, (one, two) in enumerate((("x", "y"), ("y", "x"))):
            store = stores[index]
            work.append(asyncio.ensure_future(store.write(hold(index))))
            # the writer holds in the first job while the two to group are given
            await asyncio.to_thread(holding[index].wait, 10)
            work.append(asyncio.ensure_future(store.write(bump(index, one, first=True))))
            work.append(asyncio.ensure_future(store.write(bump(index, two, first=False))))
        for gate in gates:
            gate.set()
        outcomes = await asyncio.wait_for(asyncio.gather(*work, return_exceptions=True), 60)
        assert outcomes == [None, "x", "y", None, "y", "x"]
        values = dict(await stores[0].readers.all("SELECT key, value FROM settings_kv"))
        assert sorted(values["x"]) == sorted(values["y"]) == ["0", "0", "1"]
    finally:
        for store in stores:
            await store.close()
