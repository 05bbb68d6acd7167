"""Support mailboxes (admin): listed beside the WhatsApp channels, connected and edited
with the same login test as ``ttydesk admin channel connect email``, and removed
(disconnected: its threads are kept). The passwords go in with ``POST`` and ``PATCH`` and
never come out. Each change is used by the running server at once: the IMAP fetcher, the
relay of the next send, the SMTP listener's recipient check."""

from __future__ import annotations

from aiohttp import web

from backend import schemas
from backend.api.auth import require_admin
from backend.api.wire import operation, parse_body, path_int, respond
from backend.domain.errors import InvalidField
from backend.email import connection
from backend.email.channel import follow_mailboxes
from backend.keys import SETTINGS, STORE

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
    await _follow(request)
    saved = {found.mailbox.id: found.settings for found in await store.mailbox_connections()}
    return respond(connection.mailbox_view(mailbox, saved.get(mailbox.id)), status=201)


@operation(
    routes,
    "PATCH",
    "/api/v1/mailboxes/{id}",
    summary="Edit a mailbox (address, name, IMAP, relay, folder, poll interval): a changed "
    "login is tried first and a refusal keeps the old settings; used at once",
    body=schemas.MailboxUpdate,
    response=schemas.EmailMailbox,
    admin=True,
)
async def edit_mailbox(request: web.Request) -> web.Response:
    agent = require_admin(request)
    mailbox_id = path_int(request, "id")
    spec = await parse_body(request, schemas.MailboxUpdate)
    store = request.app[STORE]
    current = await store.mailbox_connection(mailbox_id)  # read once: the edit starts from it
    if spec.address is not None and spec.address.strip().lower() != current.mailbox.address:
        _refuse_configured(request, current.mailbox.address, "given another address")
    try:
        mailbox, _, after = await connection.edit_mailbox(store, current, spec, actor_id=agent.id)
    except connection.ConnectionRefused as exc:
        field = "imap_host" if exc.side == "imap" else "smtp_host"
        raise InvalidField(str(exc), field=field, code="connection_refused") from None
    await _follow(request)
    return respond(connection.mailbox_view(mailbox, connection.settings_of(after)))


@operation(
    routes,
    "DELETE",
    "/api/v1/mailboxes/{id}",
    summary="Remove (disconnect) a mailbox: no longer fetched from, mail to it refused, "
    "nothing sent from it (a queued send fails with the reason); its threads are kept",
    status=204,
    admin=True,
)
async def remove_mailbox(request: web.Request) -> web.Response:
    agent = require_admin(request)
    mailbox_id = path_int(request, "id")
    store = request.app[STORE]
    current = await store.mailbox_connection(mailbox_id)
    _refuse_configured(request, current.mailbox.address, "removed")
    await store.remove_mailbox(mailbox_id, actor_id=agent.id)
    await _follow(request)
    return web.Response(status=204)


def _refuse_configured(request: web.Request, address: str, what: str) -> None:
    connection.refuse_configured(request.app[SETTINGS].email.addresses, address, what)


async def _follow(request: web.Request) -> None:
    """The running server follows a changed or removed mailbox at once: its IMAP fetcher
    started again (or stopped), the relay its next send goes through, the recipient check."""
    await follow_mailboxes(request.app)
