"""Meta's webhook: the verification handshake and signed notifications.

``POST /webhooks/whatsapp`` reads at most ``webhook_max_body_bytes`` (413 as soon as a body
passes it), checks ``X-Hub-Signature-256`` on the raw body bytes in constant time before
anything is parsed (401 and nothing stored otherwise, counted),
answers 400 to a body that is not a notification, and 200 only once every message
and status of the notification has committed. Anything else that goes wrong is a 500,
so Meta retries; processing is idempotent, so a retry never duplicates.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging

from aiohttp import web

from backend.api.errors import error_response
from backend.api.wire import TooLarge, operation, read_body
from backend.domain import json_input
from backend.keys import SERVICES, SETTINGS, STORE
from backend.store.conversations import bump_counter
from backend.whatsapp.ingest import Ingestor
from backend.whatsapp.parse import MalformedNotification, parse_notification

log = logging.getLogger(__name__)

PATH = "/webhooks/whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
INGESTOR = "whatsapp.ingestor"

COUNTER_BAD_SIGNATURE = "webhook.bad_signature"
COUNTER_MALFORMED = "webhook.malformed"

routes = web.RouteTableDef()


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


async def _count(request: web.Request, name: str) -> None:
    try:
        await request.app[STORE].write(functools.partial(bump_counter, name=name))
    except Exception:
        log.exception("counting %s failed", name)


@operation(
    routes,
    "GET",
    PATH,
    summary="Meta's webhook verification handshake (answers hub.challenge)",
    auth=False,
)
async def verify(request: web.Request) -> web.StreamResponse:
    query = request.query
    expected = request.app[SETTINGS].whatsapp_verify_token.get_secret_value().encode()
    given = query.get("hub.verify_token", "").encode("utf-8", "replace")
    if (
        query.get("hub.mode") == "subscribe"
        and expected
        and hmac.compare_digest(expected, given)
        and "hub.challenge" in query
    ):
        return web.Response(text=query["hub.challenge"], content_type="text/plain")
    return error_response(403, "verification_failed", "The verify token does not match.")


@operation(
    routes,
    "POST",
    PATH,
    summary="Signed WhatsApp notifications: messages, statuses, template updates",
    auth=False,
)
async def receive(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    try:
        body = await read_body(request, settings.webhook_max_body_bytes)
    except TooLarge as exc:
        return error_response(exc.status, exc.code, exc.message)
    secret = settings.whatsapp_app_secret.get_secret_value().encode()
    if not signature_valid(secret, body, request.headers.get(SIGNATURE_HEADER)):
        await _count(request, COUNTER_BAD_SIGNATURE)
        return error_response(
            401, "bad_signature", f"The {SIGNATURE_HEADER} header is missing or does not match."
        )
    try:
        # a number out of range reads as a missing field, so the message is still stored
        notification = parse_notification(json_input.decode(body, invalid_numbers_as_null=True))
    except ValueError as exc:
        # json_input.InvalidJson and MalformedNotification are ValueErrors
        await _count(request, COUNTER_MALFORMED)
        reason = str(exc) if isinstance(exc, MalformedNotification) else "not valid JSON"
        return error_response(400, "malformed_json", f"The body is not a notification ({reason}).")
    ingestor: Ingestor = request.app[SERVICES][INGESTOR]
    report = await ingestor.process(notification)
    if report.failures:
        for failure in report.failures:
            log.error("webhook processing failed", exc_info=failure)
        return error_response(
            500, "processing_failed", "Part of the notification could not be stored; retry."
        )
    return web.Response(text="ok")
