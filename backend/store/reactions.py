"""A customer's reactions, applied by WhatsApp's timestamp, held until their message comes.

Meta delivers at least once and in no order, for up to 7 days: a reaction may arrive
before the message it reacts to, and a removal before the add it undoes. Each reaction
goes through ``inbound_reactions`` (migration 0009): one row per reacted-to wamid and
sender, holding the newest add or removal by WhatsApp's timestamp, so an older one
arriving late changes nothing. A reaction whose message is not stored yet is held there
(never a message, never a ticket) and attached when the message arrives
(``attach_held_reactions``, from the ingest). One whose message never arrives within
``HELD_REACTION_KEEP`` ends as a quiet event line in the sender's latest thread on that
number, or, with no thread, is dropped and counted (``expire_held_reactions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from backend import schemas
from backend.store import conversations as conv
from backend.store.engine import Tx, iso, parse_dt

# Meta retries a notification for up to 7 days: a target later than that never comes
HELD_REACTION_KEEP = timedelta(days=7)
TARGET_MISSING_EVENT = "reaction_target_missing"

COUNTER_REACTION_HELD = "webhook.reaction_held"
COUNTER_REACTION_STALE = "webhook.reaction_stale"
COUNTER_REACTION_EXPIRED = "webhook.reaction_target_missing"  # dropped: no thread to show it


@dataclass(slots=True)
class ReactionApplied:
    """The message reacted to (None while it is held) and whether anything changed."""

    message_id: int | None
    thread_id: int | None
    held: bool = False
    stale: bool = False


def sender_key(wa_id: str | None, user_id: str | None) -> str:
    return user_id or wa_id or ""


def apply_inbound_reaction(
    tx: Tx,
    *,
    target_wamid: str,
    emoji: str | None,
    wamid: str,
    at: datetime | None,
    sender_wa_id: str | None,
    sender_user_id: str | None,
    phone_number_id: str | None,
) -> ReactionApplied:
    """Record a reaction (``emoji`` None or "": removed) unless a newer one from the same
    sender on the same message is recorded; apply it if its message is stored."""
    sender = sender_key(sender_wa_id, sender_user_id)
    at_iso = iso(at or tx.now)
    target = tx.one("SELECT id, thread_id FROM messages WHERE wamid = ?", (target_wamid,))
    message_id = target["id"] if target is not None else None
    thread_id = target["thread_id"] if target is not None else None
    newest = tx.one(
        "SELECT at FROM inbound_reactions WHERE target_wamid = ? AND sender = ?",
        (target_wamid, sender),
    )
    if newest is not None and newest["at"] > at_iso:
        conv.bump_counter(tx, COUNTER_REACTION_STALE)
        return ReactionApplied(message_id, thread_id, held=target is None, stale=True)
    tx.execute(
        "INSERT INTO inbound_reactions (target_wamid, sender, sender_wa_id, sender_user_id, "
        "emoji, wamid, at, phone_number_id, received_at, held) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(target_wamid, sender) DO UPDATE SET "
        "sender_wa_id = excluded.sender_wa_id, sender_user_id = excluded.sender_user_id, "
        "emoji = excluded.emoji, wamid = excluded.wamid, at = excluded.at, "
        "phone_number_id = excluded.phone_number_id, received_at = excluded.received_at, "
        "held = excluded.held",
        (
            target_wamid,
            sender,
            sender_wa_id,
            sender_user_id,
            emoji or None,
            wamid,
            at_iso,
            phone_number_id,
            tx.now_iso,
            int(target is None),
        ),
    )
    if target is None:
        conv.bump_counter(tx, COUNTER_REACTION_HELD)
        return ReactionApplied(None, None, held=True)
    conv.set_reaction(
        tx,
        message_id=message_id,
        by=schemas.Direction.inbound,
        agent_id=None,
        emoji=emoji or None,
        wamid=wamid,
    )
    conv.emit_message_snapshot(tx, message_id, created=False)
    return ReactionApplied(message_id, thread_id)


def attach_held_reactions(tx: Tx, wamid: str, message_id: int) -> None:
    """Apply the reactions held for a message that has just been stored (before its
    snapshot is emitted, so ``message.created`` carries them)."""
    held = tx.all(
        "SELECT emoji, wamid FROM inbound_reactions WHERE target_wamid = ? AND held = 1",
        (wamid,),
    )
    if not held:
        return
    for row in held:
        conv.set_reaction(
            tx,
            message_id=message_id,
            by=schemas.Direction.inbound,
            agent_id=None,
            emoji=row["emoji"],
            wamid=row["wamid"],
        )
    tx.execute(
        "UPDATE inbound_reactions SET held = 0 WHERE target_wamid = ? AND held = 1", (wamid,)
    )


def _latest_thread(
    tx: Tx, wa_id: str | None, user_id: str | None, phone_number_id: str | None
) -> int | None:
    for column, value in (("c.wa_user_id", user_id), ("c.wa_id", wa_id)):
        if not value:
            continue
        row = tx.one(
            "SELECT th.id FROM threads th JOIN contacts c ON c.id = th.contact_id "
            f"WHERE {column} = ? AND th.phone_number_id IS ? ORDER BY th.id DESC LIMIT 1",
            (value, phone_number_id),
        )
        if row is not None:
            return row["id"]
    return None


def expire_held_reactions(tx: Tx, now: datetime) -> int:
    """End the reactions held longer than ``HELD_REACTION_KEEP``: an add becomes a quiet
    event line in the sender's latest thread on the number (no counters, no preview, no
    ticket move), or is dropped and counted when there is none; a removal of a reaction
    we never saw is simply forgotten. Returns how many ended."""
    rows = tx.all(
        "SELECT * FROM inbound_reactions WHERE held = 1 AND received_at < ?",
        (iso(now - HELD_REACTION_KEEP),),
    )
    for row in rows:
        tx.execute(
            "DELETE FROM inbound_reactions WHERE target_wamid = ? AND sender = ?",
            (row["target_wamid"], row["sender"]),
        )
        if row["emoji"] is None:
            continue
        thread_id = _latest_thread(
            tx, row["sender_wa_id"], row["sender_user_id"], row["phone_number_id"]
        )
        if thread_id is None:
            conv.bump_counter(tx, COUNTER_REACTION_EXPIRED)
            continue
        message_id = conv.insert_message(
            tx,
            thread_id=thread_id,
            direction=schemas.Direction.inbound,
            kind=schemas.MessageKind.event,
            text=row["emoji"],
            content={
                "event": TARGET_MISSING_EVENT,
                "reaction": {"message_id": row["target_wamid"], "emoji": row["emoji"]},
            },
            from_number=row["sender_wa_id"] or row["sender_user_id"],
            at=parse_dt(row["at"]),
        )
        conv.emit_message_snapshot(tx, message_id, created=True)
    return len(rows)
