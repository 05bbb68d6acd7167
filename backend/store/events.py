"""The event log: replay for reconnecting clients, and pruning past the retention."""

from __future__ import annotations

from backend.store.base import StoreBase
from backend.store.engine import (
    LOGGED_EVENTS,
    Tx,
    logged_frames,
    snapshot_queries,
    unbuilt,
)
from backend.store.types import EventPage


class EventsStore(StoreBase):
    def newest_event_seq(self) -> int:
        """The seq of the newest event committed or about to be (approximate: a commit may
        be under way)."""
        return self.writer.newest_seq

    async def events_after(self, seq: int, limit: int = 5000) -> list[tuple[int, str]]:
        """Committed frames with a seq above ``seq``, oldest first (see ``event_page``)."""
        page = await self.event_page(seq, limit)
        return page.frames

    async def event_page(self, seq: int, limit: int) -> EventPage:
        """The frames of at most ``limit`` logged events after ``seq``, oldest first. A
        snapshot event is built from its row as it is now (``SqlEvent``); one whose row
        is gone is left out."""
        rows = await self.readers.all(
            f"{LOGGED_EVENTS} WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        built = {
            int(built_seq): payload
            for sql, params in snapshot_queries(unbuilt(rows))
            for built_seq, payload in await self.readers.all(sql, params)
        }
        frames = [(row[0], frame) for row, frame in logged_frames(rows, built)]
        return EventPage(frames, rows[-1][0] if rows else seq, len(rows) == limit)

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
