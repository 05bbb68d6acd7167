"""Fixtures for the outbound tests: the real backend against the real simulator on 127.0.0.1.

Import what a test module needs::

    from tests.whatsapp.outbound_fixtures import wa, WhatsAppEnv  # noqa: F401
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from backend import schemas
from backend.domain.clock import Clock
from backend.keys import SERVICES
from backend.simulator.app import create_simulator_app
from backend.simulator.config import SimulatorConfig, StatusTiming, WebhookDeliveryConfig
from backend.simulator.keys import SIMULATOR
from backend.simulator.simulator import Simulator
from backend.store.conversations import load_message
from tests.support import TEST_TLS, LiveBackend

SIM_TOKEN = "sim-access-token"
APP_SECRET = "test-app-secret"  # LiveBackend's whatsapp_app_secret
WABA_ID = "102290129340398"
PHONE_ID = "106540352242922"
PHONE_ID_2 = "106540352242923"
CUSTOMER = "34612345678"

BUSINESS = {
    "legal_name": "Acme Support S.L.",
    "display_name": "Acme Support",
    "website": "https://acme.example.com",
    "email": "support@acme.example.com",
    "country": "ES",
    "time_zone": "Europe/Madrid",
}
PROFILE = {"display_name": "Acme Support", "category": "RETAIL", "description": "We help."}


def channel_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "business": dict(BUSINESS),
        "access_token": SIM_TOKEN,
        "waba_id": WABA_ID,
        "profile": dict(PROFILE),
    }
    body.update(changes)
    return body


def sim_config(webhook_url: str, port: int, **overrides: Any) -> SimulatorConfig:
    base: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "webhook_url": webhook_url,
        "app_secret": APP_SECRET,
        "access_token": SIM_TOKEN,
        "status_timing": StatusTiming(sent=0.02, delivered=0.05, read=0.05),
        "webhooks": WebhookDeliveryConfig(
            concurrency=4, retry_base_delay_s=0.05, retry_max_delay_s=0.2, timeout_s=5
        ),
    }
    return SimulatorConfig.model_validate(base | overrides)


@dataclass
class WhatsAppEnv:
    backend: LiveBackend
    server: TestServer
    http: httpx.AsyncClient  # to the simulator's control API
    admin: httpx.AsyncClient = field(init=False)
    agent: httpx.AsyncClient = field(init=False)

    @property
    def sim(self) -> Simulator:
        return self.server.app[SIMULATOR]

    @property
    def sim_url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def open_clients(self) -> None:
        self.admin = self.backend.client(self.backend.admin_token)
        self.agent = self.backend.client(self.backend.agent_token)

    async def close_clients(self) -> None:
        await self.admin.aclose()
        await self.agent.aclose()

    @property
    def outbox(self) -> Any:
        assert self.backend.app is not None
        return self.backend.app[SERVICES]["outbox"]

    # ---- the simulator -------------------------------------------------------------

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, "/_sim" + path, **kwargs)
        assert response.status_code < 400, response.text
        return response.json()

    async def faults(self, **faults: Any) -> None:
        await self.control("POST", "/faults", json=faults)

    async def sent(self, to: str | None = None) -> list[dict[str, Any]]:
        query = f"?to={to}" if to else ""
        return (await self.control("GET", "/sent" + query))["items"]

    # ---- the backend ---------------------------------------------------------------

    async def connect_channel(self, number: str = PHONE_ID) -> dict[str, Any]:
        response = await self.admin.post("/api/v1/channels", json=channel_body())
        assert response.status_code == 201, response.text
        channel = response.json()
        response = await self.admin.post(
            f"/api/v1/channels/{channel['id']}/phone-numbers", json={"phone_number_id": number}
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "connected"
        # Meta's webhook timestamps are whole seconds: a message in the second of the
        # connection would read as older than it (reported to the inbound side)
        await self.backend.store.write(
            lambda tx: tx.execute(
                "UPDATE phone_numbers SET connected_at = substr(connected_at, 1, 19) || "
                "'.000000+00:00' WHERE phone_number_id = ?",
                (number,),
            )
        )
        return channel

    async def customer_writes(
        self, text: str = "Hello, I need help", customer: str = CUSTOMER, **spec: Any
    ) -> dict[str, Any]:
        """The customer writes; returns the backend's thread once the message is in."""
        body = {"type": "text", "text": text} | spec
        result = await self.control("POST", f"/customers/{customer}/messages", json=body)
        wamid = result["wamid"]

        def ingested(tx: Any) -> int | None:
            row = tx.one("SELECT thread_id FROM messages WHERE wamid = ?", (wamid,))
            return None if row is None else row["thread_id"]

        thread_id = await self.until(lambda: self.backend.store.write(ingested))
        response = await self.agent.get(f"/api/v1/threads/{thread_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def message(self, message_id: int) -> schemas.Message:
        return await self.backend.store.write(lambda tx: load_message(tx, message_id))

    async def wait_message(
        self,
        message_id: int,
        predicate: Callable[[schemas.Message], bool],
        timeout: float = 10.0,
    ) -> schemas.Message:
        async def check() -> schemas.Message | None:
            message = await self.message(message_id)
            return message if predicate(message) else None

        return await self.until(check, timeout)

    async def until(self, probe: Callable[[], Any], timeout: float = 10.0) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                value = await probe()
                if value:
                    return value
                await asyncio.sleep(0.02)

    async def send(
        self, thread_id: int, body: dict[str, Any], *, client: Any = None
    ) -> httpx.Response:
        return await (client or self.agent).post(f"/api/v1/threads/{thread_id}/messages", json=body)


async def start_env(
    data_dir: Path,
    *,
    clock: Clock | None = None,
    backend_overrides: dict[str, Any] | None = None,
    database: str | None = None,
    **sim_overrides: Any,
) -> WhatsAppEnv:
    backend = LiveBackend(  # its port is taken: the webhook URL is known before it starts
        data_dir=data_dir,
        clock=clock,
        overrides={"whatsapp_send_timeout": 2.0} | (backend_overrides or {}),
        database=database,
    )
    config = sim_config(f"{backend.url}/webhooks/whatsapp", 0, **sim_overrides)
    server = TestServer(create_simulator_app(config), host="127.0.0.1")  # port 0
    await server.start_server()
    sim_url = f"http://127.0.0.1:{server.port}"
    server.app[SIMULATOR].public_url = sim_url
    backend.overrides["whatsapp_graph_url"] = sim_url
    await backend.start()
    await backend.seed_agents()
    env = WhatsAppEnv(backend, server, httpx.AsyncClient(base_url=sim_url, verify=TEST_TLS))
    env.open_clients()
    return env


async def stop_env(env: WhatsAppEnv) -> None:
    await env.close_clients()
    await env.http.aclose()
    await env.backend.stop()
    await env.server.close()


@pytest.fixture
def short_ambiguous_wait(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setenv("TTYDESK_WHATSAPP_AMBIGUOUS_WAIT", "1.5")
    return 1.5


@pytest.fixture
async def wa(tmp_path: Path, database_url: str | None) -> AsyncIterator[WhatsAppEnv]:
    """Backend + simulator, a connected channel (number PHONE_ID)."""
    env = await start_env(tmp_path / "data", database=database_url)
    try:
        await env.connect_channel()
        yield env
    finally:
        await stop_env(env)


class GraphProxy:
    """An HTTP proxy between the backend and the Graph API (the simulator), as a company's
    egress proxy is: it answers the next scripted sends itself and forwards the rest."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.script: list[tuple[int, str, str]] = []  # (status, content type, body)
        self.sends = 0  # POSTs to /messages that reached the proxy
        self.gate: asyncio.Event | None = None  # when set: sends wait for it to open
        self.answer_gate: asyncio.Event | None = None  # Meta's answers wait for it
        self.strip_opaque = False  # sends reach Meta without biz_opaque_callback_data
        self.server = TestServer(self._app(), host="127.0.0.1")  # port 0: told after start

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.method == "POST" and request.path.endswith("/messages"):
            self.sends += 1
            if self.gate is not None:
                await self.gate.wait()
            if self.script:
                status, content_type, text = self.script.pop(0)
                return web.Response(status=status, text=text, content_type=content_type)
            if self.strip_opaque:
                sent = json.loads(body)
                sent.pop("biz_opaque_callback_data", None)
                body = json.dumps(sent).encode()
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in ("authorization", "content-type")
        }
        async with httpx.AsyncClient(verify=TEST_TLS) as client:
            answer = await client.request(
                request.method, self.upstream + request.path_qs, content=body, headers=headers
            )
        if self.answer_gate is not None and request.path.endswith("/messages"):
            await self.answer_gate.wait()
        return web.Response(
            status=answer.status_code,
            body=answer.content,
            headers={"Content-Type": answer.headers.get("content-type", "application/json")},
        )


@pytest.fixture
async def proxied(tmp_path, short_ambiguous_wait) -> Any:
    """Backend + simulator with a connected channel, the backend's Graph API calls going
    through a GraphProxy."""
    env = await start_env(tmp_path / "data")
    proxy = GraphProxy(env.sim_url)
    await proxy.server.start_server()
    try:
        await env.connect_channel()
        env.backend.overrides["whatsapp_graph_url"] = proxy.url
        await env.backend.restart()
        env.outbox.base_delay = 0.05
        yield env, proxy
    finally:
        await stop_env(env)
        await proxy.server.close()
