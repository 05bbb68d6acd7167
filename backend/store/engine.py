"""The SQLite engine: one writer thread with group commit, aiosqlite readers beside it.

Every state change is a *transaction function* ``fn(tx) -> result`` that runs on the
writer's thread. The writer takes whatever functions are waiting (up to ``max_batch``),
runs each inside its own SAVEPOINT, and commits them together: one fsync for many
changes, which is what makes ingest fast (PERF-BASELINES: group commit is 4× one
commit per request). A function that raises is rolled back alone; the others commit.
Events a function emits with ``tx.emit`` (or ``tx.emit_sql``, whose payload SQLite builds
just before COMMIT) are written in the same transaction and handed to ``on_commit`` only
after COMMIT returns, in seq order. A checkpointer thread copies the WAL back into the
database file beside the writer, so no COMMIT waits for it.

aiosqlite offers no public way to run a whole transaction as one call on its thread, and
one await per statement costs a thread hop each; so the writer owns a plain sqlite3
connection on a thread of its own, and reads go through aiosqlite connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from pydantic import BaseModel

from backend.store.types import CommittedEvent

log = logging.getLogger(__name__)

T = TypeVar("T")
J = TypeVar("J")

MAX_BATCH = 500
CHECKPOINT_EVERY_SECONDS = 0.25
# The writer's own automatic checkpoint, a backstop for when the checkpointer falls
# behind (SQLite's default is 1,000 pages), and the size a reset WAL file is cut back to.
WRITER_AUTOCHECKPOINT_PAGES = 16_000
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
# The writer syncs the WAL at every (group) commit: a webhook answered 200 is never sent
# again by Meta, so it must survive a power cut, not only a crash of the process. NORMAL
# would sync only at checkpoints (tests/bench/results.md has the cost: one fsync a batch).
WRITER_SYNCHRONOUS = "FULL"


# json.dumps with any option builds a JSONEncoder per call (half its time for the short
# lists and objects the writer stores: ~5 µs against ~2.5); one encoder serves every call
# (its encode keeps no state between calls) with the same text
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str, allow_nan=False)


def dumps(value: Any) -> str:
    """Compact JSON; a non-finite float is a ValueError (``NaN`` is not JSON, and a column
    holding it breaks every SQL-built event that reads the row), raised in the job that
    tried to store it."""
    return _ENCODER.encode(value)


# "00" to "99", for ``iso``
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))


def iso(dt: datetime | None) -> str | None:
    """A time as stored: UTC, with microseconds, ``2026-12-07T01:24:59.000000+00:00``
    (``isoformat(timespec="microseconds")`` of the UTC time; a naive one is taken as UTC).
    Built from a table rather than by ``isoformat``, whose keyword parsing, printf per
    field and offset formatting cost ~3x as many instructions: the writer stores one or
    two per inbound message (tests/bench/results.md)."""
    if dt is None:
        return None
    if dt.tzinfo is not UTC:
        dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    two = _TWO_DIGITS
    year, micro = dt.year, dt.microsecond
    return (
        f"{year if year > 999 else f'{year:04d}'}-{two[dt.month]}-{two[dt.day]}"
        f"T{two[dt.hour]}:{two[dt.minute]}:{two[dt.second]}"
        f".{f'{micro:06d}' if micro else '000000'}+00:00"
    )


def parse_dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


MESSAGES_FTS = "messages_fts"
_FTS_BULK_INSERT = (
    "INSERT INTO messages_fts (rowid, body) SELECT value ->> 0, value ->> 1 FROM json_each(?)"
)


@dataclass(frozen=True, slots=True)
class SqlEvent:
    """An event whose payload SQLite builds from the rows it describes.

    ``select`` reads ``json_each(:pairs) AS j`` whose values are ``[seq, entity id]`` and yields
    ``seq`` and ``payload`` (the whole ``{"seq","type","data"}`` frame). Building the JSON
    in SQLite's C saves the ingest path a joined row, a wire model and its encoding per
    event (tests/bench/ingest.py); the payload must equal the wire model's JSON, which
    the tests check for every builder against the model that REST returns.

    Such an event is a snapshot of one row, so the log keeps only its type and the row's
    id (``payload`` empty, ``entity_id`` set): the frame is built once per batch for the
    live push, and again from the rows of the moment for a replay. A snapshot replayed
    later shows a newer state, which is what the client is about to be told anyway; the
    log stays ~30 bytes per event instead of ~1 KB (two frames per inbound message).
    """

    type: str
    select: str

    def __post_init__(self) -> None:
        SQL_EVENTS[self.type] = self

    @property
    def row(self) -> str:
        """What its entity id names: ``message`` for message.created and message.updated."""
        return self.type.partition(".")[0]


# SqlEvent builders by event type, for rebuilding logged snapshots (``build_logged``)
SQL_EVENTS: dict[str, SqlEvent] = {}
_LOG_SNAPSHOT = "INSERT INTO events (seq, type, payload, at, entity_id) VALUES (?, ?, '', ?, ?)"


def pairs_by_builder(
    rows: Iterable[tuple[int, str, int]],
) -> dict[SqlEvent, list[tuple[int, int]]]:
    """``(seq, type, entity id)`` of snapshot events, grouped by their builder."""
    grouped: dict[SqlEvent, list[tuple[int, int]]] = {}
    for seq, event_type, entity_id in rows:
        builder = SQL_EVENTS.get(event_type)
        if builder is not None:
            grouped.setdefault(builder, []).append((seq, entity_id))
    return grouped


def snapshot_queries(rows: Iterable[tuple[int, str, int]]) -> list[tuple[str, dict[str, str]]]:
    """The statements that build the frames of ``(seq, type, entity id)`` snapshot events;
    each yields ``seq`` and ``payload`` for the events whose row still exists."""
    return [
        (builder.select, {"pairs": dumps(pairs)})
        for builder, pairs in pairs_by_builder(rows).items()
    ]


def build_logged(conn: sqlite3.Connection, rows: Iterable[tuple[int, str, int]]) -> dict[int, str]:
    """Frames by seq for snapshot events; an event whose row is gone has none."""
    return {
        int(seq): payload
        for sql, params in snapshot_queries(rows)
        for seq, payload in conn.execute(sql, params)
    }


# the event log as ``logged_frames`` reads it
LOGGED_EVENTS = "SELECT seq, type, payload, entity_id FROM events"


def unbuilt(rows: Iterable[Sequence[Any]]) -> list[tuple[int, str, int]]:
    """The snapshot events among rows of ``LOGGED_EVENTS``: those logged without a payload."""
    return [(row[0], row[1], row[3]) for row in rows if not row[2]]


def logged_frames(
    rows: Iterable[Sequence[Any]], built: dict[int, str]
) -> list[tuple[Sequence[Any], str]]:
    """Each row of ``LOGGED_EVENTS`` with its frame, the one logged or the one ``built`` for
    a snapshot; a snapshot whose row is gone is left out."""
    framed = []
    for row in rows:
        frame = row[2] or built.get(row[0])
        if frame:
            framed.append((row, frame))
    return framed


class BatchBuffer:
    """Writes a batch makes once, just before COMMIT, instead of once per job.

    *Full-text rows*: FTS5 writes its pending terms out as a new segment at every
    savepoint and every statement that opens a statement journal, so one INSERT per
    message costs a segment (and its merging) per message; rows inserted by one
    statement share one segment. Statements that name ``messages_fts`` flush the rows
    first, so a transaction never sees the index without its own rows.

    *SQL-built events* (``Tx.emit_sql``): the seq is taken when the job emits, the payload
    is built from the rows as they are at the end of the batch (a snapshot event such as
    ``thread.updated`` then shows the newest state, never an older one). An event whose
    row no longer exists is dropped. An event emitted with its frame's data ``held`` (a
    row the job just wrote, as the builder would build it) is not built again: its frame
    is the held data, unless another event of the batch snapshots the same row, when
    the row is read as for any other.

    A rolled-back job's rows and events are dropped (``mark``/``undo``).

    One job's bad value must not fail its neighbours' commit, yet these writes run for all
    of them at once: so a job's text must be encodable when it indexes it (checked then,
    in its own savepoint), and if a bulk write still fails, it is redone item by item and
    an item that fails alone is left out (logged), the rest of the batch committing.
    """

    __slots__ = ("flushed", "late", "now", "now_iso", "rows")

    def __init__(self, now: datetime) -> None:
        # the batch commits as one: it and each of its transactions have one time
        self.now = now
        self.now_iso = iso(now)
        self.rows: list[tuple[int, str]] = []
        self.flushed = 0  # rows[:flushed] are in the table
        self.late: list[tuple[SqlEvent, int, CommittedEvent, str | None]] = []

    def mark(self) -> tuple[int, int, int]:
        return len(self.rows), self.flushed, len(self.late)

    def undo(self, mark: tuple[int, int, int]) -> None:
        """After a rollback to the savepoint taken at ``mark``."""
        count, flushed, late = mark
        del self.rows[count:]
        self.flushed = flushed
        del self.late[late:]

    def flush_fts(self, conn: sqlite3.Connection) -> None:
        if self.flushed < len(self.rows):
            rows = self.rows[self.flushed :]
            self.flushed = len(self.rows)
            _each_alone(conn, _FTS_BULK_INSERT, rows, lambda part: (dumps(part),))

    def flush(self, conn: sqlite3.Connection) -> None:
        """Everything, before COMMIT."""
        self.flush_fts(conn)
        for statements in AFTER_BATCH:
            _all_or_none(conn, statements)
        if not self.late:
            return
        built = _held_frames(self.late)
        for builder, pairs in pairs_by_builder(
            (event.seq, builder.type, entity_id)
            for builder, entity_id, event, _ in self.late
            if event.seq not in built
        ).items():
            for rows in _each_alone(
                conn, builder.select, pairs, lambda part: {"pairs": dumps(part)}, fetch=True
            ):
                built.update((int(seq), payload) for seq, payload in rows)
        logged = []
        for builder, entity_id, event, _ in self.late:
            frame = built.get(event.seq)
            if frame is not None:
                event.frame = frame
                logged.append((event.seq, builder.type, self.now_iso, entity_id))
        conn.executemany(_LOG_SNAPSHOT, logged)
        self.late.clear()


def _held_frames(late: list[tuple[SqlEvent, int, CommittedEvent, str | None]]) -> dict[int, str]:
    """Frames by seq of the batch's events emitted with their data held (``Tx.emit_sql``)
    whose row no other event of the batch snapshots (``thread``, ``message``, ``ticket``:
    a message.updated after a message.created of the same message reads the row, and so
    does the message.created, as the batch leaves it)."""
    if all(held is None for _, _, _, held in late):
        return {}
    rows: dict[tuple[str, int], int] = {}
    for builder, entity_id, _, _ in late:
        key = (builder.row, entity_id)
        rows[key] = rows.get(key, 0) + 1
    return {
        event.seq: f'{{"seq":{event.seq},"type":"{builder.type}","data":{held}}}'
        for builder, entity_id, event, held in late
        if held is not None and rows[(builder.row, entity_id)] == 1
    }


def _all_or_none(conn: sqlite3.Connection, statements: Sequence[str]) -> None:
    """``statements`` in a savepoint: if one fails, none stands (logged), and the batch
    still commits (derived rows lag; the next batch makes them up)."""
    conn.execute("SAVEPOINT after_batch")
    try:
        for sql in statements:
            conn.execute(sql)
    except sqlite3.Error:
        log.exception("an after-batch statement failed; left for the next batch")
        conn.execute("ROLLBACK TO after_batch")
    conn.execute("RELEASE after_batch")


def _each_alone(
    conn: sqlite3.Connection,
    sql: str,
    items: list[Any],
    params: Callable[[list[Any]], Sequence[Any] | dict[str, Any]],
    *,
    fetch: bool = False,
) -> list[list[Any]]:
    """Run ``sql`` once for all ``items`` (``(id, …)`` tuples; its parameters from
    ``params(items)``); if that fails, once per item, leaving out (and logging) an item that
    fails alone. Returns the rows of each run when ``fetch``. (A statement that fails leaves
    nothing behind; a failure that is not an item's, a full disk or an I/O error, meets the
    batch's COMMIT too, which then fails as a whole.)"""
    try:
        cursor = conn.execute(sql, params(items))
        return [cursor.fetchall() if fetch else []]
    except (sqlite3.Error, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        if len(items) == 1:
            # the item's id only: a full-text row holds customer text
            log.error("left out of the batch's commit: item %s (%s)", items[0][0], exc)
            return []
    results = []
    for item in items:
        results.extend(_each_alone(conn, sql, [item], params, fetch=fetch))
    return results


# INSERT statements by (table, *columns): the same few shapes are built for every row
_INSERTS: dict[tuple[str, ...], str] = {}


@dataclass
class Tx:
    """What a transaction function gets: the connection, the time, and ``emit``."""

    conn: sqlite3.Connection
    now: datetime
    now_iso: str  # iso(now), as stored
    next_seq: int
    batch: BatchBuffer = field(repr=False)  # the writer's, shared by the batch's jobs
    events: list[CommittedEvent] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        if MESSAGES_FTS in sql:
            self.batch.flush_fts(self.conn)
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        if MESSAGES_FTS in sql:
            self.batch.flush_fts(self.conn)
        return self.conn.executemany(sql, rows)

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        return self.execute(sql, params).fetchall()

    def index_message(self, message_id: int, body: str) -> None:
        """Add a message to ``messages_fts`` (at the end of the batch, see ``BatchBuffer``)."""
        if not body.isascii():
            body.encode()  # text UTF-8 cannot hold fails this job here, not the batch's write
        self.batch.rows.append((message_id, body))

    def insert(self, table: str, values: dict[str, Any]) -> int:
        key = (table, *values)
        sql = _INSERTS.get(key)
        if sql is None:
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            sql = _INSERTS[key] = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        cur = self.conn.execute(sql, tuple(values.values()))
        return int(cur.lastrowid or 0)

    def update(self, table: str, row_id: int, values: dict[str, Any]) -> None:
        if not values:
            return
        assignments = ", ".join(f"{name} = ?" for name in values)
        self.conn.execute(
            f"UPDATE {table} SET {assignments} WHERE id = ?", (*values.values(), row_id)
        )

    def emit(self, event_type: str, data: dict[str, Any] | BaseModel) -> int:
        """Log an event in this transaction; it is published only if the transaction commits.

        ``data`` may be a wire model: it is then encoded straight to JSON by pydantic-core,
        without the intermediate dict (this is on the ingest hot path).
        """
        seq = self.next_seq
        self.next_seq += 1
        encoded = data.model_dump_json() if isinstance(data, BaseModel) else dumps(data)
        frame = f'{{"seq":{seq},"type":{dumps(str(event_type))},"data":{encoded}}}'
        self.conn.execute(
            "INSERT INTO events (seq, type, payload, at) VALUES (?, ?, ?, ?)",
            (seq, event_type, frame, self.now_iso),
        )
        self.events.append(CommittedEvent(seq, event_type, frame))
        return seq

    def claim_clause(self, alias: str) -> str:
        """What ends a SELECT that claims rows of ``alias`` (PostgreSQL: ``FOR UPDATE OF
        alias SKIP LOCKED``, so several processes never claim one row); SQLite's one
        writer needs nothing."""
        return ""

    def exclusive(self, key: int) -> None:
        """Hold the lock named ``key`` to the end of the transaction, so check-then-write
        rules (the usage limit, round-robin) run one at a time across processes
        (PostgreSQL: ``pg_advisory_xact_lock``); SQLite's one writer already does."""

    def emit_sql(self, builder: SqlEvent, entity_id: int, held: str | None = None) -> int:
        """Log an event whose payload SQLite builds at the end of the batch (``SqlEvent``);
        ``held``: its frame's data as the builder would build it from the row this job
        just wrote, which then needs no SELECT (``BatchBuffer``)."""
        seq = self.next_seq
        self.next_seq += 1
        event = CommittedEvent(seq, builder.type, "")
        self.batch.late.append((builder, entity_id, event, held))
        self.events.append(event)
        return seq


# Python functions the writer's SQL may call (SqlEvent payloads): name → (arguments, fn)
# Statements the writer runs once per batch, just before COMMIT (``after_batch``): rows
# derived from what the batch wrote, kept with one statement per batch rather than one
# per row (a trigger's way)
AFTER_BATCH: list[tuple[str, ...]] = []


def after_batch(*statements: str) -> None:
    """Run ``statements`` (together: all or none) at the end of every batch."""
    AFTER_BATCH.append(statements)


SQL_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {}


def sql_function(name: str, arguments: int, function: Callable[..., Any]) -> None:
    """Make a deterministic Python function callable from SQL on connections opened after."""
    SQL_FUNCTIONS[name] = (arguments, function)


# CPython's sqlite3 binds None only after it has looked for an adapter, then for a
# ``__conform__`` method, and failed (an exception built and dropped per NULL parameter:
# about 1 µs each, and an inbound message binds a dozen). A registered adapter for None
# is found by one dict lookup instead.
sqlite3.register_adapter(type(None), lambda value: value)


def connect_sqlite(
    path: Path, *, readonly: bool = False, synchronous: str = "NORMAL"
) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, cached_statements=512
    )
    conn.row_factory = sqlite3.Row
    for name, (arguments, function) in SQL_FUNCTIONS.items():
        conn.create_function(name, arguments, function, deterministic=True)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -32000")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the numbered migrations not yet applied; returns the schema version."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    folder = resources.files("backend.store") / "migrations"
    scripts = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".sql")),
        key=lambda entry: entry.name,
    )
    version = max(applied, default=0)
    for script in scripts:
        number = int(script.name.split("_", 1)[0])
        if number in applied:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(script.read_text(encoding="utf-8")):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version) VALUES (?)", (number,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = number
        log.info("applied migration %s", script.name)
    return version


def _statements(script: str) -> list[str]:
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not buffer.strip().startswith("--"):
        statements.append(buffer.strip())
    return statements


def replayable(fn: Callable[[Tx], T]) -> Callable[[Tx], T]:
    """Mark a transaction function as safe to run again after a rollback (it changes
    nothing but the database, so running it twice is running it once): the writer then
    runs it in a savepoint shared with its neighbours in the batch, and replays them one
    by one only if one of them fails. Returns ``fn`` (a function or a partial)."""
    fn.replayable = True  # type: ignore[attr-defined]
    return fn


class Checkpointer:
    """Copies the WAL back into the database file on a thread and connection of its own.

    SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000
    pages, on the writer's thread: every few batches one of them waited for the copy and
    two fsyncs (ingest ran 20-25 % faster without; tests/bench/ingest.py). WAL mode lets a
    PASSIVE checkpoint run beside the writer and the readers, so this one does, a few
    times a second while there are commits; a page rewritten by many commits in between
    is copied once.
    """

    def __init__(self, path: Path, every: float = CHECKPOINT_EVERY_SECONDS) -> None:
        self._path = path
        self._every = every
        self._committed = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="ttydesk-checkpointer", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Called by the writer after each COMMIT."""
        self._committed.set()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping.set()
        self._committed.set()
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        conn = connect_sqlite(self._path)
        try:
            while True:
                self._committed.wait()
                if self._stopping.wait(self._every):
                    return
                self._committed.clear()
                if self._stopping.is_set():  # a stop whose wake-up that clear() erased
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    self.checkpoints += 1
                except sqlite3.Error:
                    log.exception("checkpoint failed (the writer's own will run later)")
        finally:
            conn.close()


def drain_waiting(jobs: queue.SimpleQueue[list[J] | None], batch: list[J], most: int) -> bool:
    """Add the jobs waiting in ``jobs`` (each put a list of them: a loop turn's) to ``batch``
    while it holds fewer than ``most``, without blocking; True if the stop sign (``None``)
    was among them (a writer's group commit)."""
    while len(batch) < most:
        try:
            jobs_put = jobs.get_nowait()
        except queue.Empty:
            return False
        if jobs_put is None:
            return True
        batch.extend(jobs_put)
    return False


@dataclass(slots=True)
class _Job:
    fn: Callable[[Tx], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


def _write_statistics(conn: sqlite3.Connection, sql: str) -> None:
    """Planner statistics in a write transaction taken first: ANALYZE reads, then writes,
    and beside another process writing (a running server under an admin command) its
    upgrade from a read to a write fails at once, with no wait, on a snapshot gone stale;
    BEGIN IMMEDIATE waits for the lock (busy_timeout) and reads after it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(sql)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Writer:
    """The one writer: a thread that runs transaction functions with group commit."""

    def __init__(
        self,
        path: Path,
        *,
        now: Callable[[], datetime],
        on_commit: Callable[[list[CommittedEvent]], None],
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._path = path
        self._now = now
        self._on_commit = on_commit
        self._max_batch = max_batch
        # jobs go to the thread a loop turn's worth at a time (``_hand_over``)
        self._jobs: queue.SimpleQueue[list[_Job] | None] = queue.SimpleQueue()
        self._waiting: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self.checkpointer = Checkpointer(path)
        self._next_seq = 1
        self.batches = 0
        # batches that changed a row: the outbox's rounds (every second, mostly finding
        # nothing to do) do not move it, so what is cached until a change stays cached
        self.changed_batches = 0
        self.transactions = 0

    @property
    def commits(self) -> int:
        """The COMMITs this writer has made (a batch is one), as ``PgWriter.commits``."""
        return self.batches

    @property
    def newest_seq(self) -> int:
        """The seq of the newest event this writer has committed or is about to (approximate
        from other threads, exact inside a transaction function via ``tx.next_seq``)."""
        return self._next_seq - 1

    def start(self) -> None:
        self._conn = connect_sqlite(self._path, synchronous=WRITER_SYNCHRONOUS)
        migrate(self._conn)
        # Planner statistics, refreshed at every start (sampled: ~60 ms at 1M messages).
        # Without them a view filter such as status = 'closed' looks selective, and a
        # search scans 70k threads by that index instead of starting from the few FTS
        # hits (120 ms instead of 1 ms, tests/bench/search.py). The readers open after
        # this and load the statistics.
        self._conn.execute("PRAGMA analysis_limit = 1000")
        _write_statistics(self._conn, "ANALYZE")
        self._next_seq = self._newest_logged_seq(self._conn) + 1
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}")
        self._conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")
        self.checkpointer.start()
        self._thread = threading.Thread(target=self._run, name="ttydesk-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        for loop in list(self._waiting):
            self._hand_over(loop)
        self._jobs.put(None)
        self._thread.join()
        self._thread = None
        self.checkpointer.stop()
        if self._conn is not None:
            # statistics are a nicety: a close (an admin command's, beside a running server
            # writing) never fails for them
            with contextlib.suppress(sqlite3.OperationalError):
                _write_statistics(self._conn, "PRAGMA optimize")
            self._conn.close()
            self._conn = None

    async def run(self, fn: Callable[[Tx], T]) -> T:
        if self._thread is None:
            raise RuntimeError("the store is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        waiting = self._waiting.get(loop)
        if waiting is None:
            waiting = self._waiting[loop] = []
            loop.call_soon(self._hand_over, loop)
        waiting.append(_Job(fn, future, loop))
        return await future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        # The jobs of one loop turn (the webhooks and API calls whose data arrived
        # together) go to the thread in one put: one wake-up of the thread, and one batch
        # for all of them, where a put per job woke it for the first alone and left the
        # rest to another batch (a COMMIT, an fsync and a settle each).
        jobs = self._waiting.pop(loop, None)
        if jobs:
            self._jobs.put(jobs)

    def _run(self) -> None:
        assert self._conn is not None
        conn = self._conn
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch = list(first)
            stop_after = drain_waiting(self._jobs, batch, self._max_batch)
            self._run_batch(conn, batch)
            if stop_after:
                return

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        # A batch of replayable jobs alone runs without a savepoint (a savepoint, even one
        # for the whole run, costs a sub-journal copy of every page its jobs touch: ~10 % of
        # the writer's time per inbound message, tests/bench/ingest.py). If one of them
        # fails, the transaction is rolled back whole and the batch run again with
        # savepoint each, where the failing job is rolled back alone.
        bare = len(batch) > 1 and all(getattr(job.fn, "replayable", False) for job in batch)
        changes = conn.total_changes
        try:
            committed = self._commit(conn, batch, bare=bare)
            if committed is None:
                committed = self._commit(conn, batch, alone=True)
            assert committed is not None
        except BaseException as exc:  # noqa: BLE001 - the commit itself failed: nobody's change stands
            log.exception("commit failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes: list[tuple[bool, Any]] = [(False, exc) for _ in batch]
            events: list[CommittedEvent] = []
            callbacks: list[Callable[[], None]] = []
        else:
            self._next_seq, outcomes, events, callbacks = committed
            self.batches += 1
            if conn.total_changes != changes:
                self.changed_batches += 1
            self.transactions += len(batch)
            self.checkpointer.committed()
        loop = batch[0].loop
        loop.call_soon_threadsafe(self._settle, batch, outcomes, events, callbacks)

    def _commit(
        self,
        conn: sqlite3.Connection,
        batch: list[_Job],
        *,
        bare: bool = False,
        alone: bool = False,
    ) -> tuple[int, list[tuple[bool, Any]], list[CommittedEvent], list[Callable[[], None]]] | None:
        """Run and commit the batch: the next seq, each job's outcome, the events and the
        after-commit callbacks. ``bare`` (replayable jobs only): with no savepoint, and
        None, everything rolled back, if a job failed; ``alone``: a savepoint per job."""
        outcomes: list[tuple[bool, Any]] = []
        events: list[CommittedEvent] = []
        callbacks: list[Callable[[], None]] = []
        conn.execute("BEGIN IMMEDIATE")
        # another process (an admin command) may have logged events since our last batch
        next_seq = max(self._next_seq, self._newest_logged_seq(conn) + 1)
        if next_seq > self._next_seq:
            events.extend(self._foreign_events(conn, self._next_seq))
        pending = BatchBuffer(self._now())
        if bare:
            group = self._run_group(conn, batch, next_seq, pending, savepoint=False)
            if group is None:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                return None
            next_seq, outcomes, group_events, callbacks = group
            events.extend(group_events)
        index = len(batch) if bare else 0
        if len(batch) == 1:
            # A lone job needs no savepoint, there is no neighbour to keep if it fails (a
            # savepoint costs two statements and a sub-journal copy of every page the job
            # touches): it fails with its transaction rolled back whole, and only what
            # another process logged before it is published
            tx = Tx(conn, pending.now, pending.now_iso, next_seq, pending)
            try:
                outcomes.append((True, batch[0].fn(tx)))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                return next_seq, [(False, exc)], events, []
            next_seq = tx.next_seq
            events.extend(tx.events)
            callbacks.extend(tx.after_commit)
            index = 1
        while index < len(batch):
            # A run of replayable jobs shares one savepoint (a savepoint per job costs
            # two statements and a sub-journal copy of every page it touches); if one
            # of them fails, the run is rolled back and replayed a job at a time, so a
            # failing job is still rolled back alone.
            end = index
            while not alone and end < len(batch) and getattr(batch[end].fn, "replayable", False):
                end += 1
            if end - index > 1:
                group = self._run_group(conn, batch[index:end], next_seq, pending)
                if group is not None:
                    next_seq, group_outcomes, group_events, group_callbacks = group
                    outcomes.extend(group_outcomes)
                    events.extend(group_events)
                    callbacks.extend(group_callbacks)
                    index = end
                    continue
            else:
                end = index + 1
            for job in batch[index:end]:
                next_seq = self._run_one(conn, job, next_seq, pending, outcomes, events, callbacks)
            index = end
        pending.flush(conn)
        conn.execute("COMMIT")
        # an SQL-built event whose row was gone by the end of the batch is not sent
        return next_seq, outcomes, [event for event in events if event.frame], callbacks

    def _run_one(
        self,
        conn: sqlite3.Connection,
        job: _Job,
        next_seq: int,
        pending: BatchBuffer,
        outcomes: list[tuple[bool, Any]],
        events: list[CommittedEvent],
        callbacks: list[Callable[[], None]],
    ) -> int:
        """One job in a savepoint of its own; returns the next seq."""
        tx = Tx(conn, pending.now, pending.now_iso, next_seq, pending)
        mark = pending.mark()
        conn.execute("SAVEPOINT job")
        try:
            result = job.fn(tx)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
            conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")
            pending.undo(mark)
            outcomes.append((False, exc))
            return next_seq
        conn.execute("RELEASE job")
        events.extend(tx.events)
        callbacks.extend(tx.after_commit)
        outcomes.append((True, result))
        return tx.next_seq

    def _run_group(
        self,
        conn: sqlite3.Connection,
        jobs: list[_Job],
        next_seq: int,
        pending: BatchBuffer,
        *,
        savepoint: bool = True,
    ) -> tuple[int, list[tuple[bool, Any]], list[CommittedEvent], list[Callable[[], None]]] | None:
        """Replayable jobs under one savepoint; None (all rolled back) if one failed.
        Without ``savepoint``, a failure leaves the rolling back to the caller."""
        outcomes: list[tuple[bool, Any]] = []
        events: list[CommittedEvent] = []
        callbacks: list[Callable[[], None]] = []
        mark = pending.mark()
        if savepoint:
            conn.execute("SAVEPOINT jobs")
        try:
            for job in jobs:
                tx = Tx(conn, pending.now, pending.now_iso, next_seq, pending)
                outcomes.append((True, job.fn(tx)))
                next_seq = tx.next_seq
                events.extend(tx.events)
                callbacks.extend(tx.after_commit)
        except BaseException:  # noqa: BLE001 - replayed one by one by the caller
            if savepoint:
                conn.execute("ROLLBACK TO jobs")
                conn.execute("RELEASE jobs")
                pending.undo(mark)
            return None
        if savepoint:
            conn.execute("RELEASE jobs")
        return next_seq, outcomes, events, callbacks

    @staticmethod
    def _newest_logged_seq(conn: sqlite3.Connection) -> int:
        row = conn.execute(
            "SELECT MAX(v) FROM (SELECT MAX(seq) AS v FROM events "
            "UNION ALL SELECT seq FROM sqlite_sequence WHERE name = 'events')"
        ).fetchone()
        return row[0] or 0

    @staticmethod
    def _foreign_events(conn: sqlite3.Connection, from_seq: int) -> list[CommittedEvent]:
        rows = conn.execute(f"{LOGGED_EVENTS} WHERE seq >= ? ORDER BY seq", (from_seq,)).fetchall()
        built = build_logged(conn, unbuilt(rows))
        return [CommittedEvent(row[0], row[1], frame) for row, frame in logged_frames(rows, built)]

    def _settle(
        self,
        batch: list[_Job],
        outcomes: list[tuple[bool, Any]],
        events: list[CommittedEvent],
        callbacks: list[Callable[[], None]],
    ) -> None:
        # Publish before waking the callers, so a client sees an event no later than the
        # HTTP response of the request that caused it.
        if events:
            try:
                self._on_commit(events)
            except Exception:
                log.exception("publishing committed events failed")
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("after-commit callback failed")
        for job, (ok, value) in zip(batch, outcomes, strict=True):
            if job.future.done():
                continue
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)


class Readers:
    """A small pool of read-only aiosqlite connections; each query is one thread hop.

    ``background`` is a pool of its own (one connection by default) for slow periodic
    reads such as the ``view.counts`` recount, so interactive reads never queue behind
    them on the same connection's thread.
    """

    def __init__(self, path: Path, size: int = 2, *, background: int = 1) -> None:
        self._path = path
        self._size = size
        self._connections: list[aiosqlite.Connection] = []
        self._turn = itertools.cycle(range(size))
        self.background: Readers = (
            Readers(path, background, background=0) if background > 0 else self
        )

    async def open(self) -> None:
        for _ in range(self._size):
            conn = aiosqlite.connect(self._path, isolation_level=None)
            # aiosqlite starts its thread (on the await) as one the interpreter waits for at
            # exit: a store left open by a failure (a test's, a crash's) hung the process.
            # A reader only reads, so it may die with the process, like the writer's thread.
            conn._thread.daemon = True
            await conn
            conn.row_factory = sqlite3.Row
            for name, (arguments, function) in SQL_FUNCTIONS.items():
                await conn.create_function(name, arguments, function, deterministic=True)
            for pragma in (
                "PRAGMA query_only = ON",
                "PRAGMA busy_timeout = 5000",
                "PRAGMA temp_store = MEMORY",
                "PRAGMA cache_size = -32000",
            ):
                await conn.execute(pragma)
            self._connections.append(conn)
        if self.background is not self:
            await self.background.open()

    async def close(self) -> None:
        if self.background is not self:
            await self.background.close()
        for conn in self._connections:
            await conn.close()
        self._connections.clear()

    def _next(self) -> aiosqlite.Connection:
        return self._connections[next(self._turn)]

    async def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        rows = await self._next().execute_fetchall(sql, params)
        return list(rows)  # type: ignore[arg-type]

    async def one(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> sqlite3.Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    async def value(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]
