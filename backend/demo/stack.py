"""The demo stack: backend + simulator in one process, seeded, with live customers.

``run_headless`` is what ``ttydesk demo --headless`` runs; the interactive ``ttydesk
demo`` starts it as a child process and opens the inbox against it (see launcher.py).
Seeding goes through the real API wherever there is one (the channel wizard, template
sync, contacts, replies), so the demo exercises the product rather than around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from backend import schemas
from backend.app import create_app
from backend.config import EmailSettings, RoutingRuleSettings, Settings
from backend.demo.assets import load_contacts, load_json
from backend.demo.mailbox import (
    SUPPORT_ADDRESS,
    SUPPORT_NAME,
    MailCustomer,
    MailSink,
    customer_mail,
    mail_customers,
    send_to_desk,
    start_sink,
)
from backend.email.channel import LISTENER
from backend.keys import SERVICES, STORE
from backend.simulator.app import create_simulator_app
from backend.simulator.config import (
    CustomerConfig,
    PhoneNumberConfig,
    SimulatorConfig,
    TemplateConfig,
    WabaConfig,
)
from backend.simulator.keys import SIMULATOR
from backend.simulator.simulator import Simulator
from backend.simulator.traffic import run_traffic
from backend.startup import DatabaseInUse, ServingLock, StartupError

log = logging.getLogger(__name__)

WABA_ID = "102290129340398"
NUMBERS = (
    ("106540352242922", "15550001111", "Northwind Support"),
    ("106540352242923", "15550002222", "Northwind Sales"),
)
HISTORY_HOURS = 5
DEMOS_FOLDER = "demos"
# a demo stopped just before this one (its inbox killed) lets go of the data a moment
# after: what it may take to close its store (seconds; the hidden ``ttydesk demo
# --data-in-use-wait`` sets another, which the tests use not to wait out the 15 s)
DATA_IN_USE_WAIT = 15.0


def runtime_dir() -> Path:
    """This user's private folder for running demos (several users share /tmp on a server)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    path = Path(base) / f"ttydesk-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid != os.getuid():
        raise PermissionError(
            f"{path} belongs to another user; set XDG_RUNTIME_DIR to a folder of your own"
        )
    path.chmod(0o700)
    return path


def demos_dir() -> Path:
    """One details file per running demo of this user, named by the demo's process id."""
    path = runtime_dir() / DEMOS_FOLDER
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def info_path(pid: int | None = None) -> Path:
    return demos_dir() / f"{pid or os.getpid()}.json"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read, from the first byte (it holds tokens)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


@dataclass
class DemoInfo:
    """What ``--headless`` prints as one JSON line (and what ``--join`` reads)."""

    backend_url: str
    simulator_url: str
    agents: dict[str, str]  # name → token
    app_secret: str
    verify_token: str
    phone_numbers: list[dict[str, str]]
    data_dir: str
    data_dir_is_temporary: bool = False  # removed when the demo ends
    mail_listener: str = ""  # host:port of the desk's SMTP listener (customers write here)
    mail_sink: str = ""  # host:port of the SMTP sink that catches what the desk sends
    name: str = ""  # what ``--join NAME`` matches, beside the pid
    started: str = field(default_factory=lambda: time.strftime("%H:%M"))
    pid: int = field(default_factory=os.getpid)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


@dataclass
class DemoOptions:
    data_dir: Path | None = None  # None: a new temporary folder, removed when the demo ends
    name: str = ""
    rate: float = 0.2
    traffic: bool = True
    host: str = "127.0.0.1"
    backend_port: int = 0
    simulator_port: int = 0
    seed: int = 7
    watch_stdin: bool = False  # stop when standard input closes (set by the launcher)
    data_in_use_wait: float = DATA_IN_USE_WAIT  # seconds for a stopping demo to let go


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound now: two demos started at once never get the same port."""
    return socket.create_server((host, port))


def simulator_config(
    *, host: str, port: int, webhook_url: str, app_secret: str, access_token: str, seed: int
) -> SimulatorConfig:
    templates = [
        TemplateConfig(
            name=t["name"],
            language=t["language"],
            status=t["status"],
            category=t["category"],
            parameter_format=t.get("parameter_format", "POSITIONAL"),
            components=t["components"],
        )
        for t in load_json("templates.json")
    ]
    customers = [
        CustomerConfig(
            name=c["name"],
            wa_id=c.get("wa_id"),
            user_id=c.get("user_id"),
            username=c.get("username"),
            country=c.get("country", "US"),
            read_receipts=c.get("read_receipts", True),
        )
        for c in load_json("customers.json")
    ]
    return SimulatorConfig(
        host=host,
        port=port,
        webhook_url=webhook_url,
        app_secret=app_secret,
        access_token=access_token,
        seed=seed,
        wabas=[
            WabaConfig(
                id=WABA_ID,
                name="Northwind",
                phone_numbers=[
                    PhoneNumberConfig(id=pnid, display_phone_number=display, verified_name=name)
                    for pnid, display, name in NUMBERS
                ],
                templates=templates,
            )
        ],
        customers=customers,
    )


class DemoStack:
    """Starts, seeds and stops the backend and the simulator."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.data_dir_is_temporary = options.data_dir is None
        self.data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="ttydesk-demo-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.app_secret = secrets.token_urlsafe(24)
        self.verify_token = secrets.token_urlsafe(16)
        self.access_token = "demo-" + secrets.token_urlsafe(24)
        host = options.host
        self._backend_socket = _listen(host, options.backend_port)
        self._simulator_socket = _listen(host, options.simulator_port)
        self.backend_port = self._backend_socket.getsockname()[1]
        self.simulator_port = self._simulator_socket.getsockname()[1]
        self.backend_url = f"http://{host}:{self.backend_port}"
        self.simulator_url = f"http://{host}:{self.simulator_port}"
        self.tokens: dict[str, str] = {}
        self._runners: list[web.AppRunner] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.backend_app: web.Application | None = None
        self.simulator: Simulator | None = None
        self.mail_sink = MailSink()
        self._sink_server: asyncio.Server | None = None
        self.mail_customers: list[MailCustomer] = mail_customers()
        self.seeded_now = False

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            host=self.options.host,
            port=self.backend_port,
            whatsapp_graph_url=self.simulator_url,
            whatsapp_app_secret=self.app_secret,
            whatsapp_verify_token=self.verify_token,
            subscription_start=date.today() - timedelta(days=12),
            routing_rules=[RoutingRuleSettings(**rule) for rule in load_json("routing.json")],
            email=EmailSettings(
                addresses=[SUPPORT_ADDRESS],
                display_name=SUPPORT_NAME,
                listen_host=self.options.host,
                listen_port=0,
                relay_host=self.options.host,
                relay_port=self.sink_port,
                relay_starttls=False,  # the sink runs on this machine
            ),
        )

    @property
    def sink_port(self) -> int:
        assert self._sink_server is not None
        return self._sink_server.sockets[0].getsockname()[1]

    @property
    def listener_port(self) -> int:
        assert self.backend_app is not None
        return self.backend_app[SERVICES][LISTENER].sockets[0].getsockname()[1]

    async def start(self) -> DemoInfo:
        self._sink_server = await start_sink(self.mail_sink, self.options.host)
        sim_app = create_simulator_app(
            simulator_config(
                host=self.options.host,
                port=self.simulator_port,
                webhook_url=f"{self.backend_url}/webhooks/whatsapp",
                app_secret=self.app_secret,
                access_token=self.access_token,
                seed=self.options.seed,
            )
        )
        await self._serve(sim_app, self._simulator_socket)
        self.simulator = sim_app[SIMULATOR]
        settings = self.settings()
        await self._wait_for_data(settings.database_path)
        self.backend_app = create_app(settings)
        await self._serve(self.backend_app, self._backend_socket)
        fresh = not (self.data_dir / "demo-seeded").exists()
        self.seeded_now = fresh
        await self._agents()
        if fresh:
            await self._seed()
            (self.data_dir / "demo-seeded").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
        else:
            # this run's simulator knows only this run's access token: give it to the saved
            # channel, as an admin does after a token rotation (the wizard's first step)
            async with self.client(self.admin) as api:
                await self._post_channel(api)
        return DemoInfo(
            backend_url=self.backend_url,
            simulator_url=self.simulator_url,
            agents=dict(self.tokens),
            app_secret=self.app_secret,
            verify_token=self.verify_token,
            phone_numbers=[
                {"display_phone_number": display, "phone_number_id": pnid}
                for pnid, display, _ in NUMBERS
            ],
            data_dir=str(self.data_dir),
            data_dir_is_temporary=self.data_dir_is_temporary,
            mail_listener=f"{self.options.host}:{self.listener_port}",
            mail_sink=f"{self.options.host}:{self.sink_port}",
            name=self.options.name,
        )

    async def _wait_for_data(self, database: Path) -> None:
        """Wait a little for a demo still stopping on the same ``--data-dir``; one that
        goes on running is named in one line."""
        if self.data_dir_is_temporary:
            return
        lock = ServingLock(database)
        deadline = time.monotonic() + self.options.data_in_use_wait
        while True:
            try:
                lock.acquire()
            except DatabaseInUse as exc:
                if time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    continue
                by = f" (pid {exc.holder})" if exc.holder else ""
                raise StartupError(
                    f"the demo data in {self.data_dir} is in use by another ttydesk{by}: "
                    "stop that one first, or give this demo another --data-dir"
                ) from None
            lock.release()
            return

    async def _serve(self, app: web.Application, sock: socket.socket) -> None:
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self._runners.append(runner)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # the backend first, so its outbox stops before the simulator goes away
        for runner in reversed(self._runners):
            with contextlib.suppress(Exception):
                await runner.cleanup()
        self._runners.clear()
        self._backend_socket.close()
        self._simulator_socket.close()
        if self._sink_server is not None:
            self._sink_server.close()

    def remove_temporary_data(self) -> None:
        """A demo's temporary folder goes with it; a ``--data-dir`` folder is kept."""
        if self.data_dir_is_temporary:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # ------------------------------------------------------------------ seeding

    @property
    def store(self):  # noqa: ANN201 - the SqliteStore of the running backend
        assert self.backend_app is not None
        return self.backend_app[STORE]

    def client(self, agent: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.backend_url,
            headers={"Authorization": f"Bearer {self.tokens[agent]}"},
            timeout=20.0,
        )

    async def _agents(self) -> None:
        existing = {agent.name for agent in await self.store.list_agents()}
        for spec in load_json("agents.json"):
            if spec["name"] in existing:
                agent = await self.store.find_agent(spec["name"])
                self.tokens[spec["name"]] = await self.store.rotate_token(agent.id)
            else:
                made = await self.store.create_agent(schemas.AgentCreate(**spec))
                self.tokens[spec["name"]] = made.token

    @property
    def admin(self) -> str:
        return next(a["name"] for a in load_json("agents.json") if a["role"] == "admin")

    async def _seed(self) -> None:
        async with self.client(self.admin) as api:
            await self._connect_channel(api)
            await self._templates(api)
            await self._records(api)
            await self._views(api)
        await self.store.create_inserts(load_json("inserts.json"))
        await self._history()

    async def _connect_channel(self, api: httpx.AsyncClient) -> None:
        channel_id = await self._post_channel(api)
        for pnid, _display, _name in NUMBERS:
            response = await api.post(
                f"/api/v1/channels/{channel_id}/phone-numbers", json={"phone_number_id": pnid}
            )
            _check(response, f"connecting number {pnid}")
        # the history below is a few hours old: it must not predate the connection
        await self.store.backdate_connections(self.store.now() - timedelta(hours=HISTORY_HOURS + 1))

    async def _post_channel(self, api: httpx.AsyncClient) -> int:
        """The business account with this run's access token (a known one is updated)."""
        response = await api.post(
            "/api/v1/channels",
            json={
                "business": {
                    "legal_name": "Northwind Traders Ltd",
                    "display_name": "Northwind",
                    "display_name_differs": True,
                    "website": "https://northwind.example",
                    "email": "support@northwind.example",
                    "country": "GB",
                    "time_zone": "Europe/London",
                },
                "access_token": self.access_token,
                "waba_id": WABA_ID,
                "profile": {
                    "display_name": "Northwind",
                    "category": "RETAIL",
                    "description": "Northwind customer support",
                },
            },
        )
        _check(response, "connecting the demo channel")
        return response.json()["id"]

    async def _templates(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/api/v1/templates/sync")
        _check(response, "syncing templates")
        mappings = {
            (t["name"], t["language"]): t.get("variable_mapping", {})
            for t in load_json("templates.json")
        }
        listed = await api.get("/api/v1/templates", params={"limit": 100})
        _check(listed, "listing templates")
        for template in listed.json()["items"]:
            mapping = mappings.get((template["name"], template["language"]))
            if mapping:
                response = await api.patch(
                    f"/api/v1/templates/{template['id']}", json={"variable_mapping": mapping}
                )
                _check(response, f"mapping template {template['name']}")

    async def _records(self, api: httpx.AsyncClient) -> None:
        company_ids = await self.store.create_companies(load_json("companies.json"))
        pairs: list[tuple[int, int]] = []
        for row in load_contacts():
            body = {k: v for k, v in row.items() if v and k != "company"}
            response = await api.post("/api/v1/contacts", json=body)
            _check(response, f"importing contact {row.get('first_name')}")
            company = row.get("company")
            if company and company in company_ids:
                pairs.append((response.json()["id"], company_ids[company]))
        await self.store.associate_contacts_with_companies(pairs)
        await self.store.create_deals(load_json("deals.json"), company_ids)

    async def _views(self, api: httpx.AsyncClient) -> None:
        for view in load_json("views.json"):
            _check(await api.post("/api/v1/views", json=view), f"creating view {view['name']}")

    async def _history(self) -> None:
        """Customers' first messages, spread over the last few hours, and a few replies."""
        assert self.simulator is not None
        now = time.time()
        customers = load_json("customers.json")
        rng = random.Random(self.options.seed)
        for index, customer in enumerate(customers):
            key = customer.get("user_id") or customer["wa_id"]
            started = now - HISTORY_HOURS * 3600 + index * 1800
            for step, line in enumerate(customer["script"][:2]):
                spec = script_line(line)
                if spec is None:
                    continue
                spec["timestamp"] = int(started + step * rng.randint(60, 600))
                if customer.get("phone_number_id"):
                    spec["phone_number_id"] = customer["phone_number_id"]
                self.simulator.customer_send(key, spec)
        with contextlib.suppress(TimeoutError):
            await self.simulator.wait_idle(timeout=15)
        for index, customer in enumerate(self.mail_customers):
            at = datetime.fromtimestamp(now - HISTORY_HOURS * 3600 + index * 2400 + 900, UTC)
            await self._customer_writes(customer, customer.script[0], at)
        await self._first_replies()

    async def _customer_writes(self, customer: MailCustomer, line: str, at: datetime) -> None:
        answering = self.mail_sink.last_to(customer.address)
        mail = customer_mail(customer, line, at=at, answering=answering)
        await send_to_desk(mail, self.options.host, self.listener_port)

    async def _first_replies(self) -> None:
        replies = {
            "es": "¡Hola! Lo reviso ahora mismo 🙂",
            "pt": "Olá! Vou verificar a fatura agora.",
            "de": "Guten Tag! Ich sehe mir die Rechnung sofort an.",
        }
        async with self.client(self.admin) as api:
            threads = (await api.get("/api/v1/threads", params={"limit": 50})).json()["items"]
            for thread in threads:
                if thread["channel_type"] == "EMAIL":
                    await self._first_mail_reply(api, thread)
                    continue
                country = (thread["contact"].get("wa_user_id") or "")[:2]
                language = {"ES": "es", "BR": "pt", "DE": "de"}.get(country)
                if language is None:
                    continue
                await api.post(
                    f"/api/v1/threads/{thread['id']}/messages",
                    json={"kind": "text", "text": replies[language]},
                )

    async def _first_mail_reply(self, api: httpx.AsyncClient, thread: dict) -> None:
        """The desk answers the English and the Spanish mail (the sink catches both)."""
        replies = {
            "Oliver Grant": "Hello Oliver,\n\nsorry about that: we "
            "see both payments. We can refund the second one or issue a credit note for "
            "GBP 1,240.00, whichever suits you.",
            "Maria Lopez": "Hola Maria:\n\nle enviamos la factura del "
            "pedido A123 a nombre de Lopez Hermanos SL hoy mismo.",
        }
        text = replies.get(thread["contact"]["name"])
        if text is not None:
            response = await api.post(
                f"/api/v1/threads/{thread['id']}/messages", json={"kind": "text", "text": text}
            )
            _check(response, "replying by e-mail")

    # ------------------------------------------------------------------ live customers

    def start_traffic(self) -> None:
        if self.options.traffic and self.options.rate > 0:
            self._tasks.append(asyncio.create_task(self._scripted_customers(), name="demo-scripts"))
            if self.seeded_now:  # a run again on its folder: the mails were written before
                self._tasks.append(asyncio.create_task(self.play_mail_scripts(), name="demo-mail"))

    async def play_mail_scripts(self) -> None:
        """The rest of each e-mail customer's script, gently; a reply line answers the
        desk's last mail to them (the one the sink caught)."""
        rng = random.Random(self.options.seed + 2)
        for step in range(1, max(len(c.script) for c in self.mail_customers)):
            for customer in self.mail_customers:
                if step < len(customer.script):
                    await asyncio.sleep(rng.expovariate(self.options.rate))
                    await self._customer_writes(customer, customer.script[step], datetime.now(UTC))

    async def _scripted_customers(self) -> None:
        """Play the rest of each demo customer's script, then general traffic, gently."""
        assert self.simulator is not None
        sim = self.simulator
        rng = random.Random(self.options.seed + 1)
        pending = [
            (c.get("user_id") or c["wa_id"], c.get("phone_number_id"), line)
            for step in range(2, 6)
            for c in load_json("customers.json")
            if step < len(c["script"])
            for line in [c["script"][step]]
        ]
        for key, phone_number_id, line in pending:
            await asyncio.sleep(rng.expovariate(self.options.rate))
            spec = script_line(line, sim=sim, key=key)
            if spec is not None:
                if phone_number_id:
                    spec["phone_number_id"] = phone_number_id
                sim.customer_send(key, spec)
        await run_traffic(
            sim, self.options.rate, languages=("en", "es", "pt", "de", "fr"), customer_count=12
        )


def script_line(line: str, *, sim: Simulator | None = None, key: str | None = None) -> dict | None:
    """A line of customers.json: plain text, or a JSON message spec."""
    if not line.startswith("{"):
        return {"type": "text", "text": line}
    spec = json.loads(line)
    kind = spec.get("type")
    if kind == "reaction":
        target = _last_business_message(sim, key)
        if target is None:
            return None
        return {"type": "reaction", "message_id": target, "emoji": spec.get("emoji", "👍")}
    if kind == "reply":
        target = _last_business_message(sim, key)
        out: dict[str, Any] = {"type": "text", "text": spec["text"]}
        if target is not None:
            out["context"] = {"reply_to": target}
        return out
    if kind == "contacts":
        return {
            "type": "contacts",
            "contacts": [
                {
                    "name": {"formatted_name": spec["name"], "first_name": spec["name"].split()[0]},
                    "phones": [{"phone": spec["phone"], "type": "WORK"}],
                }
            ],
        }
    return spec


def _last_business_message(sim: Simulator | None, key: str | None) -> str | None:
    if sim is None or key is None:
        return None
    try:
        customer = sim.customer_for_key(key)
    except Exception:  # noqa: BLE001 - an unknown customer simply has no target
        return None
    return sim.state.last_sent_to.get(customer.user_id)


def _check(response: httpx.Response, what: str) -> None:
    if response.status_code >= 400:
        raise RuntimeError(f"demo set-up failed while {what}: {response.text[:300]}")


async def run_headless(options: DemoOptions, *, announce=print) -> int:  # noqa: ANN001
    """Run until SIGINT/SIGTERM or until standard input closes (the launcher went away)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    stack = DemoStack(options)
    try:
        info = await stack.start()
        write_private(info_path(), info.to_json())
        announce(info.to_json())
        sys.stdout.flush()
        stack.start_traffic()
        if options.watch_stdin:
            threading.Thread(target=_wait_for_eof, args=(loop, stop), daemon=True).start()
        await stop.wait()
    finally:
        await stack.stop()
        info_path().unlink(missing_ok=True)
        stack.remove_temporary_data()
    return 0


def _wait_for_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    try:
        while sys.stdin.buffer.read(1024):
            pass
    except (OSError, ValueError):
        pass
    loop.call_soon_threadsafe(stop.set)
