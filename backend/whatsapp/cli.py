"""``ttydesk admin channel connect|list|disconnect`` and ``ttydesk admin templates sync``.

They work directly on the database (the backend need not run) and call the Graph API
at the configured URL. The access token is read from ``--token``, the environment
(``TTYDESK_WHATSAPP_ACCESS_TOKEN``) or a hidden prompt, and is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from backend import schemas

if TYPE_CHECKING:  # the command's own stack is loaded when it runs, not for `--help`
    from backend.config import Settings
    from backend.store import Store
    from backend.whatsapp.graph import GraphClient

    Work = Callable[[Store, GraphClient, Settings], Awaitable[int | None]]

TOKEN_ENV = "TTYDESK_WHATSAPP_ACCESS_TOKEN"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


REQUIRED_FOR_WHATSAPP = (
    "waba_id",
    "legal_name",
    "display_name",
    "website",
    "email",
    "country",
    "time_zone",
)


def add_channel_commands(
    admin_subparsers: Any,
    other_kinds: Sequence[Callable[[Any], None]] = (),
    other_actions: Sequence[Callable[[Any], None]] = (),
) -> None:
    """``other_kinds`` add ``connect KIND`` commands of the other channels (e-mail), and
    ``other_actions`` their own actions (``edit email``, ``remove email``): the channels
    do not import each other, the CLI passes them in."""
    channel = admin_subparsers.add_parser("channel", help="connect WhatsApp numbers, mailboxes")
    actions = channel.add_subparsers(dest="action", metavar="ACTION", required=True)

    conn = actions.add_parser(
        "connect",
        help="connect a WhatsApp Business Account and numbers (or `connect email`: a mailbox)",
    )
    if other_kinds:
        kinds = conn.add_subparsers(dest="kind", metavar="KIND", required=False)
        for add_kind in other_kinds:
            add_kind(kinds)
    # required for WhatsApp, checked in run_connect: `connect email` has its own options
    conn.add_argument("--waba-id", help="WhatsApp Business Account id")
    conn.add_argument("--token", help=f"Graph API access token (or ${TOKEN_ENV}, or a prompt)")
    conn.add_argument("--legal-name")
    conn.add_argument("--display-name")
    conn.add_argument("--website")
    conn.add_argument("--email")
    conn.add_argument("--country", help="two letters, e.g. ES")
    conn.add_argument("--time-zone", help="e.g. Europe/Madrid")
    conn.add_argument("--category", default="OTHER", help="WhatsApp business category")
    conn.add_argument("--description", default="")
    conn.add_argument(
        "--phone-number-id", action="append", default=[], help="an existing number (repeatable)"
    )
    conn.add_argument("--pin", help="6-digit two-step PIN (registers verified numbers)")
    conn.add_argument("--cc", help="new number: country calling code, e.g. 34")
    conn.add_argument("--phone-number", help="new number without the country code")
    conn.add_argument("--verified-name", help="new number: the display name to verify")
    conn.add_argument("--code-method", choices=("SMS", "VOICE"), default="SMS")
    conn.add_argument("--code", help="new number: the code received (else a prompt)")
    conn.add_argument("--json", action="store_true", help="print JSON")
    conn.set_defaults(func=run_connect)

    listing = actions.add_parser("list", help="connected channels and numbers")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_list)

    disc = actions.add_parser("disconnect", help="disconnect a number (its history stays)")
    disc.add_argument("phone_number_id", help="Meta's phone number id (or our number id)")
    disc.add_argument("--json", action="store_true", help="print JSON")
    disc.set_defaults(func=run_disconnect)
    for add_action in other_actions:
        add_action(actions)

    templates = admin_subparsers.add_parser("templates", help="message templates")
    template_actions = templates.add_subparsers(dest="action", metavar="ACTION", required=True)
    sync = template_actions.add_parser("sync", help="fetch every account's templates")
    sync.add_argument("--json", action="store_true", help="print JSON")
    sync.set_defaults(func=run_templates_sync)


# ------------------------------------------------------------------ plumbing


def _run(work: Work, settings: Settings | None = None) -> int:
    from backend.config import ConfigError, load_settings
    from backend.domain.errors import DomainError
    from backend.startup import StartupError, open_configured_store, store_for
    from backend.whatsapp.graph import GraphClient

    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            print(f"ttydesk: {exc}", file=sys.stderr)
            return EXIT_USAGE

    async def run() -> int | None:
        store = store_for(settings)
        store.set_usage_rules(
            limit=settings.usage_limit, subscription_start=settings.subscription_start
        )
        graph = GraphClient(
            settings.whatsapp_graph_url,
            settings.whatsapp_api_version,
            timeout=settings.whatsapp_send_timeout,
        )
        try:
            await open_configured_store(settings, store)
        except StartupError:
            await graph.close()
            raise
        try:
            return await work(store, graph, settings)
        finally:
            await graph.close()
            await store.close()

    try:
        result = asyncio.run(run())
    except StartupError as exc:
        print(f"ttydesk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except DomainError as exc:
        where = f" ({exc.field})" if exc.field else ""
        print(f"ttydesk: {exc.message}{where}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if result is None else int(result)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _print_channel(channel: schemas.Channel) -> None:
    reason = f" — {channel.status_reason}" if channel.status_reason else ""
    verified = "verified" if channel.verified_business else "not verified (50/24 h)"
    print(
        f"channel {channel.id}: {channel.display_name} (WABA {channel.waba_id}) {channel.status}{reason}; {verified}"
    )
    for number in channel.phone_numbers:
        since = f" since {number.connected_at:%Y-%m-%d %H:%M}" if number.connected_at else ""
        print(
            f"  number {number.id}: +{number.display_phone_number} "
            f"[{number.phone_number_id}] {number.status}{since} → {number.destination}"
        )


def _token(args: argparse.Namespace) -> str | None:
    if args.token:
        return args.token
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV]
    if sys.stdin.isatty():
        return getpass.getpass("Graph API access token: ").strip() or None
    return None


# ------------------------------------------------------------------ commands


def run_connect(args: argparse.Namespace, settings: Settings | None = None) -> int:
    missing = [name for name in REQUIRED_FOR_WHATSAPP if not getattr(args, name)]
    if missing:
        options = ", ".join("--" + name.replace("_", "-") for name in missing)
        print(f"ttydesk: connecting WhatsApp needs {options}.", file=sys.stderr)
        return EXIT_USAGE
    token = _token(args)
    if not token:
        print(f"ttydesk: give the access token with --token or ${TOKEN_ENV}.", file=sys.stderr)
        return EXIT_USAGE
    try:
        spec = schemas.ChannelCreate(
            business=schemas.BusinessDetails(
                legal_name=args.legal_name,
                display_name=args.display_name,
                display_name_differs=args.display_name != args.legal_name,
                website=args.website,
                email=args.email,
                country=args.country.upper(),
                time_zone=args.time_zone,
            ),
            access_token=token,
            waba_id=args.waba_id,
            profile=schemas.BusinessProfile(
                display_name=args.display_name, category=args.category, description=args.description
            ),
        )
    except ValueError as exc:
        print(f"ttydesk: {exc}".splitlines()[0], file=sys.stderr)
        return EXIT_USAGE

    async def work(store: Store, graph: GraphClient, _: Settings) -> int | None:
        from backend.whatsapp import connect

        channel = await connect.create_channel(store, graph, spec, actor_id=None)
        for pnid in args.phone_number_id:
            await connect.add_phone_number(
                store,
                graph,
                channel.id,
                schemas.PhoneNumberAdd(phone_number_id=pnid, pin=args.pin),
                actor_id=None,
            )
        if args.phone_number:
            number = await connect.add_phone_number(
                store,
                graph,
                channel.id,
                schemas.PhoneNumberAdd(
                    cc=args.cc, phone_number=args.phone_number, verified_name=args.verified_name
                ),
                actor_id=None,
            )
            await connect.request_code(
                store,
                graph,
                channel.id,
                number.id,
                schemas.RequestCode(code_method=args.code_method),
            )
            code = args.code or input(f"Code sent by {args.code_method}: ").strip()
            if not args.pin:
                print("ttydesk: registering a new number needs --pin.", file=sys.stderr)
                return EXIT_USAGE
            await connect.verify_code(
                store,
                graph,
                channel.id,
                number.id,
                schemas.VerifyCode(code=code, pin=args.pin),
                actor_id=None,
            )
        final = await store.get_channel(channel.id)
        if args.json:
            _print_json(final.model_dump(mode="json"))
        else:
            _print_channel(final)
        return None

    return _run(work, settings)


def run_list(args: argparse.Namespace, settings: Settings | None = None) -> int:
    async def work(store: Store, graph: GraphClient, settings: Settings) -> int | None:
        channels = await store.list_channels()
        if args.json:
            _print_json([c.model_dump(mode="json") for c in channels])
            return None
        if not channels:
            print("No channels; connect one with `ttydesk admin channel connect`.")
        for channel in channels:
            _print_channel(channel)
        if settings.public_url:
            print(f"Webhook URL for Meta: {settings.public_url}/webhooks/whatsapp")
        return None

    return _run(work, settings)


def run_disconnect(args: argparse.Namespace, settings: Settings | None = None) -> int:
    async def work(store: Store, graph: GraphClient, _: Settings) -> int | None:
        for channel in await store.list_channels():
            for number in channel.phone_numbers:
                if args.phone_number_id in (number.phone_number_id, str(number.id)):
                    updated = await store.disconnect_phone_number(
                        channel.id, number.id, actor_id=None
                    )
                    if args.json:
                        _print_json(updated.model_dump(mode="json"))
                    else:
                        print(f"Disconnected +{number.display_phone_number}; its history is kept.")
                    return None
        print(f"ttydesk: no connected number {args.phone_number_id}.", file=sys.stderr)
        return EXIT_FAILED

    return _run(work, settings)


def run_templates_sync(args: argparse.Namespace, settings: Settings | None = None) -> int:
    async def work(store: Store, graph: GraphClient, _: Settings) -> int | None:
        from backend.whatsapp.template_sync import sync_templates

        result = await sync_templates(store, graph)
        if args.json:
            _print_json(result.model_dump(mode="json"))
            return None
        sendable = sum(1 for t in result.templates if t.sendable)
        print(f"Synced {result.synced} templates ({sendable} approved, sendable).")
        return None

    return _run(work, settings)
