"""The PostgreSQL event log hands out numbers in commit order: a reader that reads
everything above its cursor, in any process, never misses an event (backend/store/pg_events.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import psycopg
import pytest

from backend.store.pg_engine import migrate
from backend.store.pg_events import append_events, newest_seq, read_events

AT = "2026-12-06T10:00:00.000000+00:00"
WAIT_SECONDS = 30.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.01)


@pytest.fixture
def connect(postgresql_url) -> Iterator[Callable[..., psycopg.Connection]]:
    with psycopg.connect(postgresql_url, autocommit=True) as conn:
        migrate(conn)
    opened: list[psycopg.Connection] = []

    def open_one(**options) -> psycopg.Connection:
        conn = psycopg.connect(postgresql_url, **options)
        opened.append(conn)
        return conn

    yield open_one
    for conn in opened:
        conn.close()


class Reader:
    """A client that polls the log and moves its cursor past what it has read."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.cursor = 0
        self.seen: list[int] = []

    def poll(self) -> None:
        for event in read_events(self.conn, self.cursor):
            self.seen.append(event.seq)
            self.cursor = event.seq


def waiting_on_a_lock(observer: psycopg.Connection, conn: psycopg.Connection) -> bool:
    row = observer.execute(
        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (conn.info.backend_pid,)
    ).fetchone()
    return row is not None and row[0] == "Lock"


def test_two_transactions_cannot_commit_in_the_opposite_order_of_their_numbers(connect):
    first, second = connect(), connect()
    reader = Reader(connect(autocommit=True))
    [lower] = append_events(first, [("test.first", {"n": 1})], AT)  # open, not committed

    def numbered_then_committed() -> int:
        [higher] = append_events(second, [("test.second", {"n": 2})], AT)
        second.commit()
        return higher.seq

    with ThreadPoolExecutor(max_workers=1) as pool:
        later: Future[int] = pool.submit(numbered_then_committed)
        # the second either waits for the first's numbers to commit, or (numbers taken
        # before commit) has committed a higher number while the lower one is still open
        wait_for(
            lambda: later.done() or waiting_on_a_lock(reader.conn, second),
            "the second transaction to commit or to wait",
        )
        reader.poll()  # a client reads while the first is still open
        first.commit()
        higher = later.result(timeout=WAIT_SECONDS)
    wait_for(lambda: (reader.poll(), reader.cursor >= higher)[1], "the reader to catch up")
    assert lower.seq < higher
    assert reader.seen == [lower.seq, higher]


def test_a_rolled_back_transaction_leaves_no_gap(connect):
    writer = connect()
    append_events(writer, [("test.kept", {"n": 1})], AT)
    writer.commit()
    append_events(writer, [("test.dropped", {"n": 2}), ("test.dropped", {"n": 3})], AT)
    writer.rollback()
    added = append_events(writer, [("test.kept", {"n": 4}), ("test.kept", {"n": 5})], AT)
    writer.commit()
    reader = Reader(connect(autocommit=True))
    reader.poll()
    assert reader.seen == [1, 2, 3] == [1, *(event.seq for event in added)]
    assert newest_seq(reader.conn) == 3


def test_a_logged_frame_is_the_seq_type_and_data_as_sent(connect):
    writer = connect()
    [event] = append_events(writer, [("thread.updated", {"id": 7, "text": "olá \u2028"})], AT)
    writer.commit()
    [read] = read_events(connect(autocommit=True), 0)
    assert read == event
    assert json.loads(read.frame) == {
        "seq": 1,
        "type": "thread.updated",
        "data": {"id": 7, "text": "olá \u2028"},
    }


def test_writers_in_many_connections_leave_one_gapless_order(connect):
    """Eight writers commit 25 transactions each while a reader polls: it sees every
    number once, in order."""
    writers = [connect() for _ in range(8)]
    reader = Reader(connect(autocommit=True))

    def write(conn: psycopg.Connection) -> None:
        for n in range(25):
            append_events(conn, [("test.burst", {"n": n})] * (1 + n % 3), AT)
            conn.commit()

    with ThreadPoolExecutor(max_workers=len(writers)) as pool:
        done = [pool.submit(write, conn) for conn in writers]
        while not all(future.done() for future in done):
            reader.poll()
        for future in done:
            future.result()
    reader.poll()
    total = 8 * sum(1 + n % 3 for n in range(25))
    assert reader.seen == list(range(1, total + 1))
