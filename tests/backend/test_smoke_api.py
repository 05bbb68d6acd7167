"""The core path: auth, the error envelope, and live push with replay."""

from __future__ import annotations

import json

import websockets


async def test_health_needs_no_token(live_backend):
    async with live_backend.client() as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_missing_token_is_401_json(live_backend):
    async with live_backend.client() as client:
        response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_wrong_token_is_401(live_backend):
    async with live_backend.client("ttd_not-a-real-token") as client:
        response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


async def test_me_is_the_calling_agent(live_backend):
    async with live_backend.client(live_backend.agent_token) as client:
        response = await client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["name"] == "Bob Agent"
    assert "token" not in response.text


async def test_ws_replays_after_since(live_backend):
    async with live_backend.client(live_backend.agent_token) as client:
        await client.patch("/api/v1/me", json={"availability": "away"})
    headers = {"Authorization": f"Bearer {live_backend.agent_token}"}
    async with websockets.connect(
        live_backend.ws_url + "?since=0", additional_headers=headers
    ) as ws:
        frames = [json.loads(await ws.recv()) for _ in range(3)]
    assert [frame["seq"] for frame in frames] == [1, 2, 3]
    assert frames[-1]["data"]["availability"] == "away"
