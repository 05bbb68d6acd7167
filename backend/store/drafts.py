"""Drafts: an agent's unsent reply or note per thread, seen by that agent only."""

from __future__ import annotations

import sqlite3

from backend import schemas
from backend.domain.errors import InvalidField, NotFound
from backend.store.base import StoreBase
from backend.store.engine import Tx, parse_dt


def _draft_from_row(row: sqlite3.Row) -> schemas.Draft:
    return schemas.Draft(
        thread_id=row["thread_id"],
        text=row["text"],
        note=bool(row["note"]),
        reply_to=row["reply_to_id"],
        updated_at=parse_dt(row["updated_at"]),
    )


def delete_draft(tx: Tx, agent_id: int, thread_id: int) -> None:
    tx.execute("DELETE FROM drafts WHERE agent_id = ? AND thread_id = ?", (agent_id, thread_id))


class DraftsStore(StoreBase):
    async def get_draft(self, agent_id: int, thread_id: int) -> schemas.Draft:
        row = await self.readers.one(
            "SELECT * FROM drafts WHERE agent_id = ? AND thread_id = ?", (agent_id, thread_id)
        )
        if row is None:
            raise NotFound("You have no draft in this thread.", code="draft_not_found")
        return _draft_from_row(row)

    async def save_draft(
        self, agent_id: int, thread_id: int, update: schemas.DraftUpdate
    ) -> schemas.Draft:
        def save(tx: Tx) -> schemas.Draft:
            if tx.one("SELECT 1 FROM threads WHERE id = ?", (thread_id,)) is None:
                raise NotFound("There is no such thread.", code="thread_not_found")
            if update.reply_to is not None:
                quoted = tx.one("SELECT thread_id FROM messages WHERE id = ?", (update.reply_to,))
                if quoted is None or quoted["thread_id"] != thread_id:
                    raise InvalidField(
                        "There is no such message in this thread to reply to.", field="reply_to"
                    )
            tx.execute(
                "INSERT INTO drafts (agent_id, thread_id, text, note, reply_to_id, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, thread_id) DO UPDATE SET "
                "text = excluded.text, note = excluded.note, reply_to_id = excluded.reply_to_id, "
                "updated_at = excluded.updated_at",
                (agent_id, thread_id, update.text, int(update.note), update.reply_to, tx.now_iso),
            )
            row = tx.one(
                "SELECT * FROM drafts WHERE agent_id = ? AND thread_id = ?", (agent_id, thread_id)
            )
            return _draft_from_row(row)

        return await self.write(save)

    async def discard_draft(self, agent_id: int, thread_id: int) -> None:
        await self.write(lambda tx: delete_draft(tx, agent_id, thread_id))
