"""The thread list (keyset pages, newest first), one thread, its messages, and read state.

The list is ordered by ``(last_message_at DESC, id DESC)`` along the ``threads_*_recent``
indexes. SQLite sorts NULL lowest, so threads without a message come last; a page that
reaches them continues with a second query over ``last_message_at IS NULL``, keeping
both parts index range scans instead of one OR that would defeat the index.

Two other orders (``sort=``) page by keyset over a key of three ascending expressions
without NULLs: ``waiting`` (unanswered first, the longest waiting first) and ``expiring``
(open sessions first, the soonest to expire first).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from backend import schemas
from backend.domain.errors import InvalidField, NotFound
from backend.store.base import StoreBase
from backend.store.conversations import (
    MESSAGE_SELECT,
    THREAD_SELECT,
    emit_thread,
    load_thread,
    message_from_row,
    reactions_by_message,
    thread_from_row,
)
from backend.store.cursors import decode_cursor, encode_cursor
from backend.store.engine import Tx, iso
from backend.store.views import ThreadFilter

ORDER = " ORDER BY th.last_message_at DESC, th.id DESC"
# THREAD_SELECT over the threads a subquery picked: its FROM becomes "(ids) JOIN threads"
PAGE_SELECT = THREAD_SELECT.replace(
    "FROM threads th", "FROM ({ids}) AS page JOIN threads th ON th.id = page.id", 1
)
assert PAGE_SELECT != THREAD_SELECT

#: ``sort=`` name → the key of the non-default orders (all ascending; ``{now}`` is bound)
SORT_KEYS: dict[str, tuple[str, str, str]] = {
    "waiting": (
        "(CASE WHEN th.last_message_direction = 'in' THEN 0 ELSE 1 END)",
        "COALESCE(th.last_message_at, '9999')",
        "th.id",
    ),
    "expiring": (
        "(CASE WHEN th.session_expires_at > {now} THEN 0 ELSE 1 END)",
        "COALESCE(th.session_expires_at, '9999')",
        "th.id",
    ),
}
THREAD_SORTS = ("recent", *SORT_KEYS)


class ThreadsStore(StoreBase):
    async def list_threads(
        self,
        where: ThreadFilter | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
        offset: int | None = None,
        with_total: bool = False,
        sort: str = "recent",
    ) -> schemas.Page[schemas.Thread]:
        """A page of threads matching ``where``, newest first (or in the ``sort`` order).

        ``cursor`` continues after a previous page; ``offset`` (without a cursor) jumps to a
        row position for virtual lists; ``with_total`` adds the number of matching threads.
        """
        where = where or ThreadFilter()
        if sort != "recent":
            return await self._sorted_page(where, sort, limit, cursor, offset or 0, with_total)
        key = decode_cursor(cursor, 2)
        rows: list[sqlite3.Row]
        if key is None:
            rows = await self._page(where, [], [], limit + 1, offset or 0)
        elif key[0] is not None:
            rows = await self._page(
                where, ["(th.last_message_at, th.id) < (?, ?)"], [key[0], key[1]], limit + 1
            )
            if len(rows) <= limit:
                rows += await self._page(
                    where, ["th.last_message_at IS NULL"], [], limit + 1 - len(rows)
                )
        else:
            rows = await self._page(
                where, ["th.last_message_at IS NULL", "th.id < ?"], [key[1]], limit + 1
            )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = (
            encode_cursor(rows[-1]["last_message_at"], rows[-1]["id"]) if more and rows else None
        )
        total = await self.count_threads(where) if with_total else None  # type: ignore[attr-defined]
        return schemas.Page[schemas.Thread](
            items=[thread_from_row(row) for row in rows], next_cursor=next_cursor, total=total
        )

    async def _page(
        self,
        where: ThreadFilter,
        extra: list[str],
        extra_params: list[Any],
        limit: int,
        offset: int = 0,
    ) -> list[sqlite3.Row]:
        # The page's ids first, with the offset, from the covering index (threads_recent
        # carries the columns the common filters use): skipped rows cost an index entry
        # each, not a table row and two joins. Only the page's rows are then joined.
        clauses = [where.where(), *extra]
        ids = (
            f"SELECT th.id FROM threads th {where.joins()} WHERE "
            + " AND ".join(clauses)
            + ORDER
            + " LIMIT ? OFFSET ?"
        )
        sql = PAGE_SELECT.replace("{ids}", ids) + ORDER
        return await self.readers.all(sql, [*where.params, *extra_params, limit, offset])

    async def _sorted_page(
        self,
        where: ThreadFilter,
        sort: str,
        limit: int,
        cursor: str | None,
        offset: int,
        with_total: bool,
    ) -> schemas.Page[schemas.Thread]:
        now = iso(self.now())  # type: ignore[attr-defined]
        keys = [key.replace("{now}", "?") for key in SORT_KEYS[sort]]
        key_params = [now] * sum(key.count("{now}") for key in SORT_KEYS[sort])
        order = " ORDER BY k0, k1, k2"
        select_keys = ", ".join(f"{key} AS k{n}" for n, key in enumerate(keys))
        clauses = [where.where()]
        params: list[Any] = [*key_params, *where.params]
        position = decode_cursor(cursor, 4)
        if position is not None:
            if position[0] != sort:
                raise InvalidField("The cursor is from another sort order.", field="cursor")
            clauses.append(f"({', '.join(keys)}) > (?, ?, ?)")
            params += [*key_params, *position[1:]]
            offset = 0
        ids = (
            f"SELECT th.id, {select_keys} FROM threads th {where.joins()} WHERE "
            + " AND ".join(clauses)
            + order
            + " LIMIT ? OFFSET ?"
        )
        sql = (
            PAGE_SELECT.replace("{ids}", ids).replace(
                "SELECT ", "SELECT page.k0, page.k1, page.k2, ", 1
            )
            + " ORDER BY page.k0, page.k1, page.k2"
        )
        rows = await self.readers.all(sql, [*params, limit + 1, offset])
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = (
            encode_cursor(sort, rows[-1]["k0"], rows[-1]["k1"], rows[-1]["k2"])
            if more and rows
            else None
        )
        total = await self.count_threads(where) if with_total else None  # type: ignore[attr-defined]
        return schemas.Page[schemas.Thread](
            items=[thread_from_row(row) for row in rows], next_cursor=next_cursor, total=total
        )

    async def get_thread(self, thread_id: int) -> schemas.Thread:
        row = await self.readers.one(THREAD_SELECT + " WHERE th.id = ?", (thread_id,))
        if row is None:
            raise NotFound("There is no such thread.", code="thread_not_found")
        return thread_from_row(row)

    async def list_messages(
        self, thread_id: int, *, before: int | None = None, limit: int = 50
    ) -> schemas.Page[schemas.Message]:
        """Messages newest first by WhatsApp's timestamp (arrival breaks ties: a message
        delivered late is listed in its place); ``next_cursor`` is the ``before`` of the
        next (older) page: the id of the last message listed."""
        await self.get_thread(thread_id)
        sql = MESSAGE_SELECT + " WHERE m.thread_id = ?"
        params: list[Any] = [thread_id]
        if before is not None:
            cursor = await self.readers.one(
                "SELECT created_at FROM messages WHERE id = ? AND thread_id = ?",
                (before, thread_id),
            )
            if cursor is not None:
                sql += " AND (m.created_at, m.id) < (?, ?)"
                params += [cursor["created_at"], before]
            else:  # not a message of this thread: the ids below it, as before
                sql += " AND m.id < ?"
                params.append(before)
        rows = await self.readers.all(
            sql + " ORDER BY m.created_at DESC, m.id DESC LIMIT ?", [*params, limit + 1]
        )
        more = len(rows) > limit
        rows = rows[:limit]
        reactions: dict[int, list[sqlite3.Row]] = {}
        if rows:
            ids = [row["id"] for row in rows]
            marks = ", ".join("?" for _ in ids)
            reactions = reactions_by_message(
                await self.readers.all(
                    f"SELECT * FROM reactions WHERE message_id IN ({marks}) ORDER BY at", ids
                )
            )
        return schemas.Page[schemas.Message](
            items=[message_from_row(row, reactions.get(row["id"], ())) for row in rows],
            next_cursor=str(rows[-1]["id"]) if more else None,
        )

    async def mark_read(self, thread_id: int, *, read: bool = True) -> schemas.Thread:
        """Read: the unread count drops to 0. Unread: it becomes at least 1."""

        def mark(tx: Tx) -> schemas.Thread:
            row = tx.one("SELECT unread_count FROM threads WHERE id = ?", (thread_id,))
            if row is None:
                raise NotFound("There is no such thread.", code="thread_not_found")
            wanted = 0 if read else max(1, row["unread_count"])
            if wanted == row["unread_count"]:
                return load_thread(tx, thread_id)
            tx.execute("UPDATE threads SET unread_count = ? WHERE id = ?", (wanted, thread_id))
            return emit_thread(tx, thread_id)

        return await self.write(mark)


class ReadReceiptsStore(StoreBase):
    async def last_inbound_wamid(self, thread_id: int) -> tuple[str, str] | None:
        """(wamid, phone_number_id) of the contact's newest message in a thread, if any."""
        row = await self.readers.one(
            "SELECT m.wamid, th.phone_number_id FROM messages m "
            "JOIN threads th ON th.id = m.thread_id "
            "WHERE m.thread_id = ? AND m.direction = 'in' AND m.wamid IS NOT NULL "
            "AND th.group_id IS NULL "  # WhatsApp does not mark group messages read
            "ORDER BY m.created_at DESC, m.id DESC LIMIT 1",
            (thread_id,),
        )
        if row is None or not row["phone_number_id"]:
            return None
        return row["wamid"], row["phone_number_id"]
