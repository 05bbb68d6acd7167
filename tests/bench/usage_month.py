"""The month view of what WhatsApp bills (``GET /api/v1/usage/month``'s work) over the
generated 100k threads / 1M messages: target < 100 ms.

A copy of the generated database gets a `pricing` on every outbound message, as status
webhooks leave it (service 70 %, utility 15 %, marketing 10 %, authentication 4 %, a
status without pricing 1 %; one in twenty not billable), contacts a country, and the
daily counts (``pricing_daily``) are filled as migration 0017 backfills them. The
figure is the store's ``usage_month`` (two months' grouped counts, the estimate against
the example rate card, the trend and the budget), timed from the caller, for the month of
the newest messages.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from backend.config import load_rate_card
from backend.domain.clock import FixedClock
from backend.store.engine import _statements, migrate
from backend.store.sqlite import SqliteStore
from backend.store.usage import PricingRules
from tests.bench.common import ROOT, print_rows, row
from tests.bench.generate import ensure_database

NAME = "usage_month"
RUNS = 30
EXAMPLE_CARD = ROOT / "assets" / "rate-card.example.toml"
BACKFILL = ROOT / "backend" / "store" / "migrations" / "0017_pricing_daily.sql"


def price_messages(db: Path) -> int:
    """Give the copy what status webhooks would have: pricing on outbound messages."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        migrate(conn)
        conn.execute("BEGIN")
        conn.execute(
            "UPDATE messages SET "
            "pricing_category = CASE WHEN id % 100 < 70 THEN 'service' "
            "WHEN id % 100 < 85 THEN 'utility' WHEN id % 100 < 95 THEN 'marketing' "
            "WHEN id % 100 < 99 THEN 'authentication' ELSE 'unknown' END, "
            "pricing_billable = CASE WHEN id % 100 = 99 THEN NULL "
            "WHEN id % 20 = 3 THEN 0 ELSE 1 END, "
            "pricing_model = 'PMP', pricing_type = 'regular' WHERE direction = 'out'"
        )
        conn.execute(
            "UPDATE contacts SET country = CASE id % 4 WHEN 0 THEN 'BR' WHEN 1 THEN 'ES' "
            "WHEN 2 THEN 'MX' ELSE NULL END"
        )
        # the daily counts the statuses would have kept, as migration 0017 backfills them
        for statement in _statements(BACKFILL.read_text(encoding="utf-8"))[-2:]:
            conn.execute(statement)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        return conn.execute("SELECT COUNT(*) FROM messages WHERE direction = 'out'").fetchone()[0]
    finally:
        conn.close()


async def time_month_view(db: Path) -> dict[str, Any]:
    newest = sqlite3.connect(db).execute("SELECT MAX(created_at) FROM messages").fetchone()[0]
    now = datetime.fromisoformat(newest).astimezone(UTC)
    store = SqliteStore(db, clock=FixedClock(now))
    store.set_usage_rules(limit=1000, subscription_start=date(2026, 1, 10))
    await store.open()
    rules = PricingRules(
        rate_card=load_rate_card(EXAMPLE_CARD), free_service_messages=1000, budget=Decimal(500)
    )
    try:
        view = await store.usage_month(None, rules)  # warm the page cache once
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            view = await store.usage_month(None, rules)
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        await store.close()
    timings.sort()
    return {
        "month": view.month,
        "messages": view.total.messages,
        "previous": view.previous.messages,
        "p50": statistics.median(timings),
        "p95": timings[int(len(timings) * 0.95) - 1],
    }


def main() -> list[dict[str, Any]]:
    meta = ensure_database()
    with tempfile.TemporaryDirectory(prefix="ttydesk-bench-usage-") as tmp:
        db = Path(tmp) / "ttydesk.db"
        shutil.copyfile(meta["db"], db)
        outbound = price_messages(db)
        r = asyncio.run(time_month_view(db))
    figure = (
        f"month view {r['month']} ({r['messages']:,} priced messages, {r['previous']:,} the "
        f"month before; {outbound:,} outbound in all)"
    )
    return [
        row(NAME, figure + ", p50", r["p50"], "ms"),
        row(NAME, figure + ", p95", r["p95"], "ms", "<100 ms", ok=r["p95"] < 100),
    ]


if __name__ == "__main__":
    print_rows(main())
