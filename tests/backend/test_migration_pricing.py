"""Migration 0017: messages priced under 0016 alone are counted in ``pricing_daily``."""

from __future__ import annotations

import sqlite3
from datetime import date

from backend.store.engine import migrate
from backend.store.sqlite import SqliteStore
from backend.store.usage import PricingRules
from tests.backend.test_migrations import migrated_to

AT = "2026-11-02T09:00:00.000000+00:00"


async def test_0017_counts_the_messages_0016_priced(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrated_to(conn, 16)
    conn.execute(
        "INSERT INTO contacts (id, first_name, country, created_at, updated_at) "
        "VALUES (1, 'Ana', 'ES', ?, ?)",
        (AT, AT),
    )
    conn.execute(
        "INSERT INTO threads (id, contact_id, ticket_id, business_number, created_at) "
        "VALUES (1, 1, 1, '+15550001111', ?)",
        (AT,),
    )
    for n, (category, billable) in enumerate(
        [("marketing", 1), ("marketing", 1), ("service", 0), ("unknown", None), (None, None)]
    ):
        conn.execute(
            "INSERT INTO messages (id, thread_id, direction, kind, created_at, "
            "pricing_category, pricing_billable) VALUES (?, 1, 'out', 'text', ?, ?, ?)",
            (n + 1, AT, category, billable),
        )
    assert migrate(conn) >= 17
    conn.close()

    store = SqliteStore(path)
    store.set_usage_rules(limit=1000, subscription_start=date(2026, 1, 1))
    await store.open()
    try:
        view = await store.usage_month((2026, 11), PricingRules())
    finally:
        await store.close()
    lines = {line.category: line for line in view.lines}
    assert {name: line.messages for name, line in lines.items()} == {
        "marketing": 2,
        "service": 1,
        "unknown": 1,
    }
    assert (lines["marketing"].billable, lines["service"].free, lines["unknown"].unknown) == (
        2,
        1,
        1,
    )
    assert {line.business_number for line in view.lines} == {"+15550001111"}
