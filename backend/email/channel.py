"""E-mail as a channel (``backend/channels.py``): while the app runs, the support
addresses are kept as mailboxes in the store, the SMTP listener takes forwarded mail and
the IMAP fetcher watches a hosted mailbox, each when configured (``[email]`` settings),
and the outbox worker sends our replies through the relay.

Mailboxes an admin connected (``ttydesk admin channel connect email``, the API, the
Settings screen) are read from the store when the app starts: each gets its own IMAP
fetcher, and replies from its address go through its relay (else the ``[email]`` one).
A mailbox connected, edited or removed through this server's API is followed at once
(forwarded mail, its IMAP fetcher, its relay); one changed by `admin channel` from another
process within a few seconds (``watch_mailboxes``). A removed mailbox is neither fetched
from nor sent from, and the listener refuses mail to its address."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from backend.config import EmailSettings
from backend.email.connection import connection_of
from backend.email.imap_fetch import ImapAccount, ImapFetcher, MailboxPosition
from backend.email.outbound import EmailOutbox
from backend.email.receive import MailReceiver
from backend.email.smtp_listener import SupportMailbox, start_listener
from backend.email.smtp_send import Relay
from backend.keys import SERVICES, SETTINGS, STORE
from backend.schemas import ChannelType
from backend.store import Store

log = logging.getLogger(__name__)

RECEIVER = "email.receiver"
OUTBOX = "email.outbox"
LISTENER = "email.listener"  # the asyncio.Server: its socket names the bound port
SUPPORT = "email.support"  # the listener's SupportMailbox: its recipient check
FETCHERS = "email.fetchers"  # MailboxFetchers
STOP_TIMEOUT_SECONDS = 5.0
MAILBOX_WATCH_SECONDS = 3.0


class EmailChannel:
    type = ChannelType.email

    def attach(self, app: web.Application) -> None:
        app.cleanup_ctx.append(inbound_lifecycle)
        app.cleanup_ctx.append(outbound_lifecycle)


def listener_tls(config: EmailSettings) -> ssl.SSLContext | None:
    if config.tls_certificate is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_certificate, config.tls_key)
    return context


class StoredPositions:
    """The IMAP fetcher's position, kept in the store under the mailbox's name."""

    def __init__(self, store: Store, mailbox: str) -> None:
        self.store = store
        self.mailbox = mailbox

    async def load(self) -> MailboxPosition:
        uidvalidity, last_uid = await self.store.mailbox_position(self.mailbox)
        return MailboxPosition(uidvalidity, last_uid)

    async def save(self, position: MailboxPosition) -> None:
        if position.uidvalidity is not None:
            await self.store.save_mailbox_position(
                self.mailbox, position.uidvalidity, position.last_uid
            )


def imap_account(config: EmailSettings) -> ImapAccount | None:
    if not config.imap_host:
        return None
    return ImapAccount(
        host=config.imap_host,
        port=config.imap_port,
        username=config.imap_user or "",
        password=config.imap_password.get_secret_value(),
        folder=config.imap_folder,
        ssl_context=ssl.create_default_context() if config.imap_tls else None,
    )


async def inbound_lifecycle(app: web.Application) -> AsyncIterator[None]:
    store, settings = app[STORE], app[SETTINGS]
    config = settings.email
    for address in config.addresses:
        await store.add_mailbox(address, config.display_name)
    receiver = MailReceiver(
        store,
        settings.media_dir,
        authserv_id=config.authserv_id,
        rules=settings.routing(),
        policy=settings.policy.content_policy(),
    )
    app[SERVICES][RECEIVER] = receiver
    server: asyncio.Server | None = None
    if config.listen_port is not None:
        support = SupportMailbox(
            receiver.accept_forwarded,
            await _addresses(store),
            current=lambda: _addresses(store),
        )
        app[SERVICES][SUPPORT] = support
        server = await start_listener(
            support,
            host=config.listen_host,
            port=config.listen_port,
            max_message_bytes=config.max_message_bytes,
            tls_context=listener_tls(config),
        )
        app[SERVICES][LISTENER] = server
        log.info("SMTP listener on %s", [s.getsockname() for s in server.sockets])
    fetchers = MailboxFetchers(store, receiver, imap_account(config), config)
    app[SERVICES][FETCHERS] = fetchers
    await fetchers.refresh()
    watch = asyncio.create_task(watch_mailboxes(app), name="email-mailbox-watch")
    yield
    watch.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watch
    await fetchers.stop()
    if server is not None:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), STOP_TIMEOUT_SECONDS)


async def watch_mailboxes(app: web.Application) -> None:
    """Mailboxes changed by another process (``ttydesk admin channel edit|remove email``
    on the same database) are followed within ``MAILBOX_WATCH_SECONDS``: the fetchers,
    the relays and the listener's recipient check. A change through this server's API
    is followed at once (``backend/api/mailboxes.py``); this read is the fallback."""
    store = app[STORE]
    seen = await _mailbox_state(store)
    while True:
        await asyncio.sleep(MAILBOX_WATCH_SECONDS)
        try:
            now = await _mailbox_state(store)
            if now == seen:
                continue
            seen = now
            await follow_mailboxes(app)
        except Exception:
            log.exception("the mailboxes could not be read again; trying later")


async def _mailbox_state(store: Store) -> list[tuple[object, ...]]:
    connections = {saved.mailbox.id: saved.settings for saved in await store.mailbox_connections()}
    return [
        (mailbox.id, mailbox.address, mailbox.display_name, repr(connections.get(mailbox.id)))
        for mailbox in await store.mailboxes()
    ]


async def follow_mailboxes(app: web.Application) -> None:
    """Read the mailboxes again: each fetcher started again, stopped or left running, the
    relays of the next sends, and the recipients the listener takes."""
    services, store = app[SERVICES], app[STORE]
    fetchers = services.get(FETCHERS)
    if fetchers is not None:
        await fetchers.refresh()
    outbox = services.get(OUTBOX)
    if outbox is not None:
        outbox.relays = await connected_relays(store)
    support = services.get(SUPPORT)
    if support is not None:
        await support.reload()


async def connected_relays(store: Store) -> dict[str, Relay]:
    """The relay of each connected mailbox that has its own, by its address."""
    return {
        saved.mailbox.address: relay
        for saved in await store.mailbox_connections()
        if (relay := connection_of(saved.mailbox.address, saved.settings).relay) is not None
    }


class MailboxFetchers:
    """An IMAP fetcher per mailbox: the ``[email]`` one when configured, and one for each
    mailbox an admin connected, started again by ``refresh`` when the saved connections
    changed (the API calls it after connecting one: no restart)."""

    def __init__(
        self,
        store: Store,
        receiver: MailReceiver,
        configured: ImapAccount | None,
        config: EmailSettings,
    ) -> None:
        self._store = store
        self._receiver = receiver
        self._configured = configured
        self._config = config
        self._running: dict[tuple[object, ...], tuple[asyncio.Event, asyncio.Task[None]]] = {}
        self.fetchers: dict[str, ImapFetcher] = {}  # by mailbox address

    async def refresh(self) -> None:
        wanted: list[tuple[ImapAccount, str]] = []
        config = self._config
        if self._configured is not None:
            first = config.addresses[0] if config.addresses else ""
            wanted.append((self._configured, (config.imap_address or first).lower()))
        for saved in await self._store.mailbox_connections():
            connection = connection_of(saved.mailbox.address, saved.settings)
            if connection.imap is not None:
                wanted.append((connection.imap, saved.mailbox.address))
        keys = {_fetcher_key(account, address) for account, address in wanted}
        for key in [key for key in self._running if key not in keys]:
            await self._stop_one(key)
        for account, address in wanted:
            key = _fetcher_key(account, address)
            if key in self._running:
                continue
            fetcher = ImapFetcher(
                account,
                _receive_for(self._receiver, address),
                StoredPositions(self._store, _position_key(account)),
                poll_seconds=account.poll_seconds,
            )
            stop = asyncio.Event()
            task = asyncio.create_task(fetcher.run(stop), name=f"imap-fetcher-{address}")
            self._running[key] = (stop, task)
            self.fetchers[address] = fetcher

    @property
    def first(self) -> ImapFetcher | None:
        """The first fetcher started (the ``[email]`` one when configured)."""
        return next(iter(self.fetchers.values()), None)

    async def stop(self) -> None:
        for key in list(self._running):
            await self._stop_one(key)

    async def _stop_one(self, key: tuple[object, ...]) -> None:
        stop, task = self._running.pop(key)
        self.fetchers.pop(str(key[0]), None)
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)


def _fetcher_key(account: ImapAccount, address: str) -> tuple[object, ...]:
    """What makes a fetcher the same one (the TLS context is made anew on each read)."""
    return (
        address,
        account.host,
        account.port,
        account.username,
        account.password,
        account.folder,
        account.ssl_context is not None,
        account.poll_seconds,
    )


async def _addresses(store: Store) -> list[str]:
    return [mailbox.address for mailbox in await store.mailboxes()]


def _receive_for(receiver: MailReceiver, address: str) -> Callable[[bytes], Awaitable[None]]:
    async def accept(raw: bytes) -> None:
        await receiver.receive(raw, (address,))

    return accept


def _position_key(account: ImapAccount) -> str:
    """A fetcher started again on the same account and folder (a new password, poll
    interval or address) goes on from where the last one stopped."""
    return f"{account.username}@{account.host}:{account.port}/{account.folder}"


def relay_of(config: EmailSettings) -> Relay | None:
    if not config.relay_host:
        return None
    return Relay(
        host=config.relay_host,
        port=config.relay_port,
        username=config.relay_user,
        password=config.relay_password.get_secret_value() or None,
        starttls=config.relay_starttls,
        implicit_tls=config.relay_port == 465,
    )


async def outbound_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """The e-mail outbox worker, woken when a message is queued (and every few seconds
    for retries that come due)."""
    store, settings = app[STORE], app[SETTINGS]
    relays = await connected_relays(store)
    outbox = EmailOutbox(
        store,
        relay_of(settings.email),
        settings.media_dir,
        relays=relays,
        lease_seconds=settings.outbox_lease,
    )
    # woken by the send handlers (backend/api/messages.py), not on every commit: a wake
    # costs a read, and inbound traffic commits hundreds of batches a second
    app[SERVICES][OUTBOX] = outbox
    task = asyncio.create_task(outbox.run(), name="email-outbox")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)
