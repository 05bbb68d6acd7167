"""The store on PostgreSQL: the same areas as ``SqliteStore``, over a PostgreSQL engine.

``PostgresStore`` is made of the same area mixins as the SQLite store; what differs is
the engine under ``self.writer`` and ``self.readers``:

- ``PgWriter.run(fn)`` runs a transaction function on a pooled connection on the
  writer's thread, one transaction at a time in this process (the areas' check-then-write
  rules assume one writer, as SQLite's does), with a ``PgStoreTx`` that speaks the ``Tx``
  interface; waiting replayable functions share a transaction (group commit);
- ``PgReaders`` reads on the pool, rows indexed by name and by position as
  ``sqlite3.Row``;
- every statement goes through ``pg_dialect.translate`` (once per SQL string);
- a snapshot event (``Tx.emit_sql``, whose frame SQLite builds in SQL) is built here
  from the wire model the REST reads return (``load_thread``/``load_ticket``/
  ``load_message``) just before COMMIT, and logged with its frame;
- events are numbered at COMMIT in commit order (``pg_events.append_events``);
- the commit listeners (the hub, the view counts, …) are fed by an ``EventFollower``
  alone, which reads the log after every process's commits, this one's included: every
  process publishes every event of every process, in the one order of the log, none
  missing, none twice. ``run`` returns once the follower has published the events of
  its transaction, so a client still sees an event no later than the response of the
  request that caused it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.rows import RowMaker
from pydantic import BaseModel

from backend import schemas
from backend.domain.clock import Clock, SystemClock
from backend.domain.errors import NotFound
from backend.store import conversations as conv
from backend.store.engine import (
    LOGGED_EVENTS,
    CommittedEvent,
    SqlEvent,
    drain_waiting,
    iso,
    logged_frames,
    unbuilt,
)
from backend.store.pg_copy import copy_to_postgresql
from backend.store.pg_dialect import configure, fts5_words, parameters, translate
from backend.store.pg_engine import PgEngine
from backend.store.pg_events import EventFollower, append_events, frame, newest_seq
from backend.store.pg_presence import PresenceRelay
from backend.store.pg_search import index_text, prefix_word, snippet, ts_query
from backend.store.reports import COUNT_INSERTED_MESSAGES
from backend.store.search import SUBJECT_MATCH, _Hit
from backend.store.sqlite import SqliteStore
from backend.store.types import EventPage

log = logging.getLogger(__name__)

T = TypeVar("T")

# how long a write waits for the follower to publish its events before it returns anyway
# (the events are logged: clients get them when the follower catches up)
PUBLISH_WAIT_SECONDS = 10.0
# the most replayable jobs one transaction takes (a job holds the locks it took, the
# routing lock among them, until the transaction commits)
MAX_BATCH = 100
# the message search's windows, newest first (``PostgresStore._message_hits``): a word in
# one message in a hundred fills a page from the first; a rare one costs a few index reads
SEARCH_WINDOWS = (20_000, 80_000, 320_000)
CHANGED_A_ROW = "SELECT pg_current_xact_id_if_assigned() IS NOT NULL"
# the words of the messages a transaction indexed, for the search of a prefix: added at its
# end, before the event numbers, and in order, so two transactions adding the same new
# words (one waits for the other's COMMIT) never wait for each other
ADD_SEARCH_WORDS = (
    "INSERT INTO messages_fts_words (word) SELECT DISTINCT word FROM messages_fts, "
    "unnest(tsvector_to_array(document)) AS word WHERE rowid = ANY(%s) ORDER BY word "
    "ON CONFLICT DO NOTHING"
)
# a prefix matching more words than this is searched as a prefix
MAX_PREFIX_WORDS = 64
# above every character a word can hold: the words beginning with p are >= p and < p + this
LAST_CHARACTER = "\U0010ffff"


class Row:
    """A row indexed by position and by column name, like ``sqlite3.Row``: a name is looked
    up whatever its case (``row["ID"]`` is ``row["id"]``), the first column of that name
    answering, so the store's code reads a row the same on both engines; ``dict(row)``
    gives its columns."""

    __slots__ = ("_index", "_names", "_values")

    def __init__(self, values: Sequence[Any], names: dict[str, int], index: dict[str, int]):
        self._values = values
        self._names = names  # each name as PostgreSQL gave it, the first of each
        self._index = index  # those and their lower case: the first column equal to it

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._index[key]]
            except KeyError:  # another case than PostgreSQL's (KeyError: no such column)
                return self._values[self._index[key.lower()]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return tuple(self._values) == tuple(other._values)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._values))

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._names, self._values, strict=False))!r})"


def row_maker(cursor: psycopg.Cursor[Any]) -> RowMaker[Row]:
    """The rows of a result share its names: as given (PostgreSQL folds an unquoted one to
    lower case), each found in one step, and in lower case for any other spelling."""
    names: dict[str, int] = {}
    for position, column in enumerate(cursor.description or ()):
        names.setdefault(column.name, position)
    index = names  # all in lower case (the usual): the names are their own index
    if (joined := "".join(names)) != joined.lower():  # a quoted name with capitals
        index = {}
        for name, position in names.items():
            index.setdefault(name.lower(), position)
        for name in names:
            index.setdefault(name, index[name.lower()])
    return lambda values: Row(values, names, index)


class Cursor:
    """What ``Tx.execute`` returns: rows, ``rowcount`` and ``lastrowid``.

    On the writer's connection, which runs in pipeline mode, a statement is sent without
    waiting for its result: the round trip is paid only when a result is asked for (rows,
    ``rowcount``, ``lastrowid``), and then for every statement sent before it at once.
    Statements whose results nobody reads (most UPDATEs, the full-text rows, the event
    log) thus cost no wait of their own; an error of one is raised when the next result
    is asked for, or at the latest before COMMIT (the whole transaction fails)."""

    def __init__(
        self,
        cursor: psycopg.Cursor[Any],
        returns_id: bool,
        pipeline: psycopg.Pipeline | None = None,
        inserted_into: str = "",
    ) -> None:
        self._cursor = cursor
        self.inserted_into = inserted_into
        self._pipeline = pipeline
        self._returns_id = returns_id  # its rows are the ``RETURNING id`` added for lastrowid
        self._lastrowid: int | None = None if returns_id else 0

    def _ready(self) -> None:
        """Wait for the statement's result, in pipeline mode."""
        if self._pipeline is not None and self._cursor.pgresult is None:
            self._pipeline.sync()

    @property
    def lastrowid(self) -> int:
        """The id of the row inserted (waited for only when asked: an insert whose id
        nobody reads, a timeline's line, costs no round trip of its own)."""
        if self._lastrowid is None:
            self._ready()
            rows = self._cursor.fetchall() if self._cursor.description else []
            self._lastrowid = int(rows[-1][0]) if rows else 0
        return self._lastrowid

    @property
    def rowcount(self) -> int:
        self._ready()
        return self._cursor.rowcount

    def fetchone(self) -> Any:
        self._ready()
        if self._returns_id or self._cursor.description is None:
            return None
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        self._ready()
        if self._returns_id or self._cursor.description is None:
            return []
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


def run_sql(
    conn: psycopg.Connection[Any],
    sql: str,
    params: Any = (),
    pipeline: psycopg.Pipeline | None = None,
    *,
    prepare: bool | None = None,
) -> Cursor:
    """``prepare``: as psycopg's (None: prepared once it has run a few times)."""
    statement = translate(sql)
    cursor = conn.cursor(row_factory=row_maker)
    try:
        cursor.execute(statement.sql, parameters(statement, params), prepare=prepare)  # type: ignore[arg-type]
    except psycopg.Error as exc:
        exc.add_note(f"as PostgreSQL ran it: {statement.sql}")  # the statement, no values
        raise
    return Cursor(cursor, statement.returns_id, pipeline, statement.inserts_into)


_INSERTS: dict[tuple[str, ...], str] = {}


@dataclass
class PgStoreTx:
    """The SQLite ``Tx`` interface on a PostgreSQL transaction."""

    conn: psycopg.Connection[Any]
    now: datetime
    now_iso: str
    next_seq: int  # the number the next event would take if nothing else commits first
    pending: list[tuple[str, dict[str, Any] | BaseModel | None, int]] = field(default_factory=list)
    events: list[CommittedEvent] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    pipeline: psycopg.Pipeline | None = None  # the writer's: results are waited for when read
    # a transaction of its own logs its events only if no event above this number is
    # logged by then (``pg_events.append_events``); ``events`` then holds what it logged
    unless_logged_after: int | None = None
    # the inserts of messages, whose ids the transaction counts by hour before its COMMIT
    messages: list[Cursor] = field(default_factory=list)
    # the messages given a full-text row, whose words it adds before its COMMIT
    indexed: list[int] = field(default_factory=list)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        cursor = run_sql(self.conn, sql, params, self.pipeline)
        if cursor.inserted_into == "messages":
            self.messages.append(cursor)
        return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        statement = translate(sql)
        if statement.inserts_into == "messages":  # their ids are not returned: never counted
            raise NotImplementedError("insert messages one at a time (Tx.execute)")
        cursor = self.conn.cursor(row_factory=row_maker)
        cursor.executemany(statement.sql, [parameters(statement, row) for row in rows])  # type: ignore[arg-type]
        return Cursor(cursor, False, self.pipeline)

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        return self.execute(sql, params).fetchall()

    def index_message(self, message_id: int, body: str) -> None:
        """The message's full-text row, with its thread (searches filter by it)."""
        self.execute(
            "INSERT INTO messages_fts (rowid, thread_id, body) "
            "SELECT id, thread_id, ? FROM messages WHERE id = ?",
            (index_text(body), message_id),
        )
        self.indexed.append(message_id)

    def insert(self, table: str, values: dict[str, Any]) -> int:
        key = (table, *values)
        sql = _INSERTS.get(key)
        if sql is None:
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            sql = _INSERTS[key] = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        return self.execute(sql, tuple(values.values())).lastrowid

    def update(self, table: str, row_id: int, values: dict[str, Any]) -> None:
        if not values:
            return
        assignments = ", ".join(f"{name} = ?" for name in values)
        self.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*values.values(), row_id))

    def claim_clause(self, alias: str) -> str:
        """Rows a SELECT claims are locked to the end of this transaction and skipped by
        every other claimant's (a row being claimed elsewhere is not waited for)."""
        return f" FOR UPDATE OF {alias} SKIP LOCKED"

    def exclusive(self, key: int) -> None:
        """Wait for, then hold to COMMIT, the advisory lock ``key``: another process's
        transaction that takes it waits until this one has committed, and then reads what
        it wrote (READ COMMITTED: each statement sees what was committed before it)."""
        self.execute("SELECT pg_advisory_xact_lock(?)", (key,))

    def emit(self, event_type: str, data: dict[str, Any] | BaseModel) -> int:
        """Log an event; it is numbered at COMMIT (``pg_events``), so the number returned
        is the one it takes only if no other process commits events first."""
        self.pending.append((str(event_type), data, 0))
        self.next_seq += 1
        return self.next_seq - 1

    def emit_sql(self, builder: SqlEvent, entity_id: int, held: str | None = None) -> int:
        """A snapshot event: its row is read as it is just before COMMIT (``held``, the
        frame's data SQLite's writer may take instead, is not used here)."""
        self.pending.append((builder.type, None, entity_id))
        self.next_seq += 1
        return self.next_seq - 1


_SNAPSHOTS: dict[str, Callable[[Any, int], BaseModel]] = {
    conv.THREAD_UPDATED.type: conv.load_thread,
    conv.TICKET_UPDATED.type: conv.load_ticket,
    conv.MESSAGE_CREATED.type: conv.load_message,
    conv.MESSAGE_UPDATED.type: conv.load_message,
}


# a snapshot's rows, many at once: (the SQL of ``load_thread``/``load_ticket``/
# ``load_message`` over ``= ANY(?)`` ids, the model of a row and its reactions)
_SNAPSHOT_ROWS: dict[str, tuple[str, Callable[[Any, list[Any]], BaseModel]]] = {
    conv.THREAD_UPDATED.type: (
        conv.THREAD_SELECT + " WHERE th.id = ANY(?)",
        lambda row, _: conv.thread_from_row(row),
    ),
    conv.TICKET_UPDATED.type: (
        conv.TICKET_SELECT + " WHERE t.id = ANY(?)",
        lambda row, _: conv.ticket_from_row(row),
    ),
    conv.MESSAGE_CREATED.type: (
        conv.MESSAGE_SELECT + " WHERE m.id = ANY(?)",
        conv.message_from_row,
    ),
}
_SNAPSHOT_ROWS[conv.MESSAGE_UPDATED.type] = _SNAPSHOT_ROWS[conv.MESSAGE_CREATED.type]
_REACTIONS_OF = "SELECT * FROM reactions WHERE message_id = ANY(?) ORDER BY at"


def _snapshots(
    tx: PgStoreTx, wanted: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], BaseModel]:
    """The snapshots ``(type, entity id)`` as the REST reads build them (``load_thread``,
    ``load_ticket``, ``load_message``), from their rows as they are now; one whose row is
    gone is left out. Every kind's rows are asked for at once and read after (pipeline
    mode: one round trip for a whole group's snapshots, not one per row)."""
    ids: dict[str, set[int]] = {}
    for event_type, entity_id in wanted:
        sql = _SNAPSHOT_ROWS[event_type][0]
        ids.setdefault(sql, set()).add(entity_id)
    asked = {sql: tx.execute(sql, (sorted(found),)) for sql, found in ids.items()}
    messages = ids.get(_SNAPSHOT_ROWS[conv.MESSAGE_CREATED.type][0])
    reactions = tx.execute(_REACTIONS_OF, (sorted(messages),)) if messages else None
    # each SELECT's first column is the row's id
    rows = {sql: {row[0]: row for row in cursor.fetchall()} for sql, cursor in asked.items()}
    by_message = conv.reactions_by_message(reactions.fetchall()) if reactions else {}
    built: dict[tuple[str, int], BaseModel] = {}
    for event_type, entity_id in wanted:
        sql, model = _SNAPSHOT_ROWS[event_type]
        row = rows[sql].get(entity_id)
        if row is not None:
            built[(event_type, entity_id)] = model(row, by_message.get(entity_id, []))
    return built


def _events_of(
    tx: PgStoreTx, pending: list[tuple[str, dict[str, Any] | BaseModel | None, int]]
) -> tuple[list[tuple[str, dict[str, Any] | BaseModel]], list[int]]:
    """A transaction's ``pending`` events with the snapshots built (read through ``tx``)
    from their rows as they are now (one whose row is gone is left out, as SQLite's
    ``BatchBuffer`` does), and each event's entity id (0: not a snapshot)."""
    wanted = {(event_type, entity_id) for event_type, data, entity_id in pending if data is None}
    built = _snapshots(tx, wanted) if wanted else {}
    events: list[tuple[str, dict[str, Any] | BaseModel]] = []
    entities: list[int] = []
    for event_type, data, entity_id in pending:
        if data is None:
            data = built.get((event_type, entity_id))
            if data is None:
                continue
        events.append((event_type, data))
        entities.append(entity_id)
    return events, entities


@dataclass(slots=True)
class _Job:
    fn: Callable[[PgStoreTx], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop

    @property
    def replayable(self) -> bool:
        return bool(getattr(self.fn, "replayable", False))


# what a job's ``run`` is told: whether it ran, its result or exception, the events of its
# transaction, and its after-commit callbacks
_Outcome = tuple[bool, Any, list[CommittedEvent], list[Callable[[], None]]]


class PgWriter:
    """Runs transaction functions one transaction at a time (in this process) on the
    engine's pool, on a thread of its own, with group commit as SQLite's writer has it:
    the replayable functions waiting in a row (``engine.replayable``: inbound messages,
    echoes, calls) run one after the other in one transaction, numbered and committed
    together (one COMMIT, one WAL flush, one turn at the event counter for them all); if
    one of them fails, that transaction is rolled back and each is run again in one of
    its own, where only the failing one fails. Any other function runs in a transaction
    of its own, in its turn. ``run`` returns once the follower has published the events
    of its transaction."""

    def __init__(
        self, engine: PgEngine, *, now: Callable[[], datetime], max_batch: int = MAX_BATCH
    ) -> None:
        self._engine = engine
        self._now = now
        self._max_batch = max_batch
        self._jobs: queue.SimpleQueue[list[_Job] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._newest = 0
        self.follower: EventFollower | None = None
        self.transactions = 0
        self.changed = 0  # transactions that changed a row
        self.followed = 0  # pages of events the follower has published

    @property
    def batches(self) -> int:
        """Grows with every commit this process has made or followed."""
        return self.transactions + self.followed

    @property
    def commits(self) -> int:
        """The COMMITs this process's writer has made (not those it followed)."""
        return self.transactions

    @property
    def changed_batches(self) -> int:
        """What the view counts' cache is tagged with: the commits this process has made
        that changed a row, and every page of events it has followed (another process's
        commit makes the cache stale too)."""
        return self.changed + self.followed

    @property
    def newest_seq(self) -> int:
        """The newest event this process has committed or published."""
        follower = self.follower
        return max(self._newest, follower.cursor if follower is not None else 0)

    def start(self) -> None:
        with self._engine.pool.connection() as conn:
            self._newest = newest_seq(conn)
        self._thread = threading.Thread(target=self._run, name="ttydesk-pg-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """After the jobs already given have run."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join()

    async def run(self, fn: Callable[[PgStoreTx], T]) -> T:
        if self._thread is None:
            raise RuntimeError("the store is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Outcome] = loop.create_future()
        self._jobs.put([_Job(fn, future, loop)])
        ok, value, events, callbacks = await future
        if events:
            await self._published(events)
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("after-commit callback failed")
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    async def _published(self, events: list[CommittedEvent]) -> None:
        follower = self.follower
        if follower is None:
            return
        follower.offer(events)  # handed on at once if they are the log's next
        try:
            async with asyncio.timeout(PUBLISH_WAIT_SECONDS):
                await follower.wait_for(events[-1].seq)
        except TimeoutError:
            log.warning(
                "the event log's follower is behind event %s: answering anyway", events[-1].seq
            )

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch = list(first)
            stop_after = drain_waiting(self._jobs, batch, self._max_batch)
            for jobs in _turns(batch):
                outcomes = self._commit_together(jobs) if len(jobs) > 1 else None
                if outcomes is None:
                    outcomes = [self._commit_alone(job) for job in jobs]
                for job, outcome in zip(jobs, outcomes, strict=True):
                    _settle(job, outcome)
            if stop_after:
                return

    def _commit_alone(self, job: _Job) -> _Outcome:
        try:
            ((value, callbacks),), events = self._commit([job])
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
            return False, exc, [], []
        return True, value, events, callbacks

    def _commit_together(self, jobs: list[_Job]) -> list[_Outcome] | None:
        """Replayable jobs in one transaction; None (rolled back) if one of them failed."""
        try:
            done, events = self._commit(jobs)
        except BaseException:  # noqa: BLE001 - each runs again alone, where it is handed over
            log.debug("a job of a group commit failed: each runs alone", exc_info=True)
            return None
        # every job's caller waits for the events of the whole transaction
        return [(True, value, events, callbacks) for value, callbacks in done]

    def _commit(
        self, jobs: list[_Job]
    ) -> tuple[list[tuple[Any, list[Callable[[], None]]]], list[CommittedEvent]]:
        """Run ``jobs`` in one transaction and commit it: each one's result and
        after-commit callbacks, and the transaction's events."""
        now = self._now()
        now_iso = iso(now) or ""
        done: list[tuple[Any, list[Callable[[], None]]]] = []
        with self._engine.pool.connection() as conn:
            with conn.pipeline() as pipeline:
                pending: list[tuple[str, dict[str, Any] | BaseModel | None, int]] = []
                messages: list[Cursor] = []
                indexed: list[int] = []
                tx = PgStoreTx(conn, now, now_iso, self.newest_seq + 1, pipeline=pipeline)
                for job in jobs:
                    tx = PgStoreTx(conn, now, now_iso, tx.next_seq, pipeline=pipeline)
                    done.append((job.fn(tx), tx.after_commit))
                    pending += tx.pending
                    messages += tx.messages
                    indexed += tx.indexed
                logged, entities = _events_of(tx, pending)
                if indexed:
                    conn.execute(ADD_SEARCH_WORDS, (indexed,))
                if messages:  # their ids were read by the jobs: no wait here
                    ids = [cursor.lastrowid for cursor in messages]
                    conn.execute(COUNT_INSERTED_MESSAGES, (ids,))
                events = append_events(
                    conn, logged, now_iso, entities, unless_logged_after=tx.unless_logged_after
                )
                tx.events += events
                # a transaction gets an id when it first writes a row: the outbox's rounds
                # that find nothing to do leave the counts cached (an event is a row)
                wrote = bool(events) or bool(conn.execute(CHANGED_A_ROW).fetchone()[0])  # type: ignore[index]
            # the pipeline's end waited for every result: an error of any statement was raised
        # committed when the pool's block ended without an exception
        if events:
            self._newest = max(self._newest, events[-1].seq)
        self.transactions += 1
        if wrote:
            self.changed += 1
        return done, events


def _turns(batch: list[_Job]) -> Iterator[list[_Job]]:
    """The batch's transactions in order: each run of replayable jobs together, any
    other job alone."""
    run: list[_Job] = []
    for job in batch:
        if job.replayable:
            run.append(job)
            continue
        if run:
            yield run
            run = []
        yield [job]
    if run:
        yield run


def _settle(job: _Job, outcome: _Outcome) -> None:
    def settle() -> None:
        if not job.future.done():
            job.future.set_result(outcome)

    try:
        job.loop.call_soon_threadsafe(settle)
    except RuntimeError:  # its loop has closed: nobody waits for it any more
        pass


class PgReaders:
    """Reads on the engine's pool, each on a worker thread."""

    def __init__(self, engine: PgEngine) -> None:
        self._engine = engine
        self.background = self

    def _all(self, sql: str, params: Any) -> list[Any]:
        # never prepared: a prepared statement is soon planned once for any values (a
        # generic plan), and a search's plan depends on its words (a rare word from its
        # index hits, a common one newest first): searches took 100-130 ms on such plans
        # where a plan for their words took a few
        with self._engine.pool.connection() as conn:
            return run_sql(conn, sql, params, prepare=False).fetchall()

    async def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        return await asyncio.to_thread(self._all, sql, params)

    async def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    async def value(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]


# the SQLite store's areas, all of them: an area added there is PostgreSQL's too
class PostgresStore(*SqliteStore.__bases__):  # type: ignore[misc]
    single_process = False  # several `serve` processes may share the database

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        on_commit: Callable[[list[CommittedEvent]], None] | None = None,
        pool_size: int = 8,
    ) -> None:
        self.url = url
        self.clock = clock or SystemClock()
        self._listen(on_commit)
        self.engine = PgEngine(url, now=self.clock.now, max_size=pool_size, configure=configure)
        self.writer = PgWriter(self.engine, now=self.clock.now)  # type: ignore[assignment]
        self.readers = PgReaders(self.engine)  # type: ignore[assignment]
        self._presence_listeners: list[Callable[[str, dict[str, Any] | None], None]] = []
        self._presence: PresenceRelay | None = None

    async def open(self) -> None:
        await self.engine.open()
        await self.start()

    async def start(self) -> None:
        """After the engine has opened (``startup.open_postgresql`` opens it): the
        follower reads the log from its newest event on, and publishes what every
        process commits from then."""
        await asyncio.to_thread(self.writer.start)
        follower = EventFollower(self.url, self._followed, after=self.writer.newest_seq)
        await follower.start()
        self.writer.follower = follower
        self._presence = PresenceRelay(self.url, self._presence_heard)
        await self._presence.start()

    def _followed(self, events: list[CommittedEvent]) -> None:
        self.writer.followed += 1
        self._published(events)

    def on_presence(self, callback: Callable[[str, dict[str, Any] | None], None]) -> None:
        self._presence_listeners.append(callback)

    def share_presence(self, key: str, presence: dict[str, Any]) -> None:
        """Tell the other processes a client's presence (``pg_presence``)."""
        if self._presence is not None:
            self._presence.share(key, presence)

    def _presence_heard(self, key: str, presence: dict[str, Any] | None) -> None:
        for callback in self._presence_listeners:
            callback(key, presence)

    async def close(self) -> None:
        presence, self._presence = self._presence, None
        if presence is not None:
            await presence.stop()
        self.writer.stop()
        follower, self.writer.follower = self.writer.follower, None
        if follower is not None:
            await follower.stop()
        await self.engine.close()

    async def emit_view_counts(
        self, counts: schemas.ViewCounts, *, unless_logged_after: int | None = None
    ) -> bool:
        """As ``ViewsStore.emit_view_counts``, exact across processes: "nothing logged
        since" is checked by the statement that numbers the event, with the counter's row
        locked, so no other process's event can be numbered between the check and this
        event. The counter is thus the last lock this transaction takes, as it is every
        other's: it never holds the counter while it waits for another lock (taken
        first, the counter made a transaction that had locked rows and then waited for
        the counter a deadlock's partner as soon as this one waited for one of them)."""

        def emit(tx: PgStoreTx) -> list[CommittedEvent]:
            tx.emit(schemas.EventType.view_counts, counts)
            tx.unless_logged_after = unless_logged_after
            return tx.events  # filled at COMMIT

        return bool(await self.write(emit))

    async def copy_from_sqlite(self, sqlite_path: Path) -> dict[str, int]:
        """Copy the SQLite database at ``sqlite_path`` into this (opened, empty) one
        (``pg_copy``); the rows copied per table. A ``CopyError`` says why it cannot."""

        def copy() -> dict[str, int]:
            with self.engine.pool.connection() as conn:
                return copy_to_postgresql(sqlite_path, conn)

        return await asyncio.to_thread(copy)

    async def event_page(self, seq: int, limit: int) -> EventPage:
        """As ``EventsStore.event_page``; a snapshot logged without its frame (one copied
        from SQLite by ``admin migrate``) is built from its row as it is now, from the
        wire model as the PostgreSQL writer builds them."""

        def read() -> tuple[list[Any], dict[int, str]]:
            with self.engine.pool.connection() as conn:
                rows = run_sql(
                    conn, f"{LOGGED_EVENTS} WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
                ).fetchall()
                now = self.now()
                reader = PgStoreTx(conn, now, iso(now) or "", 0)
                built: dict[int, str] = {}
                for event_seq, event_type, entity_id in unbuilt(rows):
                    snapshot = _SNAPSHOTS.get(event_type)
                    if snapshot is None:
                        continue
                    try:
                        model = snapshot(reader, entity_id)
                    except NotFound:
                        continue
                    built[event_seq] = frame(event_seq, event_type, model)
                return rows, built

        rows, built = await asyncio.to_thread(read)
        frames = [(row[0], text) for row, text in logged_frames(rows, built)]
        return EventPage(frames, rows[-1][0] if rows else seq, len(rows) == limit)

    async def _contact_hits(self, match, where, after, limit):  # type: ignore[no-untyped-def]
        """As ``SearchStore._contact_hits`` with ``= ANY(ARRAY(…))`` for its ``IN``: the
        same threads, but PostgreSQL reads the matching contacts once and looks up their
        threads (``threads_contact``), where for ``IN`` it hashed them and read every
        thread of the view, or the newest threads one by one (a name of 1,018 contacts
        in the urgent view: 150 ms, 36 this way)."""
        clause = (
            "th.contact_id = ANY(ARRAY(SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?))"
        )
        return await self._thread_stage("contact", clause, [match], where, after, limit)

    async def _subject_hits(self, match, where, after, limit):  # type: ignore[no-untyped-def]
        """As ``SearchStore._subject_hits`` with ``NOT EXISTS`` for its ``NOT IN``: the
        same threads (``threads.contact_id`` is never NULL), but PostgreSQL runs ``NOT IN
        (subquery)`` as a filter over a scan of every thread, and ``NOT EXISTS`` as an
        anti-join of the subject's hits."""
        clause = (
            f"th.ticket_id IN ({SUBJECT_MATCH}) AND NOT EXISTS (SELECT 1 FROM contacts_fts "
            "WHERE contacts_fts.rowid = th.contact_id AND contacts_fts MATCH ?)"
        )
        return await self._thread_stage("subject", clause, [match, match], where, after, limit)

    async def _message_prepared(self, match: str, after: int | None) -> tuple[int, str | None]:
        """The newest message's id and the search's ``tsquery``, its last word searched as
        the words it begins (``_message_hits``), in one read."""
        typed = fts5_words(match)
        prefix = prefix_word(typed)
        newest, completions = await self.readers.one(
            "SELECT (SELECT MAX(rowid) FROM messages_fts), ARRAY(SELECT word FROM "
            "messages_fts_words WHERE word >= ? AND word < ? ORDER BY word LIMIT ?)",
            (prefix or "", (prefix or "") + LAST_CHARACTER, MAX_PREFIX_WORDS + 1 if prefix else 0),
        )
        if prefix is not None and len(completions) <= MAX_PREFIX_WORDS:
            return newest or 0, ts_query(typed, completions)
        return newest or 0, ts_query(typed)

    async def _message_hits(self, match, where, after, limit, prepared=None):  # type: ignore[no-untyped-def]
        """As ``SearchStore._message_hits``, newest window first, in one statement: FTS5
        hands its hits over newest first and the query stops at the page's end, but a GIN
        index gives them in no order, so a common word made PostgreSQL join every one of
        its hits (thousands) to keep a page of them. Each window (``SEARCH_WINDOWS``
        messages, then the rest) is a range of ids the index's hits are intersected with
        before any row is read, its hits filtered by their thread (the full-text row names
        it) and sorted; the windows are the branches of a ``UNION ALL`` in order, newest
        first, under the page's ``LIMIT``, which stops running them once it is full (an
        ``Append`` runs its branches one after the other; the store's connections have no
        parallel workers, which could run them at once). Only the page's messages are
        read. The last word, a prefix, is searched as the words that begin with it
        (``messages_fts_words``; as a prefix when there are more than
        ``MAX_PREFIX_WORDS``): the GIN index skips through an exact word's hits to those
        of the other words, but gathers every hit of a prefix's words first, 3 to 10 times
        slower (``'headphones' & 'refund':*`` 24 ms, with ``'refund'`` 2). The snippet is
        cut here from the message's text, as SQLite's ``snippet()`` cuts it around the
        match."""
        joins, conditions = where.joins(), where.where()
        newest, query = prepared or await self._message_prepared(match, after)
        if query is None:  # no message holds a word the last one begins
            return []
        below = after if after is not None else newest + 1
        # the windows' bounds are values, not expressions, so each window is planned for
        # its size (an id range of unknown size was taken for 0.5 % of the table, and a
        # range of 320,000 ids read into a bitmap: 20 ms); a window's hits are sorted by
        # an expression, not read in the order of the ids' index: a rare word taken for a
        # common one (a word not among the table's statistics is guessed) was looked for
        # by reading the window's rows newest first, all of them (1.2 s); and each hit's
        # thread is looked up (OFFSET 0 keeps the subquery a subquery), never every
        # thread of the view read into a hash for what was guessed to be many hits (45 ms
        # for the 7 of 'A123')
        bounds = [below - sum(SEARCH_WINDOWS[:n]) for n in range(len(SEARCH_WINDOWS) + 1)]
        bounds = [bound for bound in bounds if bound > 1] or [below]  # none below the first
        windows, args = [], []
        for n, upper in enumerate(bounds):
            lower = bounds[n + 1] if n + 1 < len(bounds) else None
            windows.append(
                "(SELECT messages_fts.rowid AS message_id, messages_fts.thread_id "
                "FROM messages_fts JOIN LATERAL (SELECT th.id FROM threads th "
                f"{joins} WHERE th.id = messages_fts.thread_id AND {conditions} OFFSET 0) "
                "AS seen ON TRUE WHERE messages_fts.document @@ ?::tsquery "
                "AND messages_fts.rowid < ?"
                + (" AND messages_fts.rowid >= ?" if lower is not None else "")
                + " ORDER BY messages_fts.rowid + 0 DESC LIMIT ?)"
            )
            args += [*where.params, query, upper, *([lower] if lower is not None else []), limit]
        sql = (
            "SELECT hit.message_id, hit.thread_id, m.kind, "
            "COALESCE(m.text, m.caption, '') AS snip "
            f"FROM (SELECT * FROM ({' UNION ALL '.join(windows)}) AS windows LIMIT ?) hit "
            "JOIN messages m ON m.id = hit.message_id ORDER BY hit.message_id DESC"
        )
        rows = await self.readers.all(sql, [*args, limit])
        typed = fts5_words(match)
        return [
            _Hit(
                key=row["message_id"],
                thread_id=row["thread_id"],
                matched="message",
                message_id=row["message_id"],
                snippet=snippet(row["snip"] or "", typed),
                message_kind=row["kind"],
            )
            for row in rows
        ]
