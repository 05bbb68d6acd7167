"""The usage meter: conversations used this month, the limit and the reset date."""

from __future__ import annotations

from aiohttp import web

from backend import schemas
from backend.api.wire import operation, respond
from backend.keys import STORE

routes = web.RouteTableDef()


@operation(
    routes,
    "GET",
    "/api/v1/usage",
    summary="Conversations used this period, the limit, the reset date, business-initiated in 24 h",
    response=schemas.Usage,
)
async def get_usage(request: web.Request) -> web.Response:
    return respond(await request.app[STORE].usage())
