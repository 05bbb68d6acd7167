"""Every report (``GET /api/v1/reports/{name}``'s work) over the generated 100k threads /
1M messages: target p95 < 300 ms each.

A copy of the generated database is priced as ``usage_month`` prices it (statuses'
pricing on every outbound message, contacts' countries, the daily counts), and given what
the store keeps as things happen, as migrations 0019 and 0020 backfill it (the generator
writes its rows after the migrations ran): the tickets' resolution times and billable
messages, the hourly message counts. Each figure is
the store's ``report`` for the 30 UTC days up to the newest message, timed from the
caller, as an agent who sees the built-in views and the shared "Urgent and high" one;
the heaviest read (messages per day) is timed narrowed by an agent and by a view too.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from backend import schemas
from backend.config import load_rate_card
from backend.domain import reports as rules
from backend.domain.clock import FixedClock
from backend.store.engine import _statements
from backend.store.reports import ReportFilters
from backend.store.sqlite import SqliteStore
from backend.store.usage import PricingRules
from tests.bench.common import ROOT, print_rows, row
from tests.bench.generate import ensure_database
from tests.bench.usage_month import EXAMPLE_CARD, price_messages

NAME = "reports"
MIGRATIONS = ROOT / "backend" / "store" / "migrations"
BACKFILLS = (
    ("0019_ticket_report_properties.sql", "UPDATE tickets"),
    ("0020_report_counts.sql", "INSERT INTO message_hours"),
)
RUNS = 20
TARGET_MS = 300


def backfill(db: Path) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute("DELETE FROM message_hours")
        for script, starts in BACKFILLS:
            for statement in _statements((MIGRATIONS / script).read_text(encoding="utf-8")):
                if statement.startswith(starts):
                    conn.execute(statement)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()


async def time_reports(db: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    newest = conn.execute("SELECT MAX(created_at) FROM messages").fetchone()[0]
    agent_id = conn.execute("SELECT id FROM agents WHERE role = 'agent' ORDER BY id").fetchone()[0]
    conn.close()
    now = datetime.fromisoformat(newest).astimezone(UTC)
    store = SqliteStore(db, clock=FixedClock(now))
    store.set_usage_rules(limit=1000, subscription_start=date(2026, 1, 10))
    await store.open()
    viewer = schemas.Agent(
        id=agent_id,
        name="bench",
        role=schemas.Role.agent,
        availability=schemas.Availability.available,
        notify=schemas.NotificationChoice.mine,
        created_at=now,
    )
    pricing_rules = PricingRules(rate_card=load_rate_card(EXAMPLE_CARD), free_service_messages=1000)
    days = rules.date_range(None, None, now=now)
    cases: list[tuple[str, str, ReportFilters]] = [
        (name, "", ReportFilters(days=days)) for name in rules.REPORTS
    ]
    cases += [
        ("messages_per_day", ", one agent", ReportFilters(days=days, agent_id=agent_id)),
        (
            "messages_per_day",
            ', view "Urgent and high"',
            ReportFilters(days=days, view_id="1"),
        ),
        ("response_by_agent", ", all open", ReportFilters(days=days, view_id="builtin:all_open")),
    ]
    results = []
    try:
        for name, label, filters in cases:
            chosen = pricing_rules if name == "cost_per_day" else None

            async def once(name: str = name, filters: ReportFilters = filters, chosen=chosen):
                return await store.report(name, filters, viewer=viewer, pricing_rules=chosen)

            report = await once()  # warm the page cache once
            timings = []
            for _ in range(RUNS):
                started = time.perf_counter()
                await once()
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            results.append(
                {
                    "name": name + label,
                    "rows": len(report.rows),
                    "p50": statistics.median(timings),
                    "p95": timings[int(len(timings) * 0.95) - 1],
                }
            )
    finally:
        await store.close()
    return results


def main() -> list[dict[str, Any]]:
    meta = ensure_database()
    with tempfile.TemporaryDirectory(prefix="ttydesk-bench-reports-") as tmp:
        db = Path(tmp) / "ttydesk.db"
        shutil.copyfile(meta["db"], db)
        price_messages(db)
        backfill(db)
        results = asyncio.run(time_reports(db))
    rows = []
    for r in results:
        figure = f"report {r['name']} (30 days, {r['rows']} rows), p95"
        rows.append(row(NAME, figure, r["p95"], "ms", f"<{TARGET_MS} ms", ok=r["p95"] < TARGET_MS))
    return rows


if __name__ == "__main__":
    print_rows(main())
