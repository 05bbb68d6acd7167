"""Drafts: the caller's unsent reply or note in a thread (only its agent sees it)."""

from __future__ import annotations

from aiohttp import web

from backend import schemas
from backend.api.auth import current_agent
from backend.api.wire import operation, parse_body, path_int, respond
from backend.keys import STORE

routes = web.RouteTableDef()


@operation(
    routes,
    "GET",
    "/api/v1/threads/{id}/draft",
    summary="Your draft in this thread (404 draft_not_found when you have none)",
    response=schemas.Draft,
)
async def get_draft(request: web.Request) -> web.Response:
    draft = await request.app[STORE].get_draft(current_agent(request).id, path_int(request, "id"))
    return respond(draft)


@operation(
    routes,
    "PUT",
    "/api/v1/threads/{id}/draft",
    summary=(
        "Keep your draft in this thread (replaces the one kept; 409 draft_outdated: a send "
        "or save of a newer revision came first, nothing changed)"
    ),
    body=schemas.DraftUpdate,
    response=schemas.Draft,
)
async def put_draft(request: web.Request) -> web.Response:
    update = await parse_body(request, schemas.DraftUpdate)
    draft = await request.app[STORE].save_draft(
        current_agent(request).id, path_int(request, "id"), update
    )
    return respond(draft)


@operation(
    routes,
    "DELETE",
    "/api/v1/threads/{id}/draft",
    summary="Forget your draft in this thread (sending from the composer does it too)",
    status=204,
)
async def delete_draft(request: web.Request) -> web.Response:
    await request.app[STORE].discard_draft(current_agent(request).id, path_int(request, "id"))
    return web.Response(status=204)
