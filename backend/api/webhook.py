"""Meta's webhook over HTTP: ``GET`` (the verification handshake) and ``POST`` (signed
notifications) on ``/webhooks/whatsapp``; ``backend/whatsapp/webhook.py`` decides."""

from __future__ import annotations

from aiohttp import web

from backend.api.errors import error_response
from backend.api.wire import TooLarge, operation, read_body
from backend.keys import SERVICES, SETTINGS, STORE
from backend.whatsapp import webhook

routes = web.RouteTableDef()


@operation(
    routes,
    "GET",
    webhook.PATH,
    summary="Meta's webhook verification handshake (answers hub.challenge)",
    auth=False,
)
async def verify(request: web.Request) -> web.StreamResponse:
    token = request.app[SETTINGS].whatsapp_verify_token.get_secret_value().encode()
    challenge = webhook.handshake_answer(token, request.query)
    if challenge is None:
        return error_response(403, "verification_failed", "The verify token does not match.")
    return web.Response(text=challenge, content_type="text/plain")


@operation(
    routes,
    "POST",
    webhook.PATH,
    summary="Signed WhatsApp notifications: messages, statuses, template updates",
    auth=False,
)
async def receive(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    try:
        body = await read_body(request, settings.webhook_max_body_bytes)
    except TooLarge as exc:
        return error_response(exc.status, exc.code, exc.message)
    refusal = await webhook.receive(
        request.app[STORE],
        request.app[SERVICES][webhook.INGESTOR],
        settings.whatsapp_app_secret.get_secret_value().encode(),
        body,
        request.headers.get(webhook.SIGNATURE_HEADER),
    )
    if refusal is not None:
        return error_response(refusal.status, refusal.code, refusal.message)
    return web.Response(text="ok")
