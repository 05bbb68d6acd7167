"""Fixtures for the WhatsApp channel: a live backend with a connected business number,
and ``signed_post`` to deliver webhooks exactly as Meta signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from backend.domain.clock import FixedClock
from backend.store.engine import iso
from tests.support import REFUSED_URL, TEST_TLS, LiveBackend
from tests.whatsapp import payloads

APP_SECRET = "test-app-secret"  # what LiveBackend configures
VERIFY_TOKEN = "test-verify-token"
ACCESS_TOKEN = "test-access-token"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
CONNECTED_AT = datetime(2026, 11, 1, tzinfo=UTC)
WEBHOOK = "/webhooks/whatsapp"
UNREACHABLE_GRAPH = REFUSED_URL


def serialise(payload: dict[str, Any]) -> bytes:
    """Meta's serialisation: compact, non-ASCII escaped as \\uXXXX."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def signed_post(
    client: httpx.AsyncClient,
    payload: dict[str, Any] | bytes,
    secret: str = APP_SECRET,
    *,
    header: str | bytes | None = None,
) -> httpx.Response:
    """POST a webhook body signed with ``secret`` (``header`` overrides the signature)."""
    body = payload if isinstance(payload, bytes) else serialise(payload)
    headers: dict[str, str | bytes] = {"Content-Type": "application/json"}
    sig = header if header is not None else signature(body, secret)
    if sig:
        headers["X-Hub-Signature-256"] = sig
    return await client.post(WEBHOOK, content=body, headers=headers)


async def connect_number(
    backend: LiveBackend,
    *,
    phone_number_id: str = payloads.PHONE_NUMBER_ID,
    waba_id: str = payloads.WABA_ID,
    status: str = "connected",
    destination: str = "help_desk",
    connected_at: datetime | None = CONNECTED_AT,
    access_token: str = ACCESS_TOKEN,
    display: str = "+" + payloads.DISPLAY_NUMBER,
) -> int:
    """A channel (WABA) with one business number, as the connection wizard leaves it."""

    def insert(tx: Any) -> int:
        row = tx.one("SELECT id FROM channels WHERE waba_id = ?", (waba_id,))
        channel_id = (
            row["id"]
            if row is not None
            else tx.insert(
                "channels",
                {
                    "waba_id": waba_id,
                    "access_token": access_token,
                    "legal_name": "Acme Support S.L.",
                    "display_name": "Acme Support",
                    "status": "connected",
                    "verified_business": 1,
                    "created_at": tx.now_iso,
                    "updated_at": tx.now_iso,
                },
            )
        )
        return tx.insert(
            "phone_numbers",
            {
                "channel_id": channel_id,
                "phone_number_id": phone_number_id,
                "display_phone_number": display,
                "verified_name": "Acme Support",
                "destination": destination,
                "status": status,
                "connected_at": iso(connected_at) if connected_at else None,
                "created_at": tx.now_iso,
            },
        )

    return await backend.store.write(insert)


async def rows(
    backend: LiveBackend, sql: str, params: tuple[Any, ...] = ()
) -> list[dict[str, Any]]:
    return [dict(row) for row in await backend.store.readers.all(sql, params)]


async def counter(backend: LiveBackend, name: str) -> int:
    row = await backend.store.readers.one("SELECT value FROM counters WHERE name = ?", (name,))
    return 0 if row is None else row[0]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def backend_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
async def backend(tmp_path, clock, backend_overrides, database_url) -> AsyncIterator[LiveBackend]:
    """A live backend (fixed clock) with agents and one connected business number."""
    # media fetches go to a closed local port unless a test serves the Graph API: never
    # to Meta (a DNS lookup without network can outlive the test's event loop)
    overrides = {"whatsapp_graph_url": UNREACHABLE_GRAPH, **backend_overrides}
    live = LiveBackend(
        data_dir=tmp_path / "data", clock=clock, overrides=overrides, database=database_url
    )
    await live.start()
    await live.seed_agents()
    await connect_number(live)
    try:
        yield live
    finally:
        await live.stop()


@pytest.fixture
async def meta(backend: LiveBackend) -> AsyncIterator[httpx.AsyncClient]:
    """An unauthenticated client, as Meta's webhook deliveries are."""
    async with backend.client() as client:
        yield client


@pytest.fixture
async def admin(backend: LiveBackend) -> AsyncIterator[httpx.AsyncClient]:
    async with backend.client(backend.admin_token) as client:
        yield client


@pytest.fixture
async def agent(backend: LiveBackend) -> AsyncIterator[httpx.AsyncClient]:
    async with backend.client(backend.agent_token) as client:
        yield client


# ------------------------------------------------------------------ the real simulator


SIM_TOKEN = "sim-access-token"
SIM_CUSTOMER = "34612345678"


class SimEnv:
    """The backend (real clock) and the simulator, each on its own port on 127.0.0.1."""

    def __init__(self, backend: LiveBackend, server: Any, http: httpx.AsyncClient) -> None:
        self.backend = backend
        self.server = server
        self.http = http

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, "/_sim" + path, **kwargs)
        assert response.status_code < 400, response.text
        return response.json()

    async def customer_sends(self, body: dict[str, Any], customer: str = SIM_CUSTOMER) -> str:
        result = await self.control("POST", f"/customers/{customer}/messages", json=body)
        return result["wamid"]

    async def until(self, probe: Any, timeout: float = 10.0) -> Any:
        import asyncio

        async with asyncio.timeout(timeout):
            while True:
                value = await probe()
                if value:
                    return value
                await asyncio.sleep(0.02)

    async def stored(self, wamid: str, timeout: float = 10.0) -> Any:
        """The stored message with this wamid, once the webhook has been ingested."""
        from backend.store.conversations import load_message

        async def probe() -> Any:
            found = await rows(self.backend, "SELECT id FROM messages WHERE wamid = ?", (wamid,))
            return found[0]["id"] if found else None

        message_id = await self.until(probe, timeout)
        return await self.backend.store.write(lambda tx: load_message(tx, message_id))


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[SimEnv]:
    from datetime import timedelta

    from aiohttp.test_utils import TestServer

    from backend.keys import SERVICES
    from backend.simulator.app import create_simulator_app
    from backend.simulator.config import SimulatorConfig
    from backend.simulator.keys import SIMULATOR

    backend = LiveBackend(data_dir=tmp_path / "data")  # its port is taken: the URL is known
    config = SimulatorConfig.model_validate(
        {
            "host": "127.0.0.1",
            "port": 0,
            "webhook_url": f"{backend.url}{WEBHOOK}",
            "app_secret": APP_SECRET,
            "access_token": SIM_TOKEN,
            "status_timing": {"sent": 0.02, "delivered": 0.05, "read": 0.05},
            "webhooks": {"concurrency": 4, "retry_base_delay_s": 0.05, "retry_max_delay_s": 0.2},
        }
    )
    server = TestServer(create_simulator_app(config), host="127.0.0.1")  # port 0
    await server.start_server()
    sim_url = f"http://127.0.0.1:{server.port}"
    server.app[SIMULATOR].public_url = sim_url
    backend.overrides["whatsapp_graph_url"] = sim_url
    await backend.start()
    await backend.seed_agents()
    await connect_number(
        backend,
        access_token=SIM_TOKEN,
        connected_at=datetime.now(UTC) - timedelta(hours=1),
    )
    backend.app[SERVICES]["whatsapp.media_fetcher"].backoff = (0.05,)
    http = httpx.AsyncClient(base_url=sim_url, timeout=10.0, verify=TEST_TLS)
    try:
        yield SimEnv(backend, server, http)
    finally:
        await http.aclose()
        await backend.stop()
        await server.close()
