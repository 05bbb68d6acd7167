"""A SQLite database copied into an empty PostgreSQL one holds the same rows, searches the
same, and goes on numbering where SQLite stopped (backend/store/pg_copy.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from backend import schemas
from backend.store.engine import connect_sqlite
from backend.store.engine import migrate as migrate_sqlite
from backend.store.pg_copy import FTS_TABLES, CopyError, copy_to_postgresql
from backend.store.pg_engine import migrate
from backend.store.pg_events import append_events
from backend.store.pg_search import index_text, ts_query
from backend.store.search import fts_query
from backend.store.sqlite import SqliteStore
from tests.backend.seed import seed_phone, seed_thread, seed_threads
from tests.backend.test_pg_search import BODIES

SEARCHES = ["ana", "garcía", "cafe", "ЗАКАЗ", "東京", "4521", "+34 600", "hello", "well-known"]


@pytest.fixture(scope="module")
def sqlite_database(tmp_path_factory) -> Path:
    """A database written by the real store: agents, threads, messages in several
    scripts, events, companies, deals and inserts."""
    path = tmp_path_factory.mktemp("copy") / "ttydesk.db"

    async def fill() -> None:
        store = SqliteStore(path)
        await store.open()
        try:
            for name, role in (("Ada", schemas.Role.admin), ("Bob", schemas.Role.agent)):
                await store.create_agent(schemas.AgentCreate(name=name, role=role))
            await seed_threads(store, 12, text="Hello there")
            for index, body in enumerate(filter(None, BODIES)):
                await seed_thread(
                    store, name=f"Ana García {index}", phone=seed_phone(100 + index), text=body
                )
            companies = await store.create_companies([{"name": "Acme", "domain": "acme.test"}])
            await store.create_deals(
                [{"name": "Renewal", "company": "Acme", "amount": 1299.5, "currency": "EUR"}],
                companies,
            )
            await store.create_inserts(
                [{"kind": "snippet", "title": "Greeting", "body": "¡Hola! 👋", "tags": ["es"]}]
            )
        finally:
            await store.close()

    asyncio.run(fill())
    return path


def rows(sqlite, postgresql, table: str) -> tuple[list[tuple], list[tuple]]:
    columns = [
        row[0]
        for row in postgresql.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = %s "
            "AND is_generated = 'NEVER' ORDER BY ordinal_position",
            (table,),
        )
    ]
    listed = ", ".join(columns)
    source = f"SELECT {'rowid, body' if table in FTS_TABLES else listed} FROM {table}"
    if table == "messages_fts":  # its rows name their message's thread on PostgreSQL
        source = (
            "SELECT f.rowid, f.body, m.thread_id FROM messages_fts f "
            "JOIN messages m ON m.id = f.rowid"
        )
    ours = sorted(tuple(row) for row in sqlite.execute(source))
    if table in FTS_TABLES:
        ours = sorted((rowid, index_text(body or ""), *more) for rowid, body, *more in ours)
    theirs = sorted(tuple(row) for row in postgresql.execute(f"SELECT {listed} FROM {table}"))
    return ours, theirs


def test_every_row_of_every_table_is_copied_as_it_is(sqlite_database, postgresql_url):
    sqlite = connect_sqlite(sqlite_database, readonly=True)
    with psycopg.connect(postgresql_url) as postgresql:
        migrate_all(postgresql)
        counts = copy_to_postgresql(sqlite_database, postgresql)
        assert counts["messages"] >= 25 and counts["events"] > 0 and counts["messages_fts"] > 0
        assert counts["deals"] == counts["companies"] == counts["inserts"] == 1
        for table in counts:
            ours, theirs = rows(sqlite, postgresql, table)
            assert theirs == ours, table
        # analysed (a table with rows never analysed has reltuples -1): planned as it is
        never_analysed = postgresql.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND reltuples < 0",
            ([table for table, count in counts.items() if count],),
        ).fetchall()
        assert never_analysed == []
    sqlite.close()


def test_the_copy_searches_as_sqlite_does_and_numbers_on(sqlite_database, postgresql_url):
    sqlite = connect_sqlite(sqlite_database, readonly=True)
    with psycopg.connect(postgresql_url) as postgresql:
        migrate_all(postgresql)
        copy_to_postgresql(sqlite_database, postgresql)
        for query in SEARCHES:
            ours = sorted(
                row[0]
                for row in sqlite.execute(
                    "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?", (fts_query(query),)
                )
            )
            theirs = sorted(
                row[0]
                for row in postgresql.execute(
                    "SELECT rowid FROM messages_fts WHERE document @@ %s::tsquery",
                    (ts_query(query),),
                )
            )
            assert theirs == ours, query
        newest_agent = sqlite.execute("SELECT MAX(id) FROM agents").fetchone()[0]
        newest_event = sqlite.execute("SELECT MAX(seq) FROM events").fetchone()[0]
        added = postgresql.execute(
            "INSERT INTO agents (name, token_hash, created_at, updated_at) "
            "VALUES ('Cy', 'h', 'now', 'now') RETURNING id"
        ).fetchone()
        assert added == (newest_agent + 1,)
        [event] = append_events(postgresql, [("test.next", {})], "now")
        assert event.seq == newest_event + 1
        postgresql.rollback()
    sqlite.close()


def test_a_database_that_is_not_empty_is_refused_and_left_as_it_was(
    sqlite_database, postgresql_url
):
    with psycopg.connect(postgresql_url) as postgresql:
        migrate_all(postgresql)
        copy_to_postgresql(sqlite_database, postgresql)
        before = postgresql.execute("SELECT COUNT(*) FROM messages").fetchone()
        with pytest.raises(CopyError, match="not empty"):
            copy_to_postgresql(sqlite_database, postgresql)
        assert postgresql.execute("SELECT COUNT(*) FROM messages").fetchone() == before


def test_schemas_at_different_versions_are_refused(sqlite_database, postgresql_url):
    with psycopg.connect(postgresql_url) as postgresql:
        migrate_all(postgresql)
        postgresql.execute("DELETE FROM schema_migrations WHERE version = 17")
        postgresql.commit()
        with pytest.raises(CopyError, match="schemas differ"):
            copy_to_postgresql(sqlite_database, postgresql)
        assert postgresql.execute("SELECT COUNT(*) FROM messages").fetchone() == (0,)


def test_a_value_postgresql_cannot_hold_fails_the_whole_copy_in_one_line(tmp_path, postgresql_url):
    path = tmp_path / "nul.db"
    conn = connect_sqlite(path)
    migrate_sqlite(conn)
    conn.execute(
        "INSERT INTO agents (name, token_hash, created_at, updated_at) VALUES ('A', 'h', 'x', 'x')"
    )
    conn.execute("INSERT INTO settings_kv (key, value) VALUES ('note', ?)", ("before\x00after",))
    conn.close()
    with psycopg.connect(postgresql_url) as postgresql:
        migrate_all(postgresql)
        with pytest.raises(CopyError) as caught:
            copy_to_postgresql(path, postgresql)
        assert "settings_kv" in str(caught.value) and "\n" not in str(caught.value)
        assert postgresql.execute("SELECT COUNT(*) FROM agents").fetchone() == (0,)


def migrate_all(conn: psycopg.Connection) -> None:
    conn.autocommit = True
    migrate(conn)
    conn.autocommit = False


def test_the_copy_makes_its_full_text_indexes_at_once(sqlite_database, postgresql_url):
    """The same indexes as the migrations made, the GIN ones made from the copied rows:
    none of their entries is left in a pending list that every search reads through."""
    indexes = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    with psycopg.connect(postgresql_url, autocommit=True) as postgresql:
        migrate_all(postgresql)
        made = sorted(postgresql.execute(indexes).fetchall())
        copy_to_postgresql(sqlite_database, postgresql)
        assert sorted(postgresql.execute(indexes).fetchall()) == made
        postgresql.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        pending = {
            table: postgresql.execute(
                "SELECT pending_tuples FROM pgstatginindex(%s)", (f"{table}_document",)
            ).fetchone()
            for table in FTS_TABLES
        }
        assert pending == {table: (0,) for table in FTS_TABLES}
