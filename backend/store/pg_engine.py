"""The PostgreSQL engine (issue 16, step 2): a psycopg connection pool and the numbered
migrations of ``migrations_pg/``, the twins of SQLite's ``migrations/`` (same numbers and
names; tests/backend/test_pg_schema.py holds the two schemas alike).

Transaction functions stay synchronous, as on the SQLite writer's thread: ``write(fn)``
gives ``fn(tx)`` a pooled connection on a worker thread (``PgTx``: the connection, the
time, ``emit``), numbers its events last (``pg_events.append_events``), commits, then hands
the events to ``on_commit`` and returns; a function that raises is rolled back with its
events. ``run(fn)`` is the same for ``fn(conn)`` without events. (docs/POSTGRESQL.md says why psycopg 3 and not
asyncpg.) Several processes may start at once on one database: migrations are applied
under a transaction-scoped advisory lock, so one process applies them and the others find
them applied.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from backend.store.engine import CommittedEvent, iso
from backend.store.pg_events import append_events

log = logging.getLogger(__name__)

T = TypeVar("T")

MIGRATIONS_FOLDER = "migrations_pg"
# pg_advisory_xact_lock key of the migrations ("ttyd"): one process migrates at a time
MIGRATION_LOCK = 0x74747964
POOL_OPEN_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Migration:
    number: int
    name: str
    sql: str


def migrations(folder: str = MIGRATIONS_FOLDER) -> list[Migration]:
    """The numbered ``NNNN_name.sql`` scripts of a folder of ``backend.store``, in order."""
    entries = sorted(
        (entry for entry in (resources.files("backend.store") / folder).iterdir()),
        key=lambda entry: entry.name,
    )
    return [
        Migration(int(entry.name.split("_", 1)[0]), entry.name, entry.read_text("utf-8"))
        for entry in entries
        if entry.name.endswith(".sql")
    ]


def migrate(conn: psycopg.Connection) -> int:
    """Apply the migrations not yet applied, each in a transaction of its own (PostgreSQL's
    DDL is transactional: a script applies whole or not at all); returns the schema
    version. ``conn`` must not be in a transaction."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
    version = 0
    for migration in migrations():
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            applied = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = %s", (migration.number,)
            ).fetchone()
            if applied is None:
                conn.execute(migration.sql)  # type: ignore[arg-type]  # a script: several statements
                conn.execute(
                    "INSERT INTO schema_migrations (version) VALUES (%s)", (migration.number,)
                )
                log.info("applied migration %s", migration.name)
        version = max(version, migration.number)
    return version


@dataclass
class PgTx:
    """What a transaction function gets on PostgreSQL: the connection, the time, ``emit``."""

    conn: psycopg.Connection
    now: datetime
    now_iso: str  # iso(now), as stored
    pending: list[tuple[str, dict[str, Any] | BaseModel]] = field(default_factory=list)
    events: list[CommittedEvent] = field(default_factory=list)  # numbered at commit
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> psycopg.Cursor:
        return self.conn.execute(sql, params)  # type: ignore[arg-type]

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        return self.execute(sql, params).fetchall()

    def emit(self, event_type: str, data: dict[str, Any] | BaseModel) -> None:
        """Log an event in this transaction: it is numbered just before COMMIT (numbers in
        commit order, ``pg_events``) and published only if the transaction commits. Unlike
        the SQLite ``Tx.emit`` it cannot return the number (no caller uses it)."""
        self.pending.append((event_type, data))


class PgEngine:
    """A pool of connections to one PostgreSQL database, migrated when opened."""

    def __init__(
        self,
        url: str,
        *,
        now: Callable[[], datetime] | None = None,
        on_commit: Callable[[list[CommittedEvent]], None] | None = None,
        min_size: int = 1,
        max_size: int = 8,
        configure: Callable[[psycopg.Connection], None] | None = None,
    ) -> None:
        self.url = url
        self._now = now or (lambda: datetime.now(UTC))
        self._on_commit = on_commit
        self.pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            name="ttydesk",
            configure=configure,
        )
        self.version = 0

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        self.pool.open(wait=True, timeout=POOL_OPEN_TIMEOUT_SECONDS)
        with self.pool.connection() as conn:
            conn.autocommit = True  # migrate() makes its own transactions
            try:
                self.version = migrate(conn)
            finally:
                conn.autocommit = False

    async def close(self) -> None:
        await asyncio.to_thread(self.pool.close)

    async def run(self, fn: Callable[[psycopg.Connection], T]) -> T:
        """``fn`` in a transaction on a pooled connection, on a worker thread."""
        return await asyncio.to_thread(self._run, fn)

    def _run(self, fn: Callable[[psycopg.Connection], T]) -> T:
        # the pool's context commits when the block ends and rolls back when it raises
        with self.pool.connection() as conn:
            return fn(conn)

    async def write(self, fn: Callable[[PgTx], T]) -> T:
        """``fn(tx)`` in a transaction whose events are numbered last and published after
        COMMIT, before this returns (a client sees an event no later than the response
        of the request that caused it, as with SQLite)."""
        result, tx = await asyncio.to_thread(self._write, fn)
        if tx.events and self._on_commit is not None:
            try:
                self._on_commit(tx.events)
            except Exception:
                log.exception("publishing committed events failed")
        for callback in tx.after_commit:
            try:
                callback()
            except Exception:
                log.exception("after-commit callback failed")
        return result

    def _write(self, fn: Callable[[PgTx], T]) -> tuple[T, PgTx]:
        now = self._now()
        with self.pool.connection() as conn:
            tx = PgTx(conn, now, iso(now) or "")
            result = fn(tx)
            tx.events = append_events(conn, tx.pending, tx.now_iso)
        # committed when the pool's block ended without an exception
        return result, tx
