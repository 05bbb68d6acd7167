"""Fixtures: a real simulator on 127.0.0.1 and a tiny webhook receiver that checks signatures."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from backend.simulator.app import create_simulator_app
from backend.simulator.config import (
    SimulatorConfig,
    StatusTiming,
    WebhookDeliveryConfig,
)
from backend.simulator.keys import SIMULATOR
from backend.simulator.simulator import Simulator

APP_SECRET = "test-app-secret"
ACCESS_TOKEN = "test-access-token"
VERIFY_TOKEN = "test-verify-token"
AUTH = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
V = "/v26.0"
PHONE_ID = "106540352242922"
WABA_ID = "102290129340398"


class WebhookReceiver:
    """The backend's webhook endpoint, reduced to what tests need to see."""

    def __init__(self) -> None:
        self.raw_bodies: list[bytes] = []
        self.payloads: list[dict[str, Any]] = []
        self.attempts = 0
        self.bad_signatures = 0
        self.answer_with: list[int] = []  # statuses to answer before accepting (e.g. [500])
        self.url = ""
        self._arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.attempts += 1
        signature = request.headers.get("X-Hub-Signature-256", "")
        expected = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.answer_with:
            return web.Response(status=self.answer_with.pop(0))
        self.raw_bodies.append(raw)
        self.payloads.append(json.loads(raw))
        self._arrived.set()
        return web.Response(text="ok")

    async def verify(self, request: web.Request) -> web.Response:
        if request.query.get("hub.verify_token") == VERIFY_TOKEN:
            return web.Response(text=request.query.get("hub.challenge", ""))
        return web.Response(status=403)

    def values(self, field: str = "messages") -> list[dict[str, Any]]:
        return [
            change["value"]
            for payload in self.payloads
            for entry in payload["entry"]
            for change in entry["changes"]
            if change["field"] == field
        ]

    def messages(self) -> list[dict[str, Any]]:
        return [m for v in self.values() for m in v.get("messages", [])]

    def statuses(self, wamid: str | None = None) -> list[dict[str, Any]]:
        found = [s for v in self.values() for s in v.get("statuses", [])]
        return [s for s in found if wamid is None or s["id"] == wamid]

    def value_with_message(self, wamid: str) -> dict[str, Any]:
        for value in self.values():
            if any(m["id"] == wamid for m in value.get("messages", [])):
                return value
        raise AssertionError(f"no webhook carried message {wamid}")

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), 0.05)
                except TimeoutError:
                    pass


@pytest.fixture
async def receiver(aiohttp_server: Any) -> WebhookReceiver:
    receiver = WebhookReceiver()
    app = web.Application()
    app.router.add_post("/webhooks/whatsapp", receiver.handle)
    app.router.add_get("/webhooks/whatsapp", receiver.verify)
    server = await aiohttp_server(app)
    receiver.url = str(server.make_url("/webhooks/whatsapp"))
    return receiver


def make_config(webhook_url: str | None, **overrides: Any) -> SimulatorConfig:
    """A simulator config for tests: no delays, strict delivery order, quick retries."""
    base: dict[str, Any] = {
        "webhook_url": webhook_url,
        "app_secret": APP_SECRET,
        "access_token": ACCESS_TOKEN,
        "status_timing": StatusTiming(sent=0, delivered=0, read=0),
        "webhooks": WebhookDeliveryConfig(
            concurrency=1, retry_base_delay_s=0.01, retry_max_delay_s=0.05, timeout_s=2
        ),
    }
    return SimulatorConfig.model_validate(base | overrides)


@dataclass
class RunningSimulator:
    sim: Simulator
    server: TestServer
    client: TestClient

    async def graph(
        self, method: str, path: str, *, token: str | None = ACCESS_TOKEN, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.client.request(method, V + path, headers=headers, **kwargs) as response:
            return response.status, await response.json(content_type=None)

    async def download(self, url: str, token: str | None = ACCESS_TOKEN) -> tuple[int, bytes]:
        """GET an absolute URL the simulator handed out (media download)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.client.session.get(url, headers=headers) as response:
            return response.status, await response.read()

    async def control(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.client.request(method, "/_sim" + path, **kwargs) as response:
            return response.status, await response.json()

    async def customer_writes(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        status, result = await self.control("POST", f"/customers/{key}/messages", json=body)
        assert status == 200, result
        return result

    async def send(self, body: dict[str, Any], phone_id: str = PHONE_ID) -> tuple[int, Any]:
        return await self.graph(
            "POST", f"/{phone_id}/messages", json={"messaging_product": "whatsapp"} | body
        )


StartSimulator = Callable[..., Awaitable[RunningSimulator]]


@pytest.fixture
async def start_simulator(
    aiohttp_server: Any, aiohttp_client: Any, receiver: WebhookReceiver
) -> AsyncIterator[StartSimulator]:
    async def start(**overrides: Any) -> RunningSimulator:
        config = make_config(overrides.pop("webhook_url", receiver.url), **overrides)
        app = create_simulator_app(config)
        server = await aiohttp_server(app)
        sim = app[SIMULATOR]
        sim.public_url = str(server.make_url("")).rstrip("/")
        client = await aiohttp_client(server)
        return RunningSimulator(sim, server, client)

    yield start


@pytest.fixture
async def running(start_simulator: StartSimulator) -> RunningSimulator:
    return await start_simulator()
