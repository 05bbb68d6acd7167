"""Test support: a real backend on 127.0.0.1 with a real SQLite file."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from backend import schemas
from backend.app import create_app
from backend.config import Settings
from backend.domain.clock import Clock
from backend.keys import STORE
from backend.store.sqlite import SqliteStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveBackend:
    """A backend serving on a real port; ``restart()`` keeps the same database and port."""

    data_dir: Path
    clock: Clock | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    app: web.Application | None = None
    runner: web.AppRunner | None = None
    admin_token: str = ""
    agent_token: str = ""
    admin: schemas.Agent | None = None
    agent: schemas.Agent | None = None

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
        values.update(self.overrides)
        return Settings(**values)

    @property
    def store(self) -> SqliteStore:
        assert self.app is not None
        return self.app[STORE]

    async def start(self) -> LiveBackend:
        self.app = create_app(self.settings, clock=self.clock)
        self.runner = web.AppRunner(self.app, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
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
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10.0)
