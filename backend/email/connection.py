"""Connecting a mailbox (``ttydesk admin channel connect email``): the IMAP login and the
relay's login are tried before anything is saved, and a failure comes back as one line
naming what failed — the host could not be reached, the login was refused, TLS.

The passwords are never put in a message, a log line or a ``repr``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

import aioimaplib
import aiosmtplib

from backend import schemas
from backend.domain.errors import Conflict, InvalidField
from backend.email.imap_fetch import ImapAccount
from backend.email.smtp_send import Relay
from backend.store import Mailbox, MailboxConnection, Store

TEST_TIMEOUT_SECONDS = 15.0
DEFAULT_POLL_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class MailConnection:
    """A support address with the hosted mailbox mail is fetched from and the relay
    replies go out through (either may be absent)."""

    address: str
    display_name: str | None = None
    imap: ImapAccount | None = None
    relay: Relay | None = None

    def __repr__(self) -> str:
        return f"MailConnection({self.address}, {self.imap!r}, {self.relay!r})"


def settings_of(connection: MailConnection) -> dict[str, object]:
    """What the store keeps of a connection (``MailboxConnection.settings``)."""
    settings: dict[str, object] = {}
    if connection.imap is not None:
        imap = connection.imap
        settings["imap"] = {
            "host": imap.host,
            "port": imap.port,
            "tls": imap.ssl_context is not None,
            "user": imap.username,
            "password": imap.password,
            "folder": imap.folder,
            "poll_seconds": imap.poll_seconds,
        }
    if connection.relay is not None:
        relay = connection.relay
        settings["relay"] = {
            "host": relay.host,
            "port": relay.port,
            "starttls": relay.starttls,
            "user": relay.username,
            "password": relay.password,
        }
    return settings


def connection_of(address: str, settings: dict[str, Any]) -> MailConnection:
    """A saved connection as the channel uses it (certificates checked as usual)."""
    imap, relay = settings.get("imap"), settings.get("relay")
    return MailConnection(
        address=address,
        imap=None
        if not imap
        else ImapAccount(
            host=imap["host"],
            port=int(imap["port"]),
            username=imap["user"] or "",
            password=imap["password"] or "",
            folder=imap.get("folder") or "INBOX",
            ssl_context=ssl.create_default_context() if imap.get("tls", True) else None,
            poll_seconds=float(imap.get("poll_seconds") or DEFAULT_POLL_SECONDS),
        ),
        relay=None
        if not relay
        else Relay(
            host=relay["host"],
            port=int(relay["port"]),
            username=relay.get("user"),
            password=relay.get("password"),
            starttls=bool(relay.get("starttls", True)),
            implicit_tls=int(relay["port"]) == 465,
        ),
    )


class ConnectionRefused(Exception):
    """``str()`` is the one line to show; ``side`` is "imap" or "relay"."""

    def __init__(self, message: str, side: str = "imap") -> None:
        super().__init__(message)
        self.side = side


def check_address(address: str) -> None:
    """The address is checked before any login is tried (the store checks it again)."""
    if "@" not in address or any(ch.isspace() for ch in address.strip()):
        raise InvalidField(f"{address[:80]!r} is not an e-mail address.", field="address")


def refuse_configured(configured: list[str], address: str, what: str) -> None:
    """An address of the ``[email]`` settings is added again at every start: it is
    changed in the settings file, not given another address or removed here."""
    if address in configured:
        raise Conflict(
            f"{address} is set in the settings file ([email] addresses): it cannot be {what} "
            "here; change it there.",
            code="mailbox_configured",
        )


async def connect_mailbox(
    store: Store, connection: MailConnection, *, actor_id: int | None = None
) -> Mailbox:
    """Try the logins, then save the mailbox and its connection; a failed login raises
    ``ConnectionRefused`` and saves nothing."""
    check_address(connection.address)
    await check_connection(connection)
    return await store.connect_mailbox(
        connection.address, connection.display_name, settings_of(connection), actor_id=actor_id
    )


def connection_from_request(spec: schemas.MailboxCreate) -> MailConnection:
    """The API's body as a connection; a host without its password is refused."""
    if not spec.imap_host and not spec.smtp_host:
        raise InvalidField("Give an IMAP host, a relay host or both.", field="imap_host")
    imap = relay = None
    if spec.imap_host:
        if not spec.imap_password:
            raise InvalidField("The IMAP password is missing.", field="imap_password")
        imap = ImapAccount(
            host=spec.imap_host,
            port=spec.imap_port,
            username=spec.imap_user or spec.address,
            password=spec.imap_password,
            folder=spec.imap_folder,
            ssl_context=ssl.create_default_context() if spec.imap_tls else None,
            poll_seconds=float(spec.imap_poll_seconds),
        )
    if spec.smtp_host:
        if spec.smtp_user and not spec.smtp_password:
            raise InvalidField("The relay password is missing.", field="smtp_password")
        relay = Relay(
            host=spec.smtp_host,
            port=spec.smtp_port,
            username=spec.smtp_user,
            password=spec.smtp_password if spec.smtp_user else None,
            starttls=spec.smtp_starttls,
            implicit_tls=spec.smtp_port == 465,
        )
    return MailConnection(spec.address.strip(), spec.display_name, imap, relay)


def mailbox_view(mailbox: Mailbox, settings: dict[str, Any] | None) -> schemas.EmailMailbox:
    """What the API shows of a mailbox: hosts and users, never a password."""
    imap = (settings or {}).get("imap") or {}
    relay = (settings or {}).get("relay") or {}
    return schemas.EmailMailbox(
        id=mailbox.id,
        address=mailbox.address,
        display_name=mailbox.display_name,
        imap_host=imap.get("host"),
        imap_user=imap.get("user"),
        smtp_host=relay.get("host"),
        smtp_user=relay.get("user"),
        imap_port=imap.get("port"),
        imap_tls=imap.get("tls", True) if imap else None,
        imap_folder=imap.get("folder") or ("INBOX" if imap else None),
        imap_poll_seconds=int(imap.get("poll_seconds") or DEFAULT_POLL_SECONDS) if imap else None,
        smtp_port=relay.get("port"),
        smtp_starttls=relay.get("starttls", True) if relay else None,
    )


def edited_connection(
    saved: MailboxConnection, spec: schemas.MailboxUpdate
) -> tuple[MailConnection, MailConnection]:
    """The connection as it is and as the edit makes it: only the fields given change, a
    password left out is kept, a host set to null drops that side."""
    given = spec.model_fields_set
    found = connection_of(saved.mailbox.address, saved.settings)
    before = MailConnection(found.address, saved.mailbox.display_name, found.imap, found.relay)
    address = before.address
    if spec.address is not None:
        address = spec.address.strip().lower()
    display_name = spec.display_name if "display_name" in given else before.display_name
    imap, relay = before.imap, before.relay
    if "imap_host" in given and not spec.imap_host:
        imap = None
    elif imap is not None or spec.imap_host:
        imap = _edited_imap(imap, spec, address)
    if "smtp_host" in given and not spec.smtp_host:
        relay = None
    elif relay is not None or spec.smtp_host:
        relay = _edited_relay(relay, spec)
    return before, MailConnection(address, display_name, imap, relay)


def _edited_imap(old: ImapAccount | None, spec: schemas.MailboxUpdate, address: str) -> ImapAccount:
    password = spec.imap_password or (old.password if old is not None else "")
    if not password:
        raise InvalidField("The IMAP password is missing.", field="imap_password")
    tls = old is None or old.ssl_context is not None
    if spec.imap_tls is not None:
        tls = spec.imap_tls
    return ImapAccount(
        host=spec.imap_host or (old.host if old else ""),
        port=spec.imap_port or (old.port if old else 993),
        username=spec.imap_user or (old.username if old else address),
        password=password,
        folder=spec.imap_folder or (old.folder if old else "INBOX"),
        ssl_context=ssl.create_default_context() if tls else None,
        poll_seconds=float(
            spec.imap_poll_seconds or (old.poll_seconds if old else DEFAULT_POLL_SECONDS)
        ),
    )


def _edited_relay(was: Relay | None, spec: schemas.MailboxUpdate) -> Relay:
    # an empty user given means "no login"; a user left out keeps the saved one
    user = spec.smtp_user if "smtp_user" in spec.model_fields_set else (was and was.username)
    password = spec.smtp_password or (was.password if was is not None else None)
    if user and not password:
        raise InvalidField("The relay password is missing.", field="smtp_password")
    port = spec.smtp_port or (was.port if was else 587)
    starttls = was is None or was.starttls
    if spec.smtp_starttls is not None:
        starttls = spec.smtp_starttls
    return Relay(
        host=spec.smtp_host or (was.host if was else ""),
        port=port,
        username=user or None,
        password=password if user else None,
        starttls=starttls,
        implicit_tls=port == 465,
    )


def _imap_login(account: ImapAccount | None) -> tuple[object, ...] | None:
    if account is None:
        return None
    return (account.host, account.port, account.username, account.password, account.folder,
            account.ssl_context is not None)  # fmt: skip


def _relay_login(relay: Relay | None) -> tuple[object, ...] | None:
    if relay is None:
        return None
    return (relay.host, relay.port, relay.username, relay.password, relay.starttls)


async def edit_mailbox(
    store: Store,
    saved: MailboxConnection,
    spec: schemas.MailboxUpdate,
    *,
    actor_id: int | None = None,
) -> tuple[Mailbox, MailConnection, MailConnection]:
    """Apply an edit to ``saved`` (``Store.mailbox_connection``, as the caller read it): a
    login that changed (IMAP, relay) is tried first, and a failure raises
    ``ConnectionRefused`` with the old settings kept. Returns the mailbox and the
    connection before and after."""
    mailbox_id = saved.mailbox.id
    before, after = edited_connection(saved, spec)
    check_address(after.address)
    if after.imap is not None and _imap_login(after.imap) != _imap_login(before.imap):
        await check_imap(after.imap)
    if after.relay is not None and _relay_login(after.relay) != _relay_login(before.relay):
        await check_relay(after.relay)
    mailbox = await store.edit_mailbox(
        mailbox_id, after.address, after.display_name, settings_of(after), actor_id=actor_id
    )
    return mailbox, before, after


async def list_mailboxes(store: Store) -> list[schemas.EmailMailbox]:
    """Every support address (configured or connected), with its connection if saved."""
    saved = {found.mailbox.id: found.settings for found in await store.mailbox_connections()}
    return [mailbox_view(mailbox, saved.get(mailbox.id)) for mailbox in await store.mailboxes()]


async def check_connection(connection: MailConnection) -> None:
    """Log in to the IMAP server and to the relay as configured; raises
    ``ConnectionRefused`` with one line on the first failure."""
    if connection.imap is not None:
        await check_imap(connection.imap)
    if connection.relay is not None:
        await check_relay(connection.relay)


async def check_imap(account: ImapAccount) -> None:
    where = f"IMAP {account.host}:{account.port}"
    if account.ssl_context is not None:
        client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
            account.host,
            account.port,
            ssl_context=account.ssl_context,
            timeout=TEST_TIMEOUT_SECONDS,
        )
    else:
        client = aioimaplib.IMAP4(account.host, account.port, timeout=TEST_TIMEOUT_SECONDS)
    try:
        try:
            await client.wait_hello_from_server()
        except ssl.SSLError as exc:
            raise ConnectionRefused(f"{where}: TLS failed ({exc.reason or exc})") from None
        except (OSError, TimeoutError, ValueError, aioimaplib.Abort) as exc:
            raise ConnectionRefused(f"{where}: cannot reach the server ({_why(exc)})") from None
        try:
            answer = await client.login(account.username, account.password)
        except (OSError, TimeoutError, aioimaplib.Abort) as exc:
            raise ConnectionRefused(f"{where}: the connection dropped ({_why(exc)})") from None
        if answer.result != "OK":
            raise ConnectionRefused(f"{where}: login refused for {account.username}")
        answer = await client.select(account.folder)
        if answer.result != "OK":
            raise ConnectionRefused(f"{where}: there is no folder {account.folder!r}")
    finally:
        try:
            if client.protocol is not None and client.get_state() in ("AUTH", "SELECTED"):
                await client.logout()
        except (OSError, TimeoutError, aioimaplib.Abort):
            pass


async def check_relay(relay: Relay) -> None:
    where = f"SMTP relay {relay.host}:{relay.port}"
    client = aiosmtplib.SMTP(
        hostname=relay.host,
        port=relay.port,
        use_tls=relay.implicit_tls,
        start_tls=False,
        tls_context=relay.ssl_context,
        timeout=min(relay.timeout, TEST_TIMEOUT_SECONDS),
    )
    try:
        try:
            await client.connect()
            await client.ehlo()
        except ssl.SSLError as exc:
            raise ConnectionRefused(f"{where}: TLS failed ({exc.reason or exc})", "relay") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
            raise ConnectionRefused(
                f"{where}: cannot reach the server ({_why(exc)})", "relay"
            ) from None
        if relay.starttls and not relay.implicit_tls:
            if not client.supports_extension("starttls"):
                raise ConnectionRefused(
                    f"{where}: does not offer STARTTLS (turn it off only for a relay on this "
                    "machine)",
                    "relay",
                )
            try:
                await client.starttls(tls_context=relay.ssl_context)
            except (ssl.SSLError, aiosmtplib.SMTPException, OSError) as exc:
                raise ConnectionRefused(f"{where}: TLS failed ({_why(exc)})", "relay") from None
        if relay.username:
            try:
                await client.login(relay.username, relay.password or "")
            except aiosmtplib.SMTPAuthenticationError:
                raise ConnectionRefused(
                    f"{where}: login refused for {relay.username}", "relay"
                ) from None
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                raise ConnectionRefused(f"{where}: login failed ({_why(exc)})", "relay") from None
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text or type(exc).__name__
