"""The audit log: who did what to what (agent admin, reveals, imports…); read by admins."""

from __future__ import annotations

from typing import Any

from backend import schemas
from backend.store.base import StoreBase, loads
from backend.store.conversations import audit
from backend.store.cursors import decode_cursor, encode_cursor
from backend.store.engine import parse_dt


class AuditStore(StoreBase):
    async def record_audit(
        self, actor_id: int | None, action: str, target: str | None = None, **detail: Any
    ) -> None:
        """An audit entry on its own; inside a transaction call ``conversations.audit``."""
        await self.write(lambda tx: audit(tx, actor_id, action, target, **detail))

    async def list_audit(
        self, *, action: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> schemas.Page[schemas.AuditEntry]:
        """Newest first."""
        clauses, params = [], []
        if action:
            clauses.append("action = ?")
            params.append(action)
        key = decode_cursor(cursor, 1)
        if key is not None:
            clauses.append("id < ?")
            params.append(key[0])
        where = " AND ".join(clauses) or "1"
        rows = await self.readers.all(
            f"SELECT * FROM audit_log WHERE {where} ORDER BY id DESC LIMIT ?", [*params, limit + 1]
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            schemas.AuditEntry(
                id=row["id"],
                at=parse_dt(row["at"]),
                actor_id=row["actor_id"],
                action=row["action"],
                target=row["target"],
                detail=loads(row["detail"], {}),
            )
            for row in rows
        ]
        return schemas.Page[schemas.AuditEntry](
            items=items, next_cursor=encode_cursor(rows[-1]["id"]) if more else None
        )
