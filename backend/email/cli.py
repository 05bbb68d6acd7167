"""``ttydesk admin channel connect email``: a support mailbox, its IMAP account and relay;
``edit email`` changes one (a changed login tried first), ``remove email`` disconnects
one (its threads are kept).

The logins are tried first (``connection.check_connection``); only a connection that
works is saved, on the database (the backend need not run), and a running server follows
within a few seconds (``channel.watch_mailboxes``). The passwords are read from the environment
(``TTYDESK_IMAP_PASSWORD``, ``TTYDESK_SMTP_PASSWORD``) or a hidden prompt — never from
the command line, which every user sees in ``ps`` — and never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import ssl
import sys
from typing import TYPE_CHECKING, Any

from backend import schemas

if TYPE_CHECKING:  # the mail stack is loaded when a command runs, not for `--help`
    from backend.config import Settings
    from backend.email.connection import MailConnection
    from backend.store import SqliteStore

IMAP_PASSWORD_ENV = "TTYDESK_IMAP_PASSWORD"
SMTP_PASSWORD_ENV = "TTYDESK_SMTP_PASSWORD"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_connect_email(kinds: Any) -> None:
    email = kinds.add_parser(
        "email",
        help="a support mailbox: its IMAP account and the relay replies go out through",
        description="The IMAP and relay logins are tried before anything is saved. "
        f"Passwords: ${IMAP_PASSWORD_ENV} and ${SMTP_PASSWORD_ENV}, else a hidden prompt.",
    )
    email.add_argument("--address", required=True, help="the support address, e.g. help@acme.es")
    email.add_argument(
        "--display-name", dest="mail_display_name", metavar="NAME", help="the name replies carry"
    )
    email.add_argument("--imap-host", help="the hosted mailbox's IMAP server")
    email.add_argument("--imap-port", type=int, default=993)
    email.add_argument("--imap-user", help="IMAP login (default: the address)")
    email.add_argument("--imap-folder", default="INBOX")
    email.add_argument(
        "--imap-plain", action="store_true", help="no TLS (only for a server on this machine)"
    )
    email.add_argument("--smtp-host", help="the company's relay")
    email.add_argument("--smtp-port", type=int, default=587, help="587 (STARTTLS) or 465 (TLS)")
    email.add_argument("--smtp-user", help="relay login (none: the relay takes mail unsigned)")
    email.add_argument(
        "--smtp-no-starttls",
        action="store_true",
        help="no STARTTLS (only for a relay on this machine)",
    )
    email.add_argument("--json", action="store_true", help="print JSON")
    email.set_defaults(func=run_connect_email)


def _password(env: str, prompt: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env]
    if sys.stdin.isatty():
        return getpass.getpass(prompt) or None
    return None


def connection_from(args: argparse.Namespace) -> MailConnection | str:
    """The connection the options describe, or the one line saying what is missing."""
    from backend.email.connection import MailConnection
    from backend.email.imap_fetch import ImapAccount
    from backend.email.smtp_send import Relay

    if not args.imap_host and not args.smtp_host:
        return "give --imap-host, --smtp-host or both."
    imap = relay = None
    if args.imap_host:
        password = _password(IMAP_PASSWORD_ENV, "IMAP password: ")
        if not password:
            return f"give the IMAP password in ${IMAP_PASSWORD_ENV} (or at the prompt)."
        imap = ImapAccount(
            host=args.imap_host,
            port=args.imap_port,
            username=args.imap_user or args.address,
            password=password,
            folder=args.imap_folder,
            ssl_context=None if args.imap_plain else ssl.create_default_context(),
        )
    if args.smtp_host:
        smtp_password = None
        if args.smtp_user:
            smtp_password = _password(SMTP_PASSWORD_ENV, "Relay password: ")
            if not smtp_password:
                return f"give the relay password in ${SMTP_PASSWORD_ENV} (or at the prompt)."
        relay = Relay(
            host=args.smtp_host,
            port=args.smtp_port,
            username=args.smtp_user,
            password=smtp_password,
            starttls=not args.smtp_no_starttls,
            implicit_tls=args.smtp_port == 465,
        )
    return MailConnection(args.address, args.mail_display_name, imap, relay)


def run_connect_email(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from backend.config import ConfigError, load_settings
    from backend.domain.errors import DomainError
    from backend.email.connection import (
        ConnectionRefused,
        check_address,
        check_connection,
        settings_of,
    )
    from backend.startup import StartupError, open_store, prepare_folders
    from backend.store import SqliteStore

    connection = connection_from(args)
    if isinstance(connection, str):
        print(f"ttydesk: {connection}", file=sys.stderr)
        return EXIT_USAGE
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            print(f"ttydesk: {exc}", file=sys.stderr)
            return EXIT_USAGE

    async def run() -> dict[str, Any]:
        check_address(connection.address)
        await check_connection(connection)  # before the database is even opened
        prepare_folders(settings.data_dir, settings.database_path)
        store = SqliteStore(settings.database_path)
        await open_store(store)
        try:
            mailbox = await store.connect_mailbox(
                connection.address, connection.display_name, settings_of(connection)
            )
        finally:
            await store.close()
        return {
            "id": mailbox.id,
            "address": mailbox.address,
            "display_name": mailbox.display_name,
            "imap": connection.imap is not None,
            "relay": connection.relay is not None,
        }

    try:
        saved = asyncio.run(run())
    except ConnectionRefused as exc:
        print(f"ttydesk: not saved: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except StartupError as exc:
        print(f"ttydesk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except DomainError as exc:
        where = f" ({exc.field})" if exc.field else ""
        print(f"ttydesk: {exc.message}{where}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(saved, indent=2, ensure_ascii=False))
    else:
        ways = " and ".join(
            way for way, present in (("IMAP", saved["imap"]), ("relay", saved["relay"])) if present
        )
        print(
            f"mailbox {saved['id']}: {saved['address']} connected ({ways} login tested); "
            f"{RUNNING_SERVER}."
        )
    return EXIT_OK


# ------------------------------------------------------------------ edit, remove

RUNNING_SERVER = "a running server follows within a few seconds"


def add_email_actions(actions: Any) -> None:
    """``admin channel edit email`` and ``admin channel remove email``."""
    edit = actions.add_parser("edit", help="change a mailbox (`edit email`)")
    kinds = edit.add_subparsers(dest="kind", metavar="KIND", required=True)
    email = kinds.add_parser(
        "email",
        help="a mailbox's address, name, IMAP account, folder, poll interval or relay",
        description="Only the options given change. A changed login is tried before it is "
        f"saved. New passwords: ${IMAP_PASSWORD_ENV} and ${SMTP_PASSWORD_ENV} (else kept).",
    )
    email.add_argument("--address", required=True, help="the mailbox's address now")
    email.add_argument("--new-address", help="the support address it takes instead")
    email.add_argument("--display-name", dest="mail_display_name", metavar="NAME")
    email.add_argument("--imap-host")
    email.add_argument("--imap-port", type=int)
    email.add_argument("--imap-user")
    email.add_argument("--imap-folder")
    email.add_argument("--poll-seconds", type=int, help="how often a server without IDLE is asked")
    email.add_argument("--imap-plain", action="store_const", const=False, dest="imap_tls")
    email.add_argument("--no-imap", action="store_true", help="stop fetching (mail is forwarded)")
    email.add_argument("--smtp-host")
    email.add_argument("--smtp-port", type=int)
    email.add_argument("--smtp-user")
    email.add_argument(
        "--smtp-no-starttls", action="store_const", const=False, dest="smtp_starttls"
    )
    email.add_argument("--no-relay", action="store_true", help="send through the [email] relay")
    email.add_argument("--json", action="store_true", help="print JSON")
    email.set_defaults(func=run_edit_email)

    remove = actions.add_parser("remove", help="disconnect a mailbox (`remove email`)")
    kinds = remove.add_subparsers(dest="kind", metavar="KIND", required=True)
    gone = kinds.add_parser(
        "email",
        help="disconnect a mailbox: no more fetching, forwarded mail to it refused, nothing "
        "sent from it; its threads and messages are kept",
    )
    gone.add_argument("--address", required=True)
    gone.add_argument("--json", action="store_true", help="print JSON")
    gone.set_defaults(func=run_remove_email)


def update_from(args: argparse.Namespace) -> schemas.MailboxUpdate:
    """The options given, as the API's edit (a password only from the environment)."""
    given: dict[str, Any] = {
        "address": args.new_address,
        "display_name": args.mail_display_name,
        "imap_host": args.imap_host,
        "imap_port": args.imap_port,
        "imap_user": args.imap_user,
        "imap_folder": args.imap_folder,
        "imap_poll_seconds": args.poll_seconds,
        "imap_tls": args.imap_tls,
        "imap_password": os.environ.get(IMAP_PASSWORD_ENV) or None,
        "smtp_host": args.smtp_host,
        "smtp_port": args.smtp_port,
        "smtp_user": args.smtp_user,
        "smtp_starttls": args.smtp_starttls,
        "smtp_password": os.environ.get(SMTP_PASSWORD_ENV) or None,
    }
    values = {name: value for name, value in given.items() if value is not None}
    if args.no_imap:
        values["imap_host"] = None
    if args.no_relay:
        values["smtp_host"] = None
    return schemas.MailboxUpdate(**values)


def _run_on_store(settings: Settings | None, work: Any) -> tuple[int, dict[str, Any] | None]:
    """Run ``work(store, settings)`` on the database; one line on stderr if it fails."""
    from backend.config import ConfigError, load_settings
    from backend.domain.errors import DomainError
    from backend.email.connection import ConnectionRefused
    from backend.startup import StartupError, open_store, prepare_folders
    from backend.store import SqliteStore

    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            print(f"ttydesk: {exc}", file=sys.stderr)
            return EXIT_USAGE, None
    ready = settings

    async def run() -> dict[str, Any]:
        prepare_folders(ready.data_dir, ready.database_path)
        store = SqliteStore(ready.database_path)
        await open_store(store)
        try:
            return await work(store, ready)
        finally:
            await store.close()

    try:
        return EXIT_OK, asyncio.run(run())
    except ConnectionRefused as exc:
        print(f"ttydesk: not saved: {exc}", file=sys.stderr)
    except StartupError as exc:
        print(f"ttydesk: {exc}", file=sys.stderr)
    except DomainError as exc:
        where = f" ({exc.field})" if exc.field else ""
        print(f"ttydesk: {exc.message}{where}", file=sys.stderr)
    return EXIT_FAILED, None


async def _mailbox_id(store: SqliteStore, address: str) -> int:
    from backend.domain.errors import NotFound

    key = address.strip().lower()
    for mailbox in await store.mailboxes():
        if mailbox.address == key:
            return mailbox.id
    raise NotFound(f"There is no mailbox {address[:80]!r}.", code="mailbox_not_found")


# the options that set up what ``--no-imap`` / ``--no-relay`` drop (argparse dests)
_IMAP_OPTIONS = ("imap_host", "imap_port", "imap_user", "imap_folder", "poll_seconds", "imap_tls")
_RELAY_OPTIONS = ("smtp_host", "smtp_port", "smtp_user", "smtp_starttls")


def contradiction(args: argparse.Namespace) -> str | None:
    """The line refusing ``--no-imap`` or ``--no-relay`` given with an option of what it
    drops (which one was meant is not known), or None."""
    if args.no_imap and any(getattr(args, name) is not None for name in _IMAP_OPTIONS):
        return "--no-imap stops fetching: give no --imap-* or --poll-seconds option with it."
    if args.no_relay and any(getattr(args, name) is not None for name in _RELAY_OPTIONS):
        return "--no-relay drops the relay: give no --smtp-* option with it."
    return None


def run_edit_email(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from pydantic import ValidationError

    from backend.email.connection import edit_mailbox, refuse_configured

    refused = contradiction(args)
    if refused is not None:
        print(f"ttydesk: {refused}", file=sys.stderr)
        return EXIT_USAGE
    try:
        update = update_from(args)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error.get("loc", ()))
        print(f"ttydesk: {where}: {error.get('msg', 'invalid')}", file=sys.stderr)
        return EXIT_USAGE

    async def edit(store: SqliteStore, ready: Settings) -> dict[str, Any]:
        mailbox_id = await _mailbox_id(store, args.address)
        if update.address and update.address.strip().lower() != args.address.strip().lower():
            refuse_configured(
                ready.email.addresses, args.address.strip().lower(), "given another address"
            )
        saved = await store.mailbox_connection(mailbox_id)
        mailbox, _, after = await edit_mailbox(store, saved, update)
        return {
            "id": mailbox.id,
            "address": mailbox.address,
            "display_name": mailbox.display_name,
            "imap": after.imap is not None,
            "relay": after.relay is not None,
        }

    code, saved = _run_on_store(settings, edit)
    if saved is None:
        return code
    if args.json:
        print(json.dumps(saved, indent=2, ensure_ascii=False))
    else:
        print(f"mailbox {saved['id']}: {saved['address']} saved; {RUNNING_SERVER}.")
    return EXIT_OK


def run_remove_email(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from backend.email.connection import refuse_configured

    async def remove(store: SqliteStore, ready: Settings) -> dict[str, Any]:
        mailbox_id = await _mailbox_id(store, args.address)
        refuse_configured(ready.email.addresses, args.address.strip().lower(), "removed")
        mailbox = await store.remove_mailbox(mailbox_id)
        return {"id": mailbox.id, "address": mailbox.address, "removed": True}

    code, removed = _run_on_store(settings, remove)
    if removed is None:
        return code
    if args.json:
        print(json.dumps(removed, indent=2, ensure_ascii=False))
    else:
        print(
            f"mailbox {removed['id']}: {removed['address']} disconnected; its threads are kept "
            f"(connect the address again to bring them back); {RUNNING_SERVER}."
        )
    return EXIT_OK
