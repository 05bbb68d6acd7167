"""Meta's webhook, the channel's side: the verification handshake and signed notifications.

The HTTP handlers are in ``backend/api/webhook.py``; what they answer is decided here.
``POST /webhooks/whatsapp`` reads at most ``webhook_max_body_bytes`` (413 as soon as a
body passes it), checks ``X-Hub-Signature-256`` on the raw body bytes in constant time
before anything is parsed (401 and nothing stored otherwise, counted), answers 400 to a
body that is not a notification, and 200 only once every message and status of the
notification has committed. Anything else that goes wrong is a 500, so Meta retries;
processing is idempotent, so a retry never duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from backend.domain import json_input
from backend.store import Store
from backend.whatsapp.ingest import Ingestor
from backend.whatsapp.parse import MalformedNotification, parse_notification, plain_text

log = logging.getLogger(__name__)

PATH = "/webhooks/whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
INGESTOR = "whatsapp.ingestor"

COUNTER_BAD_SIGNATURE = "webhook.bad_signature"
COUNTER_MALFORMED = "webhook.malformed"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A notification not taken: the HTTP status and the error body's code and message."""

    status: int
    code: str
    message: str


def signature_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is ``sha256=<hex HMAC-SHA256 of body keyed with secret>``."""
    if not secret or not header:
        return False
    scheme, _, digest = header.strip().partition("=")
    if scheme.lower() != "sha256" or not digest:
        return False
    # Not hmac.digest: its one-shot C path releases the GIL for every body, however small,
    # and the writer thread then takes it; hmac.new keeps it below 2 KiB.
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, digest.strip().lower().encode("utf-8", "replace"))


def sign(secret: bytes | str, body: bytes) -> str:
    """The header value Meta sends for ``body`` (for tests and tools)."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def handshake_answer(verify_token: bytes, query: Mapping[str, str]) -> str | None:
    """The ``hub.challenge`` to echo when the handshake names our verify token, else None."""
    given = query.get("hub.verify_token", "").encode("utf-8", "replace")
    if (
        query.get("hub.mode") == "subscribe"
        and verify_token
        and hmac.compare_digest(verify_token, given)
        and "hub.challenge" in query
    ):
        return query["hub.challenge"]
    return None


async def _count(store: Store, name: str) -> None:
    try:
        await store.count(name)
    except Exception:
        log.exception("counting %s failed", name)


async def receive(
    store: Store, ingestor: Ingestor, secret: bytes, body: bytes, signature: str | None
) -> Refusal | None:
    """Check, parse and store one notification's body; None once all of it has committed."""
    if not signature_valid(secret, body, signature):
        await _count(store, COUNTER_BAD_SIGNATURE)
        return Refusal(
            401, "bad_signature", f"The {SIGNATURE_HEADER} header is missing or does not match."
        )
    try:
        # a number out of range reads as a missing field, so the message is still stored
        data = json_input.decode(body, invalid_numbers_as_null=True)
        notification = plain_text(data) or parse_notification(data)
    except ValueError as exc:
        # json_input.InvalidJson and MalformedNotification are ValueErrors
        await _count(store, COUNTER_MALFORMED)
        reason = str(exc) if isinstance(exc, MalformedNotification) else "not valid JSON"
        return Refusal(400, "malformed_json", f"The body is not a notification ({reason}).")
    report = await ingestor.process(notification)
    if report.failures:
        for failure in report.failures:
            log.error("webhook processing failed", exc_info=failure)
        return Refusal(
            500, "processing_failed", "Part of the notification could not be stored; retry."
        )
    return None
