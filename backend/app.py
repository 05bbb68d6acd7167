"""``create_app(settings)``: the one factory used by ``ttydesk serve``, the demo and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from aiohttp import WSCloseCode, web

from backend.api import (
    agents,
    audit,
    channels,
    drafts,
    email_messages,
    errors,
    inserts,
    mailboxes,
    media_files,
    messages,
    meta,
    records,
    reports,
    reveal,
    search,
    templates,
    threads,
    tickets,
    uploads,
    usage,
    views,
    webhook,
    ws,
)
from backend.api.auth import auth_middleware
from backend.channels import Channel
from backend.config import Settings
from backend.domain.clock import Clock, SystemClock
from backend.email.channel import EmailChannel
from backend.hub import Hub
from backend.keys import HUB, SERVICES, SETTINGS, STORE, WEBSOCKETS
from backend.schemas import EventType
from backend.startup import (
    ServingLock,
    open_configured_store,
    open_store,
    prepare_folders,
    store_for,
)
from backend.store import CommittedEvent, SqliteStore
from backend.whatsapp.channel import WhatsAppChannel

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 600.0
MIN_SNOOZE_WAIT = 0.05  # seconds: a snooze due now is woken after this, not in a busy loop

# the ways customers reach the desk (backend/channels.py); add a line per channel
CHANNELS: tuple[Channel, ...] = (WhatsAppChannel(), EmailChannel())

# one route table per API module; add a line per new module
ROUTE_TABLES = [
    meta.routes,
    agents.routes,
    ws.routes,
    threads.routes,
    tickets.routes,
    views.routes,
    search.routes,
    records.routes,
    inserts.routes,
    audit.routes,
    drafts.routes,
    reports.routes,
    # WhatsApp inbound: the webhook, media downloads, revealing quarantined messages
    webhook.routes,
    media_files.routes,
    reveal.routes,
    # WhatsApp outbound: sends, usage, uploads, templates, channels
    messages.routes,
    usage.routes,
    uploads.routes,
    templates.routes,
    channels.routes,
    # e-mail: a message's whole text, the mailboxes
    email_messages.routes,
    mailboxes.routes,
]


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    app = web.Application(
        middlewares=[errors.request_id_middleware, errors.error_middleware, auth_middleware],
        client_max_size=max(settings.max_body_bytes, settings.max_upload_bytes),
    )
    app[SETTINGS] = settings
    store = app[STORE] = store_for(settings, clock or SystemClock())
    app[HUB] = Hub(
        queue_size=settings.ws_queue_size,
        queue_bytes=settings.ws_queue_bytes,
        share=store.share_presence,  # other processes' clients (PostgreSQL)
    )
    store.on_commit(app[HUB].publish)
    store.on_presence(app[HUB].remote_presence)
    app[WEBSOCKETS] = set()
    app[SERVICES] = {}
    for table in ROUTE_TABLES:
        app.router.add_routes(table)
    # background services, started in this order and stopped in reverse; add a line per service
    app.cleanup_ctx.append(store_lifecycle)
    app.cleanup_ctx.append(event_pruning)
    app.cleanup_ctx.append(snooze_wakeups)
    app.cleanup_ctx.append(views.live_counts)
    for channel in CHANNELS:
        channel.attach(app)
    app.on_shutdown.append(close_websockets)
    return app


# A webhook allocates a few hundred container objects (request, JSON, records) that
# live until its commit: with Python's default gen-0 threshold of 700, a collection ran
# every few requests and scanned every request in flight (~7 % of the event loop's CPU
# at saturation; ingest +10 % without, tests/bench/ingest.py).
GC_THRESHOLDS = (20_000, 20, 20)


async def settle_gc(app: web.Application) -> None:
    """For a serving process, after start-up: what start-up built lives as long as the
    process, so it is frozen out of every later collection, and collections run less
    often (GC_THRESHOLDS). Process-wide, so ``ttydesk serve`` opts in, not the factory."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def store_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """One serving process per SQLite database (``ServingLock``), taken before the store
    opens: a second one must not touch the first one's outbox. (PostgreSQL: the store
    opens its pool; the folders and the lock are SQLite's.)"""
    settings = app[SETTINGS]
    store = app[STORE]
    if not isinstance(store, SqliteStore):
        await open_configured_store(settings, store)
        app[HUB].start_at(store.newest_event_seq())
        yield
        await store.close()
        return
    prepare_folders(settings.data_dir, settings.database_path)
    lock = ServingLock(settings.database_path)
    lock.acquire()
    try:
        await open_store(app[STORE])
        app[HUB].start_at(store.newest_event_seq())
        yield
        await app[STORE].close()
    finally:
        lock.release()


async def event_pruning(app: web.Application) -> AsyncIterator[None]:
    async def prune_forever() -> None:
        while True:
            try:
                await app[STORE].prune_events(app[SETTINGS].event_retention)
            except Exception:
                log.exception("pruning the event log failed")
            await asyncio.sleep(PRUNE_EVERY_SECONDS)

    task = asyncio.create_task(prune_forever(), name="event-pruning")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def snooze_wakeups(app: web.Application) -> AsyncIterator[None]:
    """Snoozed tickets come back by themselves when their time passes (and on a list read):
    the task sleeps until the soonest snooze ends, at most ``snooze_check_interval`` (the
    clock may be moved, or another process may have snoozed), and looks again only when a
    ticket is snoozed until sooner than that (a ticket event that snoozes nothing, or no
    sooner, costs no query; a snooze that ends early only makes a look come early)."""
    store = app[STORE]
    sooner = asyncio.Event()
    planned: list[datetime | None] = [None]  # the soonest snooze end last read

    def on_commit(events: list[CommittedEvent]) -> None:
        for event in events:
            if event.type != EventType.ticket_updated.value or sooner.is_set():
                continue
            until = snoozed_until(event.frame)
            if until is not None and (planned[0] is None or until < planned[0]):
                sooner.set()

    async def wake_forever() -> None:
        while True:
            wait = app[SETTINGS].snooze_check_interval
            sooner.clear()
            try:
                planned[0] = soonest = await store.next_snooze_end()
                if soonest is not None:
                    until_then = (soonest - store.now()).total_seconds()
                    wait = min(wait, max(MIN_SNOOZE_WAIT, until_then))
            except Exception:
                planned[0] = None  # any snooze is a reason to look again
                log.exception("reading the next snooze failed")
            await views.wait_until_set(sooner, wait)
            try:
                await store.wake_snoozed()
            except Exception:
                log.exception("waking snoozed tickets failed")

    store.on_commit(on_commit)
    task = asyncio.create_task(wake_forever(), name="snooze-wakeups")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def snoozed_until(frame: str) -> datetime | None:
    """The ``snoozed_until`` of a ``ticket.updated`` frame (None: not snoozed, or unreadable)."""
    try:
        value = json.loads(frame)["data"].get("snoozed_until")
        return datetime.fromisoformat(value) if value else None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


async def close_websockets(app: web.Application) -> None:
    # drain=False: the close frame goes behind what the socket holds; waiting for it to
    # drain would wait forever for a client that stopped reading
    for socket in list(app[WEBSOCKETS]):
        await socket.close(
            code=WSCloseCode.GOING_AWAY, message=b"server shutting down", drain=False
        )
