"""The TUI tests' world: the REAL backend (aiohttp on 127.0.0.1, a real SQLite file) and the
REAL WhatsApp simulator, with a fixed clock and a small deterministic dataset.

Everything is seeded the way the product gets it: the channel is connected through the
API (the simulator answers the Graph calls, templates are synced from it), contacts are
imported through ``POST /contacts``, customers write through the simulator (signed
webhooks into the real ingest and content policy: the quarantined and unsupported
messages are the policy's and the parser's own), tickets are assigned and closed through
the API, inserts go through the store's seeding functions (there is no insert API).

``start_desk()`` returns a ``Desk``; ``stop_desk()`` ends it. ``ThreadedDesk`` runs one on
its own event loop in a thread (for ``snap_compare``, which runs the app in its own loop).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from backend import schemas
from backend.domain.clock import FixedClock
from backend.simulator.config import CustomerConfig, PhoneNumberConfig, TemplateConfig, WabaConfig
from tests.whatsapp.outbound_fixtures import (
    PHONE_ID,
    WABA_ID,
    WhatsAppEnv,
    start_env,
    stop_env,
)
from tui.app import DemoLink, TtydeskApp
from tui.client import ApiClient, LiveStream
from tui.config import Settings

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
"""The backend's (and the app's) fixed "now"; the simulator's clock is moved to it too."""

HOSTILE_TEXT = "Pay now \x1b[31mRED\x1b[0m [bold]not bold[/bold] \u202eevil.exe\u202c ok"
HOSTILE_SHOWN = "␛[31mRED␛[0m [bold]not bold[/bold] ⟨RLO⟩evil.exe⟨PDF⟩"
HOSTILE_NAME = "Mal \x1b[1mOry\x1b[0m [b]x[/b] \u202eevil"
"""A WhatsApp profile name with an escape sequence, markup and a bidi override."""
CARD_TEXT = "my card is 4111 1111 1111 1111 exp 12/29"
BUSINESS_DISPLAY = "15550001111"


@dataclass(frozen=True)
class Customer:
    key: str
    name: str  # the WhatsApp profile name
    wa_id: str
    country: str

    @property
    def phone(self) -> str:
        return "+" + self.wa_id


CUSTOMERS = {
    "ana": Customer("ana", "Ana García", "34600000001", "ES"),
    "ben": Customer("ben", "Ben Okafor", "2348000000002", "NG"),
    "chen": Customer("chen", "Chen Li", "8613800000003", "CN"),
    "dora": Customer("dora", "Dora Müller", "4915100000004", "DE"),
    "eve": Customer("eve", "Eve Hacker", "14155550105", "US"),
    "mal": Customer("mal", HOSTILE_NAME, "34612000006", "ES"),
}

TEMPLATES = [
    TemplateConfig(
        name="order_update",
        language="en_US",
        status="APPROVED",
        category="UTILITY",
        components=[
            {"type": "HEADER", "format": "TEXT", "text": "Order news"},
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order {{2}} has shipped.",
                "example": {"body_text": [["Ana", "A-1"]]},
            },
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
        ],
    ),
    TemplateConfig(
        name="hello_again",
        language="en_US",
        status="APPROVED",
        category="MARKETING",
        components=[
            {
                "type": "BODY",
                "text": "Hello {{1}}! [bold]Can we help?[/bold] \x1b[31m",
                "example": {"body_text": [["Ana"]]},
            }
        ],
    ),
    TemplateConfig(
        name="promo_pending",
        language="es",
        status="PENDING",
        category="MARKETING",
        components=[{"type": "BODY", "text": "Oferta"}],
    ),
]

INSERTS = [
    {
        "kind": "snippet",
        "title": "Greeting",
        "body": "Hi {{contact.first_name}}, thanks for writing!",
        "tags": ["hello"],
    },
    {
        "kind": "kb_article",
        "title": "Reset your password",
        "body": "Steps…",
        "url": "https://kb.example/reset",
    },
    {"kind": "meeting_link", "title": "Book a call", "body": "", "url": "https://meet.example/bob"},
]

WHATSAPP_FILTER = {
    "property": "original_channel_type",
    "operator": "is_any_of",
    "values": ["WHATSAPP"],
}


def sim_overrides() -> dict[str, Any]:
    return {
        "wabas": [
            WabaConfig(
                id=WABA_ID,
                name="Acme",
                phone_numbers=[
                    PhoneNumberConfig(
                        id=PHONE_ID, display_phone_number=BUSINESS_DISPLAY, verified_name="Acme"
                    ),
                    PhoneNumberConfig(
                        id="106540352242923",
                        display_phone_number="15550002222",
                        verified_name="Acme Sales",
                    ),
                ],
                templates=TEMPLATES,
            )
        ],
        "customers": [
            CustomerConfig(name=c.name, wa_id=c.wa_id, country=c.country)
            for c in CUSTOMERS.values()
        ],
    }


@dataclass
class Desk:
    """A seeded backend + simulator. ``ids`` are thread ids by customer key."""

    env: WhatsAppEnv
    clock: FixedClock
    ids: dict[str, int] = field(default_factory=dict)
    tickets: dict[str, int] = field(default_factory=dict)
    contacts: dict[str, int] = field(default_factory=dict)
    wamids: dict[str, list[str]] = field(default_factory=dict)
    views: dict[str, str] = field(default_factory=dict)
    carol: schemas.Agent | None = None
    carol_token: str = ""

    @property
    def backend(self):  # noqa: ANN201 - tests.support.LiveBackend
        return self.env.backend

    @property
    def url(self) -> str:
        return self.backend.url

    @property
    def admin_token(self) -> str:
        return self.backend.admin_token

    @property
    def agent_token(self) -> str:
        return self.backend.agent_token

    @property
    def admin(self) -> httpx.AsyncClient:
        return self.env.admin

    @property
    def agent(self) -> httpx.AsyncClient:
        return self.env.agent

    @property
    def store(self):  # noqa: ANN201 - the backend's SqliteStore
        return self.backend.store

    # ---------------------------------------------------------------- customers write

    async def customer_writes(
        self, key: str, spec: dict[str, Any] | str, *, at: datetime | None = None
    ) -> int:
        """The customer sends one message through the simulator; waits until the backend
        has stored it and returns the message id."""
        body = {"type": "text", "text": spec} if isinstance(spec, str) else dict(spec)
        body["timestamp"] = int((at or self.clock.now()).timestamp())
        customer = CUSTOMERS[key]
        result = await self.env.control("POST", f"/customers/{customer.wa_id}/messages", json=body)
        wamid = result["wamid"]
        self.wamids.setdefault(key, []).append(wamid)

        def stored(tx: Any) -> tuple[int, int] | None:
            row = tx.one("SELECT id, thread_id FROM messages WHERE wamid = ?", (wamid,))
            return None if row is None else (row["id"], row["thread_id"])

        message_id, thread_id = await self.env.until(lambda: self.store.write(stored))
        self.ids.setdefault(key, thread_id)
        return message_id

    # ---------------------------------------------------------------- API helpers

    async def call(
        self, method: str, path: str, *, client: httpx.AsyncClient | None = None, **kwargs: Any
    ) -> Any:
        response = await (client or self.admin).request(method, "/api/v1" + path, **kwargs)
        assert response.status_code < 400, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    async def thread(self, key: str) -> schemas.Thread:
        return schemas.Thread.model_validate(await self.call("GET", f"/threads/{self.ids[key]}"))

    async def messages(self, key: str) -> list[schemas.Message]:
        page = await self.call("GET", f"/threads/{self.ids[key]}/messages", params={"limit": 100})
        return [schemas.Message.model_validate(m) for m in reversed(page["items"])]

    async def view_list(self) -> list[schemas.View]:
        page = await self.call("GET", "/views", params={"limit": 200})
        return [schemas.View.model_validate(v) for v in page["items"]]

    # ---------------------------------------------------------------- the app

    def make_app(self, token: str, **kwargs: Any) -> TtydeskApp:
        return make_app(self.url, token, clock=self.clock.now, **kwargs)


def make_app(
    server: str,
    token: str,
    *,
    backoff: tuple[float, ...] = (0.05, 0.1, 0.2),
    clock: Callable[[], datetime] | None = None,
    settings: Settings | None = None,
    demo: DemoLink | None = None,
) -> TtydeskApp:
    """The app the way the CLI builds it, with a short reconnect back-off."""
    settings = settings or Settings(server=server, token=token)
    client = ApiClient(server, token)

    def live(c: ApiClient, since: int | None) -> LiveStream:
        return LiveStream(c, since=since, backoff=backoff)

    return TtydeskApp(settings, client, live=live, save_config=False, clock=clock, demo=demo)


# -------------------------------------------------------------------- start, seed, stop


async def start_desk(
    data_dir: Path,
    *,
    seed: bool = True,
    backend_overrides: dict[str, Any] | None = None,
    **sim_changes: Any,
) -> Desk:
    clock = FixedClock(T0)
    env = await start_env(
        data_dir,
        clock=clock,
        backend_overrides=backend_overrides,
        **(sim_overrides() | sim_changes),
    )
    # the simulator's clock runs from T0 too (its windows, status and webhook timestamps)
    env.sim.clock.offset_s = T0.timestamp() - time.time()
    desk = Desk(env=env, clock=clock)
    try:
        if seed:
            await seed_desk(desk)
    except BaseException:
        await stop_env(env)
        raise
    return desk


async def stop_desk(desk: Desk) -> None:
    await stop_env(desk.env)


async def seed_desk(desk: Desk) -> None:
    env, backend = desk.env, desk.backend
    # a third agent, away
    made = await desk.store.create_agent(schemas.AgentCreate(name="Carol Away"))
    desk.carol, desk.carol_token = made.agent, made.token
    async with backend.client(desk.carol_token) as carol:
        await desk.call("PATCH", "/me", client=carol, json={"availability": "away"})
    # the channel, through the API (the simulator answers); templates come with it
    await env.connect_channel()
    # the history below predates "now": the number was connected before it
    await desk.store.backdate_connections(T0 - timedelta(days=3))
    templates = (await desk.call("GET", "/templates", params={"limit": 100}))["items"]
    for template in templates:
        if template["name"] in ("order_update", "hello_again"):
            await desk.call(
                "PATCH",
                f"/templates/{template['id']}",
                json={"variable_mapping": {"1": "first_name"}},
            )
    # an imported contact (the others come from WhatsApp profiles)
    ana = await desk.call(
        "POST",
        "/contacts",
        json={
            "first_name": "Ana",
            "last_name": "García",
            "phone": CUSTOMERS["ana"].phone,
            "country": "ES",
            "properties": {"plan": "pro"},
        },
    )
    desk.contacts["ana"] = ana["id"]
    await desk.store.create_inserts(INSERTS)
    view = await desk.call(
        "POST",
        "/views",
        json={"name": "WhatsApp", "sharing": "everyone", "filters": [WHATSAPP_FILTER]},
    )
    desk.views["whatsapp"] = view["id"]

    # customers write (oldest first)
    ago = lambda minutes: T0 - timedelta(minutes=minutes)  # noqa: E731
    await desk.customer_writes("dora", "Danke!", at=ago(60 * 50))
    await desk.customer_writes("chen", "Can I change my plan?", at=ago(60 * 30))
    await desk.customer_writes("mal", "Hello? [link](http://x)", at=ago(45))
    await desk.customer_writes("ben", "Invoice question", at=ago(30))
    await desk.customer_writes("eve", HOSTILE_TEXT, at=ago(8))
    await desk.customer_writes(
        "eve", {"type": "unsupported", "unsupported_type": "poll_creation"}, at=ago(7.9)
    )
    await desk.customer_writes("eve", CARD_TEXT, at=ago(7.8))
    await desk.customer_writes("ana", "Hola, my order has not arrived", at=ago(4))
    await desk.customer_writes("ana", "Order *A123* please _today_", at=ago(3))

    for key in CUSTOMERS:
        thread = await desk.thread(key)
        desk.tickets[key] = thread.ticket.id
        desk.contacts[key] = thread.contact.id
    # owners, statuses, priorities: through the API, as agents do it
    admin_id, bob_id = backend.admin.id, backend.agent.id
    # (new tickets were routed round-robin; set the owners this dataset wants)
    changes = {
        "ana": {"unassign": True},
        "ben": {"owner_id": bob_id},
        "chen": {"unassign": True},
        "dora": {"unassign": True, "status": "closed"},
        "eve": {"owner_id": admin_id},
        "mal": {"owner_id": bob_id, "status": "waiting_on_contact", "priority": "high"},
    }
    for key, change in changes.items():
        await desk.call("PATCH", f"/tickets/{desk.tickets[key]}", json=change)
    for key in ("ben", "chen", "dora", "eve", "mal"):
        await desk.call("POST", f"/threads/{desk.ids[key]}/read")


class ThreadedDesk:
    """A desk on its own event loop in a daemon thread (``snap_compare`` runs the app in a
    loop of its own)."""

    def __init__(self, data_dir: Path, **kwargs: Any) -> None:
        self.data_dir = data_dir
        self.kwargs = kwargs
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.desk: Desk | None = None

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self) -> Desk:
        self.thread.start()
        self.desk = self.run(start_desk(self.data_dir, **self.kwargs))
        return self.desk

    def __exit__(self, *exc: object) -> None:
        if self.desk is not None:
            self.run(stop_desk(self.desk))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


# -------------------------------------------------------------------- waiting and looking


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


async def inbox_ready(app: TtydeskApp, *, threads: bool = True) -> Any:
    from tui.screens.inbox import InboxScreen

    await wait_for(
        lambda: isinstance(app.screen, InboxScreen) and bool(app.screen.query("#threads")),
        timeout=10,
    )
    screen = app.screen
    assert isinstance(screen, InboxScreen)
    if threads:
        await wait_for(lambda: screen.threads.current is not None)
    await wait_for(lambda: app.conn_state == "connected")
    return screen


async def open_thread(pilot: Any, screen: Any, thread_id: int) -> None:
    await wait_for(lambda: screen.threads.find(thread_id) is not None)
    screen.threads.focus()
    screen.threads.move_to(thread_id)
    await pilot.pause()
    await pilot.press("enter")
    await wait_for(lambda: screen.thread is not None and screen.thread.id == thread_id)
    await wait_for(lambda: len(screen.log_widget.messages) > 0)


async def search_for(pilot: Any, app: TtydeskApp, query: str) -> Any:
    """The search screen (``/``) with ``query`` submitted, once it shows a hit."""
    from tui.screens.search import SearchScreen

    await pilot.press("slash")
    await wait_for(lambda: isinstance(app.screen, SearchScreen))
    search = app.screen
    await pilot.press(*query, "enter")
    await wait_for(lambda: len(search.hits) > 0)
    return search


async def open_template_picker(app: TtydeskApp, pilot: Any, thread_id: int) -> Any:
    """The inbox's thread ``thread_id`` opened and its template picker (``t``) shown."""
    from tui.dialogs.template_picker import TemplatePicker

    screen = await inbox_ready(app)
    await open_thread(pilot, screen, thread_id)
    await pilot.press("t")
    await wait_for(lambda: isinstance(app.screen, TemplatePicker))
    return app.screen
