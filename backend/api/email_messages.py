"""An e-mail message's whole text: what the thread folds away (quoted history, signature)
is one request away."""

from __future__ import annotations

from aiohttp import web

from backend import schemas
from backend.api.wire import operation, path_int, respond
from backend.keys import STORE

routes = web.RouteTableDef()


@operation(
    routes,
    "GET",
    "/api/v1/messages/{id}/email",
    summary="An e-mail message's whole text and threading ids (a quarantined one once revealed)",
    response=schemas.EmailSource,
)
async def email_source(request: web.Request) -> web.Response:
    message_id = path_int(request, "id")
    return respond(await request.app[STORE].email_source(message_id))
