"""The inbound WhatsApp side's background workers: the ingestor, the media fetcher and
the pruning of early statuses (its routes are registered by ``backend/app.py``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from backend.keys import SERVICES, SETTINGS, STORE
from backend.whatsapp import webhook
from backend.whatsapp.ingest import Ingestor
from backend.whatsapp.media import FETCHER, MediaFetcher

log = logging.getLogger(__name__)

INGESTOR = webhook.INGESTOR
MEDIA_FETCHER = FETCHER
PRUNE_EARLY_EVERY_SECONDS = 3600.0
STOP_TIMEOUT_SECONDS = 5.0


def setup_inbound(app: web.Application) -> None:
    """Add the inbound workers."""
    app.cleanup_ctx.append(inbound_lifecycle)


async def inbound_lifecycle(app: web.Application) -> AsyncIterator[None]:
    store, settings = app[STORE], app[SETTINGS]
    clock = getattr(store, "clock", None)
    fetcher = MediaFetcher(store, settings, clock=clock)
    app[SERVICES][MEDIA_FETCHER] = fetcher
    app[SERVICES][INGESTOR] = Ingestor.from_settings(store, settings, on_media=fetcher.wake)
    tasks = [
        asyncio.create_task(fetcher.run(), name="media-fetcher"),
        asyncio.create_task(_prune_early_forever(app), name="early-status-pruning"),
    ]
    yield
    for task in tasks:
        task.cancel()
    _, stuck = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_SECONDS)
    for task in stuck:
        log.warning("%s did not stop in time", task.get_name())
    await fetcher.close()


async def _prune_early_forever(app: web.Application) -> None:
    store = app[STORE]
    while True:
        await asyncio.sleep(PRUNE_EARLY_EVERY_SECONDS)
        try:
            await store.prune_early_statuses(store.now())
            await store.expire_held_reactions(store.now())
        except Exception:
            log.exception("pruning early statuses and held reactions failed")
