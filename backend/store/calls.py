"""A customer's WhatsApp call (the Calling API's ``calls`` webhook), one transaction each.

A call re-opens the 24-hour window like a message does (WHATSAPP.md), so it renews the
thread's session from the call's time and moves the ticket as a message would; it shows
as an event line ("Customer called — 2 min"), not as a message (no counters, no unread).
A call from a customer with no open conversation starts one (a new thread and routed
ticket, subject "Phone call"): the desk should call back or write while the window is
open. The ``connect`` and ``terminate`` of one call share one line, keyed by the call id
as its wamid, whatever their order: the terminate says how long it lasted or that it was
missed.
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.domain import routing, session
from backend.domain.previews import CALL_PREVIEW
from backend.store import conversations as conv
from backend.store.base import loads
from backend.store.engine import Tx, dumps, iso, parse_dt
from backend.store.inbound import (
    COUNTER_DUPLICATE,
    InboundRecord,
    IngestResult,
    Outcome,
    ingest_inbound,
)


def ingest_call(
    tx: Tx, record: InboundRecord, *, rules: Sequence[routing.RoutingRule] = ()
) -> IngestResult:
    """The transaction function for one call event (see the module docstring).
    ``record.content["call"]`` holds the event; ``record.wamid`` is the call id."""
    row = tx.one("SELECT id, thread_id, content FROM messages WHERE wamid = ?", (record.wamid,))
    if row is None:
        result = ingest_inbound(tx, record, rules=rules)
        if result.outcome == Outcome.stored and result.thread_id is not None:
            # a conversation a call started has a place in the list
            tx.execute(
                "UPDATE threads SET last_message_at = COALESCE(last_message_at, ?), "
                "last_message_preview = COALESCE(last_message_preview, ?) WHERE id = ?",
                (iso(record.at or tx.now), CALL_PREVIEW, result.thread_id),
            )
        return result
    changed = False
    content = loads(row["content"], {})
    shown, given = content.get("call") or {}, record.content.get("call") or {}
    if given.get("event") == "terminate" and shown.get("event") != "terminate":
        content["call"] = given
        tx.execute(
            "UPDATE messages SET text = ?, content = ? WHERE id = ?",
            (record.text, dumps(content), row["id"]),
        )
        conv.emit_message_snapshot(tx, row["id"], created=False)
        changed = True
    if record.at is not None:
        current = tx.one("SELECT session_expires_at FROM threads WHERE id = ?", (row["thread_id"],))
        expires = session.session_expires_at(record.at)
        stored = parse_dt(current["session_expires_at"]) if current is not None else None
        if current is not None and (stored is None or expires > stored):
            conv.open_session(tx, row["thread_id"], expires)
            changed = True
    if not changed:
        conv.bump_counter(tx, COUNTER_DUPLICATE)
        return IngestResult(Outcome.duplicate)
    conv.emit_thread_snapshot(tx, row["thread_id"])
    return IngestResult(Outcome.stored, message_id=row["id"], thread_id=row["thread_id"])
