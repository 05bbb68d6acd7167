"""The event log: replay for reconnecting clients, and pruning past the retention."""

from __future__ import annotations

from backend.store.base import StoreBase
from backend.store.engine import Tx


class EventsStore(StoreBase):
    async def events_after(self, seq: int, limit: int = 5000) -> list[tuple[int, str]]:
        """Committed frames with a seq above ``seq``, oldest first, at most ``limit``."""
        rows = await self.readers.all(
            "SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [(row[0], row[1]) for row in rows]

    async def event_bounds(self) -> tuple[int, int]:
        """(oldest retained seq, newest seq); (0, 0) for an empty log."""
        row = await self.readers.one("SELECT MIN(seq), MAX(seq) FROM events")
        if row is None or row[0] is None:
            return (0, 0)
        return (row[0], row[1])

    async def prune_events(self, keep: int) -> int:
        def prune(tx: Tx) -> int:
            newest = tx.one("SELECT MAX(seq) FROM events")
            if newest is None or newest[0] is None:
                return 0
            cur = tx.execute("DELETE FROM events WHERE seq <= ?", (newest[0] - keep,))
            return cur.rowcount

        return await self.write(prune)
