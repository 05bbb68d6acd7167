"""What every area of the SQLite store shares: the engine, the clock and row helpers."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from backend.domain.clock import Clock
from backend.store.engine import Readers, Tx, Writer

T = TypeVar("T")


def loads(text: str | None, default: Any = None) -> Any:
    if not text:
        return default
    return json.loads(text)


def row_dict(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return None if row is None else dict(row)


class StoreBase:
    """Holds the writer, the readers and the clock; area mixins build on it."""

    writer: Writer
    readers: Readers
    clock: Clock
    # SQLite: the database's only process (it holds the serving lock), so at start-up
    # whatever a worker left claimed is its own, from before; PostgreSQL: one of several
    single_process = True

    async def write(self, fn: Callable[[Tx], T]) -> T:
        """Run a transaction function on the writer; its events publish after commit."""
        return await self.writer.run(fn)

    def now(self) -> datetime:
        return self.clock.now()
