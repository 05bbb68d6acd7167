"""The channel connection wizard (admin): account, numbers, code, registration, disconnect.

The access token goes in with ``POST /channels`` and never comes out.
"""

from __future__ import annotations

from aiohttp import web

from backend import schemas
from backend.api.auth import require_admin
from backend.api.wire import operation, parse_body, path_int, respond
from backend.keys import SERVICES, SETTINGS, STORE
from backend.whatsapp import connect
from backend.whatsapp.graph import GraphClient

routes = web.RouteTableDef()


def _graph(request: web.Request) -> GraphClient:
    return request.app[SERVICES]["graph"]


def _webhook(request: web.Request) -> connect.WebhookTarget | None:
    settings = request.app[SETTINGS]
    if not settings.public_url:
        return None
    return connect.WebhookTarget(
        callback_url=f"{settings.public_url}/webhooks/whatsapp",
        verify_token=settings.whatsapp_verify_token.get_secret_value() or None,
    )


@operation(
    routes,
    "POST",
    "/api/v1/channels",
    summary="Connect a WhatsApp Business Account: business details, token + WABA id, profile",
    body=schemas.ChannelCreate,
    response=schemas.Channel,
    status=201,
    admin=True,
)
async def create_channel(request: web.Request) -> web.Response:
    agent = require_admin(request)
    spec = await parse_body(request, schemas.ChannelCreate)
    channel = await connect.create_channel(
        request.app[STORE], _graph(request), spec, actor_id=agent.id
    )
    return respond(channel, status=201)


@operation(
    routes,
    "GET",
    "/api/v1/channels",
    summary="Connected channels and their phone numbers",
    response=schemas.Page[schemas.Channel],
    admin=True,
)
async def list_channels(request: web.Request) -> web.Response:
    require_admin(request)
    channels = await request.app[STORE].list_channels()
    return respond(schemas.Page[schemas.Channel](items=channels, total=len(channels)))


@operation(
    routes,
    "GET",
    "/api/v1/channels/{id}",
    summary="One channel",
    response=schemas.Channel,
    admin=True,
)
async def get_channel(request: web.Request) -> web.Response:
    require_admin(request)
    return respond(await request.app[STORE].get_channel(path_int(request, "id")))


@operation(
    routes,
    "GET",
    "/api/v1/channels/{id}/available-numbers",
    summary="The phone numbers of the channel's WhatsApp Business Account at Meta",
    response=schemas.Page[schemas.AvailablePhoneNumber],
    admin=True,
)
async def available_numbers(request: web.Request) -> web.Response:
    require_admin(request)
    numbers = await connect.available_numbers(
        request.app[STORE], _graph(request), path_int(request, "id")
    )
    return respond(schemas.Page[schemas.AvailablePhoneNumber](items=numbers, total=len(numbers)))


@operation(
    routes,
    "POST",
    "/api/v1/channels/{id}/phone-numbers",
    summary="Pick an existing number of the account, or create a new one to verify",
    body=schemas.PhoneNumberAdd,
    response=schemas.PhoneNumber,
    status=201,
    admin=True,
)
async def add_phone_number(request: web.Request) -> web.Response:
    agent = require_admin(request)
    spec = await parse_body(request, schemas.PhoneNumberAdd)
    number = await connect.add_phone_number(
        request.app[STORE],
        _graph(request),
        path_int(request, "id"),
        spec,
        actor_id=agent.id,
        webhook=_webhook(request),
    )
    return respond(number, status=201)


@operation(
    routes,
    "POST",
    "/api/v1/channels/{id}/phone-numbers/{pid}/request-code",
    summary="Send the verification code by SMS or voice call",
    body=schemas.RequestCode,
    response=schemas.PhoneNumber,
    admin=True,
)
async def request_code(request: web.Request) -> web.Response:
    require_admin(request)
    spec = await parse_body(request, schemas.RequestCode)
    number = await connect.request_code(
        request.app[STORE], _graph(request), path_int(request, "id"), path_int(request, "pid"), spec
    )
    return respond(number)


@operation(
    routes,
    "POST",
    "/api/v1/channels/{id}/phone-numbers/{pid}/verify-code",
    summary="Enter the code and the two-step PIN: registers the number and connects it",
    body=schemas.VerifyCode,
    response=schemas.PhoneNumber,
    admin=True,
)
async def verify_code(request: web.Request) -> web.Response:
    agent = require_admin(request)
    spec = await parse_body(request, schemas.VerifyCode)
    number = await connect.verify_code(
        request.app[STORE],
        _graph(request),
        path_int(request, "id"),
        path_int(request, "pid"),
        spec,
        actor_id=agent.id,
        webhook=_webhook(request),
    )
    return respond(number)


@operation(
    routes,
    "DELETE",
    "/api/v1/channels/{id}/phone-numbers/{pid}",
    summary="Disconnect a number: ingestion and sends stop, its history stays",
    response=schemas.Channel,
    admin=True,
)
async def disconnect_phone_number(request: web.Request) -> web.Response:
    agent = require_admin(request)
    channel = await request.app[STORE].disconnect_phone_number(
        path_int(request, "id"), path_int(request, "pid"), actor_id=agent.id
    )
    return respond(channel)
