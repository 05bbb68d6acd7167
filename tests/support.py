"""Test support: a real backend on 127.0.0.1 with a real SQLite file."""

from __future__ import annotations

import shutil
import socket
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from backend import schemas
from backend.app import create_app
from backend.config import Settings
from backend.domain.clock import Clock
from backend.keys import SERVICES, STORE
from backend.private_files import private_dir
from backend.store.engine import connect_sqlite, migrate
from backend.store.sqlite import SqliteStore
from backend.whatsapp.graph import CONNECTION_LIMITS, GraphClient


def listening_socket(port: int = 0) -> socket.socket:
    """A socket on 127.0.0.1, bound and listening (port 0: any free one, ``getsockname``
    tells which). It holds its port until closed: no other process can take it between
    choosing the port and serving on it, as with bind, close and bind again."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


# one TLS context for every test client: httpx otherwise builds one per client, reading the
# CA bundle again (0.1-0.3 s each on a loaded machine, several per test); the tests' clients
# speak plain HTTP to 127.0.0.1, so it is never used
TEST_TLS = ssl.create_default_context()


def _refusing_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    return sock


# held for the whole test run, so nothing else can listen on it
_REFUSING = _refusing_socket()
REFUSED_PORT: int = _REFUSING.getsockname()[1]
REFUSED_URL = f"http://127.0.0.1:{REFUSED_PORT}"
"""A URL on 127.0.0.1 that always refuses connections (a server that is down)."""


def _graph_client(settings: Settings) -> GraphClient:
    """The backend's Graph API client as ``graph_client_for`` makes it, but on the test
    run's one TLS context (TEST_TLS): its own would read the CA bundle at every backend
    start (60-140 ms on a loaded machine), and the tests' Graph API (the simulator) is
    plain HTTP on 127.0.0.1. The limits are GraphClient's own, which httpx applies only
    to a transport it makes itself."""
    transport = httpx.AsyncHTTPTransport(
        verify=TEST_TLS,
        limits=CONNECTION_LIMITS,
    )
    return GraphClient(
        settings.whatsapp_graph_url,
        settings.whatsapp_api_version,
        timeout=settings.whatsapp_send_timeout,
        transport=transport,
    )


_TEMPLATE_FOLDER: tempfile.TemporaryDirectory[str] | None = None


def migrated_template() -> Path:
    """A SQLite file with every migration applied, made once per test run by the real
    ``migrate``. Migrating a new file costs ~0.3 s (26 migrations, each a commit with
    ``synchronous = FULL``); a copy of this one is the same fresh database in ~1 ms.
    The migration tests (tests/backend/test_migrations*.py) still migrate real files."""
    global _TEMPLATE_FOLDER
    if _TEMPLATE_FOLDER is None:
        folder = tempfile.TemporaryDirectory(prefix="ttydesk-template-")
        conn = connect_sqlite(Path(folder.name) / "ttydesk.db")
        try:
            migrate(conn)
        finally:
            conn.close()  # the last connection: the WAL is copied in and removed
        _TEMPLATE_FOLDER = folder
    return Path(_TEMPLATE_FOLDER.name) / "ttydesk.db"


def copy_migrated_template(database: Path) -> None:
    """A new SQLite database at ``database``, migrated (from ``migrated_template``), its
    folder made as ``serve`` makes it (``0700``). Nothing is done when the file exists
    (a restart) or its folder cannot be made: the backend then meets the folder as it
    is, and refuses it in its own words."""
    if database.exists():
        return
    try:
        private_dir(database.parent)
    except OSError:
        return
    shutil.copyfile(migrated_template(), database)


@dataclass
class LiveBackend:
    """A backend serving on a real port; ``restart()`` keeps the same database and port.

    The port is taken (port 0, listening) when the object is made, so ``url`` is known
    before ``start()``; a restart binds the same port again."""

    data_dir: Path
    clock: Clock | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    database: str | None = None  # a postgresql:// URL; None: a SQLite file in data_dir
    port: int = 0
    app: web.Application | None = None
    runner: web.AppRunner | None = None
    admin_token: str = ""
    agent_token: str = ""
    admin: schemas.Agent | None = None
    agent: schemas.Agent | None = None
    _listener: socket.socket | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.port == 0:
            self._listener = listening_socket()
            self.port = self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws"

    @property
    def settings(self) -> Settings:
        values: dict[str, Any] = {
            "data_dir": self.data_dir,
            "host": "127.0.0.1",
            "port": self.port,
            "whatsapp_app_secret": "test-app-secret",
            "whatsapp_verify_token": "test-verify-token",
            "ws_heartbeat": 5.0,
        }
        if self.database is not None:
            values["database"] = self.database
        values.update(self.overrides)
        return Settings(**values)

    @property
    def store(self) -> SqliteStore:  # or a PostgresStore (``database``)
        assert self.app is not None
        return self.app[STORE]

    async def start(self) -> LiveBackend:
        settings = self.settings
        if settings.database is None or isinstance(settings.database, Path):  # SQLite
            copy_migrated_template(settings.database_path)
        self.app = create_app(settings, clock=self.clock)
        self.app[SERVICES]["graph"] = _graph_client(settings)
        self.runner = web.AppRunner(self.app, handle_signals=False)
        await self.runner.setup()
        listener, self._listener = self._listener or listening_socket(self.port), None
        await web.SockSite(self.runner, listener).start()
        return self

    async def stop(self) -> None:
        if self._listener is not None:  # made but never started
            self._listener.close()
            self._listener = None
        if self.runner is not None:
            await self.runner.cleanup()
            graph = self.app[SERVICES].pop("graph", None) if self.app is not None else None
            if graph is not None:  # made by start(): the app leaves it to its maker
                await graph.close()
            self.runner = None
            self.app = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def seed_agents(self) -> None:
        made = await self.store.create_agent(
            schemas.AgentCreate(name="Ada Admin", role=schemas.Role.admin, skills=["billing"])
        )
        self.admin, self.admin_token = made.agent, made.token
        made = await self.store.create_agent(
            schemas.AgentCreate(name="Bob Agent", role=schemas.Role.agent, skills=["lang:es"])
        )
        self.agent, self.agent_token = made.agent, made.token

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10.0, verify=TEST_TLS)
