"""Migrations that move data keep it: a database at an older version comes out whole."""

from __future__ import annotations

import sqlite3
from importlib import resources

from backend.store.engine import _statements, migrate
from backend.store.sqlite import SqliteStore

AT = "2026-11-02T09:00:00.000000+00:00"


def migrated_to(conn: sqlite3.Connection, last: int) -> None:
    """Apply migrations 1..last by hand, as an older ttydesk left the file."""
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)")
    folder = resources.files("backend.store") / "migrations"
    for script in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not script.name.endswith(".sql"):
            continue
        number = int(script.name.split("_", 1)[0])
        if number > last:
            continue
        for statement in _statements(script.read_text(encoding="utf-8")):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations (version) VALUES (?)", (number,))


async def test_0007_moves_the_tickets_inbound_activity_to_its_thread(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrated_to(conn, 6)
    conn.execute(
        "INSERT INTO contacts (id, first_name, created_at, updated_at) VALUES (1, 'Ana', ?, ?)",
        (AT, AT),
    )
    conn.execute(
        "INSERT INTO tickets (id, subject, contact_id, thread_id, first_inbound_at, "
        "last_inbound_at, session_expires_at, inbound_count, created_at, updated_at) "
        "VALUES (1, 'Order', 1, 1, ?, '2026-11-02T10:00:00.000000+00:00', "
        "'2026-11-03T10:00:00.000000+00:00', 3, ?, '2026-11-02T11:00:00.000000+00:00')",
        (AT, AT),
    )
    conn.execute(
        "INSERT INTO threads (id, contact_id, ticket_id, session_expires_at, created_at) "
        "VALUES (1, 1, 1, '2026-11-03T10:00:00.000000+00:00', ?)",
        (AT,),
    )
    assert migrate(conn) >= 7
    columns = {row[1] for row in conn.execute("PRAGMA table_info(tickets)")}
    assert not columns & {"inbound_count", "first_inbound_at", "last_inbound_at"}
    assert "session_expires_at" not in columns
    conn.close()

    store = SqliteStore(path)
    await store.open()
    try:
        ticket = await store.get_ticket(1)
    finally:
        await store.close()
    assert ticket.inbound_count == 3
    assert ticket.first_inbound_at.isoformat(timespec="microseconds") == AT
    assert ticket.last_inbound_at.hour == 10
    assert ticket.session_expires_at.day == 3
    assert ticket.updated_at.hour == 11  # its own: no inbound message stored since
