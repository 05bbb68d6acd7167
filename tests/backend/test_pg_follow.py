"""Every process's events reach every process's hub in one order (PgEngine.write numbers
them at commit; EventFollower reads the log when a commit is announced). Two engines on
one database stand for two ``serve`` processes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import psycopg
import pytest

from backend.store.engine import CommittedEvent
from backend.store.pg_engine import PgEngine, PgTx, migrate
from backend.store.pg_events import EventFollower, append_events

WAIT_SECONDS = 30.0
NEVER = 3600.0  # a poll interval no test waits for: only a notification wakes the follower


class Collected:
    def __init__(self) -> None:
        self.events: list[CommittedEvent] = []

    def __call__(self, events: list[CommittedEvent]) -> None:
        self.events.extend(events)

    @property
    def seqs(self) -> list[int]:
        return [event.seq for event in self.events]


@pytest.fixture
async def engines(postgresql_url) -> AsyncIterator[list[tuple[PgEngine, Collected]]]:
    made = []
    for _ in range(2):
        published = Collected()
        engine = PgEngine(postgresql_url, on_commit=published, max_size=4)
        await engine.open()
        made.append((engine, published))
    try:
        yield made
    finally:
        for engine, _ in made:
            await engine.close()


@pytest.fixture
async def follow(postgresql_url) -> AsyncIterator[Callable[..., object]]:
    followers: list[EventFollower] = []

    async def start(
        after: int = 0, poll_seconds: float = NEVER, retry_seconds: float = 1.0
    ) -> tuple[EventFollower, Collected]:
        seen = Collected()
        follower = EventFollower(
            postgresql_url + "?application_name=ttydesk-follow-test",
            seen,
            after=after,
            poll_seconds=poll_seconds,
            retry_seconds=retry_seconds,
        )
        await follower.start()
        followers.append(follower)
        return follower, seen

    yield start
    for follower in followers:
        await follower.stop()


def emitting(*events: tuple[str, dict]) -> Callable[[PgTx], int]:
    def fn(tx: PgTx) -> int:
        tx.execute("UPDATE counters SET value = value + 1 WHERE name = 'writes'")
        for event_type, data in events:
            tx.emit(event_type, data)
        return len(events)

    return fn


async def test_both_processes_hubs_see_every_event_of_both_in_one_order(engines, follow):
    (first, first_published), (second, second_published) = engines
    await first.run(lambda conn: conn.execute("INSERT INTO counters VALUES ('writes', 0)"))
    first_follower, first_seen = await follow()
    second_follower, second_seen = await follow()

    writes = [
        (first if index % 2 == 0 else second).write(
            emitting(*[("test.event", {"by": index % 2, "n": index})] * (1 + index % 3))
        )
        for index in range(60)
    ]
    await asyncio.gather(*writes)
    newest = max(first_published.seqs + second_published.seqs)
    await asyncio.wait_for(first_follower.wait_for(newest), WAIT_SECONDS)
    await asyncio.wait_for(second_follower.wait_for(newest), WAIT_SECONDS)

    total = sum(1 + index % 3 for index in range(60))
    assert newest == total
    assert first_seen.seqs == second_seen.seqs == list(range(1, total + 1))
    # what each process published at its own commits is what every follower read
    assert sorted(first_published.seqs + second_published.seqs) == first_seen.seqs
    by_seq = {event.seq: event for event in first_published.events + second_published.events}
    assert [by_seq[event.seq] for event in second_seen.events] == second_seen.events
    writes_done = await first.run(
        lambda conn: conn.execute("SELECT value FROM counters WHERE name = 'writes'").fetchone()
    )
    assert writes_done == (60,)


async def test_a_follower_started_from_a_cursor_replays_what_came_after_it(engines, follow):
    (engine, _), _ = engines
    await engine.run(lambda conn: conn.execute("INSERT INTO counters VALUES ('writes', 0)"))
    for n in range(5):
        await engine.write(emitting(("test.event", {"n": n})))
    follower, seen = await follow(after=2)
    await asyncio.wait_for(follower.wait_for(5), WAIT_SECONDS)
    assert seen.seqs == [3, 4, 5]
    await engine.write(emitting(("test.event", {"n": 5})))
    await asyncio.wait_for(follower.wait_for(6), WAIT_SECONDS)
    assert seen.seqs == [3, 4, 5, 6]
    assert json.loads(seen.events[-1].frame) == {"seq": 6, "type": "test.event", "data": {"n": 5}}


async def test_a_failing_transaction_publishes_nothing_and_leaves_no_gap(engines):
    (engine, published), _ = engines
    await engine.run(lambda conn: conn.execute("INSERT INTO counters VALUES ('writes', 0)"))

    def emits_then_fails(tx: PgTx) -> None:
        emitting(("test.lost", {}))(tx)
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await engine.write(emits_then_fails)
    assert published.events == []
    await engine.write(emitting(("test.kept", {})))
    assert published.seqs == [1]
    stored = await engine.run(lambda conn: conn.execute("SELECT seq, type FROM events").fetchall())
    assert stored == [(1, "test.kept")]


async def test_a_commit_of_another_process_wakes_the_follower(engines, follow):
    """With polling out of reach, only the commit's notification can bring the event."""
    _, (other, _) = engines
    await other.run(lambda conn: conn.execute("INSERT INTO counters VALUES ('writes', 0)"))
    follower, seen = await follow(poll_seconds=NEVER)
    await asyncio.wait_for(follower.caught_up.wait(), WAIT_SECONDS)  # read the empty log
    await other.write(emitting(("test.event", {"n": 1})))
    await asyncio.wait_for(follower.wait_for(1), WAIT_SECONDS)
    assert seen.seqs == [1]


async def test_a_follower_whose_connections_are_cut_connects_again_and_misses_nothing(
    engines, follow, postgresql_url
):
    (engine, _), _ = engines
    await engine.run(lambda conn: conn.execute("INSERT INTO counters VALUES ('writes', 0)"))
    follower, seen = await follow(poll_seconds=NEVER, retry_seconds=0.05)
    await engine.write(emitting(("test.event", {"n": 1})))
    await asyncio.wait_for(follower.wait_for(1), WAIT_SECONDS)

    def cut_the_followers_connections(conn) -> int:
        # every other connection that is idle in LISTEN or between reads: the follower's
        return len(
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state = 'idle' AND application_name = 'ttydesk-follow-test'"
            ).fetchall()
        )

    assert await engine.run(cut_the_followers_connections) == 2
    await engine.write(emitting(("test.event", {"n": 2}), ("test.event", {"n": 3})))
    await asyncio.wait_for(follower.wait_for(3), WAIT_SECONDS)
    assert seen.seqs == [1, 2, 3]
    assert follower.connections >= 2


def waiting_on_a_lock(observer: psycopg.Connection, conn: psycopg.Connection) -> bool:
    row = observer.execute(
        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (conn.info.backend_pid,)
    ).fetchone()
    return row is not None and row[0] == "Lock"


async def test_a_follower_polling_while_two_transactions_would_commit_out_of_order_misses_none(
    postgresql_url, follow
):
    """The trap: the first transaction has its number, the second wants a higher one and
    would commit first. The second waits on the counter's row until the first commits,
    so the follower (polling all the while, as every process's hub does) never moves
    past a number that commits later."""
    with psycopg.connect(postgresql_url, autocommit=True) as conn:
        migrate(conn)
    follower, seen = await follow(poll_seconds=0.01)
    at = "2026-12-06T10:00:00.000000+00:00"
    with (
        psycopg.connect(postgresql_url) as first,
        psycopg.connect(postgresql_url) as second,
        psycopg.connect(postgresql_url, autocommit=True) as observer,
    ):
        [lower] = append_events(first, [("test.first", {"n": 1})], at)  # numbered, open

        def numbered_then_committed() -> int:
            [higher] = append_events(second, [("test.second", {"n": 2})], at)
            second.commit()
            return higher.seq

        later = asyncio.create_task(asyncio.to_thread(numbered_then_committed))

        async def second_waits_or_is_done() -> bool:
            return later.done() or await asyncio.to_thread(waiting_on_a_lock, observer, second)

        async with asyncio.timeout(WAIT_SECONDS):
            while not await second_waits_or_is_done():
                await asyncio.sleep(0.01)
        assert not later.done(), "the second committed its higher number before the first"
        follower.caught_up.clear()
        await asyncio.wait_for(follower.caught_up.wait(), WAIT_SECONDS)  # it read meanwhile
        assert seen.seqs == []
        first.commit()
        higher = await asyncio.wait_for(later, WAIT_SECONDS)
    await asyncio.wait_for(follower.wait_for(higher), WAIT_SECONDS)
    assert seen.seqs == [lower.seq, higher] == [1, 2]


async def test_offered_events_are_handed_on_only_in_their_turn_and_once(postgresql_url, follow):
    """A writer offers its committed events to its process's follower: handed on at once
    when they are the log's next, else left for the follower to read in their turn;
    never twice when the follower reads them too."""
    with psycopg.connect(postgresql_url, autocommit=True) as conn:
        migrate(conn)
    follower, seen = await follow(poll_seconds=NEVER)
    await asyncio.wait_for(follower.caught_up.wait(), WAIT_SECONDS)
    at = "2026-12-06T10:00:00.000000+00:00"
    with psycopg.connect(postgresql_url) as writer:
        first = append_events(writer, [("test.a", {"n": 1})], at)
        writer.commit()
        second = append_events(writer, [("test.b", {"n": 2}), ("test.b", {"n": 3})], at)
        writer.commit()
    # the event loop has not run since the commits: the follower has read nothing yet
    follower.offer(second)  # not the next: 1 is not handed on yet
    assert seen.seqs == []
    follower.offer(first)
    follower.offer(second)
    assert seen.seqs == [1, 2, 3]
    follower.caught_up.clear()
    await asyncio.wait_for(follower.caught_up.wait(), WAIT_SECONDS)  # it read them too
    assert seen.seqs == [1, 2, 3]
    assert seen.events == [*first, *second]
