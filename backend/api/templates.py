"""Message templates: the synced list, an on-demand sync, the variable mapping."""

from __future__ import annotations

from aiohttp import web

from backend import schemas
from backend.api.wire import operation, parse_body, path_int, respond
from backend.keys import SERVICES, STORE
from backend.whatsapp.template_sync import sync_templates

routes = web.RouteTableDef()


@operation(
    routes,
    "GET",
    "/api/v1/templates",
    summary="Templates of every connected account; only approved ones are sendable",
    response=schemas.Page[schemas.Template],
)
async def list_templates(request: web.Request) -> web.Response:
    templates = await request.app[STORE].list_templates()
    return respond(schemas.Page[schemas.Template](items=templates, total=len(templates)))


@operation(
    routes,
    "POST",
    "/api/v1/templates/sync",
    summary="Fetch every page of every account's templates from WhatsApp",
    response=schemas.TemplateSyncResult,
)
async def sync(request: web.Request) -> web.Response:
    result = await sync_templates(request.app[STORE], request.app[SERVICES]["graph"])
    return respond(result)


@operation(
    routes,
    "PATCH",
    "/api/v1/templates/{id}",
    summary="Map template variables to contact properties",
    body=schemas.TemplateMappingUpdate,
    response=schemas.Template,
)
async def update_mapping(request: web.Request) -> web.Response:
    spec = await parse_body(request, schemas.TemplateMappingUpdate)
    template = await request.app[STORE].update_template_mapping(
        path_int(request, "id"), spec.variable_mapping
    )
    return respond(template)
