"""Copy a SQLite database into an empty PostgreSQL one (issue 16: ``ttydesk admin migrate
--to postgresql://…``, so a team that outgrows SQLite keeps its history).

Both must be at the same schema version (each engine's migrations applied). Every table is
copied as it is, ids included, parents before children (foreign keys), with ``COPY``; the
full-text tables get their text cut and folded for PostgreSQL (``pg_search.index_text``),
and a message's row its thread (``FTS_EXTRA_COLUMNS``); the table of the messages' words is
made from the copied rows (``DERIVED``);
each identity is moved past the ids copied and the event counter past the newest event,
so what is written next continues the numbering. It runs in one transaction, checks that
every table has as many rows as in SQLite before it commits, and changes nothing if any
of this fails.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from backend.store.engine import connect_sqlite
from backend.store.pg_search import index_text

FTS_TABLES = ("messages_fts", "contacts_fts", "tickets_fts")
# what PostgreSQL's full-text rows hold beside the text, read from SQLite per row
FTS_EXTRA_COLUMNS = {
    "messages_fts": {"thread_id": "(SELECT thread_id FROM messages WHERE id = f.rowid)"},
}
# bookkeeping each engine keeps for itself
NOT_COPIED = {"schema_migrations", "event_counter", "message_hours_counted"}  # one-row state
# PostgreSQL's own tables, filled from what was copied (after the copy, in its transaction)
DERIVED = {
    "messages_fts_words": "INSERT INTO messages_fts_words (word) "
    "SELECT word FROM ts_stat('SELECT document FROM messages_fts')",
}


class CopyError(Exception):
    """The copy cannot be made: ``str()`` says why, in one line; nothing was changed."""


def _tables_parents_first(conn: psycopg.Connection) -> list[str]:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        if row[0] not in NOT_COPIED and row[0] not in DERIVED
    ]
    parents: dict[str, set[str]] = {table: set() for table in tables}
    for child, parent in conn.execute(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
        "WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"
    ):
        if child in parents and parent != child:
            parents[child].add(parent)
    ordered: list[str] = []
    while parents:
        ready = sorted(table for table, waiting in parents.items() if not waiting - set(ordered))
        if not ready:
            raise CopyError(f"the tables' foreign keys form a cycle: {sorted(parents)}")
        ordered += ready
        for table in ready:
            del parents[table]
    return ordered


def _copied_columns(conn: psycopg.Connection, table: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position",
            (table,),
        )
    ]


def _versions(sqlite: sqlite3.Connection, conn: psycopg.Connection) -> None:
    ours = {row[0] for row in sqlite.execute("SELECT version FROM schema_migrations")}
    theirs = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    if ours != theirs:
        raise CopyError(
            f"the schemas differ (SQLite at version {max(ours, default=0)}, PostgreSQL at "
            f"{max(theirs, default=0)}): start this version of ttydesk on each first, so "
            "both are migrated"
        )


def _empty(conn: psycopg.Connection, tables: list[str]) -> None:
    for table in tables:
        if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone() != (True,):
            continue
        raise CopyError(
            f"the PostgreSQL database is not empty (table {table} has rows): copy into a "
            "new database"
        )


def copy_to_postgresql(sqlite_path: Path, conn: psycopg.Connection) -> dict[str, int]:
    """Copy every table of the SQLite database at ``sqlite_path`` into the (migrated,
    empty) PostgreSQL database of ``conn``; returns the rows copied per table. The copied
    tables are then analysed: until autovacuum comes round, a query on them would be
    planned as for empty tables (a search that scans what it should look up)."""
    sqlite = connect_sqlite(sqlite_path, readonly=True)
    try:
        with conn.transaction():
            _versions(sqlite, conn)
            tables = _tables_parents_first(conn)
            _empty(conn, tables)
            rebuilt = _drop_full_text_indexes(conn)
            counts = {table: _copy_table(sqlite, conn, table) for table in tables}
            conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for definition in rebuilt:
                conn.execute(definition)  # type: ignore[arg-type]
            for derive in DERIVED.values():
                conn.execute(derive)  # type: ignore[arg-type]
            for table in tables:
                _move_identity(conn, table)
            newest = sqlite.execute(
                "SELECT MAX(v) FROM (SELECT MAX(seq) AS v FROM events "
                "UNION ALL SELECT seq FROM sqlite_sequence WHERE name = 'events')"
            ).fetchone()[0]
            conn.execute("UPDATE event_counter SET last = %s WHERE id = 1", (newest or 0,))
            counted = sqlite.execute("SELECT upto FROM message_hours_counted").fetchone()
            conn.execute("UPDATE message_hours_counted SET upto = %s WHERE id = 1", (counted[0],))
            for table, count in counts.items():
                copied = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
                if copied != (count,):
                    raise CopyError(f"{table}: {count} rows in SQLite, {copied} copied")
        with conn.transaction():
            for table in [*tables, *DERIVED]:
                conn.execute(f"ANALYZE {table}")  # type: ignore[arg-type]
        return counts
    finally:
        sqlite.close()


def _drop_full_text_indexes(conn: psycopg.Connection) -> list[str]:
    """Drop the GIN indexes, to be made again from the copied rows (their definitions):
    rows copied into an index as they come are written to its pending list, and the last
    few megabytes of it stay there until a vacuum, read through by every search (~2 ms a
    search, each window of the message search); made at once, the index is also smaller."""
    definitions = [
        (name, definition)
        for name, definition in conn.execute(
            "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
            "WHERE a.amname = 'gin' AND c.relnamespace = 'public'::regnamespace"
        )
    ]
    for name, _ in definitions:
        conn.execute(f'DROP INDEX "{name}"')  # type: ignore[arg-type]
    return [definition for _, definition in definitions]


def _copy_table(sqlite: sqlite3.Connection, conn: psycopg.Connection, table: str) -> int:
    columns = _copied_columns(conn, table)
    if table in FTS_TABLES:  # FTS5 keeps rowid hidden; PostgreSQL's rows may hold more
        columns = ["rowid", "body", *FTS_EXTRA_COLUMNS.get(table, {})]
    listed = ", ".join(columns)
    source = f"SELECT {listed} FROM {table}"
    if table in FTS_TABLES:
        extra = "".join(f", {value}" for value in FTS_EXTRA_COLUMNS.get(table, {}).values())
        source = f"SELECT f.rowid, f.body{extra} FROM {table} f"
    count = 0
    try:
        with conn.cursor().copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
            for row in sqlite.execute(source):
                values = tuple(row)
                if table in FTS_TABLES:
                    values = (values[0], index_text(values[1] or ""), *values[2:])
                copy.write_row(values)
                count += 1
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())
        raise CopyError(f"{table} cannot be copied ({reason})") from None
    return count


def _move_identity(conn: psycopg.Connection, table: str) -> None:
    for (column,) in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = %s AND is_identity = 'YES'",
        (table,),
    ).fetchall():
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), MAX({column})) FROM {table} "
            f"HAVING MAX({column}) IS NOT NULL",
            (table, column),
        )
