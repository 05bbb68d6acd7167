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
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.store.engine import Tx, dumps, iso
from backend.store.types import (
    FilledTemplate,
    Lease,
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
    if request.attachments:
        data["attachments"] = [_compact(media) for media in request.attachments]
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
    if "attachments" in data:
        data["attachments"] = tuple(OutboundMedia(**media) for media in data["attachments"])
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


# ------------------------------------------------------------------ leases (both outboxes)
#
# A claimed (``in_flight``) row names its worker (``claimed_by``) and holds until
# ``lease_until`` unless the worker renews it; a worker that stops hands its leases back
# (``lease_until`` NULL). A row is taken for cut off — its worker gone, the request maybe
# sent — only once its lease has lapsed, so several processes never take a live
# neighbour's send for ambiguous.
OUTBOX_TABLES = frozenset({"outbox", "email_outbox"})


def _table(table: str) -> str:
    if table not in OUTBOX_TABLES:
        raise ValueError(f"not an outbox table: {table}")
    return table


def hold(tx: Tx, table: str, message_id: int, lease: Lease | None) -> None:
    """Mark a row ``in_flight``, claimed under ``lease`` (None: a claim without one,
    which any sweep takes for lapsed)."""
    tx.execute(
        f"UPDATE {_table(table)} SET state = 'in_flight', attempts = attempts + 1, "
        "claimed_by = ?, lease_until = ?, updated_at = ? WHERE message_id = ?",
        (
            None if lease is None else lease.holder,
            None if lease is None else iso(lease.until),
            tx.now_iso,
            message_id,
        ),
    )


def renew_leases(tx: Tx, table: str, lease: Lease) -> int:
    """The holder's ``in_flight`` rows hold until ``lease.until``; how many it holds.
    A row a neighbour already took for cut off is no longer ``in_flight``: not revived."""
    return tx.execute(
        f"UPDATE {_table(table)} SET lease_until = ? WHERE claimed_by = ? AND state = 'in_flight'",
        (iso(lease.until), lease.holder),
    ).rowcount


def release_leases(tx: Tx, table: str, holder: str) -> int:
    """A stopping worker hands its leases back: its rows still ``in_flight`` (cut off on
    the wire) are then lapsed, for the next start-up or a neighbour's sweep."""
    return tx.execute(
        f"UPDATE {_table(table)} SET lease_until = NULL "
        "WHERE claimed_by = ? AND state = 'in_flight'",
        (holder,),
    ).rowcount


def give_back(tx: Tx, table: str, message_ids: Sequence[int]) -> int:
    """Claimed rows no send was started for (the worker stopped first): they never went
    on the wire, so they are ``pending`` again as they were, the claim's attempt uncounted."""
    if not message_ids:
        return 0
    marks = ", ".join("?" for _ in message_ids)
    return tx.execute(
        f"UPDATE {_table(table)} SET state = 'pending', attempts = attempts - 1, "
        "claimed_by = NULL, lease_until = NULL, updated_at = ? "
        f"WHERE state = 'in_flight' AND message_id IN ({marks})",
        (tx.now_iso, *message_ids),
    ).rowcount


def cut_off(tx: Tx, table: str, lapsed_before: datetime | None) -> list[int]:
    """The ``in_flight`` rows whose worker is gone: those whose lease lapsed before
    ``lapsed_before`` (or was handed back), or with None every one (the only process,
    starting). Locked against other sweeps (PostgreSQL), oldest first."""
    if lapsed_before is None:
        rows = tx.all(
            f"SELECT message_id FROM {_table(table)} o WHERE state = 'in_flight' "
            "ORDER BY message_id" + tx.claim_clause("o")
        )
    else:
        rows = tx.all(
            f"SELECT message_id FROM {_table(table)} o WHERE state = 'in_flight' "
            "AND (lease_until IS NULL OR lease_until < ?) ORDER BY message_id"
            + tx.claim_clause("o"),
            (iso(lapsed_before),),
        )
    return [row[0] for row in rows]
