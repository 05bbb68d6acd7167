"""What an inbound message costs the PostgreSQL writer, counted rather than timed: the round
trips its thread waits for (a pipeline's sync, a flush for a result, a COMMIT), and the CPU
of this process and of the database's server processes, per message: for a new customer's
first message and for a message in an open thread, ``BATCH`` arriving at once.

Round trips do not depend on the machine's load; CPU does a little (caches, scheduling),
so compare A/B runs made back to back. ``python -m tests.bench.pg_writer_trips``
(``TTYDESK_BENCH_TRIPS_ROUNDS``: rounds of ``BATCH`` messages per phase, default 8);
``--trace`` prints the statements whose results the writer waited for, most first.
"""

from __future__ import annotations

import asyncio
import collections
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import _pipeline_base

from backend.store import PostgresStore
from backend.store import postgres as pg_store
from backend.store.types import InboundRecord, Sender
from tests.pg_cluster import start_cluster
from tests.seed_rows import PNID, connect_number

BATCH = 32
ROUNDS = int(os.environ.get("TTYDESK_BENCH_TRIPS_ROUNDS", "8"))
WRITER_THREAD = "ttydesk-pg-writer"


class Trips:
    """Round trips waited for on the writer's thread (and what waited, with ``trace``)."""

    def __init__(self, trace: bool) -> None:
        self.count = 0
        self.trace = trace
        self.waited: collections.Counter[str] = collections.Counter()
        self.last_sql = ""

    def wait(self, what: str) -> None:
        if threading.current_thread().name == WRITER_THREAD:
            self.count += 1
            if self.trace:
                self.waited[f"{what}: {self.last_sql[:110]}"] += 1


@contextmanager
def counting(trips: Trips) -> Iterator[None]:
    """Count, on the writer's thread: a pipeline sync or exit (one round trip each), a
    flush to fetch a result that has not come (one), and a COMMIT (one)."""
    pipeline = _pipeline_base.BasePipeline
    sync_gen, exit_gen, fetch_gen = pipeline._sync_gen, pipeline._exit_gen, pipeline._fetch_gen
    commit = psycopg.Connection.commit
    run_sql = pg_store.run_sql

    def counted_sync(self: Any) -> Any:
        trips.wait("sync")
        return sync_gen(self)

    def counted_exit(self: Any) -> Any:
        trips.wait("pipeline end")
        return exit_gen(self)

    def counted_fetch(self: Any, *, flush: bool) -> Any:
        if flush and self.result_queue:
            trips.wait("flush")
        return fetch_gen(self, flush=flush)

    def counted_commit(self: Any) -> None:
        trips.wait("COMMIT")
        commit(self)

    def noted_run_sql(conn: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        trips.last_sql = " ".join(sql.split())
        return run_sql(conn, sql, *args, **kwargs)

    pipeline._sync_gen = counted_sync  # type: ignore[method-assign]
    pipeline._exit_gen = counted_exit  # type: ignore[method-assign]
    pipeline._fetch_gen = counted_fetch  # type: ignore[method-assign]
    psycopg.Connection.commit = counted_commit  # type: ignore[method-assign]
    pg_store.run_sql = noted_run_sql
    try:
        yield
    finally:
        pipeline._sync_gen, pipeline._exit_gen = sync_gen, exit_gen  # type: ignore[method-assign]
        pipeline._fetch_gen = fetch_gen  # type: ignore[method-assign]
        psycopg.Connection.commit = commit  # type: ignore[method-assign]
        pg_store.run_sql = run_sql


def server_cpu_seconds(url: str) -> float:
    """CPU time of every server process connected to the database (from /proc)."""
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).fetchall()
        ]
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def record(n: int, serial: int) -> InboundRecord:
    wa_id = f"3461{n:07d}"
    return InboundRecord(
        wamid=f"wamid.bench.{serial}",
        phone_number_id=PNID,
        at=None,
        sender=Sender(wa_id=wa_id, profile_name=f"Customer {n}"),
        kind="text",
        text=f"hello, message {serial} about my order",
        raw="{}",
    )


async def phase(store: PostgresStore, url: str, trips: Trips, first: bool) -> dict[str, float]:
    serials = iter(range(10**6 if first else 2 * 10**6, 3 * 10**6))
    before_trips, before_cpu = trips.count, time.process_time()
    before_server = server_cpu_seconds(url)
    for round_ in range(ROUNDS):
        records = [record(round_ * BATCH + k, next(serials)) for k in range(BATCH)]
        outcomes = await store.ingest(records)
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        if failed:
            raise failed[0]
    messages = ROUNDS * BATCH
    ours = time.process_time() - before_cpu
    server = server_cpu_seconds(url) - before_server
    return {
        "trips": (trips.count - before_trips) / messages,
        "ours_ms": 1000 * ours / messages,
        "server_ms": 1000 * server / messages,
    }


async def measure(url: str, trace: bool) -> None:
    store = PostgresStore(url)
    await store.open()
    try:

        def seed(tx: Any) -> None:
            connect_number(tx, template=False)
            for n in range(3):
                tx.insert(
                    "agents",
                    {
                        "name": f"Agent {n}",
                        "token_hash": f"hash-{n}",
                        "created_at": tx.now_iso,
                        "updated_at": tx.now_iso,
                    },
                )

        await store.write(seed)
        trips = Trips(trace)
        with counting(trips):
            for label, first in (("first message of a thread", True), ("open thread", False)):
                trips.waited.clear()
                got = await phase(store, url, trips, first)
                print(
                    f"{label}: {got['trips']:.2f} round trips/msg, CPU ttydesk "
                    f"{got['ours_ms']:.2f} ms + PostgreSQL {got['server_ms']:.2f} ms "
                    f"= {got['ours_ms'] + got['server_ms']:.2f} ms/msg "
                    f"({ROUNDS} × {BATCH} at once)"
                )
                for what, count in trips.waited.most_common(25):
                    print(f"    {count / (ROUNDS * BATCH):6.2f}  {what}")
    finally:
        await store.close()


def main() -> None:
    cluster = start_cluster()
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE trips")
        asyncio.run(measure(cluster.url("trips"), "--trace" in sys.argv))
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
