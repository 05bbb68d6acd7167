"""Full-text search over message bodies, contact names and numbers, and ticket subjects.

FTS5 tables hold one row per entity (rowid = the message / contact / ticket id). Hits are
returned newest first, never bm25-ranked: ranking a common term costs ~30 ms at 1M
messages, newest-first well under 1 ms (PERF-BASELINES). A page is filled from contact
matches, then subject matches, then message matches; the cursor remembers the stage.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from backend import schemas
from backend.store.base import StoreBase
from backend.store.conversations import THREAD_SELECT, thread_from_row
from backend.store.cursors import decode_cursor, encode_cursor
from backend.store.views import ThreadFilter, compile_view_filters

MAX_TERMS = 16
_WORD = re.compile(r"\w+", re.UNICODE)
_PHONE_LIKE = re.compile(r"[\d\s+().\-/]+")
STAGES = ("contact", "subject", "message")

CONTACT_MATCH = "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?"
SUBJECT_MATCH = "SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?"
MESSAGE_MATCH = (
    "SELECT m.thread_id FROM messages m WHERE m.id IN "
    "(SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)"
)


def fts_query(text: str | None) -> str | None:
    """A safe FTS5 query for what a person typed: every word must match, the last as a prefix.

    A phone number typed with spaces or dashes is searched as one run of digits, the way
    numbers are indexed.
    """
    if not text or not text.strip():
        return None
    stripped = text.strip()
    if _PHONE_LIKE.fullmatch(stripped):
        digits = re.sub(r"\D", "", stripped)
        if len(digits) >= 3:
            return f'"{digits}"*'
    words = _WORD.findall(stripped)[:MAX_TERMS]
    if not words:
        return None
    terms = [f'"{word}"' for word in words]
    terms[-1] += "*"
    return " ".join(terms)


def text_match_filter(match: str) -> ThreadFilter:
    """Threads with a matching message, contact or ticket subject."""
    where = ThreadFilter()
    where.add(
        f"th.contact_id IN ({CONTACT_MATCH}) OR th.ticket_id IN ({SUBJECT_MATCH}) "
        f"OR th.id IN ({MESSAGE_MATCH})",
        [match, match, match],
    )
    return where


@dataclass(slots=True)
class _Hit:
    key: int
    thread_id: int
    matched: str
    message_id: int | None = None
    snippet: str | None = None
    message_kind: str | None = None


class SearchStore(StoreBase):
    async def thread_filter(
        self,
        agent: schemas.Agent,
        *,
        view: str | None = None,
        conditions: Sequence[tuple[str, dict[str, Any]]] = (),
        text: str | None = None,
        thread_ids: Sequence[int] = (),
    ) -> ThreadFilter:
        """The view's filters AND each condition (a view filter; its error names the
        parameter given with it) AND, with ``text``, a full-text match (text with no word
        in it matches nothing) AND, with ``thread_ids``, one of those threads."""
        where = ThreadFilter()
        if view:
            where.extend(await self.view_filter(view, agent))  # type: ignore[attr-defined]
        now = self.now()
        for param, spec in conditions:
            where.extend(compile_view_filters([spec], me=agent.id, now=now, field_prefix=param))
        if text is not None:
            match = fts_query(text)
            if match is None:
                where.add("0")
            else:
                where.extend(text_match_filter(match))
        if thread_ids:
            where.add(f"th.id IN ({', '.join('?' * len(thread_ids))})", list(thread_ids))
        return where

    async def search(
        self, q: str, where: ThreadFilter, *, limit: int, cursor: str | None
    ) -> schemas.Page[schemas.SearchHit]:
        match = fts_query(q)
        if match is None:
            return schemas.Page[schemas.SearchHit](items=[])
        key = decode_cursor(cursor, 2)
        stage, after = (STAGES.index(key[0]), key[1]) if key and key[0] in STAGES else (0, None)
        # a page from the start needs the contacts' and the subjects' hits, almost always
        # both, and the message stage may need what it reads first: all at once, their
        # reads' waits side by side (each a round trip on PostgreSQL), not one after another
        first: dict[str, list[_Hit]] = {}
        prepared = None
        if stage == 0 and after is None:
            first["contact"], first["subject"], prepared = await asyncio.gather(
                self._contact_hits(match, where, None, limit + 1),
                self._subject_hits(match, where, None, limit + 1),
                self._message_prepared(match, after),
            )
        finders: dict[
            str, Callable[[str, ThreadFilter, int | None, int], Awaitable[list[_Hit]]]
        ] = {
            "contact": self._contact_hits,
            "subject": self._subject_hits,
            "message": partial(self._message_hits, prepared=prepared),
        }
        hits: list[_Hit] = []
        next_cursor = None
        while stage < len(STAGES) and len(hits) < limit:
            need = limit - len(hits)
            if STAGES[stage] in first:  # the stage's first limit + 1 hits: its first need + 1
                found = first[STAGES[stage]][: need + 1]
            else:
                found = await finders[STAGES[stage]](match, where, after, need + 1)
            if len(found) > need:
                hits.extend(found[:need])
                next_cursor = encode_cursor(STAGES[stage], found[need - 1].key)
                break
            hits.extend(found)
            stage, after = stage + 1, None
        else:
            if stage < len(STAGES):
                next_cursor = encode_cursor(STAGES[stage], None)
        threads = await self._threads_by_id({hit.thread_id for hit in hits})
        items = []
        for hit in hits:
            thread = threads[hit.thread_id]
            snippet = hit.snippet
            if hit.matched == "contact":
                snippet = " · ".join(
                    part for part in (thread.contact.name, thread.contact.phone) if part
                )
            elif hit.matched == "subject":
                snippet = thread.ticket.subject
            items.append(
                schemas.SearchHit(
                    thread=thread,
                    message_id=hit.message_id,
                    snippet=snippet or "",
                    matched=hit.matched,  # type: ignore[arg-type]
                    message_kind=hit.message_kind,  # type: ignore[arg-type]
                )
            )
        return schemas.Page[schemas.SearchHit](items=items, next_cursor=next_cursor)

    async def _threads_by_id(self, ids: set[int]) -> dict[int, schemas.Thread]:
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = await self.readers.all(THREAD_SELECT + f" WHERE th.id IN ({marks})", list(ids))
        return {row["id"]: thread_from_row(row) for row in rows}

    async def _thread_stage(
        self, matched: str, clause: str, params: list, where: ThreadFilter, after, limit: int
    ) -> list[_Hit]:
        sql = (
            f"SELECT th.id FROM threads th {where.joins()} WHERE ({clause}) AND {where.where()}"
            + (" AND th.id < ?" if after is not None else "")
            + " ORDER BY th.id DESC LIMIT ?"
        )
        args = [*params, *where.params, *([after] if after is not None else []), limit]
        rows = await self.readers.all(sql, args)
        return [_Hit(key=row[0], thread_id=row[0], matched=matched) for row in rows]

    async def _contact_hits(self, match, where, after, limit) -> list[_Hit]:
        return await self._thread_stage(
            "contact", f"th.contact_id IN ({CONTACT_MATCH})", [match], where, after, limit
        )

    async def _subject_hits(self, match, where, after, limit) -> list[_Hit]:
        clause = f"th.ticket_id IN ({SUBJECT_MATCH}) AND th.contact_id NOT IN ({CONTACT_MATCH})"
        return await self._thread_stage("subject", clause, [match, match], where, after, limit)

    async def _message_prepared(self, match: str, after: int | None) -> Any:
        """What the message stage reads before its query, given to it as ``prepared``
        (read with the first stages: see ``search``); nothing on SQLite."""
        return None

    async def _message_hits(self, match, where, after, limit, prepared=None) -> list[_Hit]:
        joins = where.joins()
        sql = (
            "SELECT messages_fts.rowid AS message_id, m.thread_id, m.kind, "
            "snippet(messages_fts, 0, '', '', '…', 12) AS snip "
            "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
            f"JOIN threads th ON th.id = m.thread_id {joins} "
            f"WHERE messages_fts MATCH ? AND {where.where()}"
            + (" AND messages_fts.rowid < ?" if after is not None else "")
            + " ORDER BY messages_fts.rowid DESC LIMIT ?"
        )
        args = [match, *where.params, *([after] if after is not None else []), limit]
        rows: list[sqlite3.Row] = await self.readers.all(sql, args)
        return [
            _Hit(
                key=row["message_id"],
                thread_id=row["thread_id"],
                matched="message",
                message_id=row["message_id"],
                snippet=row["snip"],
                message_kind=row["kind"],
            )
            for row in rows
        ]
