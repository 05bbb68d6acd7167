"""Bearer-token authentication, on by default for every route but a few public ones."""

from __future__ import annotations

from aiohttp import web

from backend import schemas
from backend.api.errors import Handler, error_response
from backend.domain.errors import Forbidden
from backend.keys import AGENT, HUB, STORE

PUBLIC_PATHS = frozenset({"/healthz", "/api/v1/openapi.json", "/webhooks/whatsapp"})
WS_PATH = "/api/v1/ws"


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if request.path == WS_PATH:  # browsers and some clients cannot set headers on a WS
        return request.query.get("token") or None
    return None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or request.path.startswith("/webhooks/"):
        return await handler(request)
    token = bearer_token(request)
    if token is None:
        return error_response(
            401, "unauthorized", "A valid agent token is required (Authorization: Bearer …)."
        )
    agent = await request.app[STORE].agent_for_token(token)
    if agent is None:
        return error_response(401, "invalid_token", "That agent token is not valid.")
    request[AGENT] = agent
    # X-Event-Seq (backend/api/ws.py): the hub's newest published seq, taken before the
    # handler reads anything. Events are published after their commit, in seq order, and
    # numbered in commit order (one writer; PostgreSQL's counter, pg_events), so everything
    # up to it is committed and visible to the read that follows. Here rather than in a
    # middleware of its own, which every webhook would pass through too.
    seq = request.app[HUB].last_seq
    response = await handler(request)
    if not response.prepared:
        response.headers[schemas.EVENT_SEQ_HEADER] = str(seq)
    return response


def current_agent(request: web.Request) -> schemas.Agent:
    return request[AGENT]


def require_admin(request: web.Request) -> schemas.Agent:
    agent = request[AGENT]
    if agent.role != schemas.Role.admin:
        raise Forbidden("Only an admin can do this.", code="admin_only")
    return agent
