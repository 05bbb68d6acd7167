"""Composer inserts: snippets, knowledge-base articles, meeting links, quotes, documents, videos."""

from __future__ import annotations

from typing import Any

from backend import schemas
from backend.store.base import StoreBase, loads
from backend.store.cursors import decode_cursor, encode_cursor
from backend.store.engine import Tx, dumps


def insert_from_row(row: Any) -> schemas.Insert:
    return schemas.Insert(
        id=row["id"],
        kind=row["kind"],
        title=row["title"],
        body=row["body"],
        url=row["url"],
        tags=loads(row["tags"], []),
    )


class InsertsStore(StoreBase):
    async def list_inserts(
        self,
        *,
        kind: schemas.InsertKind | None = None,
        q: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> schemas.Page[schemas.Insert]:
        """By kind and title; ``q`` is a substring of the title, body or tags (the TUI
        ranks fuzzily on its side)."""
        clauses, params = [], []
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind.value)
        if q is not None and q.strip():
            escaped = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(
                "(title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\' OR tags LIKE ? ESCAPE '\\')"
            )
            params += [f"%{escaped}%"] * 3
        key = decode_cursor(cursor, 3)
        if key is not None:
            clauses.append("(kind, title, id) > (?, ?, ?)")
            params += key
        where = " AND ".join(clauses) or "1"
        rows = await self.readers.all(
            f"SELECT * FROM inserts WHERE {where} ORDER BY kind, title, id LIMIT ?",
            [*params, limit + 1],
        )
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if rows else None
        return schemas.Page[schemas.Insert](
            items=[insert_from_row(row) for row in rows],
            next_cursor=encode_cursor(last["kind"], last["title"], last["id"])
            if more and last is not None
            else None,
        )

    async def create_insert(
        self,
        kind: schemas.InsertKind,
        title: str,
        body: str = "",
        *,
        url: str | None = None,
        tags: list[str] | None = None,
    ) -> schemas.Insert:
        def create(tx: Tx) -> schemas.Insert:
            insert_id = tx.insert(
                "inserts",
                {
                    "kind": kind.value,
                    "title": title,
                    "body": body,
                    "url": url,
                    "tags": dumps(tags or []),
                },
            )
            return insert_from_row(tx.one("SELECT * FROM inserts WHERE id = ?", (insert_id,)))

        return await self.write(create)
