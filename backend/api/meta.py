"""Liveness and the OpenAPI document, generated from the wire models."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from backend import __version__, schemas
from backend.api.auth import WS_PATH
from backend.api.wire import OPERATIONS, operation, respond
from backend.api.ws import EVENT_SEQ_DESCRIPTION, EVENT_SEQ_HEADER

routes = web.RouteTableDef()


@operation(routes, "GET", "/healthz", summary="Liveness", response=schemas.Health, auth=False)
async def healthz(request: web.Request) -> web.Response:
    return respond(schemas.Health(version=__version__))


# the answer's header saying where the event log stood before the request was read
EVENT_SEQ = {"description": EVENT_SEQ_DESCRIPTION, "schema": {"type": "integer", "minimum": 0}}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def build_openapi() -> dict[str, Any]:
    models: set[type[BaseModel]] = {schemas.ErrorEnvelope}
    for op in OPERATIONS:
        for candidate in (op.body, op.response):
            model = _model_of(candidate)
            if model is not None:
                models.add(model)
    ordered = sorted(models, key=lambda m: m.__name__)
    keyed, definitions = models_json_schema(
        [(model, "validation") for model in ordered],
        ref_template="#/components/schemas/{model}",
    )
    refs = {model: keyed[(model, "validation")] for model in ordered}
    paths: dict[str, dict[str, Any]] = {}
    error_ref = {"content": {"application/json": {"schema": refs[schemas.ErrorEnvelope]}}}
    for op in OPERATIONS:
        entry: dict[str, Any] = {"summary": op.summary, "responses": {}}
        response_model = _model_of(op.response)
        ok: dict[str, Any] = {"description": "OK"}
        if response_model is not None:
            ok["content"] = {"application/json": {"schema": refs[response_model]}}
        entry["responses"][str(op.status)] = ok
        for status, why in ((400, "malformed"), (422, "invalid field")):
            entry["responses"].setdefault(str(status), {"description": why, **error_ref})
        if op.auth:
            if op.path != WS_PATH:  # (a WebSocket's answer is its upgrade)
                ok["headers"] = {EVENT_SEQ_HEADER: EVENT_SEQ}
            entry["security"] = [{"bearer": []}]
            entry["responses"]["401"] = {"description": "missing or bad token", **error_ref}
        else:
            entry["security"] = []
        if op.admin:
            entry["responses"]["403"] = {"description": "admins only", **error_ref}
        body_model = _model_of(op.body)
        if body_model is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[body_model]}},
            }
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_params(op.path)
        ]
        if op.query is not None:
            for name, info in op.query.model_fields.items():
                parameters.append(
                    {
                        "name": name,
                        "in": "query",
                        "required": info.is_required(),
                        "schema": {"type": "string"},
                    }
                )
        if parameters:
            entry["parameters"] = parameters
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "ttydesk", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]


@operation(routes, "GET", "/api/v1/openapi.json", summary="This document", auth=False)
async def openapi(request: web.Request) -> web.Response:
    return respond(build_openapi())
