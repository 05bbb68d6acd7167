"""Talking to the backend: ``ApiClient`` (REST over httpx) and ``LiveStream`` (the WebSocket).

The client speaks only the wire models of ``backend.schemas``. Every failure reaches the
caller as one ``ApiError`` whose ``message`` is a sentence for a person: an HTTP error
envelope, a refused connection, a timeout or a body the client cannot read.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import random
import ssl
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, TypeAdapter, ValidationError

from backend import schemas
from backend.schemas import (
    API_PREFIX,
    EVENT_SEQ_HEADER,
    Agent,
    ClientPresence,
    Event,
    EventType,
    FilterProperty,
    InsertKind,
    MeUpdate,
    Page,
    PresenceState,
    SendPrices,
    Thread,
    Ticket,
    TicketBulkResult,
    TicketBulkUpdate,
    TicketUpdate,
    TimelineEntry,
    Usage,
    UsageMonth,
    View,
    ViewCounts,
    ViewCreate,
    ViewUpdate,
)
from tui import quick_http

if TYPE_CHECKING:
    import httpx

    from backend.schemas import (
        AvailablePhoneNumber,
        Channel,
        ChannelCreate,
        Company,
        Contact,
        ContactCreate,
        ContactDetail,
        ContactUpdate,
        Deal,
        Draft,
        DraftUpdate,
        EmailMailbox,
        EmailSource,
        Insert,
        MailboxCreate,
        MailboxUpdate,
        Message,
        PhoneNumber,
        PhoneNumberAdd,
        Report,
        ReportInfo,
        RequestCode,
        RevealedContent,
        SearchHit,
        SendMedia,
        SendNote,
        SendReaction,
        SendTemplate,
        SendText,
        StartConversation,
        StartedConversation,
        Template,
        TemplateMappingUpdate,
        TemplateSyncResult,
        TicketSummary,
        UploadedMedia,
        VerifyCode,
    )

    SendRequest = SendText | SendMedia | SendTemplate | SendNote | SendReaction

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """A refused or failed request. ``status`` 0 means the server was not reached."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        newest_revision: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.newest_revision = newest_revision  # draft_outdated's

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.code!r}, {self.message!r}, field={self.field!r})"

    @property
    def unreachable(self) -> bool:
        return self.status == 0


_STATUS_WORDS = {
    401: "The server did not accept your token (401). Check it, or ask an admin for a new one.",
    403: "You are not allowed to do that (403).",
    404: "That was not found on the server (404).",
    413: "That is too large for the server (413).",
    502: "The server could not reach WhatsApp (502).",
    504: "WhatsApp did not answer in time (504).",
}


def normalise_server(server: str) -> str:
    """``localhost:8080`` → ``http://localhost:8080``; no trailing slash."""
    server = server.strip()
    if "://" not in server:
        server = f"http://{server}"
    return server.rstrip("/")


def _tls_context(server: str) -> ssl.SSLContext | bool:
    """httpx's verifying default (CA bundle loaded: ~40 ms) for an https server; for a plain
    http one, a client context that trusts no certificate at all, so nothing is loaded and
    a TLS connection (which this client never makes) could only fail closed."""
    if server.lower().startswith("https:"):
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class Answer(Protocol):
    """What the client reads of a response (httpx's, or ``quick_http``'s)."""

    @property
    def status_code(self) -> int: ...

    @property
    def content(self) -> bytes: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


def _import_httpx() -> Any:
    # httpx's package imports its command-line client whenever click is installed (click,
    # pygments, rich.syntax, rich.progress: a fifth of the inbox's start-up), and falls
    # back to a stub when that import fails; the inbox never runs it
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    import httpx

    return httpx


class ApiClient:
    """The v1 REST API, one typed method per endpoint.

    httpx is loaded when first needed: until then (the inbox's start) GETs go out with
    ``quick_http``; ``load_http`` (which the app calls on a thread after its first frame)
    loads it ahead of that need.
    """

    def __init__(
        self,
        server: str,
        token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.server = normalise_server(server)
        self.token = token
        self._transport = transport
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None
        self._http_made = threading.Lock()
        self._quick = transport is None and quick_http.usable(self.server, token)
        # what is on its way to the server ("reply", "template"…), one entry a request:
        # quitting before it is answered may lose it (the app asks first)
        self.sending: list[str] = []
        # the smallest X-Event-Seq answered so far: where the event log stood before the
        # first reads, from which the live stream starts (``first_since``)
        self._read_from: int | None = None

    def load_http(self) -> httpx.AsyncClient:
        """httpx's client, made (and httpx loaded) on the first call; safe on a thread."""
        with self._http_made:
            if self._http is None:
                httpx = _import_httpx()
                self._http = httpx.AsyncClient(
                    base_url=self.server + API_PREFIX,
                    headers={"Authorization": f"Bearer {self.token}", "User-Agent": "ttydesk-tui"},
                    timeout=self._timeout,
                    transport=self._transport,
                    verify=_tls_context(self.server),
                )
                # what httpcore imports on its first request under asyncio, loaded here too
                for module in ("httpcore._backends.anyio", "anyio._backends._asyncio"):
                    with contextlib.suppress(ImportError):
                        importlib.import_module(module)
            return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    # ----------------------------------------------------------------- plumbing

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        files: dict[str, Any] | None = None,
    ) -> Answer:
        if params:
            params = {k: _param(v) for k, v in params.items() if v is not None}
        if self._http is None and self._quick and method == "GET":
            response: Answer = await self._quick_get(path, params or {})
        else:
            response = await self._httpx_request(method, path, params, json_body, files)
        if response.status_code >= 400:
            raise _error_from(response)
        self._note_position(response)
        return response

    def _note_position(self, response: Answer) -> None:
        raw = response.headers.get(EVENT_SEQ_HEADER.lower())  # (quick_http's: lower case)
        if raw is None or not raw.isascii() or not raw.isdigit():
            return
        seq = int(raw)
        if self._read_from is None or seq < self._read_from:
            self._read_from = seq

    @property
    def first_since(self) -> int | None:
        """Where a first live stream starts: the smallest ``X-Event-Seq`` of the answers
        read so far, the event log's position before the first of them was read. A change
        committed after it comes with a higher seq, so one committed between the first
        reads and the connection is replayed, not missed (None: nothing read yet, or a
        server that does not say)."""
        return self._read_from

    async def _quick_get(self, path: str, params: dict[str, Any]) -> Answer:
        try:
            return await quick_http.get(
                self.server + API_PREFIX, path, params, self.token, self._timeout
            )
        except quick_http.QuickHttpError as exc:
            if exc.timeout:
                raise self._timed_out() from exc
            raise self._unreached(_reason(exc)) from exc

    async def _httpx_request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json_body: Any,
        files: dict[str, Any] | None,
    ) -> Answer:
        http = self.load_http()
        httpx = _import_httpx()
        try:
            return await http.request(method, path, params=params, json=json_body, files=files)
        except httpx.TimeoutException as exc:
            raise self._timed_out() from exc
        except httpx.HTTPError as exc:
            raise self._unreached(_reason(exc)) from exc

    def _timed_out(self) -> ApiError:
        return ApiError(0, "timeout", f"The server at {self.server} did not answer in time.")

    def _unreached(self, reason: str) -> ApiError:
        return ApiError(0, "unreachable", f"Cannot reach the server at {self.server} ({reason}).")

    async def _get(self, path: str, model: type[M], **params: Any) -> M:
        response = await self.request("GET", path, params=params)
        return _parse(model, response)

    async def _send(self, method: str, path: str, model: type[M], body: BaseModel | None) -> M:
        payload = None if body is None else body.model_dump(mode="json", exclude_unset=True)
        response = await self.request(method, path, json_body=payload)
        return _parse(model, response)

    # ----------------------------------------------------------------- agents

    async def me(self) -> Agent:
        return await self._get("/me", Agent)

    async def update_me(self, update: MeUpdate) -> Agent:
        return await self._send("PATCH", "/me", Agent, update)

    async def agents(self) -> list[Agent]:
        return await self._all("/agents", Page[Agent])

    # ----------------------------------------------------------------- threads

    async def threads(
        self,
        *,
        view: str | None = None,
        status: str | None = None,
        owner: str | int | None = None,
        unread: bool | None = None,
        q: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        offset: int | None = None,
        with_total: bool = False,
        sort: str | None = None,
        ids: list[int] | None = None,
    ) -> Page[Thread]:
        return await self._get(
            "/threads",
            Page[Thread],
            ids=",".join(map(str, ids)) if ids else None,
            sort=sort,
            view=view,
            status=status,
            owner=owner,
            unread=unread,
            q=q,
            limit=limit,
            cursor=cursor,
            offset=offset,
            with_total=with_total or None,
        )

    async def thread(self, thread_id: int) -> Thread:
        return await self._get(f"/threads/{thread_id}", Thread)

    async def drafts(self) -> list[Draft]:
        """My drafts, newest first: the threads I left something unsent in."""
        return (await self._get("/drafts", Page[schemas.Draft])).items

    async def draft(self, thread_id: int) -> Draft | None:
        """My draft in the thread, or None."""
        try:
            return await self._get(f"/threads/{thread_id}/draft", schemas.Draft)
        except ApiError as exc:
            if exc.code == "draft_not_found":
                return None
            raise

    async def save_draft(self, thread_id: int, draft: DraftUpdate) -> Draft:
        return await self._send("PUT", f"/threads/{thread_id}/draft", schemas.Draft, draft)

    async def delete_draft(self, thread_id: int, revision: int | None = None) -> None:
        await self.request("DELETE", f"/threads/{thread_id}/draft", params={"revision": revision})

    async def mark_read(self, thread_id: int) -> None:
        await self.request("POST", f"/threads/{thread_id}/read")

    async def mark_unread(self, thread_id: int) -> None:
        await self.request("POST", f"/threads/{thread_id}/unread")

    async def messages(
        self, thread_id: int, *, before: int | None = None, limit: int = 50
    ) -> Page[Message]:
        return await self._get(
            f"/threads/{thread_id}/messages", Page[schemas.Message], before=before, limit=limit
        )

    @contextlib.contextmanager
    def _on_its_way(self, what: str) -> Iterator[None]:
        self.sending.append(what)
        try:
            yield
        finally:
            self.sending.remove(what)

    async def send(self, thread_id: int, body: SendRequest) -> Message:
        what = {"text": "reply", "media": "reply"}.get(body.kind, body.kind)
        with self._on_its_way(what):
            return await self._send("POST", f"/threads/{thread_id}/messages", schemas.Message, body)

    async def retry(self, thread_id: int, message_id: int) -> Message:
        with self._on_its_way("message"):
            return await self._send(
                "POST", f"/threads/{thread_id}/messages/{message_id}/retry", schemas.Message, None
            )

    async def reveal(self, message_id: int) -> RevealedContent:
        return await self._send(
            "POST", f"/messages/{message_id}/reveal", schemas.RevealedContent, None
        )

    # ----------------------------------------------------------------- media

    async def upload(self, path: Path) -> UploadedMedia:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ApiError(0, "file_unreadable", f"Cannot read {path}: {exc.strerror}.") from exc
        with self._on_its_way("file"):
            response = await self.request(
                "POST", "/media", files={"file": (path.name, data, "application/octet-stream")}
            )
        return _parse(schemas.UploadedMedia, response)

    async def download(self, media_id: int) -> bytes:
        response = await self.request("GET", f"/media/{media_id}")
        return response.content

    # ----------------------------------------------------------------- tickets

    async def ticket(self, ticket_id: int) -> Ticket:
        return await self._get(f"/tickets/{ticket_id}", Ticket)

    async def update_ticket(self, ticket_id: int, update: TicketUpdate) -> Ticket:
        return await self._send("PATCH", f"/tickets/{ticket_id}", Ticket, update)

    async def bulk_update(self, update: TicketBulkUpdate) -> TicketBulkResult:
        return await self._send("POST", "/tickets/bulk", TicketBulkResult, update)

    async def timeline(self, ticket_id: int) -> list[TimelineEntry]:
        return await self._all(f"/tickets/{ticket_id}/timeline", Page[TimelineEntry], pages=4)

    async def tickets(self, q: str | None = None, limit: int = 50) -> Page[TicketSummary]:
        return await self._get("/tickets", Page[schemas.TicketSummary], q=q or None, limit=limit)

    # ----------------------------------------------------------------- views

    async def views(self) -> list[View]:
        return await self._all("/views", Page[View])

    async def create_view(self, body: ViewCreate) -> View:
        return await self._send("POST", "/views", View, body)

    async def update_view(self, view_id: str, body: ViewUpdate) -> View:
        return await self._send("PATCH", f"/views/{view_id}", View, body)

    async def delete_view(self, view_id: str) -> None:
        await self.request("DELETE", f"/views/{view_id}")

    async def view_counts(self) -> ViewCounts:
        return await self._get("/views/counts", ViewCounts)

    async def view_properties(self) -> list[FilterProperty]:
        return await self._all("/views/properties", Page[FilterProperty])

    # ----------------------------------------------------------------- search and records

    async def search(
        self,
        q: str,
        *,
        view: str | None = None,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[SearchHit]:
        return await self._get(
            "/search",
            Page[schemas.SearchHit],
            q=q,
            view=view,
            status=status,
            limit=limit,
            cursor=cursor,
        )

    async def contacts(self, q: str | None = None, limit: int = 50) -> Page[Contact]:
        return await self._get("/contacts", Page[schemas.Contact], q=q or None, limit=limit)

    async def contact(self, contact_id: int) -> ContactDetail:
        return await self._get(f"/contacts/{contact_id}", schemas.ContactDetail)

    async def email_source(self, message_id: int) -> EmailSource:
        """An e-mail message's whole text (what the thread folds away)."""
        return await self._get(f"/messages/{message_id}/email", schemas.EmailSource)

    async def create_contact(self, body: ContactCreate) -> ContactDetail:
        return await self._send("POST", "/contacts", schemas.ContactDetail, body)

    async def update_contact(self, contact_id: int, body: ContactUpdate) -> ContactDetail:
        return await self._send("PATCH", f"/contacts/{contact_id}", schemas.ContactDetail, body)

    async def start_conversation(
        self, contact_id: int, body: StartConversation
    ) -> StartedConversation:
        with self._on_its_way("template"):
            return await self._send(
                "POST", f"/contacts/{contact_id}/conversations", schemas.StartedConversation, body
            )

    async def companies(self, q: str | None = None, limit: int = 50) -> Page[Company]:
        return await self._get("/companies", Page[schemas.Company], q=q or None, limit=limit)

    async def deals(self, q: str | None = None, limit: int = 50) -> Page[Deal]:
        return await self._get("/deals", Page[schemas.Deal], q=q or None, limit=limit)

    # ----------------------------------------------------------------- templates, inserts, usage

    async def templates(self) -> list[Template]:
        return await self._all("/templates", Page[schemas.Template])

    async def sync_templates(self) -> TemplateSyncResult:
        return await self._send("POST", "/templates/sync", schemas.TemplateSyncResult, None)

    async def update_template_mapping(
        self, template_id: int, body: TemplateMappingUpdate
    ) -> Template:
        return await self._send("PATCH", f"/templates/{template_id}", schemas.Template, body)

    async def inserts(self, kind: InsertKind | None = None, q: str | None = None) -> list[Insert]:
        page = await self._get(
            "/inserts",
            Page[schemas.Insert],
            kind=kind.value if kind else None,
            q=q or None,
            limit=200,
        )
        return page.items

    async def usage(self) -> Usage:
        return await self._get("/usage", Usage)

    async def send_prices(self, thread_id: int) -> SendPrices:
        return await self._get(f"/threads/{thread_id}/send-price", SendPrices)

    async def usage_month(self, month: str | None = None) -> UsageMonth:
        """A usage month (``YYYY-MM``; the current one when None)."""
        return await self._get("/usage/month", UsageMonth, month=month)

    # ----------------------------------------------------------------- reports

    async def reports(self) -> list[ReportInfo]:
        return await self._all("/reports", Page[schemas.ReportInfo])

    async def report(self, name: str, filters: dict[str, str | None]) -> Report:
        """One report; ``filters`` are its query (from, to, agent, number, view)."""
        response = await self.request("GET", f"/reports/{name}", params=dict(filters))
        return _parse(schemas.Report, response)

    # ----------------------------------------------------------------- channels (admin)

    async def channels(self) -> list[Channel]:
        return await self._all("/channels", Page[schemas.Channel])

    async def create_channel(self, body: ChannelCreate) -> Channel:
        return await self._send("POST", "/channels", schemas.Channel, body)

    async def mailboxes(self) -> list[EmailMailbox]:
        return await self._all("/mailboxes", Page[schemas.EmailMailbox])

    async def connect_mailbox(self, body: MailboxCreate) -> EmailMailbox:
        return await self._send("POST", "/mailboxes", schemas.EmailMailbox, body)

    async def edit_mailbox(self, mailbox_id: int, body: MailboxUpdate) -> EmailMailbox:
        return await self._send("PATCH", f"/mailboxes/{mailbox_id}", schemas.EmailMailbox, body)

    async def remove_mailbox(self, mailbox_id: int) -> None:
        await self.request("DELETE", f"/mailboxes/{mailbox_id}")

    async def available_numbers(self, channel_id: int) -> list[AvailablePhoneNumber]:
        return await self._all(
            f"/channels/{channel_id}/available-numbers", Page[schemas.AvailablePhoneNumber]
        )

    async def add_number(self, channel_id: int, body: PhoneNumberAdd) -> PhoneNumber:
        return await self._send(
            "POST", f"/channels/{channel_id}/phone-numbers", schemas.PhoneNumber, body
        )

    async def request_code(self, channel_id: int, number_id: int, body: RequestCode) -> None:
        await self.request(
            "POST",
            f"/channels/{channel_id}/phone-numbers/{number_id}/request-code",
            json_body=body.model_dump(mode="json"),
        )

    async def verify_code(self, channel_id: int, number_id: int, body: VerifyCode) -> PhoneNumber:
        return await self._send(
            "POST",
            f"/channels/{channel_id}/phone-numbers/{number_id}/verify-code",
            schemas.PhoneNumber,
            body,
        )

    async def remove_number(self, channel_id: int, number_id: int) -> None:
        await self.request("DELETE", f"/channels/{channel_id}/phone-numbers/{number_id}")

    # ----------------------------------------------------------------- helpers

    async def _all(self, path: str, model: type[Page[Any]], pages: int = 20) -> list[Any]:
        """Every item of a small keyset-paginated list (views, agents, templates…)."""
        items: list[Any] = []
        cursor: str | None = None
        for _ in range(pages):
            page = await self._get(path, model, limit=200, cursor=cursor)
            items.extend(page.items)
            cursor = page.next_cursor
            if not cursor:
                break
        return items

    def ws_url(self, since: int | None) -> str:
        """The live stream's URL; without ``since`` the server starts at its newest event."""
        parts = urlsplit(self.server)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = "" if since is None else f"since={since}"
        return urlunsplit((scheme, parts.netloc, parts.path + API_PREFIX + "/ws", query, ""))


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if not text or len(text) > 120:
        text = type(exc).__name__
    return text


# pydantic holds a parametrized generic (``Page[Message]``) weakly: once collected, the next
# request would make it again and build its validator anew (tens of ms, each thread opened)
_PARSED_TYPES: set[type[BaseModel]] = set()


def prepare_parsing(*models: type[BaseModel]) -> None:
    """Build the validators of ``models`` now: pydantic builds a model's when it is first
    used (the schemas are deferred for a quick start), and the first thread opened would
    wait some 30 ms for ``Page[Message]``'s."""
    for model in models:
        _PARSED_TYPES.add(model)
        model.model_rebuild()


def _parse(model: type[M], response: Answer) -> M:
    _PARSED_TYPES.add(model)
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise ApiError(
            response.status_code,
            "bad_response",
            f"The server sent a {model.__name__} this client cannot read "
            f"({exc.error_count()} problems; is the server a newer version?).",
        ) from exc


def _error_from(response: Answer) -> ApiError:
    status = response.status_code
    try:
        body = response.json()
        error = body["error"]
        message = str(error["message"])
        if status == 401:  # always the same clear sentence for a refused token
            message = _STATUS_WORDS[401]
        newest = error.get("newest_revision")
        return ApiError(
            status,
            str(error["code"]),
            message,
            error.get("field"),
            newest_revision=newest if type(newest) is int else None,
        )
    except (ValueError, KeyError, TypeError):
        words = _STATUS_WORDS.get(status, f"The server refused the request ({status}).")
        return ApiError(status, f"http_{status}", words)


# --------------------------------------------------------------------------- live events

# each event type's model, by name: a model's module is loaded when its first event comes
# (backend.schemas makes its models on first use; the messages' are not needed at start)
EVENT_MODELS: dict[str, str] = {
    EventType.message_created: "Message",
    EventType.message_updated: "Message",
    EventType.thread_updated: "Thread",
    EventType.ticket_updated: "Ticket",
    EventType.view_counts: "ViewCounts",
    EventType.usage_updated: "Usage",
    EventType.presence: "Presence",
    EventType.channel_updated: "Channel",
    EventType.mailbox_updated: "MailboxState",
    EventType.template_updated: "Template",
    EventType.contact_updated: "Contact",
    EventType.agent_updated: "Agent",
    EventType.resync: "Resync",
}


@dataclass(frozen=True)
class ViewsChanged:
    """``views.changed``: a view was created/updated (``view``) or deleted (``deleted``)."""

    view: View | None = None
    deleted: str | None = None


@dataclass(frozen=True)
class LiveEvent:
    """One decoded event: ``data`` is the schema model for its ``type`` (or the raw dict)."""

    seq: int
    type: str
    data: Any


def decode_event(event: Event) -> LiveEvent:
    """Turn a ``{"seq","type","data"}`` frame into its model; unknown types stay dicts."""
    model = EVENT_MODELS.get(event.type)
    data: Any = event.data
    try:
        if model is not None:
            data = getattr(schemas, model).model_validate(event.data)
        elif event.type == EventType.views_changed:
            raw_view = event.data.get("view")
            data = ViewsChanged(
                view=View.model_validate(raw_view) if raw_view else None,
                deleted=event.data.get("deleted"),
            )
    except ValidationError:
        data = event.data
    return LiveEvent(event.seq, event.type, data)


ConnState = Literal["connecting", "connected", "reconnecting", "offline"]

_EVENT_ADAPTER = TypeAdapter(Event)


class LiveStream:
    """The WebSocket with reconnect, back-off, ``since`` tracking, dedupe and resync.

    ``run(on_event, on_state)`` loops until cancelled. ``on_event`` is called in order with
    each new event (seq greater than the last one seen; seq-0 frames always: ``hello``, which
    ends the replay and sets ``since`` to the server's ``last_seq`` so a reconnection before
    any event still resumes without a refetch, then the presence of the others).
    After a ``resync`` frame ``on_resync`` is awaited (refetch everything) before the
    stream reconnects from the seq the server gave back.
    """

    def __init__(
        self,
        client: ApiClient,
        *,
        since: int | None = None,
        backoff: Iterable[float] = (0.25, 0.5, 1, 2, 4, 8),
        open_timeout: float = 10.0,
    ) -> None:
        self.client = client
        self.since = since
        self.backoff = tuple(backoff)
        self.open_timeout = open_timeout
        self.state: ConnState = "offline"
        self.last_error: str | None = None
        self.connections = 0
        self._ws: Any = None
        self._send_lock = asyncio.Lock()

    async def run(
        self,
        on_event: Callable[[LiveEvent], Any],
        on_state: Callable[[ConnState, str | None], Any],
        on_resync: Callable[[LiveEvent | None], Awaitable[Any]] | None = None,
    ) -> None:
        """Connect, apply events, reconnect with back-off; never returns unless cancelled.

        With no ``since`` (a first connection, or after a ``resync``) the server starts at its
        newest event; when that happens on a *re*connection, ``on_resync`` is awaited once
        connected so the caller refetches what it may have missed.
        """
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus, WebSocketException

        attempt = 0
        need_catch_up = False
        pending_resync: LiveEvent | None = None
        while True:
            first = self.connections == 0
            self._set_state(on_state, "connecting" if first else "reconnecting", self.last_error)
            resync: LiveEvent | None = None
            try:
                async with connect(
                    self.client.ws_url(self.since),
                    additional_headers={"Authorization": f"Bearer {self.client.token}"},
                    open_timeout=self.open_timeout,
                    max_size=16 * 2**20,
                    ping_interval=20,
                    ping_timeout=20,
                    user_agent_header="ttydesk-tui",
                ) as ws:
                    self._ws = ws
                    attempt = 0
                    self.connections += 1
                    if self.since is None and not first:
                        need_catch_up = True
                    self.last_error = None
                    if need_catch_up and on_resync is not None:
                        self._set_state(on_state, "reconnecting", "Catching up…")
                        await on_resync(pending_resync)
                    need_catch_up = False
                    pending_resync = None
                    self._set_state(on_state, "connected", None)
                    async for raw in ws:
                        live = self._decode(raw)
                        if live is None:
                            continue
                        if live.type == EventType.resync:
                            resync = live
                            break
                        on_event(live)
            except asyncio.CancelledError:
                raise
            except InvalidStatus as exc:
                status = exc.response.status_code
                self.last_error = (
                    _STATUS_WORDS[401]
                    if status == 401
                    else f"The live stream was refused ({status})."
                )
            except (OSError, WebSocketException, TimeoutError) as exc:
                self.last_error = f"Live connection lost ({_reason(exc)})."
            finally:
                self._ws = None
            if resync is not None:
                # the server cannot replay what we missed: reconnect from its newest event,
                # then refetch everything (connect first, so nothing falls in between)
                self.since = None
                need_catch_up = True
                pending_resync = resync
                self.last_error = "The server asked for a resync."
                continue
            delay = self.backoff[min(attempt, len(self.backoff) - 1)]
            attempt += 1
            self._set_state(on_state, "reconnecting", self.last_error)
            await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))

    def _set_state(
        self, on_state: Callable[[ConnState, str | None], Any], state: ConnState, detail: str | None
    ) -> None:
        self.state = state
        on_state(state, detail)

    def _decode(self, raw: str | bytes) -> LiveEvent | None:
        try:
            event = _EVENT_ADAPTER.validate_json(raw)
        except ValidationError:
            return None
        if event.seq:
            if self.since is not None and event.seq <= self.since:
                return None  # already applied (replay overlap)
            self.since = event.seq
        elif event.type == EventType.hello:
            # where the server's replay ended: resume from there even if no event follows
            last = event.data.get("last_seq")
            if isinstance(last, int) and not isinstance(last, bool) and last >= 0:
                if self.since is None or last > self.since:
                    self.since = last
        return decode_event(event)

    async def send_presence(self, thread_id: int | None, state: PresenceState) -> None:
        ws = self._ws
        if ws is None:
            return
        frame = ClientPresence(type="presence", thread_id=thread_id, state=state)
        async with self._send_lock:
            with contextlib.suppress(Exception):
                await ws.send(json.dumps(frame.model_dump(mode="json")))

    async def close(self) -> None:
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
