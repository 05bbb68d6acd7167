"""Drafts: the caller's unsent reply or note in a thread (only its agent sees it)."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from backend import schemas
from backend.api.auth import current_agent
from backend.api.wire import operation, parse_body, parse_query, path_int, respond
from backend.keys import STORE

routes = web.RouteTableDef()


class DraftDeleteQuery(schemas.WireModel):
    # the emptied composer state's revision (as DraftUpdate.revision): a save not newer
    # than it, on its way when the agent emptied the composer, is refused afterwards
    revision: int | None = Field(default=None, ge=0)


@operation(
    routes,
    "GET",
    "/api/v1/drafts",
    summary="Your drafts, newest first (the threads you left something unsent in)",
    response=schemas.Page[schemas.Draft],
)
async def list_drafts(request: web.Request) -> web.Response:
    drafts = await request.app[STORE].list_drafts(current_agent(request).id)
    return respond(schemas.Page[schemas.Draft](items=drafts, total=len(drafts)))


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
    summary=(
        "Forget your draft in this thread (sending from the composer does it too); with "
        "the emptied composer's revision, a draft saved since from a newer one is kept "
        "(409 draft_outdated)"
    ),
    query=DraftDeleteQuery,
    status=204,
)
async def delete_draft(request: web.Request) -> web.Response:
    query = parse_query(request, DraftDeleteQuery)
    await request.app[STORE].discard_draft(
        current_agent(request).id, path_int(request, "id"), query.revision
    )
    return web.Response(status=204)
