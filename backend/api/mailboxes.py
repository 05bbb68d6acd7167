"""Support mailboxes (admin): listed beside the WhatsApp channels, and connected with the
same login test as ``ttydesk admin channel connect email``. The passwords go in with
``POST /mailboxes`` and never come out."""

from __future__ import annotations

from aiohttp import web

from backend import schemas
from backend.api.auth import require_admin
from backend.api.wire import operation, parse_body, respond
from backend.domain.errors import InvalidField
from backend.email import connection
from backend.email.channel import FETCHERS, OUTBOX
from backend.keys import SERVICES, STORE

routes = web.RouteTableDef()


@operation(
    routes,
    "GET",
    "/api/v1/mailboxes",
    summary="Support mailboxes (e-mail), with the hosts and users they are reached by",
    response=schemas.Page[schemas.EmailMailbox],
    admin=True,
)
async def list_mailboxes(request: web.Request) -> web.Response:
    require_admin(request)
    mailboxes = await connection.list_mailboxes(request.app[STORE])
    return respond(schemas.Page[schemas.EmailMailbox](items=mailboxes, total=len(mailboxes)))


@operation(
    routes,
    "POST",
    "/api/v1/mailboxes",
    summary="Connect a mailbox: the IMAP and relay logins are tried, then it is saved "
    "and used at once (fetched from, replied through)",
    body=schemas.MailboxCreate,
    response=schemas.EmailMailbox,
    status=201,
    admin=True,
)
async def connect_mailbox(request: web.Request) -> web.Response:
    agent = require_admin(request)
    spec = await parse_body(request, schemas.MailboxCreate)
    wanted = connection.connection_from_request(spec)
    store = request.app[STORE]
    try:
        mailbox = await connection.connect_mailbox(store, wanted, actor_id=agent.id)
    except connection.ConnectionRefused as exc:
        field = "imap_host" if exc.side == "imap" else "smtp_host"
        raise InvalidField(str(exc), field=field, code="connection_refused") from None
    # in use at once, without a restart: its fetcher, and its relay for replies from it
    fetchers = request.app[SERVICES].get(FETCHERS)
    if fetchers is not None:
        await fetchers.refresh()
    outbox = request.app[SERVICES].get(OUTBOX)
    if outbox is not None:
        outbox.use_relay(mailbox.address, wanted.relay)
    saved = {found.mailbox.id: found.settings for found in await store.mailbox_connections()}
    return respond(connection.mailbox_view(mailbox, saved.get(mailbox.id)), status=201)
