"""An in-memory stand-in for the ttydesk backend, speaking the v1 wire contract of
``backend.schemas`` over real HTTP and a real WebSocket on 127.0.0.1.

It exists so the TUI's flows can be driven end to end while the real backend is being built
(and to make snapshot data deterministic). It keeps an event log with seqs, replays
``since`` on connect, can be stopped and restarted on the same port keeping its state, and
lets tests act as customers (``inbound``) or as a second agent (through the API).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import WSMsgType, web

from backend.schemas import (
    Agent,
    Availability,
    ContactDetail,
    DeliveryStatus,
    Direction,
    FilterOperator,
    FilterProperty,
    Insert,
    InsertKind,
    Message,
    MessageKind,
    NotificationChoice,
    Presence,
    Role,
    Template,
    TemplateComponent,
    Thread,
    Ticket,
    TicketPriority,
    TicketStatus,
    TimelineEntry,
    Usage,
    View,
    ViewFilter,
    ViewSharing,
)

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dump(model: Any) -> Any:
    if isinstance(model, list):
        return [_dump(m) for m in model]
    return model.model_dump(mode="json")


def page(
    items: Iterable[Any], *, total: int | None = None, next_cursor: str | None = None
) -> dict[str, Any]:
    return {"items": _dump(list(items)), "next_cursor": next_cursor, "total": total}


def error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return web.json_response({"error": body}, status=status)


class FakeBackend:
    def __init__(self, *, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = "admin-token"
        self.agent_token = "agent-token"
        self.agents: dict[int, Agent] = {}
        self.tokens: dict[str, int] = {}
        self.threads: dict[int, Thread] = {}
        self.messages: dict[int, list[Message]] = {}
        self.contacts: dict[int, ContactDetail] = {}
        self.timeline: dict[int, list[TimelineEntry]] = {}
        self.views: list[View] = []
        self.templates: list[Template] = []
        self.inserts: list[Insert] = []
        self.usage = Usage(
            used=12,
            limit=1000,
            period_start=date(2026, 11, 1),
            resets_on=date(2026, 12, 1),
            business_initiated_24h=3,
        )
        self.events: list[dict[str, Any]] = []
        self.sockets: set[web.WebSocketResponse] = set()
        self.requests: list[tuple[str, str, Any]] = []
        self._ids = itertools.count(1000)
        self._runner: web.AppRunner | None = None
        self.seed()

    # ----------------------------------------------------------------- data

    def next_id(self) -> int:
        return next(self._ids)

    def seed(self) -> None:
        now = self.now
        self.add_agent(1, "Alice Admin", Role.admin, self.admin_token)
        self.add_agent(2, "Bob Agent", Role.agent, self.agent_token, skills=["lang:es"])
        self.add_agent(3, "Carol Away", Role.agent, "carol-token", availability=Availability.away)
        for key, name in [
            ("all_open", "All open"),
            ("mine", "Assigned to me"),
            ("unassigned", "Unassigned"),
            ("sent", "Sent"),
            ("closed", "All closed"),
        ]:
            self.views.append(
                View(id=f"builtin:{key}", name=name, builtin=True, position=len(self.views))
            )
        self.templates = [
            Template(
                id=1,
                name="order_update",
                language="en_US",
                status="APPROVED",
                category="UTILITY",
                components=[
                    TemplateComponent(type="HEADER", format="TEXT", text="Order news"),
                    TemplateComponent(type="BODY", text="Hi {{1}}, your order {{2}} has shipped."),
                    TemplateComponent(type="FOOTER", text="Reply STOP to opt out"),
                ],
                variables=["1", "2"],
                variable_mapping={"1": "first_name"},
                sendable=True,
                updated_at=now,
            ),
            Template(
                id=2,
                name="hello_again",
                language="en_US",
                status="APPROVED",
                category="MARKETING",
                components=[
                    TemplateComponent(
                        type="BODY", text="Hello {{1}}! [bold]Can we help?[/bold] \x1b[31m"
                    )
                ],
                variables=["1"],
                variable_mapping={"1": "first_name"},
                sendable=True,
                updated_at=now,
            ),
            Template(
                id=3,
                name="promo_pending",
                language="es",
                status="PENDING",
                category="MARKETING",
                components=[TemplateComponent(type="BODY", text="Oferta")],
                variables=[],
                sendable=False,
                updated_at=now,
            ),
        ]
        self.inserts = [
            Insert(
                id=1,
                kind=InsertKind.snippet,
                title="Greeting",
                body="Hi {{contact.first_name}}, thanks for writing!",
                tags=["hello"],
            ),
            Insert(
                id=2,
                kind=InsertKind.kb_article,
                title="Reset your password",
                body="Steps…",
                url="https://kb.example/reset",
            ),
            Insert(
                id=3,
                kind=InsertKind.meeting_link,
                title="Book a call",
                body="",
                url="https://meet.example/bob",
            ),
        ]
        names = [
            ("Ana", "García", "+34600000001"),
            ("Ben", "Okafor", "+2348000000002"),
            ("Chen", "Li", "+8613800000003"),
            ("Dora", "Müller", "+4915100000004"),
            ("Eve", "Hacker", "+15550000005"),
        ]
        for index, (first, last, phone) in enumerate(names):
            contact_id = 100 + index
            self.contacts[contact_id] = ContactDetail(
                id=contact_id,
                first_name=first,
                last_name=last,
                name=f"{first} {last}",
                phone=phone,
                wa_id=phone.lstrip("+"),
                country="ES" if index == 0 else None,
                properties={"plan": "pro"} if index == 0 else {},
                created_at=now,
                updated_at=now,
            )

    def add_agent(
        self,
        agent_id: int,
        name: str,
        role: Role,
        token: str,
        *,
        skills: list[str] | None = None,
        availability: Availability = Availability.available,
    ) -> Agent:
        agent = Agent(
            id=agent_id,
            name=name,
            role=role,
            skills=skills or [],
            availability=availability,
            notify=NotificationChoice.all,
            created_at=self.now,
        )
        self.agents[agent_id] = agent
        self.tokens[token] = agent_id
        return agent

    def add_thread(
        self,
        contact_id: int,
        texts: list[str],
        *,
        minutes_ago: int = 5,
        owner_id: int | None = None,
        status: TicketStatus = TicketStatus.waiting_on_us,
        priority: TicketPriority = TicketPriority.medium,
        session_open: bool = True,
        unread: int = 0,
        extra: list[Message] | None = None,
    ) -> Thread:
        thread_id = self.next_id()
        ticket_id = self.next_id()
        contact = self.contacts[contact_id]
        at = self.now - timedelta(minutes=minutes_ago)
        ticket = Ticket(
            id=ticket_id,
            subject=(texts[0] if texts else "(no text)").split("\n")[0][:80],
            status=status,
            priority=priority,
            owner_id=owner_id,
            thread_id=thread_id,
            contact_id=contact_id,
            business_number="+34 900 000 000",
            contact_wa_id=contact.wa_id,
            session_expires_at=(at + timedelta(hours=24))
            if session_open
            else (self.now - timedelta(hours=2)),
            created_at=at,
            updated_at=at,
        )
        messages = []
        for offset, text in enumerate(texts):
            messages.append(
                Message(
                    id=self.next_id(),
                    thread_id=thread_id,
                    direction=Direction.inbound,
                    kind=MessageKind.text,
                    text=text,
                    wamid=f"wamid.{thread_id}.{offset}",
                    from_number=contact.phone,
                    to_number="+34900000000",
                    created_at=at - timedelta(seconds=len(texts) - offset),
                )
            )
        messages.extend(extra or [])
        self.messages[thread_id] = messages
        thread = Thread(
            id=thread_id,
            business_number="+34 900 000 000",
            phone_number_id="PNID1",
            contact={
                "id": contact.id,
                "name": contact.name,
                "phone": contact.phone,
                "wa_id": contact.wa_id,
            },
            ticket=ticket,
            last_message_at=at,
            last_message_preview=(messages[-1].text if messages else None),
            last_message_direction=Direction.inbound,
            unread_count=unread,
            session_expires_at=ticket.session_expires_at,
            created_at=at,
        )
        self.threads[thread_id] = thread
        self.timeline[ticket_id] = [
            TimelineEntry(
                id=self.next_id(), ticket_id=ticket_id, at=at, action="created", new="new"
            )
        ]
        return thread

    def bulk_threads(self, count: int) -> None:
        """Many threads quickly (for paging tests)."""
        for index in range(count):
            self.add_thread(100 + index % 5, [f"bulk message {index}"], minutes_ago=1000 + index)

    # ----------------------------------------------------------------- views

    def view_threads(
        self, view_id: str | None, agent_id: int, owner: str | None = None
    ) -> list[Thread]:
        threads = list(self.threads.values())
        view = next((v for v in self.views if v.id == view_id), None)
        if view_id == "builtin:all_open" or view is None:
            threads = [t for t in threads if t.ticket.status != TicketStatus.closed]
        elif view_id == "builtin:mine":
            threads = [
                t
                for t in threads
                if t.ticket.owner_id == agent_id and t.ticket.status != TicketStatus.closed
            ]
        elif view_id == "builtin:unassigned":
            threads = [
                t
                for t in threads
                if t.ticket.owner_id is None and t.ticket.status != TicketStatus.closed
            ]
        elif view_id == "builtin:sent":
            threads = [t for t in threads if t.last_message_direction == Direction.outbound]
        elif view_id == "builtin:closed":
            threads = [t for t in threads if t.ticket.status == TicketStatus.closed]
        else:
            for item in view.filters:
                threads = [t for t in threads if self._matches(t, item)]
        if owner:
            threads = [t for t in threads if str(t.ticket.owner_id) == owner]
        threads.sort(key=lambda t: (t.last_message_at or t.created_at, t.id), reverse=True)
        return threads

    def _matches(self, thread: Thread, item: ViewFilter) -> bool:
        values = {
            "original_channel_type": thread.ticket.original_channel_type.value,
            "status": thread.ticket.status.value,
            "priority": thread.ticket.priority.value,
            "owner": str(thread.ticket.owner_id) if thread.ticket.owner_id else None,
        }
        value = values.get(item.property)
        if item.operator == FilterOperator.is_any_of:
            return value in item.values
        if item.operator == FilterOperator.is_none_of:
            return value not in item.values
        if item.operator == FilterOperator.is_known:
            return value is not None
        if item.operator == FilterOperator.is_unknown:
            return value is None
        return True

    def counts(self) -> dict[str, int]:
        return {v.id: len(self.view_threads(v.id, 1)) for v in self.views}

    # ----------------------------------------------------------------- events

    async def emit(self, kind: str, data: Any, *, seq: bool = True) -> None:
        payload = data if isinstance(data, dict) else data.model_dump(mode="json")
        event = {"seq": len(self.events) + 1 if seq else 0, "type": kind, "data": payload}
        if seq:
            self.events.append(event)
        text = json.dumps(event)
        for ws in list(self.sockets):
            try:
                await ws.send_str(text)
            except ConnectionError:
                self.sockets.discard(ws)

    async def emit_counts(self) -> None:
        await self.emit("view.counts", {"counts": self.counts()})

    def _touch_thread(self, thread_id: int, message: Message) -> Thread:
        thread = self.threads[thread_id]
        update: dict[str, Any] = {
            "last_message_at": message.created_at,
            "last_message_preview": (message.text or message.kind.value)[:120],
            "last_message_direction": message.direction,
        }
        if message.direction == Direction.inbound:
            update["unread_count"] = thread.unread_count + 1
            ticket = thread.ticket.model_copy(
                update={
                    "status": TicketStatus.waiting_on_us,
                    "session_expires_at": message.created_at + timedelta(hours=24),
                }
            )
            update["ticket"] = ticket
            update["session_expires_at"] = ticket.session_expires_at
        elif message.kind != MessageKind.note:
            update["ticket"] = thread.ticket.model_copy(
                update={"status": TicketStatus.waiting_on_contact}
            )
        thread = thread.model_copy(update=update)
        self.threads[thread_id] = thread
        return thread

    async def inbound(self, thread_id: int, text: str | None = None, **fields: Any) -> Message:
        """A customer writes (as the webhook would deliver it)."""
        thread = self.threads[thread_id]
        message = Message(
            id=self.next_id(),
            thread_id=thread_id,
            direction=Direction.inbound,
            kind=fields.pop("kind", MessageKind.text),
            text=text,
            from_number=thread.contact.phone,
            created_at=datetime.now(UTC),
            **fields,
        )
        self.messages[thread_id].append(message)
        updated = self._touch_thread(thread_id, message)
        await self.emit("message.created", message)
        await self.emit("thread.updated", updated)
        await self.emit_counts()
        return message

    # ----------------------------------------------------------------- server

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        r = app.router
        p = "/api/v1"
        r.add_get(f"{p}/me", self.h_me)
        r.add_patch(f"{p}/me", self.h_me_patch)
        r.add_get(f"{p}/agents", self.h_agents)
        r.add_get(f"{p}/threads", self.h_threads)
        r.add_get(f"{p}/threads/{{id}}", self.h_thread)
        r.add_post(f"{p}/threads/{{id}}/read", self.h_read)
        r.add_post(f"{p}/threads/{{id}}/unread", self.h_unread)
        r.add_get(f"{p}/threads/{{id}}/messages", self.h_messages)
        r.add_post(f"{p}/threads/{{id}}/messages", self.h_send)
        r.add_post(f"{p}/threads/{{id}}/messages/{{mid}}/retry", self.h_retry)
        r.add_post(f"{p}/messages/{{id}}/reveal", self.h_reveal)
        r.add_patch(f"{p}/tickets/{{id}}", self.h_ticket_patch)
        r.add_post(f"{p}/tickets/bulk", self.h_ticket_bulk)
        r.add_get(f"{p}/tickets/{{id}}/timeline", self.h_timeline)
        r.add_get(f"{p}/tickets", self.h_tickets)
        r.add_get(f"{p}/views", self.h_views)
        r.add_post(f"{p}/views", self.h_view_create)
        r.add_get(f"{p}/views/counts", self.h_counts)
        r.add_get(f"{p}/views/properties", self.h_properties)
        r.add_patch(f"{p}/views/{{id}}", self.h_view_patch)
        r.add_delete(f"{p}/views/{{id}}", self.h_view_delete)
        r.add_get(f"{p}/search", self.h_search)
        r.add_get(f"{p}/contacts", self.h_contacts)
        r.add_post(f"{p}/contacts", self.h_contact_create)
        r.add_get(f"{p}/contacts/{{id}}", self.h_contact)
        r.add_post(f"{p}/contacts/{{id}}/conversations", self.h_start)
        r.add_get(f"{p}/companies", self.h_empty)
        r.add_get(f"{p}/deals", self.h_empty)
        r.add_get(f"{p}/templates", self.h_templates)
        r.add_post(f"{p}/templates/sync", self.h_templates_sync)
        r.add_get(f"{p}/inserts", self.h_inserts)
        r.add_get(f"{p}/usage", self.h_usage)
        r.add_post(f"{p}/media", self.h_media)
        r.add_get(f"{p}/channels", self.h_empty)
        r.add_get(f"{p}/ws", self.h_ws)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        self.sockets.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() or request.query.get("token", "")
        agent_id = self.tokens.get(token)
        if agent_id is None:
            return error(401, "unauthorized", "The token is missing or not valid.")
        request["agent"] = self.agents[agent_id]
        body = None
        if request.method in ("POST", "PATCH") and request.content_type == "application/json":
            body = await request.json()
        self.requests.append((request.method, request.path, body))
        return await handler(request)

    # ----------------------------------------------------------------- handlers

    async def h_me(self, request: web.Request) -> web.Response:
        return web.json_response(_dump(request["agent"]))

    async def h_me_patch(self, request: web.Request) -> web.Response:
        body = await request.json()
        agent = Agent.model_validate(
            {
                **request["agent"].model_dump(mode="json"),
                **{k: v for k, v in body.items() if v is not None},
            }
        )
        self.agents[agent.id] = agent
        await self.emit("agent.updated", agent)
        return web.json_response(_dump(agent))

    async def h_agents(self, request: web.Request) -> web.Response:
        return web.json_response(page(self.agents.values()))

    async def h_threads(self, request: web.Request) -> web.Response:
        q = request.query
        threads = self.view_threads(q.get("view"), request["agent"].id, q.get("owner"))
        offset = int(q.get("offset", 0))
        limit = int(q.get("limit", 50))
        chunk = threads[offset : offset + limit]
        more = offset + limit < len(threads)
        total = len(threads) if q.get("with_total") == "true" else None
        return web.json_response(
            page(chunk, total=total, next_cursor=str(offset + limit) if more else None)
        )

    def _thread(self, request: web.Request) -> Thread:
        thread = self.threads.get(int(request.match_info["id"]))
        if thread is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": {"code": "not_found", "message": "No such thread."}}),
                content_type="application/json",
            )
        return thread

    async def h_thread(self, request: web.Request) -> web.Response:
        return web.json_response(_dump(self._thread(request)))

    async def h_read(self, request: web.Request) -> web.Response:
        thread = self._thread(request).model_copy(update={"unread_count": 0})
        self.threads[thread.id] = thread
        await self.emit("thread.updated", thread)
        return web.json_response({})

    async def h_unread(self, request: web.Request) -> web.Response:
        thread = self._thread(request).model_copy(update={"unread_count": 1})
        self.threads[thread.id] = thread
        await self.emit("thread.updated", thread)
        return web.json_response({})

    async def h_messages(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        messages = list(reversed(self.messages[thread.id]))  # newest first
        before = request.query.get("before")
        if before:
            index = next((i for i, m in enumerate(messages) if m.id == int(before)), len(messages))
            messages = messages[index + 1 :]
        limit = int(request.query.get("limit", 50))
        chunk = messages[:limit]
        return web.json_response(
            page(chunk, next_cursor=str(chunk[-1].id) if len(messages) > limit else None)
        )

    async def h_send(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        body = await request.json()
        kind = body.get("kind")
        session_open = (
            thread.session_expires_at is not None and thread.session_expires_at > datetime.now(UTC)
        )
        if self.usage.used >= self.usage.limit and kind != "note":
            return error(
                429,
                "usage_limit_reached",
                f"The monthly limit of {self.usage.limit} conversations is reached; it resets on "
                f"{self.usage.resets_on:%d %B %Y}.",
            )
        if kind in ("text", "media") and not session_open:
            return error(
                409, "session_expired", "The 24-hour session has expired: send a template instead."
            )
        if kind == "text" and not body.get("text"):
            return error(422, "invalid", "The text is empty.", "text")
        agent = request["agent"]
        fields: dict[str, Any] = {}
        if kind == "template":
            template = next((t for t in self.templates if t.name == body["name"]), None)
            if template is None or not template.sendable:
                return error(422, "template_not_sendable", "That template cannot be sent.", "name")
            text = " ".join(c.text or "" for c in template.components if c.type == "BODY")
            for key, value in body.get("variables", {}).items():
                text = text.replace(f"{{{{{key}}}}}", value)
            fields = {
                "kind": MessageKind.template,
                "text": text,
                "template_name": template.name,
                "template_language": template.language,
            }
        elif kind == "note":
            fields = {"kind": MessageKind.note, "text": body["text"]}
        elif kind == "media":
            fields = {
                "kind": MessageKind.document,
                "text": body.get("caption"),
                "media": {
                    "id": body["media_id"],
                    "filename": "invoice 1.pdf",
                    "size": 13,
                    "mime_type": "application/pdf",
                    "state": "ready",
                    "caption": body.get("caption"),
                },
            }
        else:
            fields = {"kind": MessageKind.text, "text": body.get("text")}
        reply_to = None
        if body.get("reply_to"):
            target = next((m for m in self.messages[thread.id] if m.id == body["reply_to"]), None)
            if target is not None:
                reply_to = {
                    "id": target.id,
                    "preview": (target.text or "")[:80],
                    "direction": target.direction.value,
                }
        message = Message(
            id=self.next_id(),
            thread_id=thread.id,
            direction=Direction.outbound,
            author_id=agent.id,
            author_name=agent.name,
            status=None if kind == "note" else DeliveryStatus.queued,
            created_at=datetime.now(UTC),
            reply_to=reply_to,
            **fields,
        )
        self.messages[thread.id].append(message)
        updated = self._touch_thread(thread.id, message)
        await self.emit("message.created", message)
        await self.emit("thread.updated", updated)
        return web.json_response(_dump(message), status=202)

    async def h_retry(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        mid = int(request.match_info["mid"])
        for index, message in enumerate(self.messages[thread.id]):
            if message.id == mid:
                updated = message.model_copy(
                    update={
                        "status": DeliveryStatus.queued,
                        "error_message": None,
                        "error_code": None,
                    }
                )
                self.messages[thread.id][index] = updated
                await self.emit("message.updated", updated)
                return web.json_response(_dump(updated), status=202)
        return error(404, "not_found", "No such message.")

    async def h_reveal(self, request: web.Request) -> web.Response:
        if request["agent"].role != Role.admin:
            return error(403, "forbidden", "Only admins can reveal quarantined messages.")
        mid = int(request.match_info["id"])
        for messages in self.messages.values():
            for message in messages:
                if message.id == mid:
                    return web.json_response(
                        {"message": _dump(message), "text": "revealed: card 4111 1111 1111 1111"}
                    )
        return error(404, "not_found", "No such message.")

    async def _update_ticket(
        self, ticket_id: int, body: dict[str, Any], actor: Agent
    ) -> Ticket | None:
        for thread in self.threads.values():
            if thread.ticket.id == ticket_id:
                changes: dict[str, Any] = {}
                if body.get("owner_id") is not None:
                    changes["owner_id"] = body["owner_id"]
                if body.get("unassign"):
                    changes["owner_id"] = None
                if body.get("status"):
                    changes["status"] = TicketStatus(body["status"])
                if body.get("priority"):
                    changes["priority"] = TicketPriority(body["priority"])
                for key, value in changes.items():
                    old = getattr(thread.ticket, key)
                    self.timeline[ticket_id].append(
                        TimelineEntry(
                            id=self.next_id(),
                            ticket_id=ticket_id,
                            at=datetime.now(UTC),
                            actor_id=actor.id,
                            actor_name=actor.name,
                            action={"owner_id": "owner_changed"}.get(key, f"{key}_changed"),
                            old=str(getattr(old, "value", old)),
                            new=str(getattr(value, "value", value)),
                        )
                    )
                ticket = thread.ticket.model_copy(update=changes)
                self.threads[thread.id] = thread.model_copy(update={"ticket": ticket})
                await self.emit("ticket.updated", ticket)
                await self.emit("thread.updated", self.threads[thread.id])
                return ticket
        return None

    async def h_ticket_patch(self, request: web.Request) -> web.Response:
        ticket = await self._update_ticket(
            int(request.match_info["id"]), await request.json(), request["agent"]
        )
        if ticket is None:
            return error(404, "not_found", "No such ticket.")
        await self.emit_counts()
        return web.json_response(_dump(ticket))

    async def h_ticket_bulk(self, request: web.Request) -> web.Response:
        body = await request.json()
        tickets = []
        for ticket_id in body["ticket_ids"]:
            ticket = await self._update_ticket(ticket_id, body, request["agent"])
            if ticket is not None:
                tickets.append(ticket)
        await self.emit_counts()
        return web.json_response({"items": _dump(tickets)})

    async def h_timeline(self, request: web.Request) -> web.Response:
        return web.json_response(page(self.timeline.get(int(request.match_info["id"]), [])))

    async def h_tickets(self, request: web.Request) -> web.Response:
        q = request.query.get("q", "").lower()
        tickets = [t.ticket for t in self.threads.values() if q in t.ticket.subject.lower()]
        return web.json_response(page(tickets[:50]))

    async def h_views(self, request: web.Request) -> web.Response:
        counts = self.counts()
        return web.json_response(
            page([v.model_copy(update={"count": counts.get(v.id)}) for v in self.views])
        )

    async def h_view_create(self, request: web.Request) -> web.Response:
        body = await request.json()
        view = View(
            id=str(self.next_id()),
            name=body["name"],
            sharing=ViewSharing(body.get("sharing", "private")),
            owner_id=request["agent"].id,
            filters=[ViewFilter(**f) for f in body.get("filters", [])],
            position=len(self.views),
        )
        self.views.append(view)
        await self.emit("views.changed", {"view": _dump(view)})
        await self.emit_counts()
        return web.json_response(_dump(view), status=201)

    async def h_view_patch(self, request: web.Request) -> web.Response:
        body = await request.json()
        for index, view in enumerate(self.views):
            if view.id == request.match_info["id"]:
                updated = View.model_validate(
                    {
                        **view.model_dump(mode="json"),
                        **{k: v for k, v in body.items() if v is not None},
                    }
                )
                self.views[index] = updated
                await self.emit("views.changed", {"view": _dump(updated)})
                return web.json_response(_dump(updated))
        return error(404, "not_found", "No such view.")

    async def h_view_delete(self, request: web.Request) -> web.Response:
        view_id = request.match_info["id"]
        self.views = [v for v in self.views if v.id != view_id]
        await self.emit("views.changed", {"deleted": view_id})
        return web.Response(status=204)

    async def h_counts(self, request: web.Request) -> web.Response:
        return web.json_response({"counts": self.counts()})

    async def h_properties(self, request: web.Request) -> web.Response:
        props = [
            FilterProperty(
                name="original_channel_type",
                label="Original channel type",
                kind="enum",
                operators=[FilterOperator.is_any_of, FilterOperator.is_none_of],
                values=["WHATSAPP"],
            ),
            FilterProperty(
                name="status",
                label="Status",
                kind="enum",
                operators=[FilterOperator.is_any_of, FilterOperator.is_none_of],
                values=[s.value for s in TicketStatus],
            ),
            FilterProperty(
                name="priority",
                label="Priority",
                kind="enum",
                operators=[FilterOperator.is_any_of, FilterOperator.is_none_of],
                values=[p.value for p in TicketPriority],
            ),
        ]
        return web.json_response(page(props))

    async def h_search(self, request: web.Request) -> web.Response:
        q = request.query.get("q", "").lower()
        hits = []
        for thread in self.threads.values():
            for message in self.messages[thread.id]:
                if q and q in (message.text or "").lower():
                    hits.append(
                        {
                            "thread": _dump(thread),
                            "message_id": message.id,
                            "snippet": message.text[:80],
                            "matched": "message",
                        }
                    )
            if q and q in thread.contact.name.lower():
                hits.append(
                    {
                        "thread": _dump(thread),
                        "message_id": None,
                        "snippet": thread.contact.name,
                        "matched": "contact",
                    }
                )
        return web.json_response({"items": hits[:50], "next_cursor": None})

    async def h_contacts(self, request: web.Request) -> web.Response:
        q = request.query.get("q", "").lower()
        return web.json_response(page([c for c in self.contacts.values() if q in c.name.lower()]))

    async def h_contact_create(self, request: web.Request) -> web.Response:
        body = await request.json()
        contact = ContactDetail(
            id=self.next_id(),
            name=f"{body.get('first_name') or ''} {body.get('last_name') or ''}".strip(),
            created_at=self.now,
            updated_at=self.now,
            **body,
        )
        self.contacts[contact.id] = contact
        return web.json_response(_dump(contact), status=201)

    async def h_contact(self, request: web.Request) -> web.Response:
        contact = self.contacts.get(int(request.match_info["id"]))
        if contact is None:
            return error(404, "not_found", "No such contact.")
        return web.json_response(_dump(contact))

    async def h_start(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("template"):
            return error(
                409, "session_expired", "No open session: start with a template.", "template"
            )
        thread = self.add_thread(int(request.match_info["id"]), [], session_open=False)
        template = body["template"]
        message = Message(
            id=self.next_id(),
            thread_id=thread.id,
            direction=Direction.outbound,
            kind=MessageKind.template,
            template_name=template["name"],
            template_language=template["language"],
            status=DeliveryStatus.queued,
            created_at=datetime.now(UTC),
        )
        self.messages[thread.id].append(message)
        await self.emit("thread.updated", thread)
        return web.json_response({"thread": _dump(thread), "message": _dump(message)}, status=202)

    async def h_empty(self, request: web.Request) -> web.Response:
        return web.json_response(page([]))

    async def h_templates(self, request: web.Request) -> web.Response:
        return web.json_response(page(self.templates))

    async def h_templates_sync(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"synced": len(self.templates), "templates": _dump(self.templates)}
        )

    async def h_inserts(self, request: web.Request) -> web.Response:
        return web.json_response(page(self.inserts))

    async def h_media(self, request: web.Request) -> web.Response:
        reader = await request.multipart()
        part = await reader.next()
        data = await part.read()  # type: ignore[union-attr]
        name = part.filename or "file"  # type: ignore[union-attr]
        self.requests.append(("UPLOAD", name, len(data)))
        if not data.startswith(b"%PDF"):
            return error(
                422,
                "unsupported_media_type",
                "This file type cannot be sent. Supported: images (jpeg, png), video (mp4, 3gpp), "
                "audio (aac, amr, mp3, m4a, ogg-opus), documents (pdf, doc(x), xls(x), ppt(x), txt).",
                "file",
            )
        return web.json_response(
            {
                "id": self.next_id(),
                "mime_type": "application/pdf",
                "kind": "document",
                "filename": name,
                "size": len(data),
                "sha256": "0" * 64,
            },
            status=201,
        )

    async def h_usage(self, request: web.Request) -> web.Response:
        return web.json_response(_dump(self.usage))

    async def h_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        if "since" in request.query:
            since = int(request.query["since"])
            if since > len(self.events):
                await ws.send_str(
                    json.dumps(
                        {"seq": 0, "type": "resync", "data": {"reason": "since_ahead_of_server"}}
                    )
                )
                await ws.close()
                return ws
            for event in self.events:
                if event["seq"] > since:
                    await ws.send_str(json.dumps(event))
        self.sockets.add(ws)
        agent = request["agent"]
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if data.get("type") == "presence":
                        presence = Presence(
                            agent_id=agent.id,
                            agent_name=agent.name,
                            thread_id=data.get("thread_id"),
                            state=data["state"],
                        )
                        await self.emit("presence", presence, seq=False)
        finally:
            self.sockets.discard(ws)
        return ws


async def wait_for(predicate: Any, timeout: float = 5.0, interval: float = 0.02) -> None:
    """Poll ``predicate`` until true (the pilot's events arrive asynchronously)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if predicate():
            return
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


def screen_text(app: Any) -> str:
    """What the terminal shows, as plain text (for assertions and debugging)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)
