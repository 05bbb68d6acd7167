"""``ttydesk``: serve | tui (the default) | admin … | simulator | demo.

Heavy parts are imported inside the command that needs them: ``ttydesk`` alone starts the
inbox without loading the server stack, and admin commands open the database in-process
(no running server needed).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import importlib
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backend.config import Settings
    from backend.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _optional(module: str, function: str) -> Callable[..., None] | None:
    """A command-registering function of another part, if that part is installed yet."""
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise
    return getattr(found, function, None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ttydesk", description="A WhatsApp help desk for the terminal."
    )
    # `ttydesk --server URL` starts the inbox, as `ttydesk tui --server URL` does; kept apart
    # (dest top_*) so the tui command's own defaults cannot wipe them (see parse_args)
    _add_tui_options(parser, dest_prefix="top_")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the backend (REST API, WebSocket, webhook)")
    serve.add_argument("--host", help="address to listen on (TTYDESK_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (TTYDESK_PORT)")
    serve.set_defaults(func=cmd_serve)

    tui = commands.add_parser("tui", help="start the terminal inbox (the default)")
    _add_tui_options(tui)
    tui.set_defaults(func=cmd_tui)

    admin = commands.add_parser("admin", help="agents, contacts, usage, channels (on the database)")
    areas = admin.add_subparsers(dest="area", metavar="AREA", required=True)

    agent = areas.add_parser("agent", help="create agents, list them, rotate tokens")
    agent_actions = agent.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = agent_actions.add_parser("add", help="create an agent; prints its token once")
    add.add_argument("name")
    add.add_argument("--role", choices=("agent", "admin"), default="agent")
    add.add_argument("--skills", default="", help="comma-separated, e.g. lang:es,billing")
    add.add_argument("--email")
    add.add_argument("--team")
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(func=cmd_agent_add)
    listing = agent_actions.add_parser("list", help="list agents")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_agent_list)
    token = agent_actions.add_parser("token", help="issue a new token (the old one stops working)")
    token.add_argument("name", help="agent name or id")
    token.add_argument("--json", action="store_true", help="print JSON")
    token.set_defaults(func=cmd_agent_token)

    contacts = areas.add_parser("contacts", help="import contacts")
    contact_actions = contacts.add_subparsers(dest="action", metavar="ACTION", required=True)
    importing = contact_actions.add_parser(
        "import", help="import a CSV (first_name,last_name,email,phone,mobile_phone,country,…)"
    )
    importing.add_argument("file", type=Path)
    importing.add_argument("--json", action="store_true", help="print the report as JSON")
    importing.set_defaults(func=cmd_contacts_import)

    usage = areas.add_parser(
        "usage",
        help="conversations used this period and the limit; --month: what WhatsApp bills",
    )
    usage.add_argument(
        "--month",
        metavar="YYYY-MM",
        help="messages per category and number, billable and free, the estimate (with a "
        "rate card) and the trend, for the usage month starting in YYYY-MM",
    )
    usage.add_argument("--json", action="store_true", help="print JSON")
    usage.set_defaults(func=cmd_usage)

    report = areas.add_parser(
        "report",
        help="a report (messages_per_day, response_by_agent, cost_per_day, …) as a table, "
        "CSV or JSON",
    )
    report.add_argument("name", help="the report; `ttydesk admin report list` lists them")
    report.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first UTC day")
    report.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="last UTC day")
    report.add_argument("--agent", help="an agent id: only the tickets they own")
    report.add_argument("--number", help="a business number, e.g. +15550001111")
    report.add_argument("--view", help="a view id (builtin:all_open, or a shared view's number)")
    shape = report.add_mutually_exclusive_group()
    shape.add_argument("--csv", action="store_true", help="print CSV: the header, then the rows")
    shape.add_argument("--json", action="store_true", help="print JSON")
    report.set_defaults(func=cmd_report)

    migrate = areas.add_parser(
        "migrate",
        help="copy this SQLite database into an empty PostgreSQL one (stop serve first)",
    )
    migrate.add_argument("--to", required=True, metavar="postgresql://…", help="the target")
    migrate.set_defaults(func=cmd_migrate)

    add_channel_commands = _optional("backend.whatsapp.cli", "add_channel_commands")
    if add_channel_commands is not None:
        add_connect_email = _optional("backend.email.cli", "add_connect_email")
        add_email_actions = _optional("backend.email.cli", "add_email_actions")
        add_channel_commands(
            areas,
            [add_connect_email] if add_connect_email else [],
            [add_email_actions] if add_email_actions else [],
        )
    add_simulator_commands = _optional("backend.simulator.cli", "add_simulator_commands")
    if add_simulator_commands is not None:
        add_simulator_commands(commands)
    # `ttydesk demo`: backend + simulator + demo data + the inbox
    add_demo_commands = _optional("backend.demo.cli", "add_demo_commands")
    if add_demo_commands is not None:
        add_demo_commands(commands)
    return parser


def _add_tui_options(parser: argparse.ArgumentParser, dest_prefix: str = "") -> None:
    parser.add_argument(
        "--server", dest=f"{dest_prefix}server", help="backend URL (TTYDESK_SERVER)"
    )
    parser.add_argument(
        "--token",
        dest=f"{dest_prefix}token",
        help="agent token; prefer TTYDESK_TOKEN, the saved config or the prompt, "
        "since the command line is visible to every user in `ps`",
    )


TUI_OPTIONS = ("--server", "--token")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line. ``ttydesk`` alone (or with only ``--server``/``--token``) starts
    the inbox: it is parsed without building every command, whose modules would load the
    server stack (~0.5 s before the inbox's first frame)."""
    if _inbox_only(argv):
        parser = argparse.ArgumentParser(prog="ttydesk")
        _add_tui_options(parser)
        return parser.parse_args(argv, argparse.Namespace(command=None))
    parser = build_parser()
    args = parser.parse_args(argv)
    given = {name: getattr(args, f"top_{name}") for name in ("server", "token")}
    if args.command in (None, "tui"):
        for name, value in given.items():  # the command's own value, if any, wins
            if getattr(args, name, None) is None:
                setattr(args, name, value)
    elif any(value is not None for value in given.values()):
        parser.error(
            f"--server and --token are the inbox's options (ttydesk [tui] --server URL); "
            f"`{args.command}` does not take them"
        )
    return args


def _inbox_only(argv: list[str]) -> bool:
    at = 0
    while at < len(argv):
        option, equals, _ = argv[at].partition("=")
        if option not in TUI_OPTIONS:
            return False
        at += 1 if equals else 2
    return at == len(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        return cmd_tui(args)
    result = args.func(args)
    return EXIT_OK if result is None else int(result)


# ------------------------------------------------------------------ serve and tui


def _settings(**overrides: Any) -> Settings | None:
    from backend.config import ConfigError, load_settings

    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        print(f"ttydesk: {exc}", file=sys.stderr)
        return None


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from aiohttp import web

    from backend.api.access_log import RequestLog
    from backend.app import create_app, settle_gc
    from backend.startup import StartupError, check_port, listen_error
    from backend.store import memory_statistics_off

    memory_statistics_off()  # before anything opens a connection
    settings = _settings(host=args.host, port=args.port)
    if settings is None:
        return EXIT_USAGE
    if not settings.whatsapp_app_secret.get_secret_value():
        # without the key no webhook signature can be checked: refuse rather than serve one
        print(
            "ttydesk: no WhatsApp app secret (set TTYDESK_WHATSAPP_APP_SECRET or "
            "whatsapp_app_secret in ttydesk.toml): webhooks could not be verified",
            file=sys.stderr,
        )
        return EXIT_USAGE
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        check_port(settings.host, settings.port)  # before anything is opened
        app = create_app(settings)
        app.on_startup.append(settle_gc)  # after the store and services have started
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            access_log_class=RequestLog,
            print=lambda _: print(
                f"ttydesk backend on http://{settings.host}:{settings.port} "
                f"(database {settings.database_path})",
                flush=True,
            ),
        )
    except StartupError as exc:
        print(f"ttydesk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:  # the port was taken between the check and the listen
        print(f"ttydesk: {listen_error(exc, settings.host, settings.port)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_tui(args: argparse.Namespace) -> int:
    # the cyclic collector finds no garbage among the objects the inbox's modules make as
    # they load, and scanning them took ~15 % of the start's CPU: off until the app is
    # mounted (TtydeskApp.on_mount freezes what was made and turns it back on)
    gc.disable()
    from tui.app import run

    return run(args.server, args.token)


# ------------------------------------------------------------------ admin


def _with_store(work: Callable[[Store], Awaitable[int | None]]) -> int:
    from backend.domain.errors import DomainError
    from backend.startup import StartupError, open_configured_store, store_for

    settings = _settings()
    if settings is None:
        return EXIT_USAGE

    async def run() -> int | None:
        store = store_for(settings)
        if hasattr(store, "set_usage_rules"):
            store.set_usage_rules(
                limit=settings.usage_limit, subscription_start=settings.subscription_start
            )
        await open_configured_store(settings, store)
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        result = asyncio.run(run())
    except StartupError as exc:
        print(f"ttydesk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except DomainError as exc:
        print(f"ttydesk: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if result is None else result


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False))
             for row in [headers, *rows]]  # fmt: skip
    return "\n".join(line.rstrip() for line in lines)


def cmd_agent_add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from backend import schemas

    skills = [skill.strip() for skill in args.skills.split(",") if skill.strip()]
    try:
        spec = schemas.AgentCreate(
            name=args.name, role=args.role, skills=skills, email=args.email, team=args.team
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"ttydesk: {first['loc'][0]}: {first['msg']}", file=sys.stderr)
        return EXIT_USAGE

    async def add(store: Store) -> None:
        made = await store.create_agent(spec)
        await store.record_audit(None, "agent.created", f"agent:{made.agent.id}", via="cli")
        if args.json:
            _print_json(made.model_dump(mode="json"))
            return
        agent = made.agent
        print(f"Created {agent.role.value} {agent.name!r} (id {agent.id}).")
        print(f"Token (shown once; only its hash is stored): {made.token}")

    return _with_store(add)


def cmd_agent_list(args: argparse.Namespace) -> int:
    async def listing(store: Store) -> None:
        agents = await store.list_agents()
        if args.json:
            _print_json([agent.model_dump(mode="json") for agent in agents])
            return
        rows = [
            [
                str(a.id),
                a.name,
                a.role.value,
                a.availability.value,
                ",".join(a.skills) or "-",
                a.team or "-",
                str(a.open_tickets),
            ]
            for a in agents
        ]
        print(_table(rows, ["ID", "NAME", "ROLE", "AVAILABILITY", "SKILLS", "TEAM", "OPEN"]))

    return _with_store(listing)


def cmd_agent_token(args: argparse.Namespace) -> int:
    async def rotate(store: Store) -> None:
        agent = await store.find_agent(args.name)
        token = await store.rotate_token(agent.id)
        await store.record_audit(None, "agent.token_rotated", f"agent:{agent.id}", via="cli")
        if args.json:
            _print_json({"agent_id": agent.id, "name": agent.name, "token": token})
            return
        print(f"New token for {agent.name!r} (the old one no longer works; shown once):")
        print(token)

    return _with_store(rotate)


def cmd_contacts_import(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"ttydesk: cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_USAGE

    async def run(store: Store) -> int:
        report = await store.import_contacts(text)
        await store.record_audit(
            None,
            "contacts.imported",
            str(args.file.name),
            imported=report.imported,
            updated=report.updated,
            refused=len(report.errors),
        )
        if args.json:
            _print_json(report.model_dump(mode="json"))
        else:
            print(
                f"Imported {report.imported} new contacts, updated {report.updated}; "
                f"{len(report.errors)} rows refused."
            )
            for error in report.errors:
                where = f" {error.field}:" if error.field else ""
                print(f"  line {error.line}:{where} {error.message}")
        return EXIT_FAILED if report.errors else EXIT_OK

    return _with_store(run)


def cmd_usage(args: argparse.Namespace) -> int:
    if args.month is not None:
        return cmd_usage_month(args)

    async def show(store: Store) -> int | None:
        if not hasattr(store, "usage"):
            print("ttydesk: this build has no usage meter.", file=sys.stderr)
            return EXIT_FAILED
        usage = await store.usage()
        if args.json:
            _print_json(usage.model_dump(mode="json"))
            return
        print(
            f"{usage.used}/{usage.limit} conversations this period "
            f"(since {usage.period_start}, resets on {usage.resets_on}); "
            f"{usage.business_initiated_24h} business-initiated in the last 24 h."
        )

    return _with_store(show)


def cmd_migrate(args: argparse.Namespace) -> int:
    """Copy the SQLite database into an empty PostgreSQL one (``pg_copy``): migrated first
    on both sides, under the SQLite database's serving lock (no ``serve`` writes to it
    meanwhile), the rows counted on both sides."""
    from backend.config import POSTGRESQL_SCHEMES
    from backend.startup import ServingLock, StartupError, open_postgresql, open_store
    from backend.store import CopyError, PostgresStore, SqliteStore

    settings = _settings()
    if settings is None:
        return EXIT_USAGE
    if args.to.split("://", 1)[0].lower() not in POSTGRESQL_SCHEMES:
        print("ttydesk: --to must be a postgresql:// URL", file=sys.stderr)
        return EXIT_USAGE
    if settings.database_url is not None:
        print(
            "ttydesk: the database to copy from is PostgreSQL already: set TTYDESK_DATABASE "
            "to the SQLite file",
            file=sys.stderr,
        )
        return EXIT_USAGE
    source = settings.database_path
    if not source.is_file():
        print(f"ttydesk: there is no SQLite database at {source}", file=sys.stderr)
        return EXIT_FAILED

    async def run() -> dict[str, int]:
        store = SqliteStore(source)
        await open_store(store)  # brings an older database to this version's schema
        await store.close()
        target = PostgresStore(args.to, pool_size=1)
        await open_postgresql(target.engine)  # migrates it
        try:
            return await target.copy_from_sqlite(source)
        finally:
            await target.close()

    lock = ServingLock(source)
    try:
        lock.acquire()
        try:
            counts = asyncio.run(run())
        finally:
            lock.release()
    except (StartupError, CopyError) as exc:
        print(f"ttydesk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    rows = sum(counts.values())
    print(
        f"Copied {rows} rows of {len(counts)} tables "
        f"({counts.get('threads', 0)} threads, {counts.get('messages', 0)} messages) "
        "and checked their counts."
    )
    return EXIT_OK


def _money(amount: Any, currency: str | None) -> str:
    return "–" if amount is None else f"{amount} {currency}"


def cmd_usage_month(args: argparse.Namespace) -> int:
    from backend.api.usage import pricing_rules
    from backend.domain.pricing import parse_month

    settings = _settings()
    if settings is None:
        return EXIT_USAGE

    async def show(store: Store) -> int | None:
        view = await store.usage_month(parse_month(args.month), pricing_rules(settings))
        if args.json:
            _print_json(view.model_dump(mode="json"))
            return None
        print(_usage_month_text(view))
        return None

    return _with_store(show)


def _usage_month_text(view: Any) -> str:
    money = view.rate_card
    lines = [
        f"WhatsApp messages, usage month {view.month} "
        f"({view.period_start} to {view.resets_on}, exclusive)",
        (
            f"Estimate by the rate card, in {view.currency}."
            if money
            else "No rate card (setting rate_card): counts only."
        ),
        "",
    ]
    counted = ["messages", "billable", "free", "unknown", "in_allowance", "charged"]
    headers = ["number", "category", *(name.replace("_", " ") for name in counted)]
    headers += ["estimate"] if money else []
    rows = []
    for line in [*view.lines, None]:
        tally = line or view.total
        row = [line.business_number if line else "total", line.category if line else ""]
        row += [str(getattr(tally, name)) for name in counted]
        if money:
            row.append(str(tally.estimate))
        rows.append(row)
    lines.append(_table(rows, headers))
    if money and view.total.unpriced:
        lines.append(f"{view.total.unpriced} charged messages have no price on the rate card.")
    lines.append(
        f"Free allowance: {view.free_service_messages_per_month} service messages per number."
    )
    change = f"{view.messages_change:+d} messages"
    if view.messages_change_percent is not None:
        change += f" ({view.messages_change_percent:+.1f} %)"
    if money and view.estimate_change is not None:
        change += f", {view.estimate_change:+} {view.currency}"
    lines.append(
        f"Against {view.previous_month} ({view.previous.messages} messages"
        + (f", {_money(view.previous.estimate, view.currency)}" if money else "")
        + f"): {change}."
    )
    if view.budget is not None:
        budget = view.budget
        share = budget.spent * 100 / budget.amount
        warning = {"ok": "", "warning": " — over 80 %", "exceeded": " — budget exceeded"}
        lines.append(
            f"Budget: {budget.spent} of {budget.amount} {budget.currency} "
            f"({share:.0f} %){warning[budget.level]}."
        )
    return "\n".join(lines)


def cmd_report(args: argparse.Namespace) -> int:
    from backend.api.usage import pricing_rules
    from backend.domain import reports as rules
    from backend.store import ReportFilters

    if args.name == "list":
        for spec in rules.REPORTS.values():
            print(f"{spec.name}  {spec.title}")
        return EXIT_OK
    settings = _settings()
    if settings is None:
        return EXIT_USAGE

    async def show(store: Store) -> int | None:
        from backend import schemas

        # the CLI reads as an admin no agent is: the built-in views and the shared ones
        viewer = schemas.Agent(
            id=0,
            name="ttydesk admin",
            role=schemas.Role.admin,
            availability=schemas.Availability.available,
            notify=schemas.NotificationChoice.mine,
            created_at=store.now(),
        )
        rules.report_spec(args.name)
        filters = ReportFilters(
            days=rules.date_range(args.date_from, args.date_to, now=store.now()),
            agent_id=rules.agent_filter(args.agent, me=0),
            business_number=rules.number_filter(args.number),
            view_id=args.view,
        )
        chosen = pricing_rules(settings) if args.name == "cost_per_day" else None
        report = await store.report(args.name, filters, viewer=viewer, pricing_rules=chosen)
        if args.json:
            _print_json(report.model_dump(mode="json"))
        elif args.csv:
            out = csv.writer(sys.stdout, lineterminator="\n")
            out.writerow([column.label for column in report.columns])
            out.writerows(["" if cell is None else cell for cell in row] for row in report.rows)
        else:
            print(_report_text(report))
        return None

    return _with_store(show)


def _report_text(report: Any) -> str:
    lines = [
        f"{report.title}, {report.date_from} to {report.date_to} ({report.time_zone} days)",
    ]
    narrowed = [
        f"{name} {value}"
        for name, value in (
            ("agent", report.agent_id),
            ("number", report.business_number),
            ("view", report.view_id),
        )
        if value is not None
    ]
    if narrowed:
        lines.append("Only " + ", ".join(narrowed) + ".")
    if report.currency:
        lines.append(f"Money in {report.currency}.")
    lines.append("")
    cells = [["–" if cell is None else str(cell) for cell in row] for row in report.rows]
    lines.append(_table(cells, [column.label for column in report.columns]))
    lines += report.notes
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
