"""``ttydesk admin channel connect email``: a support mailbox, its IMAP account and relay.

The logins are tried first (``connection.check_connection``); only a connection that
works is saved, on the database (the backend need not run), and the running server uses
it from its next start (``channel.py``). The passwords are read from the environment
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
from typing import Any

from backend.config import ConfigError, Settings, load_settings
from backend.domain.errors import DomainError
from backend.email.connection import (
    ConnectionRefused,
    MailConnection,
    check_address,
    check_connection,
    settings_of,
)
from backend.email.imap_fetch import ImapAccount
from backend.email.smtp_send import Relay
from backend.startup import StartupError, open_store, prepare_folders
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
            "the server uses it from its next start."
        )
    return EXIT_OK
