"""The PostgreSQL engine (issue 16, step 2): a psycopg connection pool and the numbered
migrations of ``migrations_pg/``, the twins of SQLite's ``migrations/`` (same numbers and
names; tests/backend/test_pg_schema.py holds the two schemas alike).

Transaction functions stay synchronous, ``fn(conn) -> result``, as on the SQLite writer's
thread: ``run`` gives each one a pooled connection on a worker thread, commits when it
returns and rolls back when it raises. (docs/POSTGRESQL.md says why psycopg 3 and not
asyncpg.) Several processes may start at once on one database: migrations are applied
under a transaction-scoped advisory lock, so one process applies them and the others find
them applied.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import TypeVar

import psycopg
from psycopg_pool import ConnectionPool

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


class PgEngine:
    """A pool of connections to one PostgreSQL database, migrated when opened."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        self.url = url
        self.pool = ConnectionPool(
            url, min_size=min_size, max_size=max_size, open=False, name="ttydesk"
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
