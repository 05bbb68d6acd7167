"""Tickets: owner, status and priority changes (one or many), the timeline, the list.

The actor of every change is the agent of the token: nobody acts in another's name.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from backend import schemas
from backend.api.auth import current_agent
from backend.api.wire import operation, parse_body, parse_query, path_int, respond
from backend.keys import STORE

routes = web.RouteTableDef()


class TicketListQuery(schemas.WireModel):
    q: str | None = Field(default=None, max_length=200)
    status: schemas.TicketStatus | None = None
    owner_id: int | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


class PageQuery(schemas.WireModel):
    limit: int = Field(default=100, ge=1, le=500)
    cursor: str | None = None


@operation(
    routes,
    "GET",
    "/api/v1/tickets",
    summary="Tickets newest first; q searches subjects",
    query=TicketListQuery,
    response=schemas.Page[schemas.TicketSummary],
)
async def list_tickets(request: web.Request) -> web.Response:
    query = parse_query(request, TicketListQuery)
    page = await request.app[STORE].list_tickets(
        q=query.q,
        status=query.status.value if query.status else None,
        owner_id=query.owner_id,
        limit=query.limit,
        cursor=query.cursor,
    )
    return respond(page)


@operation(
    routes,
    "POST",
    "/api/v1/tickets/bulk",
    summary="Change owner, status or priority of up to 500 tickets in one transaction",
    body=schemas.TicketBulkUpdate,
    response=schemas.TicketBulkResult,
)
async def bulk_update(request: web.Request) -> web.Response:
    body = await parse_body(request, schemas.TicketBulkUpdate)
    change = schemas.TicketUpdate.model_validate(body.model_dump(exclude={"ticket_ids"}))
    items = await request.app[STORE].update_tickets(
        body.ticket_ids, change, actor_id=current_agent(request).id
    )
    return respond(schemas.TicketBulkResult(items=items))


@operation(
    routes,
    "GET",
    "/api/v1/tickets/{id}",
    summary="One ticket",
    response=schemas.Ticket,
)
async def get_ticket(request: web.Request) -> web.Response:
    return respond(await request.app[STORE].get_ticket(path_int(request, "id")))


@operation(
    routes,
    "PATCH",
    "/api/v1/tickets/{id}",
    summary="Change a ticket's owner (owner_id, or unassign), status or priority",
    body=schemas.TicketUpdate,
    response=schemas.Ticket,
)
async def patch_ticket(request: web.Request) -> web.Response:
    ticket_id = path_int(request, "id")
    change = await parse_body(request, schemas.TicketUpdate)
    ticket = await request.app[STORE].update_ticket(
        ticket_id, change, actor_id=current_agent(request).id
    )
    return respond(ticket)


@operation(
    routes,
    "GET",
    "/api/v1/tickets/{id}/timeline",
    summary="Every change of the ticket, oldest first, with who made it",
    query=PageQuery,
    response=schemas.Page[schemas.TimelineEntry],
)
async def ticket_timeline(request: web.Request) -> web.Response:
    query = parse_query(request, PageQuery)
    page = await request.app[STORE].ticket_timeline(
        path_int(request, "id"), limit=query.limit, cursor=query.cursor
    )
    return respond(page)
