"""Contacts (with their companies, deals and tickets), companies and deals."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from backend import schemas
from backend.api.wire import operation, parse_body, parse_query, path_int, respond
from backend.keys import STORE

routes = web.RouteTableDef()


class RecordsQuery(schemas.WireModel):
    q: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


@operation(
    routes,
    "GET",
    "/api/v1/contacts",
    summary="Contacts, newest first; q matches names, e-mails and numbers",
    query=RecordsQuery,
    response=schemas.Page[schemas.Contact],
)
async def list_contacts(request: web.Request) -> web.Response:
    query = parse_query(request, RecordsQuery)
    page = await request.app[STORE].list_contacts(q=query.q, limit=query.limit, cursor=query.cursor)
    return respond(page)


@operation(
    routes,
    "POST",
    "/api/v1/contacts",
    summary="Create a contact; phones are normalised to E.164",
    body=schemas.ContactCreate,
    response=schemas.ContactDetail,
    status=201,
)
async def create_contact(request: web.Request) -> web.Response:
    spec = await parse_body(request, schemas.ContactCreate)
    return respond(await request.app[STORE].create_contact(spec), status=201)


@operation(
    routes,
    "GET",
    "/api/v1/contacts/{id}",
    summary="A contact with its companies, deals and tickets",
    response=schemas.ContactDetail,
)
async def get_contact(request: web.Request) -> web.Response:
    return respond(await request.app[STORE].get_contact(path_int(request, "id")))


@operation(
    routes,
    "PATCH",
    "/api/v1/contacts/{id}",
    summary="Change a contact; fields left out stay, an empty string clears one",
    body=schemas.ContactUpdate,
    response=schemas.ContactDetail,
)
async def patch_contact(request: web.Request) -> web.Response:
    contact_id = path_int(request, "id")
    change = await parse_body(request, schemas.ContactUpdate)
    return respond(await request.app[STORE].update_contact(contact_id, change))


@operation(
    routes,
    "GET",
    "/api/v1/companies",
    summary="Companies by name, with their associated contacts",
    query=RecordsQuery,
    response=schemas.Page[schemas.Company],
)
async def list_companies(request: web.Request) -> web.Response:
    query = parse_query(request, RecordsQuery)
    page = await request.app[STORE].list_companies(
        q=query.q, limit=query.limit, cursor=query.cursor
    )
    return respond(page)


@operation(
    routes,
    "GET",
    "/api/v1/deals",
    summary="Deals by name, with their associated contacts",
    query=RecordsQuery,
    response=schemas.Page[schemas.Deal],
)
async def list_deals(request: web.Request) -> web.Response:
    query = parse_query(request, RecordsQuery)
    page = await request.app[STORE].list_deals(q=query.q, limit=query.limit, cursor=query.cursor)
    return respond(page)
