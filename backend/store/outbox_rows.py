"""An outbound message's ``outbox`` row as the send and status transactions touch it.

Below both ``outbox.py`` (the queue the worker claims from) and ``statuses.py`` (which
settles a row when a status names our message), so neither imports the other's back.

The row keeps what was asked (``request``: an ``OutboundRequest`` as JSON) and what
happened (``state``, ``attempts``, ``last_error``); the channel builds its own request
from it at send time. A row queued before migration 0024 has no ``request`` and holds
the request body built then (``payload``), which is sent as it is.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from backend.store.engine import Tx, dumps
from backend.store.types import (
    FilledTemplate,
    OutboundMedia,
    OutboundRequest,
    Recipient,
    TemplateValue,
)

REFERENCE_PREFIX = "ttydesk:"
DUE_NOW = ""

TERMINAL_STATUSES = ("sent", "delivered", "read", "failed")


def send_reference(message_id: int) -> str:
    """What every send carries to name our message: ``ttydesk:<our message id>``."""
    return f"{REFERENCE_PREFIX}{message_id}"


def message_id_from_reference(data: str | None) -> int | None:
    """Our message id from the reference a status came back with, or None."""
    if not data or not data.startswith(REFERENCE_PREFIX):
        return None
    tail = data[len(REFERENCE_PREFIX) :]
    return int(tail) if tail.isdigit() else None


def _compact(value: Any) -> dict[str, Any]:
    """A record as a dict without the fields left at their default (a shorter row)."""
    return {
        item.name: getattr(value, item.name)
        for item in dataclasses.fields(value)
        if getattr(value, item.name) != item.default
    }


def encode_request(request: OutboundRequest) -> str:
    data = _compact(request)
    data["recipient"] = _compact(request.recipient)
    if request.media is not None:
        data["media"] = _compact(request.media)
    if request.template is not None:
        template = _compact(request.template)
        for part in ("header", "body", "url_buttons"):
            if part in template:
                template[part] = [[v.name, v.value] for v in getattr(request.template, part)]
        data["template"] = template
    return dumps(data)


def decode_request(text: str) -> OutboundRequest:
    data = json.loads(text)
    data["recipient"] = Recipient(**data["recipient"])
    if "media" in data:
        data["media"] = OutboundMedia(**data["media"])
    if "template" in data:
        template = data["template"]
        for part in ("header", "body", "url_buttons"):
            if part in template:
                template[part] = tuple(TemplateValue(name, value) for name, value in template[part])
        data["template"] = FilledTemplate(**template)
    for many in ("references", "cc"):
        if many in data:
            data[many] = tuple(data[many])
    return OutboundRequest(**data)


def enqueue(
    tx: Tx,
    message_id: int,
    phone_number_id: str,
    request: OutboundRequest | None,
    legacy_body: str = "",
) -> None:
    """Queue a send: its request, or (a row from before 0024 queued again) its old body."""
    tx.execute(
        "INSERT INTO outbox (message_id, state, attempts, next_attempt, request, payload, "
        "phone_number_id, updated_at) VALUES (?, 'pending', 0, ?, ?, ?, ?, ?)",
        (
            message_id,
            DUE_NOW,
            None if request is None else encode_request(request),
            legacy_body,
            phone_number_id,
            tx.now_iso,
        ),
    )


def settle_outbox_row(tx: Tx, message_id: int) -> None:
    """Mark a message's outbox row done: for the status webhook once it knows the wamid."""
    tx.execute(
        "UPDATE outbox SET state = 'done', updated_at = ? WHERE message_id = ? AND state != 'done'",
        (tx.now_iso, message_id),
    )
