"""Drafts: an agent's unsent reply or note per thread, seen by that agent only.

A send from the composer removes the sender's draft in its own transaction. A save of the
composer read before that send may still arrive after it (a save on its way, the quit's
save while the send was unanswered): so a client gives each composer state a revision
(``DraftUpdate.revision``, its milliseconds, newer for each change) and each send the
revision it sent (``draft_revision``). The newest one a send consumed is kept per agent
and thread (``draft_sends``); a save not newer than it, or older than the draft kept, is
refused (409 ``draft_outdated``) and changes nothing. A draft newer than a send is not
the sent text, and that send leaves it. Without revisions (an older client) it is as
before: every save is kept, every send from the composer removes the draft.
"""

from __future__ import annotations

import sqlite3

from backend import schemas
from backend.domain.errors import DraftOutdated, InvalidField, NotFound
from backend.store.base import StoreBase
from backend.store.engine import Tx, parse_dt


def _draft_from_row(row: sqlite3.Row) -> schemas.Draft:
    return schemas.Draft(
        thread_id=row["thread_id"],
        text=row["text"],
        note=bool(row["note"]),
        reply_to=row["reply_to_id"],
        updated_at=parse_dt(row["updated_at"]),
        revision=row["revision"],
    )


def delete_draft(tx: Tx, agent_id: int, thread_id: int) -> None:
    tx.execute("DELETE FROM drafts WHERE agent_id = ? AND thread_id = ?", (agent_id, thread_id))


def _sent_revision(tx: Tx, agent_id: int, thread_id: int) -> int | None:
    row = tx.one(
        "SELECT revision FROM draft_sends WHERE agent_id = ? AND thread_id = ?",
        (agent_id, thread_id),
    )
    return None if row is None else row["revision"]


def _kept_revision(tx: Tx, agent_id: int, thread_id: int) -> int | None:
    """The revision the kept draft was saved with (None: no draft, or saved without one)."""
    row = tx.one(
        "SELECT revision FROM drafts WHERE agent_id = ? AND thread_id = ?", (agent_id, thread_id)
    )
    return None if row is None else row["revision"]


def consume_draft(tx: Tx, agent_id: int, thread_id: int, revision: int | None) -> None:
    """A send from the composer: the sender's draft goes, unless it was saved from a newer
    composer state than the one sent (``revision``); a save not newer than it is refused
    from now on. Undone with the rest of the send if the send is refused."""
    if revision is None:
        delete_draft(tx, agent_id, thread_id)
        return
    kept = _kept_revision(tx, agent_id, thread_id)
    if kept is None or kept <= revision:
        delete_draft(tx, agent_id, thread_id)
    sent = _sent_revision(tx, agent_id, thread_id)
    if sent is None or sent < revision:
        tx.execute(
            "INSERT INTO draft_sends (agent_id, thread_id, revision) VALUES (?, ?, ?) "
            "ON CONFLICT (agent_id, thread_id) DO UPDATE SET revision = excluded.revision",
            (agent_id, thread_id, revision),
        )


def _require_newer(tx: Tx, agent_id: int, thread_id: int, revision: int | None) -> None:
    if revision is None:
        return
    sent = _sent_revision(tx, agent_id, thread_id)
    kept = _kept_revision(tx, agent_id, thread_id)
    if (sent is not None and revision <= sent) or (kept is not None and revision < kept):
        raise DraftOutdated(
            "This draft is older than what you sent or kept since in this thread; "
            "nothing was changed.",
            newest_revision=max(r for r in (sent, kept) if r is not None),
        )


MAX_LISTED_DRAFTS = 1000


class DraftsStore(StoreBase):
    async def list_drafts(self, agent_id: int) -> list[schemas.Draft]:
        """The agent's drafts, newest first (at most MAX_LISTED_DRAFTS)."""
        rows = await self.readers.all(
            "SELECT * FROM drafts WHERE agent_id = ? ORDER BY updated_at DESC, thread_id DESC "
            "LIMIT ?",
            (agent_id, MAX_LISTED_DRAFTS),
        )
        return [_draft_from_row(row) for row in rows]

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
            _require_newer(tx, agent_id, thread_id, update.revision)
            tx.execute(
                "INSERT INTO drafts (agent_id, thread_id, text, note, reply_to_id, updated_at, "
                "revision) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, thread_id) "
                "DO UPDATE SET text = excluded.text, note = excluded.note, "
                "reply_to_id = excluded.reply_to_id, updated_at = excluded.updated_at, "
                "revision = excluded.revision",
                (
                    agent_id,
                    thread_id,
                    update.text,
                    int(update.note),
                    update.reply_to,
                    tx.now_iso,
                    update.revision,
                ),
            )
            row = tx.one(
                "SELECT * FROM drafts WHERE agent_id = ? AND thread_id = ?", (agent_id, thread_id)
            )
            return _draft_from_row(row)

        return await self.write(save)

    async def discard_draft(
        self, agent_id: int, thread_id: int, revision: int | None = None
    ) -> None:
        """The agent emptied the composer: as a send of it (``consume_draft``), without
        the message. A draft saved since from a newer composer state (another terminal)
        is not deleted: 409 draft_outdated, naming its revision."""

        def discard(tx: Tx) -> None:
            kept = _kept_revision(tx, agent_id, thread_id)
            if revision is not None and kept is not None and kept > revision:
                raise DraftOutdated(
                    "A newer draft was kept in this thread since; nothing was changed.",
                    newest_revision=kept,
                )
            consume_draft(tx, agent_id, thread_id, revision)

        await self.write(discard)
