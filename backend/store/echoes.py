"""Messages the business sent from the WhatsApp Business app on a coexistence number
(the ``smb_message_echoes`` webhook), one transaction each.

Each is stored as an outbound message marked ``sent_from_phone`` in the customer's
conversation on that number: the open one, else the latest (a closed ticket gets the
line, no new ticket), else a new one. Idempotent by wamid. Our own messages never extend
the 24-hour window, and neither do these. A customer's reaction held for the message
(store/reactions.py) is attached when it arrives. An attachment is fetched from Meta as a
received one is (a pending media row).
"""

from __future__ import annotations

from backend import schemas
from backend.store import conversations as conv
from backend.store import reactions
from backend.store.engine import Tx
from backend.store.inbound import (
    COUNTER_DUPLICATE,
    InboundRecord,
    IngestResult,
    Outcome,
    admit,
    pending_media,
    quoted_message,
)

SENT_FROM_PHONE = "sent_from_phone"
COUNTER_ECHO_REACTION_UNKNOWN = "webhook.echo_reaction_unknown_target"


def _thread_for(tx: Tx, record: InboundRecord, contact_id: int, business_number: str | None) -> int:
    open_id = conv.open_thread_of(tx, contact_id, record.phone_number_id)
    if open_id is not None:
        return open_id
    latest = tx.one(
        "SELECT id FROM threads WHERE contact_id = ? AND phone_number_id IS ? "
        "ORDER BY id DESC LIMIT 1",
        (contact_id, record.phone_number_id),
    )
    if latest is not None:
        return latest["id"]
    found = conv.inbound_thread(
        tx,
        contact_id=contact_id,
        phone_number_id=record.phone_number_id,
        business_number=business_number,
        text=record.subject_text,
        fallback_subject=record.fallback_subject,
        needs_review=False,
    )
    return found.thread_id


def _echo_reaction(tx: Tx, record: InboundRecord) -> IngestResult:
    """A reaction the business set from the app: ours on the message, as an agent's is."""
    target = tx.one(
        "SELECT id, thread_id FROM messages WHERE wamid = ?", (record.reaction_target or "",)
    )
    if target is None:
        conv.bump_counter(tx, COUNTER_ECHO_REACTION_UNKNOWN)
        return IngestResult(Outcome.reaction)
    conv.set_reaction(
        tx,
        message_id=target["id"],
        by=schemas.Direction.outbound,
        agent_id=None,
        emoji=record.reaction_emoji or None,
        wamid=record.wamid,
    )
    conv.emit_message_snapshot(tx, target["id"], created=False)
    return IngestResult(Outcome.reaction, message_id=target["id"], thread_id=target["thread_id"])


def store_echo(tx: Tx, record: InboundRecord) -> IngestResult:
    """The transaction function for one echo; ``record.sender`` is the customer (the
    echo's ``to``)."""
    admission = admit(tx, record.phone_number_id, record.at, record.wamid)
    if admission.dropped is not None:
        return IngestResult(admission.dropped)
    if admission.stored:
        conv.bump_counter(tx, COUNTER_DUPLICATE)
        return IngestResult(Outcome.duplicate)
    if record.reaction_target is not None:
        return _echo_reaction(tx, record)
    sender = record.sender
    contact_id, _ = conv.resolve_whatsapp_contact(
        tx,
        wa_id=sender.wa_id,
        user_id=sender.user_id,
        parent_user_id=sender.parent_user_id,
        username=sender.username,
    )
    thread_id = _thread_for(tx, record, contact_id, admission.business_number)
    # the file is on Meta's side as a received one is: the media fetcher downloads it
    media_id = pending_media(tx, record)
    message_id = conv.insert_message(
        tx,
        thread_id=thread_id,
        direction=schemas.Direction.outbound,
        kind=record.kind,
        text=record.text,
        wamid=record.wamid,
        status=schemas.DeliveryStatus.sent,
        reply_to_id=quoted_message(tx, record),
        reply_to_wamid=record.reply_to_wamid,
        media_id=media_id,
        caption=record.caption,
        content={**record.content, SENT_FROM_PHONE: True},
        unsupported_reason=record.unsupported_reason,
        from_number=admission.business_number,
        to_number=sender.wa_id or sender.user_id,
        raw=record.raw,
        at=record.at,
    )
    reactions.attach_held_reactions(tx, record.wamid, message_id)
    conv.emit_message_snapshot(tx, message_id, created=True)
    conv.emit_thread_snapshot(tx, thread_id)
    return IngestResult(
        Outcome.stored, message_id=message_id, thread_id=thread_id, media_id=media_id
    )
