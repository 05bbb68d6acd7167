"""Full-text search across messages, contacts and ticket subjects, with the thread filters."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from backend import schemas
from backend.api.auth import current_agent
from backend.api.threads import ThreadFilters, thread_filter
from backend.api.wire import operation, parse_query, respond
from backend.keys import STORE

routes = web.RouteTableDef()


class SearchQuery(ThreadFilters):
    q: str = Field(min_length=1, max_length=200)
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


@operation(
    routes,
    "GET",
    "/api/v1/search",
    summary="Search message text, contact names and numbers, ticket subjects; newest first",
    query=SearchQuery,
    response=schemas.Page[schemas.SearchHit],
)
async def search(request: web.Request) -> web.Response:
    query = parse_query(request, SearchQuery)
    store = request.app[STORE]
    where = await thread_filter(store, current_agent(request), query)
    return respond(await store.search(query.q, where, limit=query.limit, cursor=query.cursor))
