"""Wiring of the WhatsApp outbound half: the Graph API client and the outbox worker (its
routes are registered by ``backend/app.py``).

``setup_outbound(app)`` is called once by ``create_app`` (after the store's cleanup_ctx,
so the worker starts after the store opens and stops before it closes).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from backend.keys import SERVICES, SETTINGS, STORE
from backend.whatsapp.graph import GraphClient
from backend.whatsapp.outbox import OutboxWorker

log = logging.getLogger(__name__)

# seconds a stopping backend lets sends on the wire finish (the rest become ambiguous)
STOP_GRACE = 5.0


def setup_outbound(app: web.Application) -> None:
    app.cleanup_ctx.append(outbound_lifecycle)


def graph_client_for(app: web.Application) -> GraphClient:
    """The app's shared Graph API client (created on first use)."""
    services = app[SERVICES]
    if "graph" not in services:
        settings = app[SETTINGS]
        services["graph"] = GraphClient(
            settings.whatsapp_graph_url,
            settings.whatsapp_api_version,
            timeout=settings.whatsapp_send_timeout,
        )
    return services["graph"]


async def outbound_lifecycle(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = app[STORE]
    store.set_usage_rules(
        limit=settings.usage_limit, subscription_start=settings.subscription_start
    )
    created_graph = "graph" not in app[SERVICES]
    graph = graph_client_for(app)
    worker = OutboxWorker(
        store,
        graph,
        media_dir=settings.media_dir,
        ambiguous_wait=settings.whatsapp_ambiguous_wait,
        lease_seconds=settings.outbox_lease,
    )
    app[SERVICES]["outbox"] = worker
    await worker.start()
    try:
        yield
    finally:
        await worker.stop(grace=STOP_GRACE)
        app[SERVICES].pop("outbox", None)
        if created_graph:
            await graph.close()
            app[SERVICES].pop("graph", None)
