"""Delivery statuses of our sends and template status changes, one transaction each.

Statuses arrive out of order and more than once. ``apply_status`` is idempotent by
wamid + status (``status_receipts``) and keeps the furthest state:
queued < sending < sent < delivered < read (``played`` counts as read); ``failed``
applies unless the message was already delivered or read, and a delivered or read
after a failure is accepted (multi-device).

A status whose wamid we do not know yet is matched by ``biz_opaque_callback_data``
(``ttydesk:<message id>``): that is how a send whose HTTP answer was lost learns its
wamid (the outbox row is settled as ``done``). A status that matches nothing is kept
aside; ``apply_early_statuses`` replays it once the send's answer brings the wamid. A
status naming an inbound message's wamid is not about a send: it changes nothing.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from backend import schemas
from backend.domain.pricing import read_pricing
from backend.store import conversations as conv
from backend.store.base import loads
from backend.store.engine import Tx, dumps, iso, parse_dt
from backend.store.inbound import COUNTER_DUPLICATE, INGESTING_STATES
from backend.store.outbox_rows import message_id_from_reference, settle_outbox_row
from backend.store.templates import template_from_row
from backend.store.types import StatusOutcome, StatusRecord, StatusResult

EARLY_PREFIX = "status.early:"
EARLY_KEEP = timedelta(days=2)

RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4}
# a message's own states, which WhatsApp never sends: "checking" (an ambiguous send) ranks
# below sending, so any status WhatsApp sends afterwards settles it
HELD_RANK = {**RANK, "checking": RANK["queued"]}
TIME_COLUMN = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at"}

COUNTER_UNMATCHED = "webhook.status_unmatched"
COUNTER_STATUS_DROPPED = "webhook.dropped_unknown_number"
COUNTER_TEMPLATE_UNKNOWN = "webhook.template_unknown"


def normalised(status: str) -> str:
    return "read" if status == "played" else status


def _number_known(tx: Tx, phone_number_id: str | None) -> bool:
    if phone_number_id is None:
        return True  # a replayed early status: checked when it first came
    row = tx.one("SELECT status FROM phone_numbers WHERE phone_number_id = ?", (phone_number_id,))
    return row is not None and row["status"] in INGESTING_STATES


def apply_status(tx: Tx, record: StatusRecord) -> StatusResult:
    """The transaction function for one status webhook (see the module docstring)."""
    if not _number_known(tx, record.phone_number_id):
        conv.bump_counter(tx, COUNTER_STATUS_DROPPED)
        return StatusResult(StatusOutcome.dropped_unknown_number)
    status = normalised(record.status)
    if (
        tx.one(
            "SELECT 1 FROM status_receipts WHERE wamid = ? AND status = ?", (record.wamid, status)
        )
        is not None
    ):
        conv.bump_counter(tx, COUNTER_DUPLICATE)
        return StatusResult(StatusOutcome.duplicate)
    row = tx.one(
        "SELECT id, thread_id, wamid, status, direction FROM messages WHERE wamid = ?",
        (record.wamid,),
    )
    if row is not None and row["direction"] != schemas.Direction.outbound:
        # a status is about one of our sends: never a customer's message with that id
        conv.bump_counter(tx, COUNTER_UNMATCHED)
        return StatusResult(StatusOutcome.not_ours, message_id=row["id"])
    attached = False
    if row is None:
        by_opaque = message_id_from_reference(record.opaque)
        if by_opaque is not None:
            row = tx.one(
                "SELECT id, thread_id, wamid, status, content FROM messages "
                "WHERE id = ? AND direction = ?",
                (by_opaque, schemas.Direction.outbound),
            )
        if row is None:
            _keep_early(tx, record)
            return StatusResult(StatusOutcome.early)
        if (row["wamid"] is not None and row["wamid"] != record.wamid) or _earlier_attempt(
            row["content"], record.wamid
        ):
            # a status of an earlier attempt of a message that was resent since
            tx.execute(
                "INSERT OR IGNORE INTO status_receipts (wamid, status, at) VALUES (?, ?, ?)",
                (record.wamid, status, tx.now_iso),
            )
            return StatusResult(StatusOutcome.stale_send, message_id=row["id"])
        tx.execute("UPDATE messages SET wamid = ? WHERE id = ?", (record.wamid, row["id"]))
        attached = True
    tx.execute(
        "INSERT INTO status_receipts (wamid, status, at) VALUES (?, ?, ?)",
        (record.wamid, status, tx.now_iso),
    )
    changed = _apply_to_message(tx, row["id"], row["status"], status, record) or attached
    changed = _apply_pricing(tx, row["id"], status, record.pricing) or changed
    settle_outbox_row(tx, row["id"])
    if attached:
        _replay_early(tx, record.wamid)
    if not changed:
        return StatusResult(StatusOutcome.unchanged, message_id=row["id"])
    settle_ticket_delivery(tx, row["id"], row["thread_id"])
    conv.emit_message_snapshot(tx, row["id"], created=False)
    return StatusResult(StatusOutcome.applied, message_id=row["id"])


def _earlier_attempt(content: str | None, wamid: str) -> bool:
    """Whether ``wamid`` is one a retried message was sent under before (``retry_in_tx``
    keeps them): its status is not the retry's, which may have no wamid yet."""
    if not content or "previous_wamids" not in content:
        return False
    try:
        earlier = json.loads(content).get("previous_wamids")
    except (ValueError, AttributeError):
        return False
    return isinstance(earlier, list) and wamid in earlier


def _apply_to_message(
    tx: Tx, message_id: int, current: str | None, status: str, record: StatusRecord
) -> bool:
    at = iso(record.at or tx.now)
    if current == "checking" and status != "failed" and RANK.get(status, -1) < RANK["sending"]:
        # the status named an ambiguous send and settles its outbox row: WhatsApp has it
        status = "sending"
    sets: list[str] = []
    params: list[Any] = []
    if status == "failed":
        if current not in ("delivered", "read"):
            sets += ["status = ?", "error_code = ?", "error_message = ?"]
            params += ["failed", record.error_code, record.error_message]
        sets.append("failed_at = COALESCE(failed_at, ?)")
        params.append(at)
    elif status in RANK:
        after_failure = current == "failed" and status in ("delivered", "read")
        if after_failure or (
            current != "failed" and RANK[status] > HELD_RANK.get(current or "", -1)
        ):
            sets.append("status = ?")
            params.append(status)
            if after_failure:
                sets += ["error_code = NULL", "error_message = NULL"]
        # read implies delivered, delivered implies sent: fill what Meta skipped
        for name in ("sent", "delivered", "read"):
            if RANK[name] <= RANK[status] and name in TIME_COLUMN:
                sets.append(f"{TIME_COLUMN[name]} = COALESCE({TIME_COLUMN[name]}, ?)")
                params.append(at)
    else:
        return False  # a status this code does not know: receipt kept, nothing changed
    if not sets:
        return False  # a status below the message's, with no time to fill (queued, sending)
    before = tx.one(
        "SELECT status, error_code, sent_at, delivered_at, read_at, failed_at "
        "FROM messages WHERE id = ?",
        (message_id,),
    )
    tx.execute(f"UPDATE messages SET {', '.join(sets)} WHERE id = ?", (*params, message_id))
    after = tx.one(
        "SELECT status, error_code, sent_at, delivered_at, read_at, failed_at "
        "FROM messages WHERE id = ?",
        (message_id,),
    )
    return before is None or after is None or tuple(before) != tuple(after)


def _apply_pricing(tx: Tx, message_id: int, status: str, block: dict[str, Any] | None) -> bool:
    """Keep what the status says our message is billed as, and count it in
    ``pricing_daily`` (migration 0017) for the month view. A status without a pricing
    block marks a message with none yet ``unknown`` and never overwrites one that came;
    a failure says nothing about billing."""
    if status == "failed" and block is None:
        return False
    row = tx.one(
        "SELECT m.direction, m.created_at, m.pricing_category, m.pricing_billable, "
        "m.pricing_model, m.pricing_type, m.pricing_market, c.country, "
        "COALESCE(th.business_number, th.phone_number_id, '') AS number, th.ticket_id "
        "FROM messages m JOIN threads th ON th.id = m.thread_id "
        "LEFT JOIN contacts c ON c.id = th.contact_id WHERE m.id = ?",
        (message_id,),
    )
    if row is None or row["direction"] != schemas.Direction.outbound:
        return False
    old_category = row["pricing_category"]
    if block is None and old_category is not None:
        return False
    pricing = read_pricing(block)
    billable = None if pricing.billable is None else int(pricing.billable)
    new = (pricing.category, billable, pricing.model, pricing.type)
    old = (old_category, row["pricing_billable"], row["pricing_model"], row["pricing_type"])
    if new == old:
        return False
    market = row["pricing_market"] if old_category is not None else row["country"]
    tx.execute(
        "UPDATE messages SET pricing_category = ?, pricing_billable = ?, pricing_model = ?, "
        "pricing_type = ?, pricing_market = ? WHERE id = ?",
        (*new, market, message_id),
    )
    if new[:2] != old[:2]:
        bucket = (row["created_at"][:10], row["number"], market or "")
        if old_category is not None:
            _count_priced(tx, bucket, old_category, row["pricing_billable"], -1)
        _count_priced(tx, bucket, pricing.category, billable, 1)
        billed = (billable == 1) - (row["pricing_billable"] == 1)
        if billed:
            tx.execute(
                "UPDATE tickets SET billable_messages = billable_messages + ? WHERE id = ?",
                (billed, row["ticket_id"]),
            )
    return True


def _count_priced(
    tx: Tx, bucket: tuple[str, str, str], category: str, billable: int | None, by: int
) -> None:
    tx.execute(
        "INSERT INTO pricing_daily (day, business_number, market, category, billable, messages) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (day, business_number, market, category, "
        "billable) DO UPDATE SET messages = messages + excluded.messages",
        (*bucket, category, -1 if billable is None else billable, by),
    )


def settle_ticket_delivery(tx: Tx, message_id: int, thread_id: int) -> None:
    """The ticket's last delivery status follows its latest outbound message."""
    latest = tx.one(
        "SELECT id, status FROM messages WHERE thread_id = ? AND direction = ? "
        "AND kind NOT IN ('note', 'event') ORDER BY created_at DESC, id DESC LIMIT 1",
        (thread_id, schemas.Direction.outbound),
    )
    if latest is None or latest["id"] != message_id:
        return
    ticket = tx.one(
        "SELECT t.id, t.last_delivery_status FROM tickets t "
        "JOIN threads th ON th.ticket_id = t.id WHERE th.id = ?",
        (thread_id,),
    )
    if ticket is None or ticket["last_delivery_status"] == latest["status"]:
        return
    tx.execute(
        "UPDATE tickets SET last_delivery_status = ?, updated_at = ? WHERE id = ?",
        (latest["status"], tx.now_iso, ticket["id"]),
    )
    conv.emit_ticket_snapshot(tx, ticket["id"])
    conv.emit_thread_snapshot(tx, thread_id)


# ------------------------------------------------------------------ statuses ahead of their message


def _early_json(record: StatusRecord) -> dict[str, Any]:
    return {
        "status": record.status,
        "at": iso(record.at),
        "opaque": record.opaque,
        "error_code": record.error_code,
        "error_message": record.error_message,
        "pricing": record.pricing,
    }


def _early_record(wamid: str, data: dict[str, Any]) -> StatusRecord:
    return StatusRecord(
        wamid=wamid,
        status=data["status"],
        at=parse_dt(data.get("at")),
        opaque=data.get("opaque"),
        error_code=data.get("error_code"),
        error_message=data.get("error_message"),
        pricing=data.get("pricing"),
    )


def _keep_early(tx: Tx, record: StatusRecord) -> None:
    key = EARLY_PREFIX + record.wamid
    row = tx.one("SELECT value FROM settings_kv WHERE key = ?", (key,))
    kept = loads(row["value"], {}) if row is not None else {}
    statuses = kept.setdefault("statuses", {})
    if record.status in statuses:
        conv.bump_counter(tx, COUNTER_DUPLICATE)
        return
    kept.setdefault("received_at", tx.now_iso)
    statuses[record.status] = _early_json(record)
    tx.execute(
        "INSERT INTO settings_kv (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, dumps(kept)),
    )
    conv.bump_counter(tx, COUNTER_UNMATCHED)


def _replay_early(tx: Tx, wamid: str) -> list[StatusResult]:
    key = EARLY_PREFIX + wamid
    row = tx.one("SELECT value FROM settings_kv WHERE key = ?", (key,))
    if row is None:
        return []
    tx.execute("DELETE FROM settings_kv WHERE key = ?", (key,))
    kept = loads(row["value"], {})
    results = []
    for data in kept.get("statuses", {}).values():
        results.append(apply_status(tx, _early_record(wamid, data)))
    return results


def apply_early_statuses(tx: Tx, message_id: int, wamid: str) -> list[StatusResult]:
    """Apply statuses that came before the send's answer. Call it in the transaction that
    stores a wamid from a send response (the message row must carry ``wamid`` already)."""
    row = tx.one("SELECT wamid FROM messages WHERE id = ?", (message_id,))
    if row is None or row["wamid"] != wamid:
        return []
    return _replay_early(tx, wamid)


def prune_early_statuses(tx: Tx, now: datetime) -> int:
    """Forget statuses of messages we never learnt of (sent by another app on the number)."""
    cutoff = iso(now - EARLY_KEEP)
    rows = tx.all(
        "SELECT key, value FROM settings_kv WHERE key >= ? AND key < ?",
        (EARLY_PREFIX, EARLY_PREFIX[:-1] + chr(ord(EARLY_PREFIX[-1]) + 1)),
    )
    gone = 0
    for row in rows:
        try:
            received = loads(row["value"], {}).get("received_at")
        except json.JSONDecodeError:
            received = None
        if received is None or received < cutoff:
            tx.execute("DELETE FROM settings_kv WHERE key = ?", (row["key"],))
            gone += 1
    return gone


# ------------------------------------------------------------------ template status webhooks


def apply_template_status(
    tx: Tx,
    *,
    template_id: str | None,
    name: str | None,
    language: str | None,
    status: str,
    reason: str | None = None,
) -> bool:
    """Set the local template's status from a ``message_template_status_update``."""
    row = None
    if template_id:
        row = tx.one("SELECT * FROM templates WHERE external_id = ?", (template_id,))
    if row is None and name and language:
        row = tx.one("SELECT * FROM templates WHERE name = ? AND language = ?", (name, language))
    if row is None:
        conv.bump_counter(tx, COUNTER_TEMPLATE_UNKNOWN)
        return False
    if row["status"] == status:
        return False
    tx.execute(
        "UPDATE templates SET status = ?, updated_at = ? WHERE id = ?",
        (status, tx.now_iso, row["id"]),
    )
    updated = tx.one("SELECT * FROM templates WHERE id = ?", (row["id"],))
    data = template_from_row(updated).model_dump(mode="json")
    if reason:
        data["reason"] = reason
    tx.emit(schemas.EventType.template_updated, data)
    return True
