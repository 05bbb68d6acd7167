"""The audit log (admins only)."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from backend import schemas
from backend.api.auth import require_admin
from backend.api.wire import operation, parse_query, respond
from backend.keys import STORE

routes = web.RouteTableDef()


class AuditQuery(schemas.WireModel):
    action: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=100, ge=1, le=500)
    cursor: str | None = None


@operation(
    routes,
    "GET",
    "/api/v1/audit",
    summary="The audit log, newest first (admin)",
    query=AuditQuery,
    response=schemas.Page[schemas.AuditEntry],
    admin=True,
)
async def list_audit(request: web.Request) -> web.Response:
    require_admin(request)
    query = parse_query(request, AuditQuery)
    page = await request.app[STORE].list_audit(
        action=query.action, limit=query.limit, cursor=query.cursor
    )
    return respond(page)
