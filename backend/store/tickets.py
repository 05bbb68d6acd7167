"""Ticket changes by agents (owner, status, priority; one or many), the timeline, the list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from backend import schemas
from backend.domain import tickets as rules
from backend.domain.errors import Conflict, InvalidField, NotFound
from backend.store.base import StoreBase
from backend.store.conversations import (
    TICKET_SELECT,
    emit_thread,
    emit_ticket,
    load_ticket,
    set_ticket_owner,
    set_ticket_status,
    ticket_from_row,
    timeline,
)
from backend.store.cursors import decode_cursor, encode_cursor
from backend.store.engine import Tx, iso, parse_dt
from backend.store.search import fts_query

SUMMARY_COLUMNS = "t.id, t.subject, t.status, t.priority, t.owner_id, t.thread_id, t.created_at"


def set_ticket_priority(tx: Tx, ticket_id: int, priority: str, actor_id: int | None) -> bool:
    row = tx.one("SELECT priority FROM tickets WHERE id = ?", (ticket_id,))
    if row is None:
        raise NotFound("There is no such ticket.", code="ticket_not_found")
    if row["priority"] == priority:
        return False
    tx.execute(
        "UPDATE tickets SET priority = ?, updated_at = ? WHERE id = ?",
        (priority, tx.now_iso, ticket_id),
    )
    timeline(tx, ticket_id, actor_id, "priority_changed", row["priority"], priority)
    return True


def snooze_ticket(tx: Tx, ticket_id: int, until: datetime, actor_id: int | None) -> bool:
    """Pending until ``until``: waiting on the contact, out of the open views till then."""
    changed = set_ticket_status(tx, ticket_id, schemas.TicketStatus.waiting_on_contact, actor_id)
    at = iso(until)
    tx.execute(
        "UPDATE tickets SET snoozed_until = ?, updated_at = ? WHERE id = ?",
        (at, tx.now_iso, ticket_id),
    )
    tx.execute("UPDATE threads SET snoozed_until = ? WHERE ticket_id = ?", (at, ticket_id))
    timeline(tx, ticket_id, actor_id, "snoozed", None, at)
    return changed or True


def end_snooze(tx: Tx, ticket_id: int, actor_id: int | None) -> bool:
    """An agent ends a snooze early, the status as it is (undoing a snooze)."""
    row = tx.one("SELECT snoozed_until FROM tickets WHERE id = ?", (ticket_id,))
    if row is None or row["snoozed_until"] is None:
        return False
    tx.execute(
        "UPDATE tickets SET snoozed_until = NULL, updated_at = ? WHERE id = ?",
        (tx.now_iso, ticket_id),
    )
    tx.execute("UPDATE threads SET snoozed_until = NULL WHERE ticket_id = ?", (ticket_id,))
    timeline(tx, ticket_id, actor_id, "unsnoozed", row["snoozed_until"], None)
    return True


def wake_snoozed(tx: Tx) -> int:
    """Every ticket whose snooze has passed comes back: waiting on us, in its open views,
    with a ``snooze_ended`` timeline entry. The number woken."""
    rows = tx.all(
        "SELECT id, snoozed_until FROM tickets "
        "WHERE snoozed_until IS NOT NULL AND snoozed_until <= ?",
        (tx.now_iso,),
    )
    for row in rows:
        ticket_id = row["id"]
        set_ticket_status(tx, ticket_id, schemas.TicketStatus.waiting_on_us, None)
        tx.execute("UPDATE tickets SET snoozed_until = NULL WHERE id = ?", (ticket_id,))
        tx.execute("UPDATE threads SET snoozed_until = NULL WHERE ticket_id = ?", (ticket_id,))
        timeline(tx, ticket_id, None, "snooze_ended", row["snoozed_until"], None)
        ticket = emit_ticket(tx, ticket_id)
        if ticket.thread_id is not None:
            emit_thread(tx, ticket.thread_id)
    return len(rows)


def check_reopen(tx: Tx, ticket: schemas.Ticket) -> None:
    """A closed WhatsApp ticket cannot be reopened once its customer has another open
    conversation on the same business number: their next message would join only one of
    the two (the newest), so the agent answering in the other talks past them — the undo
    of a close racing the customer's next message. (Zendesk does not reopen a closed
    ticket at all; mail threads by its headers, so several open ones are fine there.)"""
    if ticket.thread_id is None:
        return
    other = tx.one(
        "SELECT t.id FROM threads th JOIN threads o ON o.contact_id = th.contact_id "
        "AND o.phone_number_id = th.phone_number_id AND o.id != th.id "
        "JOIN tickets t ON t.id = o.ticket_id "
        "WHERE th.id = ? AND t.status != 'closed' ORDER BY o.id DESC LIMIT 1",
        (ticket.thread_id,),
    )
    if other is not None:
        raise Conflict(
            f"The customer wrote again after the close: the conversation continues in "
            f"ticket #{other[0]}. Nothing was changed.",
            code="conversation_continues",
            field="status",
        )


def apply_ticket_update(
    tx: Tx, ticket_id: int, change: schemas.TicketUpdate, actor_id: int | None
) -> schemas.Ticket:
    """Apply one change inside a transaction; emits ticket.updated + thread.updated if changed."""
    current = load_ticket(tx, ticket_id)
    if current.status == schemas.TicketStatus.closed and (
        change.snoozed_until is not None
        or (change.status is not None and change.status != schemas.TicketStatus.closed)
    ):
        check_reopen(tx, current)
    changed = False
    if change.snoozed_until is not None:
        until = change.snoozed_until
        if until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
        if until <= tx.now:
            raise InvalidField("Snooze until a time in the future.", field="snoozed_until")
        changed |= snooze_ticket(tx, ticket_id, until, actor_id)
    if change.unassign:
        changed |= set_ticket_owner(tx, ticket_id, None, actor_id)
    elif change.owner_id is not None:
        changed |= set_ticket_owner(tx, ticket_id, change.owner_id, actor_id)
    if change.status is not None:
        target = rules.check_status_move(current.status, change.status.value)
        if target is not None:
            changed |= set_ticket_status(tx, ticket_id, target.value, actor_id)
    if change.priority is not None:
        changed |= set_ticket_priority(tx, ticket_id, change.priority.value, actor_id)
    if change.unsnooze:
        changed |= end_snooze(tx, ticket_id, actor_id)
    if not changed:
        return current
    ticket = emit_ticket(tx, ticket_id)
    if ticket.thread_id is not None:
        emit_thread(tx, ticket.thread_id)
    return ticket


def _check(change: schemas.TicketUpdate) -> None:
    if change.unassign and change.owner_id is not None:
        raise InvalidField("Give owner_id or unassign, not both.", field="unassign")
    if change.snoozed_until is not None and change.status is not None:
        raise InvalidField(
            "Give snoozed_until or status, not both (a snooze is pending until then).",
            field="snoozed_until",
        )
    if change.unsnooze and change.snoozed_until is not None:
        raise InvalidField("Give snoozed_until or unsnooze, not both.", field="unsnooze")


def summary_from_row(row: Any) -> schemas.TicketSummary:
    return schemas.TicketSummary(
        id=row["id"],
        subject=row["subject"],
        status=row["status"],
        priority=row["priority"],
        owner_id=row["owner_id"],
        thread_id=row["thread_id"],
        created_at=parse_dt(row["created_at"]),
    )


class TicketsStore(StoreBase):
    async def update_ticket(
        self, ticket_id: int, change: schemas.TicketUpdate, *, actor_id: int
    ) -> schemas.Ticket:
        _check(change)
        return await self.write(lambda tx: apply_ticket_update(tx, ticket_id, change, actor_id))

    async def update_tickets(
        self, ticket_ids: list[int], change: schemas.TicketUpdate, *, actor_id: int
    ) -> list[schemas.Ticket]:
        """All or nothing, in one transaction: an unknown id changes no ticket."""
        _check(change)
        ids = list(dict.fromkeys(ticket_ids))

        def apply(tx: Tx) -> list[schemas.Ticket]:
            marks = ", ".join("?" for _ in ids)
            found = {row[0] for row in tx.all(f"SELECT id FROM tickets WHERE id IN ({marks})", ids)}
            missing = [ticket_id for ticket_id in ids if ticket_id not in found]
            if missing:
                raise NotFound(
                    f"There is no ticket {', '.join(map(str, missing[:10]))}; nothing was changed.",
                    code="ticket_not_found",
                )
            return [apply_ticket_update(tx, ticket_id, change, actor_id) for ticket_id in ids]

        return await self.write(apply)

    async def next_snooze_end(self) -> datetime | None:
        """When the soonest snooze ends (None: nothing is snoozed)."""
        soonest = await self.readers.value(
            "SELECT MIN(snoozed_until) FROM tickets WHERE snoozed_until IS NOT NULL"
        )
        return datetime.fromisoformat(soonest) if soonest else None

    async def wake_snoozed(self) -> int:
        """Wake the tickets whose snooze has passed (a cheap read first: usually none)."""
        due = await self.readers.one(
            "SELECT 1 FROM tickets WHERE snoozed_until IS NOT NULL AND snoozed_until <= ? LIMIT 1",
            (iso(self.now()),),
        )
        if due is None:
            return 0
        return await self.write(wake_snoozed)

    async def get_ticket(self, ticket_id: int) -> schemas.Ticket:
        row = await self.readers.one(TICKET_SELECT + " WHERE t.id = ?", (ticket_id,))
        if row is None:
            raise NotFound("There is no such ticket.", code="ticket_not_found")
        return ticket_from_row(row)

    async def ticket_timeline(
        self, ticket_id: int, *, limit: int = 100, cursor: str | None = None
    ) -> schemas.Page[schemas.TimelineEntry]:
        """Oldest first, as a story reads."""
        await self.get_ticket(ticket_id)
        key = decode_cursor(cursor, 1)
        rows = await self.readers.all(
            "SELECT tl.*, a.name AS actor_name FROM ticket_timeline tl "
            "LEFT JOIN agents a ON a.id = tl.actor_id WHERE tl.ticket_id = ? AND tl.id > ? "
            "ORDER BY tl.id LIMIT ?",
            (ticket_id, key[0] if key else 0, limit + 1),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            schemas.TimelineEntry(
                id=row["id"],
                ticket_id=row["ticket_id"],
                at=parse_dt(row["at"]),
                actor_id=row["actor_id"],
                actor_name=row["actor_name"],
                action=row["action"],
                old=row["old"],
                new=row["new"],
            )
            for row in rows
        ]
        return schemas.Page[schemas.TimelineEntry](
            items=items, next_cursor=encode_cursor(rows[-1]["id"]) if more else None
        )

    async def list_tickets(
        self,
        *,
        q: str | None = None,
        status: str | None = None,
        owner_id: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> schemas.Page[schemas.TicketSummary]:
        """Tickets newest first; ``q`` matches subjects (full text)."""
        clauses: list[str] = []
        params: list[Any] = []
        if q is not None and q.strip():
            match = fts_query(q)
            if match is None:
                return schemas.Page[schemas.TicketSummary](items=[])
            clauses.append("t.id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)")
            params.append(match)
        if status is not None:
            clauses.append("t.status = ?")
            params.append(status)
        if owner_id is not None:
            clauses.append("t.owner_id = ?")
            params.append(owner_id)
        key = decode_cursor(cursor, 1)
        if key is not None:
            clauses.append("t.id < ?")
            params.append(key[0])
        where = " AND ".join(clauses) or "1"
        rows = await self.readers.all(
            f"SELECT {SUMMARY_COLUMNS} FROM tickets t WHERE {where} ORDER BY t.id DESC LIMIT ?",
            [*params, limit + 1],
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return schemas.Page[schemas.TicketSummary](
            items=[summary_from_row(row) for row in rows],
            next_cursor=encode_cursor(rows[-1]["id"]) if more else None,
        )
