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
from backend.domain.errors import InvalidField
from backend.email.imap_fetch import ImapAccount
from backend.email.smtp_send import Relay
from backend.store import Mailbox, Store

TEST_TIMEOUT_SECONDS = 15.0


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
    )


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
