"""Revealing a quarantined message to an admin; every reveal goes to the audit log."""

from __future__ import annotations

from aiohttp import web

from backend import schemas
from backend.api.auth import require_admin
from backend.api.wire import operation, path_int, respond
from backend.keys import STORE

routes = web.RouteTableDef()


@operation(
    routes,
    "POST",
    "/api/v1/messages/{id}/reveal",
    summary="Show the hidden content of a quarantined message (admin; audited)",
    response=schemas.RevealedContent,
    admin=True,
)
async def reveal(request: web.Request) -> web.Response:
    admin = require_admin(request)
    message_id = path_int(request, "id")
    message, text = await request.app[STORE].reveal_quarantined(message_id, admin.id)
    return respond(schemas.RevealedContent(message=message, text=text))
