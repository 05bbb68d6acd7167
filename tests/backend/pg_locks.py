"""Making two processes' transactions meet on PostgreSQL, deterministically: another
transaction holds a lock the transactions under test need, until each of them has either
passed it by or is waiting for a lock; then it lets go. Transactions that check and then
write thus all read before any of them writes: the race a rule must survive, every run."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import psycopg

WAIT_SECONDS = 30.0


async def lock_waiters(url: str) -> int:
    """How many sessions on the database wait for a lock (a row, a table, an advisory)."""

    def count() -> int:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            return int(row[0]) if row else 0

    return await asyncio.to_thread(count)


async def run_while_locked(
    url: str, work: list[Coroutine[Any, Any, Any]], lock_sql: str
) -> list[Any]:
    """Run ``work`` at once while another transaction holds what ``lock_sql`` locks; let
    go once each has finished or waits for a lock; what each returned (or raised)."""
    holder = await asyncio.to_thread(psycopg.connect, url)
    try:
        await asyncio.to_thread(holder.execute, lock_sql)
        tasks = [asyncio.create_task(one) for one in work]
        async with asyncio.timeout(WAIT_SECONDS):
            while sum(task.done() for task in tasks) + await lock_waiters(url) < len(tasks):
                await asyncio.sleep(0.02)
        await asyncio.to_thread(holder.rollback)
        return await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await asyncio.to_thread(holder.close)
