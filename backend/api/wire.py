"""Reading requests into wire models and writing wire models out, plus the OpenAPI registry."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, RootModel, ValidationError

from backend.domain import json_input
from backend.domain.errors import InvalidField, Malformed
from backend.domain.numbers import fits_int64
from backend.keys import SETTINGS

M = TypeVar("M", bound=BaseModel)


class TooLarge(Malformed):
    status = 413
    default_code = "too_large"


def _field_of(error: dict[str, Any]) -> str:
    parts = [str(part) for part in error["loc"] if part != "body"]
    # drop the discriminator tag pydantic puts in union locations (e.g. "text" in body.text.text)
    return ".".join(parts) or "body"


def validation_error(exc: ValidationError, *, prefix: str = "") -> InvalidField:
    first = exc.errors()[0]
    field = _field_of(first)
    if first["type"] == "extra_forbidden":
        message = f"Unknown field {field!r}."
    elif first["type"] == "missing":
        message = f"The field {field!r} is required."
    else:
        message = f"{field}: {first['msg']}."
    return InvalidField(message, field=prefix + field)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, read as it streams in: ``TooLarge`` as soon as it passes ``limit`` bytes,
    whether or not it announced its length (a chunked body does not), so no more than
    ``limit`` is ever held."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"The request body is too large (limit {limit} bytes).")
    body = bytearray()
    while chunk := await request.content.readany():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"The request body is too large (limit {limit} bytes).")
    return bytes(body)


async def read_json(request: web.Request) -> Any:
    raw = await read_body(request, request.app[SETTINGS].max_body_bytes)
    if not raw:
        raise Malformed("The request needs a JSON body.", code="malformed_json")
    try:
        return json_input.decode(raw)
    except json_input.InvalidJson as exc:
        raise Malformed(f"The body is not valid JSON ({exc}).", code="malformed_json") from None


def _validated(model: type[M], data: dict[str, Any]) -> M:
    """``data`` as ``model``; an integer field may not exceed what SQLite stores (a JSON
    body's numbers are checked as it is decoded, but pydantic also reads "123" as 123)."""
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None
    return refuse_out_of_range(parsed)


def refuse_out_of_range(parsed: M) -> M:
    """``parsed``, unless one of its integers is beyond 64 bits (``InvalidField``)."""
    field = _int_out_of_range(parsed)
    if field is not None:
        raise InvalidField(f"{field}: the number is out of range.", field=field)
    return parsed


def _int_out_of_range(value: Any, path: str = "") -> str | None:
    """The dotted name of an integer in ``value`` beyond 64 bits, if any."""
    if isinstance(value, int) and not isinstance(value, bool):
        return None if fits_int64(value) else path or "body"
    if isinstance(value, RootModel):
        return _int_out_of_range(value.root, path)
    if isinstance(value, BaseModel):
        items: Any = ((name, getattr(value, name)) for name in type(value).model_fields)
    elif isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple | set | frozenset):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _int_out_of_range(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


async def parse_body(request: web.Request, model: type[M]) -> M:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise Malformed("The body must be a JSON object.", code="malformed_json")
    return _validated(model, data)


def parse_query(request: web.Request, model: type[M]) -> M:
    data: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        data[key] = values if len(values) > 1 else values[0]
    return _validated(model, data)


def path_int(request: web.Request, name: str) -> int:
    try:
        value = int(request.match_info[name])
    except (KeyError, ValueError):
        raise InvalidField(f"{name} must be a number.", field=name) from None
    if not fits_int64(value):
        raise InvalidField(f"{name} is out of range.", field=name)
    return value


def respond(model: BaseModel | list[Any] | dict[str, Any], status: int = 200) -> web.Response:
    if isinstance(model, BaseModel):
        text = model.model_dump_json()
    else:
        text = json.dumps(model, default=str)
    return web.Response(text=text, status=status, content_type="application/json")


# ------------------------------------------------------------------ OpenAPI registry


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    auth: bool
    admin: bool


OPERATIONS: list[Operation] = []

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def operation(
    routes: web.RouteTableDef,
    method: str,
    path: str,
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    auth: bool = True,
    admin: bool = False,
) -> Callable[[Handler], Handler]:
    """Register a route and describe it for the OpenAPI document."""

    def decorate(handler: Handler) -> Handler:
        OPERATIONS.append(
            Operation(method, path, summary, body, query, response, status, auth, admin)
        )
        routes.route(method, path)(handler)
        return handler

    return decorate
