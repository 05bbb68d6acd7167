"""Composer inserts for the fuzzy picker."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from backend import schemas
from backend.api.wire import operation, parse_query, respond
from backend.keys import STORE

routes = web.RouteTableDef()


class InsertsQuery(schemas.WireModel):
    kind: schemas.InsertKind | None = None
    q: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None


@operation(
    routes,
    "GET",
    "/api/v1/inserts",
    summary="Snippets, KB articles, meeting links, quotes, documents and videos",
    query=InsertsQuery,
    response=schemas.Page[schemas.Insert],
)
async def list_inserts(request: web.Request) -> web.Response:
    query = parse_query(request, InsertsQuery)
    page = await request.app[STORE].list_inserts(
        kind=query.kind, q=query.q, limit=query.limit, cursor=query.cursor
    )
    return respond(page)
