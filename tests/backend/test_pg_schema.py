"""Both engines' migrations make one schema: the same numbered files, tables, columns (types
mapped by the table below), NOT NULLs, defaults and indexes. A SQLite migration without
its PostgreSQL twin in ``backend/store/migrations_pg/`` fails here."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from backend.store.engine import connect_sqlite
from backend.store.engine import migrate as migrate_sqlite
from backend.store.pg_engine import PgEngine, migrations
from backend.store.pg_engine import migrate as migrate_pg

# SQLite's declared type -> PostgreSQL's (docs/POSTGRESQL.md): every integer is 64-bit, as
# in SQLite; timestamps and JSON stay text, as written. "" is an FTS5 column's.
TYPES = {"INTEGER": "bigint", "TEXT": "text", "REAL": "double precision", "": "text"}
FTS_TABLES = ("messages_fts", "contacts_fts", "tickets_fts")
# what only one engine has: SQLite's bookkeeping and FTS5's shadow tables; PostgreSQL's
# event counter (numbers in commit order) and the columns and indexes of its full-text
# tables (FTS5 keeps rowid hidden and its index inside)
SQLITE_ONLY_TABLES = {"sqlite_sequence"} | {
    f"{table}_{shadow}"
    for table in FTS_TABLES
    for shadow in ("data", "idx", "content", "docsize", "config")
}
PG_ONLY_TABLES = {"event_counter", "messages_fts_words"}  # the words a prefix begins
PG_ONLY_COLUMNS = {(table, column) for table in FTS_TABLES for column in ("rowid", "document")} | {
    ("messages_fts", "thread_id")  # the search filters hits by their thread (FTS5 need not)
}
PG_ONLY_INDEXES = {f"{table}_document" for table in FTS_TABLES}


@dataclass(frozen=True)
class Column:
    type: str
    not_null: bool
    default: str | None


@dataclass(frozen=True)
class Index:
    table: str
    columns: tuple[str, ...]
    unique: bool
    partial: bool


@dataclass
class Schema:
    columns: dict[str, dict[str, Column]]
    indexes: dict[str, Index]


def _default(text: str | None) -> str | None:
    """A column default as both engines show it: ``'[]'::text`` and ``'[]'`` alike."""
    return None if text is None else re.sub(r"::[a-z ]+$", "", text)


def sqlite_schema(path: Path) -> Schema:
    conn = connect_sqlite(path)
    try:
        migrate_sqlite(conn)
        tables = [
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if row[0] not in SQLITE_ONLY_TABLES
        ]
        columns = {
            table: {
                row["name"]: Column(
                    TYPES[row["type"].upper()],
                    bool(row["notnull"] or row["pk"]),
                    _default(row["dflt_value"]),
                )
                for row in conn.execute(f"PRAGMA table_info({table})")
            }
            for table in tables
        }
        indexes = {}
        for name, table, sql in conn.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ):
            info = conn.execute(f"PRAGMA index_info({name})").fetchall()
            indexes[name] = Index(
                table,
                tuple(row["name"] for row in info),
                sql.upper().startswith("CREATE UNIQUE"),
                " WHERE " in sql.upper(),
            )
        return Schema(columns, indexes)
    finally:
        conn.close()


def pg_schema(url: str) -> Schema:
    with psycopg.connect(url, autocommit=True) as conn:
        migrate_pg(conn)
        columns: dict[str, dict[str, Column]] = {}
        for table, name, data_type, nullable, default in conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "ORDER BY table_name, ordinal_position"
        ):
            if table in PG_ONLY_TABLES or (table, name) in PG_ONLY_COLUMNS:
                continue
            columns.setdefault(table, {})[name] = Column(
                data_type, nullable == "NO", _default(default)
            )
        indexes = {}
        for name, table, unique, partial, names in conn.execute(
            """
            SELECT i.relname, t.relname, x.indisunique, x.indpred IS NOT NULL,
                ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                    ORDER BY k.n)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_namespace s ON s.oid = t.relnamespace
            WHERE s.nspname = 'public'
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
            """
        ):
            if name not in PG_ONLY_INDEXES:
                indexes[name] = Index(table, tuple(names), unique, partial)
        return Schema(columns, indexes)


def test_every_sqlite_migration_has_a_postgresql_twin_of_the_same_number_and_name():
    sqlite = [migration.name for migration in migrations("migrations")]
    postgresql = [migration.name for migration in migrations()]
    missing = sorted(set(sqlite) - set(postgresql))
    assert not missing, f"write the PostgreSQL twin of {missing} in backend/store/migrations_pg/"
    assert postgresql == sqlite


@pytest.fixture
def both(tmp_path, postgresql_url) -> tuple[Schema, Schema]:
    return sqlite_schema(tmp_path / "schema.db"), pg_schema(postgresql_url)


def test_both_engines_make_the_same_tables_and_columns(both):
    sqlite, postgresql = both
    assert sorted(postgresql.columns) == sorted(sqlite.columns)
    for table, columns in sqlite.columns.items():
        assert postgresql.columns[table] == columns, table


def test_both_engines_make_the_same_indexes(both):
    sqlite, postgresql = both
    assert postgresql.indexes == sqlite.indexes


def test_postgresql_migrations_apply_once_and_record_the_same_versions(tmp_path, postgresql_url):
    conn = connect_sqlite(tmp_path / "versions.db")
    try:
        sqlite_version = migrate_sqlite(conn)
        sqlite_versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
    finally:
        conn.close()
    with psycopg.connect(postgresql_url, autocommit=True) as conn:
        assert migrate_pg(conn) == sqlite_version
        assert migrate_pg(conn) == sqlite_version  # nothing left to apply
        versions = [
            row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")
        ]
    assert versions == sorted(sqlite_versions)


async def test_the_engine_migrates_when_opened_and_runs_a_transaction_or_none(postgresql_url):
    engine = PgEngine(postgresql_url)
    await engine.open()
    try:
        assert engine.version == migrations()[-1].number

        def add_counter(conn: psycopg.Connection) -> int:
            conn.execute("INSERT INTO counters (name, value) VALUES ('a', 1)")
            return 1

        def add_and_fail(conn: psycopg.Connection) -> None:
            conn.execute("INSERT INTO counters (name, value) VALUES ('b', 1)")
            raise ValueError("rolled back")

        assert await engine.run(add_counter) == 1
        with pytest.raises(ValueError, match="rolled back"):
            await engine.run(add_and_fail)
        names = await engine.run(
            lambda conn: [row[0] for row in conn.execute("SELECT name FROM counters")]
        )
        assert names == ["a"]
    finally:
        await engine.close()


async def test_processes_opening_one_database_at_once_migrate_it_once(postgresql_url):
    engines = [PgEngine(postgresql_url) for _ in range(3)]
    try:
        await asyncio.gather(*(engine.open() for engine in engines))
        assert {engine.version for engine in engines} == {migrations()[-1].number}
    finally:
        for engine in engines:
            await engine.close()
