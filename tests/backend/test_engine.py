"""The writer: group commit, per-transaction rollback, events in commit order."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from backend.store.engine import Checkpointer, SqlEvent, dumps, iso, replayable
from backend.store.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path):
    published: list[tuple[int, str]] = []
    store = SqliteStore(
        tmp_path / "t.db",
        on_commit=lambda events: published.extend((event.seq, event.type) for event in events),
    )
    store.published = published  # type: ignore[attr-defined]
    await store.open()
    yield store
    await store.close()


def put(name: str, fail: bool = False):
    def fn(tx):
        tx.execute("INSERT INTO settings_kv (key, value) VALUES (?, ?)", (name, "v"))
        tx.emit("test.put", {"name": name})
        if fail:
            raise ValueError("refused")
        return name

    return fn


async def test_concurrent_writes_share_commits_and_keep_their_events(store):
    results = await asyncio.gather(*(store.write(put(f"k{i}")) for i in range(200)))
    assert results == [f"k{i}" for i in range(200)]
    assert store.writer.batches < 200  # grouped
    seqs = [seq for seq, _ in store.published]
    assert seqs == sorted(seqs) and len(set(seqs)) == 200


async def test_the_writes_of_one_loop_turn_reach_the_writer_together_as_one_batch(store):
    """Webhooks whose data arrived together start their writes in one loop turn, between
    which the loop may let the writer thread run (a socket write releases the GIL, as the
    pause here does): still one batch, one COMMIT, not the first write alone and the rest
    in another."""

    async def pause() -> None:
        time.sleep(0.05)  # the loop blocked, the GIL free for the writer thread

    before = store.writer.batches
    turn = [
        asyncio.ensure_future(store.write(put("a"))),
        asyncio.ensure_future(pause()),
        asyncio.ensure_future(store.write(put("b"))),
    ]
    await asyncio.gather(*turn)
    assert store.writer.batches - before == 1
    assert [seq for seq, _ in store.published] == [1, 2]


async def test_a_failing_transaction_is_rolled_back_alone(store):
    outcomes = await asyncio.gather(
        store.write(put("a")),
        store.write(put("b", fail=True)),
        store.write(put("c")),
        return_exceptions=True,
    )
    assert outcomes[0] == "a" and outcomes[2] == "c"
    assert isinstance(outcomes[1], ValueError)
    keys = [row[0] for row in await store.readers.all("SELECT key FROM settings_kv ORDER BY key")]
    assert keys == ["a", "c"]
    logged = await store.events_after(0)
    assert [json.loads(frame)["data"]["name"] for _, frame in logged] == ["a", "c"]
    assert [seq for seq, _ in logged] == [seq for seq, _ in store.published]


async def test_a_failing_replayable_transaction_is_rolled_back_alone(store):
    """Replayable jobs share one savepoint; a failure replays them one by one."""
    runs: dict[str, int] = {}

    def counted(name: str, fail: bool = False):
        inner = put(name, fail)

        def fn(tx):
            runs[name] = runs.get(name, 0) + 1
            return inner(tx)

        return replayable(fn)

    outcomes = await asyncio.gather(
        store.write(counted("a")),
        store.write(counted("b")),
        store.write(counted("c", fail=True)),
        store.write(counted("d")),
        store.write(put("e")),  # not replayable: a savepoint of its own
        store.write(counted("f")),
        store.write(counted("g")),
        return_exceptions=True,
    )
    assert [o for i, o in enumerate(outcomes) if i != 2] == ["a", "b", "d", "e", "f", "g"]
    assert isinstance(outcomes[2], ValueError)
    keys = [row[0] for row in await store.readers.all("SELECT key FROM settings_kv ORDER BY key")]
    assert keys == ["a", "b", "d", "e", "f", "g"]
    logged = await store.events_after(0)
    assert [json.loads(frame)["data"]["name"] for _, frame in logged] == keys
    assert [seq for seq, _ in logged] == [seq for seq, _ in store.published]
    assert runs["a"] == runs["c"] == 2 and runs["f"] == 1  # the failing run was replayed


async def test_a_batch_of_replayable_transactions_alone_is_rolled_back_whole_then_replayed(store):
    """A batch of nothing but replayable jobs runs without savepoints; one failure rolls
    the whole transaction back and the batch runs again, the failing job alone left out."""
    runs: dict[str, int] = {}
    gate = threading.Event()

    def counted(name: str, fail: bool = False):
        inner = put(name, fail)

        def fn(tx):
            runs[name] = runs.get(name, 0) + 1
            return inner(tx)

        return replayable(fn)

    started = threading.Event()

    def hold(tx):  # keeps the writer busy while the next batch queues up behind it
        started.set()
        gate.wait(10)

    held = asyncio.ensure_future(store.write(hold))
    await asyncio.to_thread(started.wait, 10)
    names = [f"r{i}" for i in range(8)]
    pending = [
        asyncio.ensure_future(store.write(counted(name, fail=name == "r5"))) for name in names
    ]
    await asyncio.sleep(0)  # each write has queued its job
    gate.set()
    await held
    outcomes = await asyncio.gather(*pending, return_exceptions=True)
    assert isinstance(outcomes[5], ValueError)
    assert [o for i, o in enumerate(outcomes) if i != 5] == [n for n in names if n != "r5"]
    keys = [row[0] for row in await store.readers.all("SELECT key FROM settings_kv ORDER BY key")]
    assert keys == [n for n in names if n != "r5"]
    logged = await store.events_after(0)
    assert [json.loads(frame)["data"]["name"] for _, frame in logged] == keys
    assert [seq for seq, _ in logged] == [seq for seq, _ in store.published]
    # the bare run stopped at the failure and was rolled back; then a savepoint per job
    assert (runs["r0"], runs["r5"], runs["r7"]) == (2, 2, 1)


async def test_a_lone_job_runs_without_a_savepoint_and_if_it_fails_leaves_nothing(store):
    """A batch of one job needs no savepoint (there is no neighbour to keep): if it
    fails, its transaction is rolled back whole, and what another process logged before
    it is still published."""
    traced: list[str] = []
    store.writer._conn.set_trace_callback(traced.append)
    assert await store.write(put("a")) == "a"
    assert not [sql for sql in traced if sql.startswith("SAVEPOINT job")]

    import sqlite3

    other = sqlite3.connect(store.path)  # another process (an admin command) logs an event
    with other:
        other.execute(
            "INSERT INTO events (seq, type, payload, at) VALUES (2, 'test.other', "
            '\'{"seq":2,"type":"test.other","data":{}}\', \'2026-12-01\')'
        )
    other.close()
    with pytest.raises(ValueError):
        await store.write(put("b", fail=True))
    assert [seq for seq, _ in store.published] == [1, 2]  # the other's, published anyway
    assert await store.write(put("c")) == "c"
    store.writer._conn.set_trace_callback(None)
    keys = [row[0] for row in await store.readers.all("SELECT key FROM settings_kv ORDER BY key")]
    assert keys == ["a", "c"]
    logged = await store.events_after(0)
    assert [seq for seq, _ in logged] == [seq for seq, _ in store.published] == [1, 2, 3]
    assert [json.loads(frame).get("data", {}).get("name") for _, frame in logged] == [
        "a",
        None,
        "c",
    ]


async def test_seq_continues_after_reopen(tmp_path):
    path = tmp_path / "r.db"
    first = SqliteStore(path)
    await first.open()
    await first.write(put("x"))
    await first.write(put("y"))
    await first.close()
    second = SqliteStore(path)
    await second.open()
    await second.write(put("z"))
    logged = await second.events_after(0)
    await second.close()
    assert [seq for seq, _ in logged] == [1, 2, 3]


async def test_seq_never_reused_after_pruning_everything(tmp_path):
    path = tmp_path / "p.db"
    store = SqliteStore(path)
    await store.open()
    for name in "abc":
        await store.write(put(name))
    assert await store.prune_events(keep=0) == 3
    assert await store.event_bounds() == (0, 0)
    assert await store.prune_events(keep=0) == 0  # an empty log: nothing to prune
    await store.close()
    store = SqliteStore(path)
    await store.open()
    await store.write(put("d"))
    assert (await store.event_bounds())[1] == 4
    await store.close()


async def test_message_index_rows_are_written_per_batch_and_dropped_with_their_job(store):
    def index(rowid: int, body: str, fail: bool = False, sees: str | None = None):
        def fn(tx):
            seen = None
            if sees is not None:
                found = tx.one("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?", (sees,))
                seen = found[0] if found is not None else None
            tx.index_message(rowid, body)
            if fail:
                raise ValueError("refused")
            return seen

        return fn

    outcomes = await asyncio.gather(
        store.write(index(1, "alpha")),
        store.write(replayable(index(2, "beta", fail=True, sees="alpha"))),
        store.write(replayable(index(3, "gamma", sees="alpha"))),
        store.write(index(4, "delta", sees="gamma")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] == 1 and outcomes[3] == 3  # a transaction sees the rows before it
    rows = await store.readers.all("SELECT rowid, body FROM messages_fts ORDER BY rowid")
    assert [tuple(row) for row in rows] == [(1, "alpha"), (3, "gamma"), (4, "delta")]


async def test_the_wal_is_checkpointed_beside_the_writer(store):
    """Commits wake the checkpointer thread, which copies the WAL back into the database."""
    await asyncio.gather(*(store.write(put(f"w{i}")) for i in range(50)))
    checkpointer = store.writer.checkpointer
    for _ in range(100):
        if checkpointer.checkpoints:
            break
        await asyncio.sleep(0.05)
    assert checkpointer.checkpoints >= 1


# an SQL-built event over settings_kv, whose value a job stores as JSON text
KV_CHANGED = SqlEvent(
    "test.kv_changed",
    """SELECT j.value ->> 0 AS seq,
    '{"seq":' || (j.value ->> 0) || ',"type":"test.kv_changed","data":' || json(kv.value) || '}'
    AS payload
FROM json_each(:pairs) AS j JOIN settings_kv kv ON kv.rowid = j.value ->> 1""",
)


def put_json(name: str, value: str, body: str | None = None):
    def fn(tx):
        rowid = tx.insert("settings_kv", {"key": name, "value": value})
        tx.emit_sql(KV_CHANGED, rowid)
        if body is not None:
            tx.index_message(rowid, body)
        return name

    return fn


async def test_one_jobs_bad_value_never_fails_its_neighbours_end_of_batch_writes(store):
    """A value the batch's shared writes cannot take (JSON that is not JSON under an
    SQL-built event, text UTF-8 cannot encode for the full-text index) fails that job
    alone, or leaves out only its own event. Failed before the fix: the whole batch's
    COMMIT failed ("malformed JSON", UnicodeEncodeError) and every neighbour with it."""
    jobs = [put_json(f"k{i}", json.dumps({"i": i}), body=f"word{i}") for i in range(60)]
    jobs[20] = put_json("bad-json", "NaN")  # not through dumps, which refuses it
    jobs[40] = put_json("bad-text", "{}", body="half an emoji \ud83d")
    outcomes = await asyncio.gather(*(store.write(job) for job in jobs), return_exceptions=True)
    assert store.writer.batches < 60
    assert isinstance(outcomes[40], UnicodeEncodeError)
    assert [o for i, o in enumerate(outcomes) if i != 40] == [
        f"k{i}" if i != 20 else "bad-json" for i in range(60) if i != 40
    ]
    keys = {row[0] for row in await store.readers.all("SELECT key FROM settings_kv")}
    assert keys == {f"k{i}" for i in range(60) if i not in (20, 40)} | {"bad-json"}
    indexed = await store.readers.all("SELECT rowid FROM messages_fts")
    assert len(indexed) == 58
    published = [seq for seq, kind in store.published if kind == "test.kv_changed"]
    assert len(published) == 58  # all but the bad one's, which could not be built
    logged = await store.events_after(0)
    assert sorted(json.loads(frame)["data"]["i"] for _, frame in logged) == [
        i for i in range(60) if i not in (20, 40)
    ]


async def test_a_non_finite_number_fails_only_the_job_that_stores_it(store):
    def emits(value: float):
        def fn(tx):
            tx.emit("test.number", {"value": value})
            return value

        return fn

    outcomes = await asyncio.gather(
        store.write(emits(1.5)), store.write(emits(math.nan)), return_exceptions=True
    )
    assert outcomes[0] == 1.5 and isinstance(outcomes[1], ValueError)
    assert [json.loads(frame)["data"] for _, frame in await store.events_after(0)] == [
        {"value": 1.5}
    ]


async def test_the_writer_commits_durably(store):
    """An acknowledged webhook must survive a power cut, not only a crash: Meta does not
    resend what we answered 200. In WAL mode, synchronous=NORMAL may lose the last commits
    on power loss; FULL (2) syncs the WAL at every (group) commit."""
    mode = await store.write(lambda tx: tx.one("PRAGMA synchronous")[0])
    journal = await store.write(lambda tx: tx.one("PRAGMA journal_mode")[0])
    assert (mode, journal) == (2, "wal")


async def test_a_stop_that_arrives_as_the_checkpointer_wakes_is_not_lost(tmp_path):
    """The checkpointer clears its "committed" flag after each wait; a stop arriving just
    then (its flag set, its wake-up cleared) must still end the thread. Failed before the
    fix: the thread waited for a commit forever and the store's close hung (the 300 s
    pytest-timeout seen once in tests/whatsapp/test_statuses.py)."""
    store = SqliteStore(tmp_path / "t.db")
    await store.open()
    await store.close()  # a database file for the checkpointer
    checkpointer = Checkpointer(tmp_path / "t.db", every=0.01)

    class StopArrivesOnClear(threading.Event):
        def clear(self) -> None:
            checkpointer._stopping.set()  # noqa: SLF001 - what stop() does first
            super().set()  # then its wake-up, which this clear() then erases
            super().clear()

    checkpointer._committed = StopArrivesOnClear()  # noqa: SLF001 - the interleaving
    checkpointer.start()
    thread = checkpointer._thread  # noqa: SLF001
    checkpointer.committed()
    await asyncio.to_thread(thread.join, 10)
    assert not thread.is_alive()


A_STORE_LEFT_OPEN = """
import asyncio, sys
from pathlib import Path
from backend.store.sqlite import SqliteStore

async def main():
    store = SqliteStore(Path(sys.argv[1]))
    await store.open()
    await store.readers.all("SELECT 1")
    raise RuntimeError("a test failed while the store was open")

asyncio.run(main())
"""


def test_a_process_that_fails_with_a_store_open_still_exits(tmp_path):
    """A failure (a test's, a crash's) before ``close`` must not keep the interpreter from
    exiting: no thread of the store may be one the interpreter waits for."""
    import subprocess
    import sys

    try:
        done = subprocess.run(
            [sys.executable, "-c", A_STORE_LEFT_OPEN, str(tmp_path / "t.db")],
            capture_output=True,
            text=True,
            timeout=60,  # a guard against a hang, not a speed limit: exiting takes a moment
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the process did not exit: a thread of the open store held it")
    assert done.returncode == 1
    assert "a test failed while the store was open" in done.stderr


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 12, 7, 1, 24, 59, tzinfo=UTC),
        datetime(2026, 12, 7, 1, 24, 59, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 987654),  # naive: read as UTC
        datetime(2026, 6, 30, 23, 30, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        datetime(2026, 3, 1, 0, 15, tzinfo=timezone(timedelta(hours=2))),  # the day before in UTC
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_iso_writes_a_time_as_isoformat_of_its_utc_time(when):
    in_utc = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    assert iso(when) == in_utc.isoformat(timespec="microseconds")


def test_iso_of_nothing_is_nothing():
    assert iso(None) is None


async def test_a_store_closes_while_another_process_holds_the_write_lock(tmp_path):
    """An admin command's store closes beside a running server that is writing: the
    close's planner statistics wait for the write lock and read after it, instead of
    failing at once on a read gone stale ("database is locked", after the command's work
    was done: the command failed)."""
    import sqlite3

    path = tmp_path / "desk.db"
    store = SqliteStore(path)
    await store.open()

    def many(tx):
        for n in range(3000):
            tx.emit("thread.updated", {"n": n})

    await store.write(many)  # enough new rows for the close's PRAGMA optimize to analyze
    await store.event_page(0, 100)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the server's writer, mid-transaction
    release = threading.Timer(0.3, other.execute, ("COMMIT",))
    release.start()
    try:
        await store.close()
    finally:
        release.join()
        other.close()


def test_dumps_writes_what_json_dumps_writes_with_its_options_and_refuses_nan():
    when = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
    values = [
        ["a@example.com", "b@example.com"], [], {}, "", "Lucía \u2028 \"q\" \\ \x00", 1.5, None,
        {"email": {"to": ["x@y"], "auth": {"spf": "pass"}, "n": 2**70, "at": when}},
        [True, False, {"k": [1, {"z": "é"}]}],
    ]  # fmt: skip
    for value in values * 2:  # the second time through the same encoder
        expected = json.dumps(
            value, separators=(",", ":"), ensure_ascii=False, default=str, allow_nan=False
        )
        assert dumps(value) == expected
    for bad in (math.nan, [math.inf], {"x": -math.inf}):
        with pytest.raises(ValueError):
            dumps(bad)
