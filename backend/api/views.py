"""Saved views: built-ins first, custom views by sharing; live counts.

Sharing: a private view is seen and changed only by its owner; a team view is seen by
agents of the owner's team; an everyone view by all. Only the owner or an admin may
change or delete a view. A view the caller cannot see answers 404, not 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from pydantic import Field

from backend import schemas
from backend.api.auth import current_agent
from backend.api.wire import operation, parse_body, parse_query, respond
from backend.domain import views as rules
from backend.keys import HUB, STORE
from backend.store import COUNTS_TRIGGERS, CommittedEvent

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

COUNTS_RACE_RETRIES = 3
COUNTS_INTERVAL = 1.0  # seconds: the most often view.counts is pushed


class PageQuery(schemas.WireModel):
    limit: int = Field(default=200, ge=1, le=500)
    cursor: str | None = None


@operation(
    routes,
    "GET",
    "/api/v1/views",
    summary="Built-in views, then the custom views the caller may see, with counts",
    query=PageQuery,
    response=schemas.Page[schemas.View],
)
async def list_views(request: web.Request) -> web.Response:
    parse_query(request, PageQuery)  # every view fits one page; the cursor is accepted
    views = await request.app[STORE].list_views(current_agent(request))
    return respond(schemas.Page[schemas.View](items=views, total=len(views)))


@operation(
    routes,
    "POST",
    "/api/v1/views",
    summary="Create a custom view",
    body=schemas.ViewCreate,
    response=schemas.View,
    status=201,
)
async def create_view(request: web.Request) -> web.Response:
    spec = await parse_body(request, schemas.ViewCreate)
    return respond(await request.app[STORE].create_view(spec, current_agent(request)), 201)


@operation(
    routes,
    "GET",
    "/api/v1/views/counts",
    summary="Thread counts of every view the caller sees",
    response=schemas.ViewCounts,
)
async def view_counts(request: web.Request) -> web.Response:
    return respond(await request.app[STORE].view_counts(current_agent(request)))


def filter_properties() -> list[schemas.FilterProperty]:
    return [
        schemas.FilterProperty(
            name=spec.name,
            label=spec.label,
            kind=spec.kind,
            operators=[schemas.FilterOperator(op) for op in spec.operators],
            values=list(spec.values),
        )
        for spec in rules.PROPERTIES.values()
    ]


@operation(
    routes,
    "GET",
    "/api/v1/views/properties",
    summary="The properties and operators view filters may use",
    query=PageQuery,
    response=schemas.Page[schemas.FilterProperty],
)
async def view_properties(request: web.Request) -> web.Response:
    parse_query(request, PageQuery)
    items = filter_properties()
    return respond(schemas.Page[schemas.FilterProperty](items=items, total=len(items)))


@operation(routes, "GET", "/api/v1/views/{id}", summary="One view", response=schemas.View)
async def get_view(request: web.Request) -> web.Response:
    view = await request.app[STORE].get_view(request.match_info["id"], current_agent(request))
    return respond(view)


@operation(
    routes,
    "PATCH",
    "/api/v1/views/{id}",
    summary="Rename a view, change its sharing or filters (owner or admin)",
    body=schemas.ViewUpdate,
    response=schemas.View,
)
async def patch_view(request: web.Request) -> web.Response:
    change = await parse_body(request, schemas.ViewUpdate)
    view = await request.app[STORE].update_view(
        request.match_info["id"], change, current_agent(request)
    )
    return respond(view)


@operation(
    routes,
    "DELETE",
    "/api/v1/views/{id}",
    summary="Delete a view (owner or admin)",
    status=204,
)
async def delete_view(request: web.Request) -> web.Response:
    await request.app[STORE].delete_view(request.match_info["id"], current_agent(request))
    return web.Response(status=204)


async def wait_until_set(event: asyncio.Event, timeout: float) -> None:
    """Wait for ``event`` at most ``timeout`` seconds. Not ``asyncio.wait_for``: on Python
    3.11 it can swallow a cancellation that comes as the event is set, and a background
    task cancelled at shutdown would then run on (and the shutdown wait for it forever)."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()


async def live_counts(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: push ``view.counts`` at most every COUNTS_INTERVAL when threads change,
    or when the clock passes the moment a thread enters or leaves a view whose filters
    depend on the time (``next_count_change``; checked every COUNTS_INTERVAL, no query).

    The store keeps the live counts cached and knows when a commit made them stale
    (``track_view_counts``); GET /views and /views/counts answer from that cache. A
    commit subscriber here only raises a flag; the task has the cache refreshed (on the
    background reader, unless a request already did) and logs the event through the
    writer (so reconnecting clients replay it), only when a count moved. The cache is
    warmed at start so the first clients do not wait for a recount. While no client is
    connected to this process nothing is counted: the first to connect has the counts
    recounted at once if a write or the clock moved them meanwhile.

    On PostgreSQL every process runs this task and is told every process's commits: a
    count moved is what differs from the newest ``view.counts`` in the log, whichever
    process logged it, so one change is not pushed once per process.
    """
    store, hub = app[STORE], app[HUB]
    store.track_view_counts()
    dirty = asyncio.Event()
    logged: list[str] = []  # the newest view.counts frame committed, by any process

    def on_commit(events: list[CommittedEvent]) -> None:
        for event in events:
            if event.type in COUNTS_TRIGGERS:
                dirty.set()
            elif event.type == schemas.EventType.view_counts.value:
                logged[:] = [event.frame]

    async def recount_forever() -> None:
        last: schemas.ViewCounts | None = None
        try:
            last = await store.cached_live_view_counts()
        except Exception:
            log.exception("computing view counts failed")
        raced = 0
        while True:
            if not hub.subscribers:
                # nobody to push to: count nothing (a write only raises the flag) until a
                # client connects, and then at once if anything moved meanwhile
                await hub.wait_for_subscriber()
                if store.view_counts_outdated():
                    dirty.set()
            # a write, or time passing a thread into or out of a time-dependent view
            await wait_until_set(dirty, COUNTS_INTERVAL)
            if not (dirty.is_set() or store.view_counts_outdated()):
                continue
            dirty.clear()
            if logged:
                last = logged_counts(logged.pop()) or last
            try:
                newest = store.newest_event_seq()
                counts = await store.cached_live_view_counts()
                if counts is not None and counts != last:
                    # under constant traffic, give up on an exact snapshot after a few
                    # tries: the next round (one interval later) brings the counts up to date
                    exact = raced < COUNTS_RACE_RETRIES
                    if await store.emit_view_counts(
                        counts, unless_logged_after=newest if exact else None
                    ):
                        last, raced = counts, 0
                    else:
                        raced += 1
                        dirty.set()
                        await asyncio.sleep(0.01)
                        continue
            except Exception:
                log.exception("recomputing view counts failed")
            await asyncio.sleep(COUNTS_INTERVAL)

    store.on_commit(on_commit)
    task = asyncio.create_task(recount_forever(), name="view-counts")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def logged_counts(frame: str) -> schemas.ViewCounts | None:
    """The counts of a logged ``view.counts`` frame (None: unreadable)."""
    try:
        return schemas.ViewCounts.model_validate(json.loads(frame)["data"])
    except (ValueError, TypeError, KeyError):
        return None
