"""Seeding threads through the store's own transaction functions (as the ingest does).

Other test folders may import these helpers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend import schemas
from backend.domain import routing
from backend.domain.session import session_expires_at
from backend.store.conversations import (
    emit_message,
    emit_thread,
    emit_ticket,
    inbound_thread,
    insert_message,
    open_session,
    resolve_whatsapp_contact,
    set_ticket_status,
)
from backend.store.engine import Tx
from backend.store.sqlite import SqliteStore

BASE_TIME = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def inbound(
    tx: Tx,
    *,
    name: str | None,
    phone: str,
    text: str,
    at: datetime | None = None,
    phone_number_id: str = "PNID1",
    business_number: str = "+15550001111",
    rules: tuple[routing.RoutingRule, ...] = (),
    emit: bool = True,
) -> int:
    """One inbound text message, as the WhatsApp ingest stores it; returns the thread id."""
    at = at or tx.now
    contact_id, needs_review = resolve_whatsapp_contact(
        tx, wa_id=phone.lstrip("+"), user_id=None, profile_name=name
    )
    found = inbound_thread(
        tx,
        contact_id=contact_id,
        phone_number_id=phone_number_id,
        business_number=business_number,
        text=text,
        fallback_subject="WhatsApp conversation",
        needs_review=needs_review,
        rules=rules,
    )
    thread_id, ticket_id, created = found.thread_id, found.ticket_id, found.created
    message_id = insert_message(
        tx,
        thread_id=thread_id,
        direction=schemas.Direction.inbound,
        kind=schemas.MessageKind.text,
        text=text,
        from_number=phone,
        to_number=business_number,
        at=at,
    )
    open_session(tx, thread_id, session_expires_at(at))
    if not created:
        set_ticket_status(tx, ticket_id, schemas.TicketStatus.waiting_on_us, None)
    if emit:
        emit_message(tx, message_id, created=True)
        emit_ticket(tx, ticket_id)
        emit_thread(tx, thread_id)
    return thread_id


async def seed_thread(
    store: SqliteStore,
    *,
    name: str | None,
    phone: str,
    text: str,
    at: datetime | None = None,
    phone_number_id: str = "PNID1",
    business_number: str = "+15550001111",
    rules: tuple[routing.RoutingRule, ...] = (),
) -> schemas.Thread:
    def seed(tx: Tx) -> int:
        return inbound(
            tx,
            name=name,
            phone=phone,
            text=text,
            at=at,
            phone_number_id=phone_number_id,
            business_number=business_number,
            rules=rules,
        )

    return await store.get_thread(await store.write(seed))


def seed_phone(index: int) -> str:
    """A valid, distinct Spanish mobile number per index."""
    return f"+3461{index:07d}"


async def seed_threads(
    store: SqliteStore, n: int, *, start: datetime = BASE_TIME, text: str = "Hello there"
) -> list[int]:
    """``n`` threads from ``n`` contacts in one transaction, one minute apart; their ids."""

    def seed(tx: Tx) -> list[int]:
        return [
            inbound(
                tx,
                name=f"Customer {i}",
                phone=seed_phone(i),
                text=f"{text} #{i}",
                at=start + timedelta(minutes=i),
                emit=False,
            )
            for i in range(n)
        ]

    return await store.write(seed)
