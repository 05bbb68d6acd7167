"""Threads: the filtered list, one thread, its messages (newest page first), read state."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from backend import schemas
from backend.api.auth import current_agent
from backend.api.wire import operation, parse_query, path_int, respond
from backend.domain.errors import InvalidField
from backend.domain.numbers import positive_id
from backend.keys import STORE
from backend.store import Store, ThreadFilter
from backend.whatsapp.read_receipts import schedule_read_receipt

routes = web.RouteTableDef()


class ThreadFilters(schemas.WireModel):
    """The thread filters shared by the list and search. Lists: repeat the key or use commas."""

    view: str | None = Field(default=None, max_length=64)
    status: str | list[str] | None = None
    channel_type: str | list[str] | None = None
    owner: str | list[str] | None = None  # "me", "none", or agent ids
    unread: bool | None = None
    from_ad: bool | None = None  # the conversation came from a click-to-WhatsApp ad
    # only these threads (ids): whether a thread is in a view, without paging through it
    ids: str | list[str] | None = None


class ThreadListQuery(ThreadFilters):
    q: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None
    offset: int | None = Field(default=None, ge=0)
    with_total: bool = False
    sort: Literal["recent", "waiting", "expiring"] = "recent"


class MessagesQuery(schemas.WireModel):
    before: int | None = Field(default=None, ge=1)
    cursor: str | None = None  # the same as before: next_cursor of the previous page
    limit: int = Field(default=50, ge=1, le=200)


def _values(raw: str | list[str] | None) -> list[str]:
    items = [raw] if isinstance(raw, str) else list(raw or [])
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


async def thread_filter(
    store: Store, agent: schemas.Agent, query: ThreadFilters, *, text: str | None = None
) -> ThreadFilter:
    """The view's filters AND every query-parameter filter (errors name the parameter)
    AND, with ``text``, a full-text match."""
    wanted: list[tuple[str, dict[str, Any]]] = []
    for param, prop in (("status", "status"), ("channel_type", "original_channel_type")):
        values = _values(getattr(query, param))
        if values:
            wanted.append((param, {"property": prop, "operator": "is_any_of", "values": values}))
    owners = _values(query.owner)
    if owners and {o.lower() for o in owners} <= {"none", "unassigned"}:
        wanted.append(("owner", {"property": "owner", "operator": "is_unknown", "values": []}))
    elif owners:
        wanted.append(("owner", {"property": "owner", "operator": "is_any_of", "values": owners}))
    for param in ("unread", "from_ad"):
        value = getattr(query, param)
        if value is not None:
            wanted.append((param, {"property": param, "operator": "is_any_of", "values": [value]}))
    ids = _values(query.ids)
    thread_ids = [positive_id(value) for value in ids]
    if None in thread_ids or len(thread_ids) > MAX_IDS:
        raise InvalidField(
            f"ids takes up to {MAX_IDS} thread ids (positive whole numbers).", field="ids"
        )
    return await store.thread_filter(
        agent,
        view=query.view,
        conditions=wanted,
        text=text,
        thread_ids=[thread_id for thread_id in thread_ids if thread_id is not None],
    )


MAX_IDS = 200


@operation(
    routes,
    "GET",
    "/api/v1/threads",
    summary="Threads newest first (sort=waiting: unanswered longest first; sort=expiring: "
    "session ending soonest first), filtered by a view and/or parameters; q is full text",
    query=ThreadListQuery,
    response=schemas.Page[schemas.Thread],
)
async def list_threads(request: web.Request) -> web.Response:
    query = parse_query(request, ThreadListQuery)
    store = request.app[STORE]
    agent = current_agent(request)
    await store.wake_snoozed()  # a snooze that has passed shows in this very list
    searching = query.q is not None and bool(query.q.strip())
    where = await thread_filter(store, agent, query, text=query.q if searching else None)
    total: int | None = None
    if query.with_total and query.view and not searching and _only_view(query):
        # the view's own count: the live counts cache has it (the TUI asks with every
        # first page of a view)
        total = await store.cached_view_count(query.view, agent)
    page = await store.list_threads(
        where,
        limit=query.limit,
        cursor=query.cursor,
        offset=query.offset,
        with_total=query.with_total and total is None,
        sort=query.sort,
    )
    if total is not None:
        page.total = total
    return respond(page)


def _only_view(query: ThreadFilters) -> bool:
    """No filter parameter besides ``view``."""
    return (
        not _values(query.status)
        and not _values(query.channel_type)
        and not _values(query.owner)
        and query.unread is None
        and query.from_ad is None
        and not _values(query.ids)
    )


@operation(routes, "GET", "/api/v1/threads/{id}", summary="One thread", response=schemas.Thread)
async def get_thread(request: web.Request) -> web.Response:
    return respond(await request.app[STORE].get_thread(path_int(request, "id")))


@operation(
    routes,
    "POST",
    "/api/v1/threads/{id}/read",
    summary="Mark a thread read (unread count 0)",
    response=schemas.Thread,
)
async def mark_read(request: web.Request) -> web.Response:
    thread_id = path_int(request, "id")
    thread = await request.app[STORE].mark_read(thread_id, read=True)
    schedule_read_receipt(request.app, thread_id)
    return respond(thread)


@operation(
    routes,
    "POST",
    "/api/v1/threads/{id}/unread",
    summary="Mark a thread unread (unread count at least 1)",
    response=schemas.Thread,
)
async def mark_unread(request: web.Request) -> web.Response:
    return respond(await request.app[STORE].mark_read(path_int(request, "id"), read=False))


@operation(
    routes,
    "GET",
    "/api/v1/threads/{id}/messages",
    summary="A thread's messages, newest first; pass next_cursor back as before= for older ones",
    query=MessagesQuery,
    response=schemas.Page[schemas.Message],
)
async def list_messages(request: web.Request) -> web.Response:
    query = parse_query(request, MessagesQuery)
    before = query.before
    if before is None and query.cursor:
        before = positive_id(query.cursor)
        if before is None:
            raise InvalidField("The cursor is not one this server gave out.", field="cursor")
    page = await request.app[STORE].list_messages(
        path_int(request, "id"), before=before, limit=query.limit
    )
    return respond(page)
