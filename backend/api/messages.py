"""Sending: messages of every kind, retries, and conversations started from a record."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from backend import schemas
from backend.api.auth import current_agent
from backend.api.wire import (
    operation,
    parse_body,
    path_int,
    read_json,
    refuse_out_of_range,
    respond,
)
from backend.domain.errors import InvalidField, Malformed
from backend.email.channel import OUTBOX as EMAIL_OUTBOX
from backend.keys import SERVICES, STORE

routes = web.RouteTableDef()

SEND_KINDS = {"text", "media", "template", "note", "reaction"}


def _wake_outbox(request: web.Request) -> None:
    """Wake the outboxes: a send queued a WhatsApp message or an e-mail (every send, retry
    and new conversation comes through these handlers)."""
    services = request.app[SERVICES]
    for name in ("outbox", EMAIL_OUTBOX):
        outbox = services.get(name)
        if outbox is not None:
            outbox.wake()


def parse_send(data: object) -> schemas.SendRequest:
    if not isinstance(data, dict):
        raise Malformed("The body must be a JSON object.", code="malformed_json")
    try:
        return refuse_out_of_range(schemas.SendMessage.model_validate(data)).root
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"]]
        if loc and loc[0] in SEND_KINDS:
            loc = loc[1:]  # the union's tag
        field = ".".join(loc) or "kind"
        if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
            message = f"kind must be one of {', '.join(sorted(SEND_KINDS))}."
            field = "kind"
        elif first["type"] == "extra_forbidden":
            message = f"Unknown field {field!r}."
        elif first["type"] == "missing":
            message = f"The field {field!r} is required."
        else:
            message = f"{field}: {first['msg']}."
        raise InvalidField(message, field=field) from None


@operation(
    routes,
    "POST",
    "/api/v1/threads/{id}/messages",
    summary="Send a message (text, media, template, reaction) or add a note; 202 with it queued",
    body=schemas.SendMessage,
    response=schemas.Message,
    status=202,
)
async def send_message(request: web.Request) -> web.Response:
    spec = parse_send(await read_json(request))
    result = await request.app[STORE].send_message(
        path_int(request, "id"), current_agent(request).id, spec
    )
    if result.created and not isinstance(spec, schemas.SendNote):
        _wake_outbox(request)
    return respond(result.message, status=202)


@operation(
    routes,
    "POST",
    "/api/v1/threads/{id}/messages/{mid}/retry",
    summary="Send a failed message again (a new send, same rules)",
    response=schemas.Message,
    status=202,
)
async def retry_message(request: web.Request) -> web.Response:
    message = await request.app[STORE].retry_message(
        path_int(request, "id"), path_int(request, "mid"), current_agent(request).id
    )
    _wake_outbox(request)
    return respond(message, status=202)


@operation(
    routes,
    "POST",
    "/api/v1/contacts/{id}/conversations",
    summary="Start a WhatsApp conversation with a contact (a template when no session is open)",
    body=schemas.StartConversation,
    response=schemas.StartedConversation,
    status=202,
)
async def start_conversation(request: web.Request) -> web.Response:
    spec = await parse_body(request, schemas.StartConversation)
    started = await request.app[STORE].start_conversation(
        path_int(request, "id"), current_agent(request).id, spec
    )
    _wake_outbox(request)
    return respond(started, status=202)
