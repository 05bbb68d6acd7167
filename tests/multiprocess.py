"""Several real ``ttydesk serve`` processes on one PostgreSQL database, with the simulator
(issue 16, step 3's harness).

``Team`` starts the simulator (in the test's process, on its own port: it stands in for
Meta, so every process sends to it and it delivers its webhooks to the first process)
and N ``ttydesk serve`` subprocesses, each on its own 127.0.0.1 port, all on one
database of the session's throwaway cluster (tests/pg_cluster.py). The test's own
``PostgresStore`` on that database is the admin's hand: it seeds the agents and the
business number before the processes start, and reads rows for the asserts.

A process can be stopped, killed (``kill -9``) and started again on its port
(``ServeProcess``); its output goes to a log file whose tail a failure shows.
``signed_post`` delivers a webhook to a chosen process exactly as Meta signs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import websockets
from aiohttp.test_utils import TestServer

from backend import schemas
from backend.simulator.app import create_simulator_app
from backend.simulator.config import SimulatorConfig
from backend.simulator.keys import SIMULATOR
from backend.store import PostgresStore
from backend.store.engine import iso
from tests.whatsapp import payloads

APP_SECRET = "multi-app-secret"
VERIFY_TOKEN = "multi-verify-token"
SIM_TOKEN = "sim-access-token"
WEBHOOK = "/webhooks/whatsapp"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0
WAIT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serialise(payload: dict[str, Any]) -> bytes:
    """Meta's serialisation: compact, non-ASCII escaped as \\uXXXX."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def signed_post(client: httpx.AsyncClient, payload: dict[str, Any]) -> httpx.Response:
    """POST a webhook to the process ``client`` talks to, signed as Meta signs it."""
    body = serialise(payload)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature(body)}
    return await client.post(WEBHOOK, content=body, headers=headers)


async def until(probe: Any, what: str, timeout: float = WAIT_SECONDS) -> Any:
    """``await probe()`` until it answers something true (its answer), or fail saying what."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                value = await probe()
                if value:
                    return value
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"gave up waiting: {what}") from None


@dataclass
class ServeProcess:
    """One ``ttydesk serve`` subprocess on a port of its own; ``start`` again after
    ``stop``/``kill`` serves on the same port."""

    index: int
    port: int
    env: dict[str, str]
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws"

    @property
    def log_path(self) -> Path:
        return self.folder / f"serve-{self.index}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    async def start(self) -> None:
        """Start it and wait until it answers ``/healthz``."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        log = self.log_path.open("ab")
        try:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "serve"],
                env=self.env,
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        await self._ready()

    async def _ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=5.0) as client:
            try:
                async with asyncio.timeout(START_TIMEOUT_SECONDS):
                    while True:
                        if self.process is not None and self.process.poll() is not None:
                            raise AssertionError(
                                f"serve {self.index} exited ({self.process.returncode}):\n"
                                f"{self.log_tail()}"
                            )
                        with contextlib.suppress(httpx.TransportError):
                            if (await client.get("/healthz")).status_code == 200:
                                return
                        await asyncio.sleep(0.1)
            except TimeoutError:
                raise AssertionError(
                    f"serve {self.index} did not answer in {START_TIMEOUT_SECONDS} s:\n"
                    f"{self.log_tail()}"
                ) from None

    async def stop(self) -> None:
        """SIGTERM, as an operator stops it; SIGKILL if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait)

    async def kill(self) -> None:
        """``kill -9``: nothing of it runs after this returns."""
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGKILL)
        await asyncio.to_thread(self.process.wait)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=20.0)

    def websocket(self, token: str, since: int | None = None) -> Any:
        """``async with process.websocket(token) as ws``: a client of this process."""
        url = self.ws_url if since is None else f"{self.ws_url}?since={since}"
        return websockets.connect(
            url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None
        )


def serve_env(
    database: str, port: int, data_dir: Path, graph_url: str, extra: dict[str, str]
) -> dict[str, str]:
    """The environment of a serve process: this one's, without any TTYDESK_ setting of
    the machine's (nor a config file: XDG_CONFIG_HOME is the test's folder)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TTYDESK_")}
    env.update(
        {
            "XDG_CONFIG_HOME": str(data_dir.parent),
            "TTYDESK_DATABASE": database,
            "TTYDESK_HOST": "127.0.0.1",
            "TTYDESK_PORT": str(port),
            "TTYDESK_DATA_DIR": str(data_dir),
            "TTYDESK_WHATSAPP_APP_SECRET": APP_SECRET,
            "TTYDESK_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "TTYDESK_WHATSAPP_GRAPH_URL": graph_url,
            "TTYDESK_WS_HEARTBEAT": "5",
            "TTYDESK_LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


@dataclass
class Team:
    """The simulator and N serve processes on one database; ``store`` is the test's."""

    database: str
    folder: Path
    store: PostgresStore
    simulator: TestServer
    sim: httpx.AsyncClient
    processes: list[ServeProcess] = field(default_factory=list)
    admin: schemas.Agent | None = None
    admin_token: str = ""
    agent: schemas.Agent | None = None
    agent_token: str = ""

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.simulator.port}"

    async def sim_control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.sim.request(method, "/_sim" + path, **kwargs)
        assert response.status_code < 400, response.text
        return response.json()

    async def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in await self.store.readers.all(sql, params)]

    async def newest_seq(self) -> int:
        return (await self.store.event_bounds())[1]


async def seed(team: Team) -> None:
    """Two agents (an admin and an agent) and the simulator's business number."""
    made = await team.store.create_agent(
        schemas.AgentCreate(name="Ada Admin", role=schemas.Role.admin, skills=["billing"])
    )
    team.admin, team.admin_token = made.agent, made.token
    made = await team.store.create_agent(
        schemas.AgentCreate(name="Bob Agent", role=schemas.Role.agent, skills=["lang:es"])
    )
    team.agent, team.agent_token = made.agent, made.token
    connected_at = iso(datetime.now(UTC) - timedelta(hours=1))

    def connect(tx: Any) -> int:
        channel_id = tx.insert(
            "channels",
            {
                "waba_id": payloads.WABA_ID,
                "access_token": SIM_TOKEN,
                "legal_name": "Acme Support S.L.",
                "display_name": "Acme Support",
                "status": "connected",
                "verified_business": 1,
                "created_at": tx.now_iso,
                "updated_at": tx.now_iso,
            },
        )
        return tx.insert(
            "phone_numbers",
            {
                "channel_id": channel_id,
                "phone_number_id": payloads.PHONE_NUMBER_ID,
                "display_phone_number": "+" + payloads.DISPLAY_NUMBER,
                "verified_name": "Acme Support",
                "destination": "help_desk",
                "status": "connected",
                "connected_at": connected_at,
                "created_at": tx.now_iso,
            },
        )

    await team.store.write(connect)


@contextlib.asynccontextmanager
async def running_team(
    database: str, folder: Path, processes: int = 3, *, env: dict[str, str] | None = None
) -> AsyncIterator[Team]:
    """The simulator and ``processes`` serve processes on ``database`` (a new, empty
    PostgreSQL database), seeded (``seed``) before they start; all stopped at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    data_dir = folder / "data"
    data_dir.mkdir(exist_ok=True)
    ports = [free_port() for _ in range(processes)]
    config = SimulatorConfig.model_validate(
        {
            "host": "127.0.0.1",
            "port": 0,
            "webhook_url": f"http://127.0.0.1:{ports[0]}{WEBHOOK}",
            "app_secret": APP_SECRET,
            "access_token": SIM_TOKEN,
            "status_timing": {"sent": 0.02, "delivered": 0.05, "read": 0.05},
            "webhooks": {"concurrency": 4, "retry_base_delay_s": 0.05, "retry_max_delay_s": 0.5},
        }
    )
    simulator = TestServer(create_simulator_app(config), host="127.0.0.1")
    await simulator.start_server()
    sim_url = f"http://127.0.0.1:{simulator.port}"
    simulator.app[SIMULATOR].public_url = sim_url
    store = PostgresStore(database)
    await store.open()  # migrates: the processes find the schema made
    sim = httpx.AsyncClient(base_url=sim_url, timeout=10.0)
    team = Team(database, folder, store, simulator, sim)
    try:
        await seed(team)
        team.processes = [
            ServeProcess(
                index, port, serve_env(database, port, data_dir, sim_url, env or {}), folder
            )
            for index, port in enumerate(ports)
        ]
        await asyncio.gather(*(process.start() for process in team.processes))
        yield team
    finally:
        await asyncio.gather(*(process.stop() for process in team.processes))
        await sim.aclose()
        await store.close()
        await simulator.close()


def customer_text(customer: int, body: str) -> dict[str, Any]:
    """A webhook: customer number ``customer`` (each a contact of its own) sends ``body``."""
    wa_id = f"3461{customer:07d}"
    message = payloads.text(body, at=datetime.now(UTC), from_=wa_id, user_id=None)
    sender = payloads.contact(wa_id=wa_id, user_id=None, name=f"Customer {customer}")
    return payloads.messages_envelope(message, contacts=[sender])


class Listener:
    """A WebSocket client of one process that keeps every logged frame (seq > 0) it is
    sent, in the order sent; ``hello`` is where its replay ended."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.frames: list[dict[str, Any]] = []
        self.others: list[dict[str, Any]] = []  # seq 0: hello, presence, resync
        self.hello: int | None = None
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for text in self.socket:
            frame = json.loads(text)
            if frame["seq"]:
                self.frames.append(frame)
            else:
                self.others.append(frame)
                if frame["type"] == "hello":
                    self.hello = frame["data"]["last_seq"]

    @property
    def seqs(self) -> list[int]:
        return [frame["seq"] for frame in self.frames]

    @property
    def last_seq(self) -> int:
        return self.frames[-1]["seq"] if self.frames else (self.hello or 0)

    async def reached(self, seq: int, what: str = "") -> None:
        """Until it has been sent the frame numbered ``seq`` (or one after it)."""

        async def probe() -> bool:
            if self._task.done():
                self._task.result()  # raises if reading failed
                raise AssertionError(f"the connection closed: {self.others[-3:]}")
            return self.last_seq >= seq

        await until(probe, what or f"a client to be sent event {seq}")

    async def settled(self) -> None:
        """Until everything sent on connecting (the presence snapshot after the hello)
        has arrived: the server answers a message it cannot read after all of it."""
        errors = sum(1 for frame in self.others if frame["type"] == "error")
        await self.socket.send("{}")

        async def answered() -> bool:
            return sum(1 for frame in self.others if frame["type"] == "error") > errors

        await until(answered, "the answer to a message sent after connecting")

    async def close(self) -> None:
        await self.socket.close()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


@contextlib.asynccontextmanager
async def listening(
    process: ServeProcess, token: str, since: int | None = None
) -> AsyncIterator[Listener]:
    """A ``Listener`` on ``process`` that has been sent its hello (its replay is done)."""
    async with process.websocket(token, since) as socket:
        listener = Listener(socket)
        try:

            async def said_hello() -> bool:
                return listener.hello is not None or listener._task.done()

            await until(said_hello, f"the hello of serve {process.index}")
            yield listener
        finally:
            await listener.close()
