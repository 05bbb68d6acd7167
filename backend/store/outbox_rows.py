"""An outbound message's ``outbox`` row as the send and status transactions touch it.

Below both ``outbox.py`` (the queue the worker claims from) and ``statuses.py`` (which
settles a row when a status names our message), so neither imports the other's back.
"""

from __future__ import annotations

from typing import Any

from backend.store.engine import Tx, dumps

CALLBACK_PREFIX = "ttydesk:"
DUE_NOW = ""

TERMINAL_STATUSES = ("sent", "delivered", "read", "failed")


def callback_data(message_id: int) -> str:
    """The ``biz_opaque_callback_data`` of every send: ``ttydesk:<our message id>``."""
    return f"{CALLBACK_PREFIX}{message_id}"


def message_id_from_callback(data: str | None) -> int | None:
    """Our message id from a status's ``biz_opaque_callback_data``, or None."""
    if not data or not data.startswith(CALLBACK_PREFIX):
        return None
    tail = data[len(CALLBACK_PREFIX) :]
    return int(tail) if tail.isdigit() else None


def enqueue(tx: Tx, message_id: int, phone_number_id: str, payload: dict[str, Any]) -> None:
    tx.execute(
        "INSERT INTO outbox (message_id, state, attempts, next_attempt, payload, "
        "phone_number_id, updated_at) VALUES (?, 'pending', 0, ?, ?, ?, ?)",
        (message_id, DUE_NOW, dumps(payload), phone_number_id, tx.now_iso),
    )


def settle_outbox_row(tx: Tx, message_id: int) -> None:
    """Mark a message's outbox row done: for the status webhook once it knows the wamid."""
    tx.execute(
        "UPDATE outbox SET state = 'done', updated_at = ? WHERE message_id = ? AND state != 'done'",
        (tx.now_iso, message_id),
    )
