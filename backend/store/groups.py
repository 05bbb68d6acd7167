"""WhatsApp groups (the Groups API): a group's messages go to the group's own thread.

A message with a ``group_id`` is not its sender's 1:1 conversation: filed there, an
agent's reply would go privately to one participant. A group has one open thread per
business number, found by ``threads.group_id`` (migration 0010); its contact is a
contact row standing for the group (``properties.whatsapp_group_id``), so the thread
list and tickets work unchanged. Each message keeps who sent it (``from_number`` and
``content.group_sender``), and replies go to the group (store/sending.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from backend import schemas
from backend.domain import routing, tickets
from backend.store import conversations as conv
from backend.store.engine import Tx, dumps
from backend.store.inbound import (
    COUNTER_DUPLICATE,
    InboundRecord,
    IngestResult,
    Outcome,
    admit,
    store_in_thread,
)

GROUP_PROPERTY = "whatsapp_group_id"
GROUP_CONTACT_NAME = "WhatsApp group"


def _group_contact(tx: Tx, group_id: str, phone_number_id: str | None) -> int:
    row = tx.one(
        "SELECT contact_id FROM threads WHERE group_id = ? AND phone_number_id IS ? "
        "ORDER BY id DESC LIMIT 1",
        (group_id, phone_number_id),
    )
    if row is not None:
        return row["contact_id"]
    contact_id = tx.insert(
        "contacts",
        {
            "first_name": GROUP_CONTACT_NAME,
            "last_name": group_id,
            "properties": dumps({GROUP_PROPERTY: group_id}),
            "created_at": tx.now_iso,
            "updated_at": tx.now_iso,
        },
    )
    conv.index_contact(tx, contact_id)
    return contact_id


def group_thread(
    tx: Tx,
    record: InboundRecord,
    group_id: str,
    business_number: str | None,
    rules: Sequence[routing.RoutingRule],
) -> tuple[int, conv.InboundThread]:
    """The group's open thread on the record's number, or a new routed one; returns
    (the group's contact id, the thread)."""
    row = tx.one(
        "SELECT th.id, th.ticket_id, th.contact_id, th.session_expires_at, t.status "
        "FROM threads th JOIN tickets t ON t.id = th.ticket_id "
        "WHERE th.group_id = ? AND th.phone_number_id IS ? AND t.status != 'closed' "
        "ORDER BY th.id DESC LIMIT 1",
        (group_id, record.phone_number_id),
    )
    if row is not None:
        return row["contact_id"], conv.InboundThread(
            row["id"], row["ticket_id"], False, row["session_expires_at"], row["status"]
        )
    contact_id = _group_contact(tx, group_id, record.phone_number_id)
    owner = conv.route_ticket(tx, rules=rules, country=None, text=record.subject_text or "")
    thread_id, ticket_id = conv.create_thread(
        tx,
        contact_id=contact_id,
        phone_number_id=record.phone_number_id,
        business_number=business_number,
        subject=tickets.subject_from_text(record.subject_text, record.fallback_subject),
        owner_id=owner,
    )
    tx.execute("UPDATE threads SET group_id = ? WHERE id = ?", (group_id, thread_id))
    tx.execute(
        "UPDATE tickets SET contact_wa_id = ? WHERE id = ? AND contact_wa_id IS NULL",
        (group_id, ticket_id),
    )
    thread = conv.InboundThread(thread_id, ticket_id, True, None, schemas.TicketStatus.new)
    return contact_id, thread


def ingest_group_message(
    tx: Tx, record: InboundRecord, *, group_id: str, rules: Sequence[routing.RoutingRule] = ()
) -> IngestResult:
    """The transaction function for one message sent in a group."""
    admission = admit(tx, record.phone_number_id, record.at, record.wamid)
    if admission.dropped is not None:
        return IngestResult(admission.dropped)
    if admission.stored:
        conv.bump_counter(tx, COUNTER_DUPLICATE)
        return IngestResult(Outcome.duplicate)
    contact_id, thread = group_thread(tx, record, group_id, admission.business_number, rules)
    return store_in_thread(
        tx,
        record,
        rules=rules,
        business_number=admission.business_number,
        contact_id=contact_id,
        thread=thread,
    )
