"""The calling agent and the team."""

from __future__ import annotations

from aiohttp import web

from backend import schemas
from backend.api.auth import current_agent, require_admin
from backend.api.wire import operation, parse_body, path_int, respond
from backend.keys import STORE

routes = web.RouteTableDef()


@operation(routes, "GET", "/api/v1/me", summary="The calling agent", response=schemas.Agent)
async def get_me(request: web.Request) -> web.Response:
    return respond(await request.app[STORE].get_agent(current_agent(request).id))


@operation(
    routes,
    "PATCH",
    "/api/v1/me",
    summary="Change my availability, notification choice, name or e-mail signature",
    body=schemas.MeUpdate,
    response=schemas.Agent,
)
async def patch_me(request: web.Request) -> web.Response:
    change = await parse_body(request, schemas.MeUpdate)
    return respond(await request.app[STORE].update_agent(current_agent(request).id, change))


@operation(
    routes,
    "GET",
    "/api/v1/agents",
    summary="Agents with skills, availability and open-ticket load; the signatures of others "
    "to admins only",
    response=schemas.Page[schemas.Agent],
)
async def list_agents(request: web.Request) -> web.Response:
    reader = current_agent(request)
    agents = [
        agent
        if agent.id == reader.id or reader.role == schemas.Role.admin
        else agent.model_copy(update={"signature": None})  # may hold a direct line
        for agent in await request.app[STORE].list_agents()
    ]
    return respond(schemas.Page[schemas.Agent](items=agents, next_cursor=None, total=len(agents)))


@operation(
    routes,
    "POST",
    "/api/v1/agents",
    summary="Create an agent (admin); the token is shown once",
    body=schemas.AgentCreate,
    response=schemas.AgentCreated,
    status=201,
    admin=True,
)
async def create_agent(request: web.Request) -> web.Response:
    require_admin(request)
    spec = await parse_body(request, schemas.AgentCreate)
    return respond(await request.app[STORE].create_agent(spec), status=201)


@operation(
    routes,
    "PATCH",
    "/api/v1/agents/{id}",
    summary="Change an agent's availability, notification choice, name or signature (admin)",
    body=schemas.MeUpdate,
    response=schemas.Agent,
    admin=True,
)
async def patch_agent(request: web.Request) -> web.Response:
    require_admin(request)
    agent_id = path_int(request, "id")
    change = await parse_body(request, schemas.MeUpdate)
    return respond(await request.app[STORE].update_agent(agent_id, change))
