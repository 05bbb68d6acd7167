"""Migrations 0019 and 0020: tickets closed and priced before them get their resolution
time and billable message count, and messages stored before them their hourly counts,
which a trigger keeps from then on, for every way a message is stored."""

from __future__ import annotations

import sqlite3

from backend.store.engine import migrate
from tests.backend.test_migrations import migrated_to

OPENED = "2026-11-02T09:00:00.000000+00:00"
CLOSED = "2026-11-02T10:30:00.000000+00:00"


def test_0019_backfills_resolution_and_billable_messages(tmp_path):
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    migrated_to(conn, 17)
    conn.execute(
        "INSERT INTO contacts (id, first_name, created_at, updated_at) VALUES (1, 'Ana', ?, ?)",
        (OPENED, OPENED),
    )
    for ticket, status, closed in ((1, "closed", CLOSED), (2, "waiting_on_us", None)):
        conn.execute(
            "INSERT INTO tickets (id, subject, status, thread_id, created_at, updated_at, "
            "closed_at) VALUES (?, 's', ?, ?, ?, ?, ?)",
            (ticket, status, ticket, OPENED, OPENED, closed),
        )
        conn.execute(
            "INSERT INTO threads (id, contact_id, ticket_id, created_at) VALUES (?, 1, ?, ?)",
            (ticket, ticket, OPENED),
        )
    # ticket 1: two billed, one free, one not priced, one inbound; ticket 2: one billed
    for thread, direction, billable in (
        (1, "out", 1),
        (1, "out", 1),
        (1, "out", 0),
        (1, "out", None),
        (1, "in", None),
        (2, "out", 1),
    ):
        conn.execute(
            "INSERT INTO messages (thread_id, direction, kind, created_at, pricing_category, "
            "pricing_billable) VALUES (?, ?, 'text', ?, ?, ?)",
            (thread, direction, OPENED, None if billable is None else "service", billable),
        )
    assert migrate(conn) >= 20
    found = conn.execute(
        "SELECT id, resolution_seconds, billable_messages FROM tickets ORDER BY id"
    ).fetchall()
    assert found == [(1, 5400, 2), (2, None, 1)]
    hours = conn.execute(
        "SELECT hour, business_number, direction, messages FROM message_hours ORDER BY 3"
    ).fetchall()
    assert hours == [("2026-11-02T09", "", "in", 1), ("2026-11-02T09", "", "out", 5)]
    # from now on the trigger counts (a note is not a message)
    for kind, at in (("text", OPENED), ("note", OPENED), ("text", CLOSED)):
        conn.execute(
            "INSERT INTO messages (thread_id, direction, kind, created_at) VALUES (1, 'in', ?, ?)",
            (kind, at),
        )
    hours = conn.execute(
        "SELECT hour, direction, messages FROM message_hours ORDER BY 1, 2"
    ).fetchall()
    assert hours == [
        ("2026-11-02T09", "in", 2),
        ("2026-11-02T09", "out", 5),
        ("2026-11-02T10", "in", 1),
    ]
    conn.close()
