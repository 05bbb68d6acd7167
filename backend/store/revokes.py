"""A customer's deletions (``revoke``) and edits that arrive before their message.

Meta delivers at least once and in no order, for up to 7 days: a deletion may come
before its message. Shown as it came, the message would then stand with no mark, and
the agent would read words the customer took back. Such a deletion is held in
``held_for_message`` (migration 0033), never a message or a ticket of its own, and becomes
the ``message_revoked`` event line under its message when that arrives
(``apply_held_for_message``, from the ingest), as an in-order deletion would. One whose
message never arrives within ``HELD_REACTION_KEEP`` is dropped and counted
(``expire_held_for_message``): there is nothing to show it under.

An edit before its original is stored as it comes (the customer's new words), and a row
here (``edit_message_id``) makes it quote the original once that arrives, as an edit in
order does, so the agent sees which words were replaced.
"""

from __future__ import annotations

import json
from datetime import datetime

from backend import schemas
from backend.store import conversations as conv
from backend.store.engine import Tx, dumps, iso, parse_dt
from backend.store.reactions import HELD_REACTION_KEEP
from backend.store.types import InboundRecord

COUNTER_REVOKE_HELD = "webhook.revoke_held"
COUNTER_REVOKE_NO_TARGET = "webhook.revoke_without_target"


def hold_revoke(tx: Tx, record: InboundRecord, target_wamid: str) -> None:
    tx.execute(
        "INSERT INTO held_for_message (wamid, target_wamid, text, content, raw, from_number, "
        "at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (wamid) DO NOTHING",
        (
            record.wamid,
            target_wamid,
            record.text,
            dumps(record.content),
            record.raw,
            record.sender.wa_id or record.sender.user_id,
            iso(record.at or tx.now),
            tx.now_iso,
        ),
    )
    conv.bump_counter(tx, COUNTER_REVOKE_HELD)


def hold_edit_link(tx: Tx, record: InboundRecord, edit_message_id: int) -> None:
    """An edit stored before the message it edits: quote that message when it comes."""
    tx.execute(
        "INSERT INTO held_for_message (wamid, target_wamid, content, at, received_at, "
        "edit_message_id) VALUES (?, ?, '{}', ?, ?, ?) ON CONFLICT (wamid) DO NOTHING",
        (
            record.wamid,
            record.reply_to_wamid,
            iso(record.at or tx.now),
            tx.now_iso,
            edit_message_id,
        ),
    )


def show_revoke(
    tx: Tx,
    *,
    thread_id: int,
    target_id: int,
    target_wamid: str,
    wamid: str,
    text: str | None,
    content: dict,
    from_number: str | None,
    raw: str | None,
    at: datetime | None,
) -> int:
    """The event line under the deleted message; its ``message.created`` is emitted."""
    message_id = conv.insert_message(
        tx,
        thread_id=thread_id,
        direction=schemas.Direction.inbound,
        kind=schemas.MessageKind.event,
        text=text,
        wamid=wamid,
        reply_to_id=target_id,
        reply_to_wamid=target_wamid,
        content=content,
        from_number=from_number,
        raw=raw,
        at=at,
    )
    conv.emit_message_snapshot(tx, message_id, created=True)
    return message_id


def apply_held_for_message(tx: Tx, wamid: str, message_id: int, thread_id: int) -> None:
    """Show the deletions held for a message that has just been stored (after its own
    ``message.created``, so the line comes under it)."""
    held = tx.all(
        "SELECT wamid, text, content, raw, from_number, at, edit_message_id "
        "FROM held_for_message WHERE target_wamid = ? ORDER BY at, wamid",
        (wamid,),
    )
    for row in held:
        if row["edit_message_id"] is not None:
            tx.execute(
                "UPDATE messages SET reply_to_id = ? WHERE id = ?",
                (message_id, row["edit_message_id"]),
            )
            conv.emit_message_snapshot(tx, row["edit_message_id"], created=False)
            continue
        show_revoke(
            tx,
            thread_id=thread_id,
            target_id=message_id,
            target_wamid=wamid,
            wamid=row["wamid"],
            text=row["text"],
            content=json.loads(row["content"]),
            from_number=row["from_number"],
            raw=row["raw"],
            at=parse_dt(row["at"]),
        )
    if held:
        tx.execute("DELETE FROM held_for_message WHERE target_wamid = ?", (wamid,))


def expire_held_for_message(tx: Tx, now: datetime) -> int:
    """Drop the deletions (counted) and edit links held longer than
    ``HELD_REACTION_KEEP``: their message will not come. Returns how many ended."""
    expired = tx.all(
        "SELECT wamid, edit_message_id FROM held_for_message WHERE received_at < ?",
        (iso(now - HELD_REACTION_KEEP),),
    )
    for row in expired:
        tx.execute("DELETE FROM held_for_message WHERE wamid = ?", (row["wamid"],))
        if row["edit_message_id"] is None:
            conv.bump_counter(tx, COUNTER_REVOKE_NO_TARGET)
    return len(expired)
