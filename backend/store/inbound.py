"""Inbound WhatsApp messages: one writer transaction per message.

``ingest_inbound(tx, record)`` does everything a received message causes, or nothing:
the drop rules (number not connected to the help desk, message older than the
connection), idempotency by wamid, the contact, the thread and ticket (routing
included), the status move, the 24-hour session, reactions, replies, media rows and
the events. Because it is one transaction, a retry after a failure half-way is
processed again in full, and a redelivery of a stored message is a no-op.

The record is already decided by the caller (kind, quarantine, text): this module
knows the database, not Meta's payloads (the store imports nothing of ``whatsapp``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend import schemas
from backend.domain import routing, session, tickets
from backend.domain.errors import Conflict, NotFound
from backend.store import conversations as conv
from backend.store import reactions, revokes
from backend.store.engine import Tx, dumps, iso, parse_dt
from backend.store.types import (
    IdentityChange,
    InboundRecord,
    IngestResult,
    Outcome,
    Sender,
)

# phone-number states in which webhooks are ingested (an unhealthy number still receives)
INGESTING_STATES = frozenset({schemas.ChannelStatus.connected, schemas.ChannelStatus.unhealthy})
# status_receipts rows for inbound wamids that make no message row (reactions, events)
INBOUND_RECEIPT = "inbound"

COUNTER_DROPPED_UNKNOWN = "webhook.dropped_unknown_number"
COUNTER_DROPPED_BEFORE = "webhook.dropped_before_connection"
COUNTER_DUPLICATE = "webhook.duplicate"
COUNTER_REACTION_NO_TARGET = "webhook.reaction_without_target"
COUNTER_REVOKE_NO_TARGET = revokes.COUNTER_REVOKE_NO_TARGET


def bump(tx: Tx, name: str) -> None:
    conv.bump_counter(tx, name)


@dataclass(slots=True)
class Admission:
    """Whether an event for a business number is processed, and the number's display form."""

    dropped: Outcome | None
    business_number: str | None = None
    stored: bool = False  # a message with this wamid is stored already
    known: KnownSender | None = None  # asked for with a sender: see _known_contact
    # reactions or deletions wait for this wamid (store/reactions.py, store/revokes.py)
    held_reactions: bool = False


# The number, whether the wamid is stored, and (for a plain message) the contact with the
# sender's BSUID (else wa_id) and its open thread on the number: the three reads
# every inbound message starts with, in one statement (tests/bench/ingest.py).
_ADMIT_SQL = """SELECT p.status, p.destination, p.connected_at, p.display_phone_number,
    EXISTS (SELECT 1 FROM messages WHERE wamid = :wamid) AS stored,
    (EXISTS (SELECT 1 FROM inbound_reactions WHERE target_wamid = :wamid AND held = 1)
        OR EXISTS (SELECT 1 FROM held_for_message WHERE target_wamid = :wamid))
        AS held_reactions,
    c.id AS c_id, c.wa_id AS c_wa_id, c.wa_user_id AS c_wa_user_id,
    c.wa_parent_user_id AS c_wa_parent_user_id, c.wa_username AS c_wa_username,
    th.id AS th_id, th.ticket_id AS th_ticket_id, th.session_expires_at AS th_session,
    t.status AS t_status
FROM phone_numbers p
LEFT JOIN contacts c ON c.id = (
    SELECT id FROM contacts WHERE {column} = :sender ORDER BY updated_at DESC LIMIT 1)
LEFT JOIN threads th ON th.id = (
    SELECT th2.id FROM threads th2 JOIN tickets t2 ON t2.id = th2.ticket_id
    WHERE th2.contact_id = c.id AND th2.phone_number_id IS p.phone_number_id
        AND t2.status != 'closed'
    ORDER BY th2.id DESC LIMIT 1)
LEFT JOIN tickets t ON t.id = th.ticket_id
WHERE p.phone_number_id = :pnid"""
_ADMIT_BY_COLUMN = {
    column: _ADMIT_SQL.replace("{column}", column)
    for column in ("wa_parent_user_id", "wa_user_id", "wa_id")
}


@dataclass(slots=True)
class KnownSender:
    """A returning sender found by BSUID (or wa_id) with an unchanged identity, and their
    open thread."""

    contact_id: int
    thread: conv.InboundThread | None


def admit(
    tx: Tx,
    phone_number_id: str | None,
    at: datetime | None,
    wamid: str | None = None,
    sender: Sender | None = None,
) -> Admission:
    """Drop (and count) events for numbers not connected to the help desk, or older than
    the number's connection; otherwise the number's display form for the thread (and,
    in the same read, whether a message with ``wamid`` is stored already, and with a
    ``sender``, the returning sender of ``_known_contact``)."""
    row = None
    if phone_number_id:
        column = key = None
        if sender is not None:
            column, key = _identity_key(sender)
        row = tx.one(
            _ADMIT_BY_COLUMN[column or "wa_user_id"],
            {"wamid": wamid, "pnid": phone_number_id, "sender": key},
        )
    if row is None:
        bump(tx, COUNTER_DROPPED_UNKNOWN)
        return Admission(Outcome.dropped_unknown_number)
    # by position, in _ADMIT_SQL's order: looking its 15 columns up by name cost more than
    # the rest of admit's Python (the writer admits every message; tests/bench/results.md)
    (
        status, destination, connected, display_number, stored, held_reactions,
        contact_id, wa_id, user_id, parent_user_id, username,
        thread_id, ticket_id, session_expires_at, ticket_status,
    ) = row  # fmt: skip
    if status not in INGESTING_STATES or destination != schemas.PhoneDestination.help_desk:
        bump(tx, COUNTER_DROPPED_UNKNOWN)
        return Admission(Outcome.dropped_unknown_number)
    connected_at = parse_dt(connected)
    # Meta's timestamps are whole seconds: a message in the second of the connection counts
    if at is not None and (connected_at is None or at < connected_at.replace(microsecond=0)):
        bump(tx, COUNTER_DROPPED_BEFORE)
        return Admission(Outcome.dropped_before_connection)
    known = None
    if (
        sender is not None
        and contact_id is not None
        and _same_identity((wa_id, user_id, parent_user_id, username), sender)
    ):
        thread = (
            conv.InboundThread(thread_id, ticket_id, False, session_expires_at, ticket_status)
            if thread_id is not None
            else None
        )
        known = KnownSender(contact_id, thread)
    return Admission(
        None,
        display_number,
        stored=bool(stored),
        known=known,
        held_reactions=bool(held_reactions),
    )


def _identity_key(sender: Sender) -> tuple[str, str | None]:
    """The contacts column a sender is looked up by first, and its value: the parent
    BSUID, else the BSUID, else the wa_id exactly as sent (SPEC §3: whether or not the
    phone library calls it a valid number)."""
    if sender.parent_user_id:
        return "wa_parent_user_id", sender.parent_user_id
    if sender.user_id:
        return "wa_user_id", sender.user_id
    return "wa_id", sender.wa_id


def _same_identity(identity: Sequence[Any], sender: Sender) -> bool:
    """Whether every identity field the sender gave matches the contact's ``identity``:
    its wa_id, wa_user_id, wa_parent_user_id and wa_username, in that order."""
    wa_id, user_id, parent_user_id, username = identity
    return (
        (not sender.wa_id or wa_id == sender.wa_id)
        and (not sender.user_id or user_id == sender.user_id)
        and (not sender.parent_user_id or parent_user_id == sender.parent_user_id)
        and (not sender.username or username == sender.username)
    )


def seen_inbound(tx: Tx, record: InboundRecord, admission: Admission) -> bool:
    if admission.stored:
        return True
    if record.reaction_target is None and record.identity_change is None and not record.revokes:
        return False  # only these (reactions…) may leave a receipt instead of a row
    return (
        tx.one(
            "SELECT 1 FROM status_receipts WHERE wamid = ? AND status = ?",
            (record.wamid, INBOUND_RECEIPT),
        )
        is not None
    )


def _receipt(tx: Tx, wamid: str) -> None:
    tx.execute(
        "INSERT OR IGNORE INTO status_receipts (wamid, status, at) VALUES (?, ?, ?)",
        (wamid, INBOUND_RECEIPT, tx.now_iso),
    )


def ingest_inbound(
    tx: Tx,
    record: InboundRecord,
    *,
    rules: Sequence[routing.RoutingRule] = (),
) -> IngestResult:
    """The transaction function for one received message (see the module docstring)."""
    plain = (
        record.reaction_target is None
        and record.reaction_emoji is None
        and record.identity_change is None
        and record.revokes is None
        and (record.sender.user_id or record.sender.parent_user_id or record.sender.wa_id)
    )
    admission = admit(
        tx, record.phone_number_id, record.at, record.wamid, record.sender if plain else None
    )
    if admission.dropped is not None:
        return IngestResult(admission.dropped)
    if seen_inbound(tx, record, admission):
        bump(tx, COUNTER_DUPLICATE)
        return IngestResult(Outcome.duplicate)
    if record.reaction_target is not None or record.reaction_emoji is not None:
        return _react(tx, record)
    if record.identity_change is not None:
        return _change_identity(tx, record, record.identity_change)
    if record.revokes:
        return _revoke(tx, record, record.revokes)
    return _store_message(
        tx,
        record,
        rules,
        admission.business_number,
        admission.known,
        held_reactions=admission.held_reactions,
    )


# ------------------------------------------------------------------ reactions


def _react(tx: Tx, record: InboundRecord) -> IngestResult:
    """A reaction is never a message: applied to its message by WhatsApp's timestamp, or
    held until that message arrives (store/reactions.py)."""
    _receipt(tx, record.wamid)
    if not record.reaction_target:
        bump(tx, COUNTER_REACTION_NO_TARGET)
        return IngestResult(Outcome.reaction)
    applied = reactions.apply_inbound_reaction(
        tx,
        target_wamid=record.reaction_target,
        emoji=record.reaction_emoji,
        wamid=record.wamid,
        at=record.at,
        sender_wa_id=record.sender.wa_id,
        sender_user_id=record.sender.user_id,
        phone_number_id=record.phone_number_id,
    )
    return IngestResult(
        Outcome.reaction_held if applied.held else Outcome.reaction,
        message_id=applied.message_id,
        thread_id=applied.thread_id,
    )


# ------------------------------------------------------------------ deletions


def _revoke(tx: Tx, record: InboundRecord, target_wamid: str) -> IngestResult:
    """A customer deleted one of their messages: an event line under it in its thread
    (whatever that thread's state: the line belongs with the message). A deletion that
    comes before its message is held until the message arrives (store/revokes.py); one
    of a message of ours has nothing to show: counted, no conversation opened for it."""
    target = tx.one(
        "SELECT id, thread_id, direction FROM messages WHERE wamid = ?", (target_wamid,)
    )
    if target is None:
        _receipt(tx, record.wamid)
        revokes.hold_revoke(tx, record, target_wamid)
        return IngestResult(Outcome.revoke_held)
    if target[2] != schemas.Direction.inbound:
        _receipt(tx, record.wamid)
        bump(tx, COUNTER_REVOKE_NO_TARGET)
        return IngestResult(Outcome.revoke_without_target)
    message_id = revokes.show_revoke(
        tx,
        thread_id=target[1],
        target_id=target[0],
        target_wamid=target_wamid,
        wamid=record.wamid,
        text=record.text,
        content=record.content,
        from_number=record.sender.wa_id or record.sender.user_id,
        raw=record.raw,
        at=record.at,
    )
    conv.emit_thread_snapshot(tx, target[1])
    return IngestResult(Outcome.stored, message_id=message_id, thread_id=target[1])


# ------------------------------------------------------------------ identity changes


def _change_identity(tx: Tx, record: InboundRecord, change: IdentityChange) -> IngestResult:
    """user_changed_number / user_changed_user_id: update the contact, show an event line.
    A change older than the identity already applied (delivered late) changes nothing:
    its event line is still shown in its place, marked ``applied: false``."""
    sender = record.sender
    contact_id = conv.find_whatsapp_contact(
        tx,
        wa_id=sender.wa_id,
        user_id=sender.user_id,
        parent_user_id=sender.parent_user_id,
        at=record.at,
    )
    if contact_id is None:
        contact_id, _ = conv.resolve_whatsapp_contact(
            tx,
            wa_id=change.new_wa_id or sender.wa_id,
            user_id=change.new_user_id or sender.user_id,
            parent_user_id=change.new_parent_user_id or sender.parent_user_id,
            at=record.at,
        )
        # the sender's ids were this customer's until the change: a late message from
        # them finds it, and so does the change to them if it comes later (_later_self)
        _remember_ids(
            tx,
            contact_id,
            (sender.wa_id, sender.user_id, sender.parent_user_id),
            iso(record.at) if record.at is not None else tx.now_iso,
        )
    current = tx.one(
        "SELECT wa_id, wa_user_id, wa_parent_user_id FROM contacts WHERE id = ?", (contact_id,)
    )
    previous = dict(current) if current is not None else {}
    changed = {
        "wa_id": change.new_wa_id,
        "wa_user_id": change.new_user_id,
        "wa_parent_user_id": change.new_parent_user_id,
    }
    updates = conv.apply_whatsapp_identity(tx, contact_id, changed, record.at)
    if updates:
        later = _later_self(
            tx, contact_id, (change.new_user_id, change.new_parent_user_id), record.at
        )
        if later is not None:
            _merge_later_self(tx, later, contact_id)
        now = tx.one("SELECT wa_id, wa_user_id FROM contacts WHERE id = ?", (contact_id,))
        tx.execute(
            "UPDATE tickets SET contact_wa_id = ?, updated_at = ? "
            "WHERE contact_id = ? AND status != 'closed'",
            (now[0] or now[1], tx.now_iso, contact_id),
        )
    thread_id = conv.open_thread_of(tx, contact_id, record.phone_number_id)
    if thread_id is None:
        row = tx.one(
            "SELECT id FROM threads WHERE contact_id = ? AND phone_number_id IS ? "
            "ORDER BY id DESC LIMIT 1",
            (contact_id, record.phone_number_id),
        )
        thread_id = row["id"] if row is not None else None
    if thread_id is None:
        _receipt(tx, record.wamid)
        return IngestResult(Outcome.identity)
    content = {
        **record.content,
        "event": change.event,
        "previous": {k: v for k, v in previous.items() if v},
        "current": {k: v for k, v in updates.items()},
    }
    if not updates and any(
        value and previous.get(column) != value for column, value in changed.items()
    ):
        content["applied"] = False  # a newer identity is applied already
    message_id = conv.insert_message(
        tx,
        thread_id=thread_id,
        direction=schemas.Direction.inbound,
        kind=schemas.MessageKind.event,
        text=record.text,
        wamid=record.wamid,
        content=content,
        from_number=sender.wa_id or sender.user_id,
        raw=record.raw,
        at=record.at,
    )
    conv.emit_message_snapshot(tx, message_id, created=True)
    conv.emit_thread_snapshot(tx, thread_id)
    return IngestResult(Outcome.stored, message_id=message_id, thread_id=thread_id)


_REMEMBER_ID = (
    "INSERT INTO contact_former_ids (value, contact_id, until) VALUES (?, ?, ?) "
    "ON CONFLICT(value, contact_id) DO UPDATE SET until = MAX(until, excluded.until)"
)


def _remember_ids(tx: Tx, contact_id: int, values: Sequence[str | None], until: str) -> None:
    tx.executemany(_REMEMBER_ID, [(value, contact_id, until) for value in values if value])


def _later_self(
    tx: Tx, contact_id: int, user_ids: Sequence[str | None], at: datetime | None
) -> int | None:
    """Another contact that holds one of these BSUIDs, or held it *after* ``at``: the same
    customer, made a contact of its own by a message or a later identity change delivered
    before this change (a number changed twice, the changes arriving in reverse). BSUIDs
    only: a user id is never given to anyone else, where a phone number may be."""
    values = [value for value in user_ids if value]
    if not values:
        return None
    marks = ", ".join("?" for _ in values)
    row = tx.one(
        f"SELECT id FROM contacts WHERE (wa_user_id IN ({marks}) OR wa_parent_user_id IN "
        f"({marks})) AND id != ? AND merged_into IS NULL "
        "UNION ALL SELECT f.contact_id FROM contact_former_ids f "
        "JOIN contacts c ON c.id = f.contact_id "
        f"WHERE f.value IN ({marks}) AND f.until >= ? AND f.contact_id != ? "
        "AND c.merged_into IS NULL LIMIT 1",
        (
            *values,
            *values,
            contact_id,
            *values,
            iso(at) if at is not None else tx.now_iso,
            contact_id,
        ),
    )
    return None if row is None else int(row[0])


def _merge_later_self(tx: Tx, later: int, survivor: int) -> None:
    """``later`` is ``survivor`` after a newer identity change: the survivor takes its
    identity (as of that change), the ids it had, and whatever is filed under it; it is
    kept, marked merged into the survivor (nothing is deleted, as in migration 0008)."""
    row = tx.one(
        "SELECT wa_id, wa_user_id, wa_parent_user_id, wa_username, wa_identity_at, properties "
        "FROM contacts WHERE id = ?",
        (later,),
    )
    former = tx.all("SELECT value, until FROM contact_former_ids WHERE contact_id = ?", (later,))
    # moved, not copied: a late message from one of them finds the survivor alone
    tx.executemany(_REMEMBER_ID, [(value, survivor, until) for value, until in former])
    tx.execute("DELETE FROM contact_former_ids WHERE contact_id = ?", (later,))
    properties = _properties_of(row[5])
    properties["merged_into"] = survivor
    tx.update(
        "contacts",
        later,
        {
            "wa_id": None,
            "wa_user_id": None,
            "wa_parent_user_id": None,
            "wa_username": None,
            "merged_into": survivor,
            "properties": dumps(properties),
            "updated_at": tx.now_iso,
        },
    )
    tx.execute("DELETE FROM contacts_fts WHERE rowid = ?", (later,))
    conv.apply_whatsapp_identity(
        tx,
        survivor,
        {"wa_id": row[0], "wa_user_id": row[1], "wa_parent_user_id": row[2], "wa_username": row[3]},
        parse_dt(row[4]),
    )
    moved = [row[0] for row in tx.all("SELECT id FROM threads WHERE contact_id = ?", (later,))]
    for table in ("threads", "tickets", "usage_records"):
        tx.execute(f"UPDATE {table} SET contact_id = ? WHERE contact_id = ?", (survivor, later))
    tx.execute(
        "INSERT OR IGNORE INTO associations (contact_id, object_type, object_id) "
        "SELECT ?, object_type, object_id FROM associations WHERE contact_id = ?",
        (survivor, later),
    )
    tx.execute("DELETE FROM associations WHERE contact_id = ?", (later,))
    # two open conversations on one number now (each had one): both marked for review,
    # as when a sender matches several contacts (SPEC §3); the next message joins the newest
    tx.execute(
        "UPDATE tickets SET needs_review = 1 WHERE id IN (SELECT th.ticket_id FROM threads th "
        "JOIN tickets t ON t.id = th.ticket_id WHERE th.contact_id = ? AND t.status != 'closed' "
        "AND th.phone_number_id IN (SELECT o.phone_number_id FROM threads o "
        "JOIN tickets ot ON ot.id = o.ticket_id WHERE o.contact_id = ? AND ot.status != 'closed' "
        "GROUP BY o.phone_number_id HAVING COUNT(*) > 1))",
        (survivor, survivor),
    )
    for thread_id in moved:
        conv.emit_thread_snapshot(tx, thread_id)


def _properties_of(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# ------------------------------------------------------------------ messages


def _known_contact(tx: Tx, sender: Sender) -> int | None:
    """The contact of a returning sender whose WhatsApp identity is unchanged, found by
    BSUID or wa_id alone (the common case); None sends the caller through the full
    association, which normalises numbers (SPEC §3)."""
    for column, value in (
        ("wa_parent_user_id", sender.parent_user_id),
        ("wa_user_id", sender.user_id),
        ("wa_id", sender.wa_id),
    ):
        if not value:
            continue
        row = tx.one(
            "SELECT id, wa_id, wa_user_id, wa_parent_user_id, wa_username FROM contacts "
            f"WHERE {column} = ? ORDER BY updated_at DESC LIMIT 1",
            (value,),
        )
        if row is None:
            continue
        return row[0] if _same_identity(row[1:], sender) else None
    return None


def _session_renewal(at: datetime, stored_expiry: str | None) -> datetime | None:
    """The 24-hour window runs to 24 h after a customer's message; the new expiry, or
    None when the window already runs longer (an older message never shortens it)."""
    expires = session.session_expires_at(at)
    current = parse_dt(stored_expiry)
    return expires if current is None or expires > current else None


# kinds that are not counted as messages on the thread (event lines, notes)
_NOT_MESSAGES = frozenset({schemas.MessageKind.event, schemas.MessageKind.note})


def _continues_thread(record: InboundRecord, thread: conv.InboundThread) -> bool:
    """The common case: a customer writes again in an open conversation whose ticket
    already waits on us, and the message links nothing (no media row, no quote, no ad)."""
    return (
        record.customer_message
        and not record.welcome
        and record.media is None
        and not record.reply_to_wamid
        and record.kind not in _NOT_MESSAGES
        and "referral" not in record.content
        and tickets.status_after_inbound(thread.ticket_status) == thread.ticket_status
    )


# The common case's message row: every column but those it never sets (author, client
# id, status, quote, media), left NULL by the statement rather than bound as None each
# (a None parameter goes through the None adapter: ~1k of the writer's instructions)
_INSERT_ADDED_MESSAGE = (
    "INSERT INTO messages (thread_id, direction, kind, text, wamid, forwarded, caption, "
    "content, unsupported_reason, quarantine_rule, from_number, to_number, raw, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _add_to_thread(
    tx: Tx, record: InboundRecord, thread: conv.InboundThread, business_number: str | None
) -> IngestResult:
    """What ``_store_message`` does in the common case (``_continues_thread``), without
    the branches it cannot take there: the message row, the thread row, two snapshot
    events. The general path's Python cost about 7 of the writer's ~115 µs per message
    (tests/bench/ingest.py); test_the_common_case_stores_what_the_general_path_stores
    keeps the two equal."""
    sender = record.sender
    at = record.at or tx.now
    at_iso = iso(at)
    thread_id = thread.thread_id
    cursor = tx.execute(
        _INSERT_ADDED_MESSAGE,
        (
            thread_id,
            schemas.Direction.inbound.value,
            record.kind,
            record.text,
            record.wamid,
            int(record.forwarded),
            record.caption,
            dumps(record.content) if record.content else "{}",
            record.unsupported_reason,
            record.quarantine_rule,
            sender.wa_id or sender.user_id,
            business_number,
            record.raw,
            at_iso,
        ),
    )
    message_id = int(cursor.lastrowid or 0)
    searchable = conv.indexed_text(record.kind, record.text, record.caption)
    if searchable:
        tx.index_message(message_id, searchable)
    conv.count_inbound(
        tx,
        thread_id,
        at_iso,
        conv.preview_of(record.kind, record.text, record.caption),
        _session_renewal(at, thread.session_expires_at),
    )
    if record.content:
        conv.emit_message_snapshot(tx, message_id, created=True)
    else:  # a plain message's frame, made from what was just inserted, not read back
        conv.emit_added_message(
            tx,
            message_id,
            conv.added_message_json(
                message_id,
                thread_id=thread_id,
                kind=record.kind,
                text=record.text,
                wamid=record.wamid,
                forwarded=record.forwarded,
                unsupported_reason=record.unsupported_reason,
                quarantine_rule=record.quarantine_rule,
                from_number=sender.wa_id or sender.user_id,
                to_number=business_number,
                created_at=at_iso,
            ),
        )
    conv.emit_thread_snapshot(tx, thread_id)
    return IngestResult(Outcome.stored, message_id=message_id, thread_id=thread_id)


def pending_media(tx: Tx, record: InboundRecord) -> int | None:
    """The media row of a message whose file is still on Meta's side (the media fetcher
    downloads it), or None for a message without a file."""
    if record.media is None:
        return None
    return tx.insert(
        "media",
        {
            "external_id": record.media.external_id,
            "direction": schemas.Direction.inbound,
            "mime_type": record.media.mime_type,
            "filename": record.media.filename,
            "sha256": record.media.sha256,
            "state": schemas.MediaState.pending,
            "phone_number_id": record.phone_number_id,
            "created_at": tx.now_iso,
        },
    )


def quoted_message(tx: Tx, record: InboundRecord) -> int | None:
    """The id of the message ``record`` replies to, if it is stored."""
    if not record.reply_to_wamid:
        return None
    quoted = tx.one("SELECT id FROM messages WHERE wamid = ?", (record.reply_to_wamid,))
    return quoted[0] if quoted is not None else None


def _store_message(
    tx: Tx,
    record: InboundRecord,
    rules: Sequence[routing.RoutingRule],
    business_number: str | None,
    known: KnownSender | None = None,
    *,
    held_reactions: bool = True,  # False: admit() found no reaction waiting for it
) -> IngestResult:
    if (
        known is not None
        and known.thread is not None
        and not held_reactions
        and _continues_thread(record, known.thread)
    ):
        return _add_to_thread(tx, record, known.thread, business_number)
    sender = record.sender
    contact_id = known.contact_id if known is not None else _known_contact(tx, sender)
    needs_review = False
    if contact_id is None:
        contact_id, needs_review = conv.resolve_whatsapp_contact(
            tx,
            wa_id=sender.wa_id,
            user_id=sender.user_id,
            parent_user_id=sender.parent_user_id,
            username=sender.username,
            profile_name=sender.profile_name,
            at=record.at,
        )
    found = (
        known.thread
        if known is not None and known.thread is not None and known.contact_id == contact_id
        else None
    ) or conv.inbound_thread(
        tx,
        contact_id=contact_id,
        phone_number_id=record.phone_number_id,
        business_number=business_number,
        text=record.subject_text,
        fallback_subject=record.fallback_subject,
        needs_review=needs_review,
        rules=rules,
    )
    thread_id, ticket_id = found.thread_id, found.ticket_id
    at = record.at or tx.now
    media_id = pending_media(tx, record)
    reply_to_id = quoted_message(tx, record)
    content = record.content
    if record.welcome:
        content = {**content, "event": "request_welcome"}
    # for an ordinary message, the window opens in the same UPDATE as the counters
    renew_to = (
        _session_renewal(at, found.session_expires_at)
        if record.customer_message or record.welcome
        else None
    )
    merged_renewal = renew_to is not None and record.kind not in _NOT_MESSAGES
    message_id = conv.insert_message(
        tx,
        thread_id=thread_id,
        direction=schemas.Direction.inbound,
        kind=record.kind,
        text=record.text,
        wamid=record.wamid,
        reply_to_id=reply_to_id,
        reply_to_wamid=record.reply_to_wamid,
        forwarded=record.forwarded,
        media_id=media_id,
        caption=record.caption,
        content=content,
        unsupported_reason=record.unsupported_reason,
        quarantine_rule=record.quarantine_rule,
        from_number=sender.wa_id or sender.user_id,
        to_number=business_number,
        raw=record.raw,
        at=at,
        session_expires_at=renew_to if merged_renewal else None,
    )
    if "referral" in record.content:
        # the "came from an ad" view filter reads the thread's flag
        tx.execute("UPDATE threads SET from_ad = 1 WHERE id = ? AND from_ad = 0", (thread_id,))
    if record.welcome:
        tx.execute(
            "UPDATE threads SET last_message_at = COALESCE(last_message_at, ?), "
            "last_message_preview = COALESCE(last_message_preview, ?) WHERE id = ?",
            (iso(at), "Started a conversation", thread_id),
        )
    if renew_to is not None and not merged_renewal:
        conv.open_session(tx, thread_id, renew_to)
    if record.customer_message:
        # the ticket's status as read when the thread was found: nothing above changes it
        moved = tickets.status_after_inbound(found.ticket_status).value
        if moved != found.ticket_status:
            conv.set_ticket_status(tx, ticket_id, moved, None)
    if held_reactions:
        reactions.attach_held_reactions(tx, record.wamid, message_id)
    if reply_to_id is None and "edit_of" in content:
        revokes.hold_edit_link(tx, record, message_id)
    conv.emit_message_snapshot(tx, message_id, created=True)
    if held_reactions:
        revokes.apply_held_for_message(tx, record.wamid, message_id, thread_id)
    # thread.updated embeds the ticket: a separate ticket.updated would only repeat it
    # (one frame per client per message saved)
    conv.emit_thread_snapshot(tx, thread_id)
    return IngestResult(
        Outcome.stored, message_id=message_id, thread_id=thread_id, media_id=media_id
    )


def store_in_thread(
    tx: Tx,
    record: InboundRecord,
    *,
    rules: Sequence[routing.RoutingRule],
    business_number: str | None,
    contact_id: int,
    thread: conv.InboundThread,
) -> IngestResult:
    """Store an admitted, not yet stored message in a thread the caller found (a group's,
    store/groups.py) with its contact, as any message is stored."""
    return _store_message(tx, record, rules, business_number, KnownSender(contact_id, thread))


# ------------------------------------------------------------------ reveal (admins)


def reveal_quarantined(
    tx: Tx, message_id: int, actor_id: int
) -> tuple[schemas.Message, str | None]:
    """The hidden content of a quarantined message, for an admin; the reveal is audited."""
    row = tx.one(
        "SELECT kind, text, caption, quarantine_rule FROM messages WHERE id = ?", (message_id,)
    )
    if row is None:
        raise NotFound("There is no such message.", code="message_not_found")
    if row["kind"] != schemas.MessageKind.quarantined:
        raise Conflict("That message is not quarantined.", code="not_quarantined")
    tx.execute("UPDATE messages SET quarantine_revealed = 1 WHERE id = ?", (message_id,))
    conv.audit(
        tx,
        actor_id,
        "message.reveal",
        f"message:{message_id}",
        rule=row["quarantine_rule"],
    )
    message = conv.emit_message(tx, message_id, created=False)
    return message, row["text"] if row["text"] is not None else row["caption"]
