"""The real backend for a benchmark, in its own process pinned to one core.

``python -m tests.bench.server --port P --core 0 --db PATH [--seed]`` builds the app with
``create_app`` (the factory ``ttydesk serve`` uses), serves it on 127.0.0.1 and prints one
``READY {json}`` line (pid, tokens) once it accepts connections. ``--seed`` gives a fresh
database what a benchmark needs: agents with known tokens and a WhatsApp number connected
to the help desk (as the connection wizard leaves it). ``--database-url postgresql://…`` serves a PostgreSQL database
instead (``--db``'s folder still holds the media). ``--synchronous NORMAL`` runs the
writer as it was before commits were made durable, to measure what durability costs.
SIGINT stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.bench.common import (
    APP_SECRET,
    DISPLAY_NUMBER,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    WABA_ID,
    pin,
)


def settings_for(db: Path, port: int, **overrides: Any):
    from backend.config import Settings

    values: dict[str, Any] = {
        "data_dir": db.parent,
        "database": db,
        "host": "127.0.0.1",
        "port": port,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": VERIFY_TOKEN,
        # the Graph API is never reached in these benchmarks (no sends, no media)
        "whatsapp_graph_url": "http://127.0.0.1:9",
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)


def connect_number_tx(tx: Any, connected_at: datetime) -> int:
    """A channel with one business number connected to the help desk."""
    from backend.store.engine import iso

    row = tx.one("SELECT id FROM channels WHERE waba_id = ?", (WABA_ID,))
    channel_id = (
        row["id"]
        if row is not None
        else tx.insert(
            "channels",
            {
                "waba_id": WABA_ID,
                "access_token": "bench-access-token",
                "legal_name": "Acme Support S.L.",
                "display_name": "Acme Support",
                "status": "connected",
                "verified_business": 1,
                "created_at": tx.now_iso,
                "updated_at": tx.now_iso,
            },
        )
    )
    if tx.one("SELECT 1 FROM phone_numbers WHERE phone_number_id = ?", (PHONE_NUMBER_ID,)):
        return channel_id
    return tx.insert(
        "phone_numbers",
        {
            "channel_id": channel_id,
            "phone_number_id": PHONE_NUMBER_ID,
            "display_phone_number": "+" + DISPLAY_NUMBER,
            "verified_name": "Acme Support",
            "destination": "help_desk",
            "status": "connected",
            "connected_at": iso(connected_at),
            "created_at": tx.now_iso,
        },
    )


async def seed(store: Any, agents: int = 6) -> dict[str, str]:
    """Agents (one admin) and a connected number; returns the tokens."""
    from backend import schemas

    tokens: dict[str, str] = {}
    for index in range(agents):
        made = await store.create_agent(
            schemas.AgentCreate(
                name=f"Bench Agent {index}",
                role=schemas.Role.admin if index == 0 else schemas.Role.agent,
                skills=[],
            )
        )
        tokens["admin_token" if index == 0 else f"agent{index}_token"] = made.token
    connected_at = datetime.now(UTC) - timedelta(days=365)
    await store.write(lambda tx: connect_number_tx(tx, connected_at))
    return tokens


async def serve(args: argparse.Namespace) -> None:
    from aiohttp import web

    from backend.api.access_log import RequestLog
    from backend.app import create_app, settle_gc
    from backend.keys import STORE
    from backend.store import engine

    if args.synchronous:
        engine.WRITER_SYNCHRONOUS = args.synchronous  # the writer reads it when it starts
    db = Path(args.db).resolve()
    overrides = {"database": args.database_url} if args.database_url else {}
    app = create_app(settings_for(db, args.port, **overrides))
    app.on_startup.append(settle_gc)  # as ttydesk serve does
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=logging.getLogger("aiohttp.access") if args.access_log else None,
        access_log_class=RequestLog,  # serve's
    )
    await runner.setup()  # runs the cleanup contexts: the store is open from here
    info: dict[str, Any] = {"pid": os.getpid()}
    if args.seed:
        info.update(await seed(app[STORE]))
    site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=1024, reuse_address=True)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("READY " + json.dumps(info), flush=True)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--db", required=True)
    parser.add_argument(
        "--database-url", help="a postgresql:// URL to serve instead of --db (its folder: media)"
    )
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--synchronous", choices=("NORMAL", "FULL"), help="the writer's setting")
    parser.add_argument(
        "--access-log", action="store_true", help="log every request at INFO, as `serve` does"
    )
    args = parser.parse_args()
    pin(args.core)
    from backend.store import memory_statistics_off

    memory_statistics_off()  # as `ttydesk serve` does
    logging.basicConfig(
        level=logging.INFO if args.access_log else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
