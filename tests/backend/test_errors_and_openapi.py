"""The JSON error envelope for every kind of failure, and the OpenAPI document."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from tests.support import LiveBackend


def envelope(response) -> dict:
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] and body["error"]["message"]
    return body["error"]


async def test_malformed_and_wrong_shapes_are_400(live_backend):
    async with live_backend.client(live_backend.agent_token) as client:
        for content in (b"{nope", b"", b"[1, 2]", b"\xff\xfe"):
            response = await client.post(
                "/api/v1/views", content=content, headers={"content-type": "application/json"}
            )
            assert response.status_code == 400, content
            assert envelope(response)["code"] == "malformed_json"


async def test_unknown_paths_and_methods_are_json(live_backend):
    async with live_backend.client(live_backend.agent_token) as client:
        response = await client.get("/api/v1/nothing-here")
        assert response.status_code == 404
        assert envelope(response)["code"] == "not_found"
        response = await client.put("/api/v1/views")
        assert response.status_code == 405
        assert envelope(response)["code"] == "method_not_allowed"


async def test_oversize_body_is_413_json(tmp_path):
    backend = LiveBackend(
        data_dir=tmp_path / "d", overrides={"max_body_bytes": 2048, "max_upload_bytes": 2048}
    )
    await backend.start()
    try:
        await backend.seed_agents()
        async with backend.client(backend.agent_token) as client:
            response = await client.post(
                "/api/v1/views", json={"name": "big", "filters": [], "pad": "x" * 10_000}
            )
        assert response.status_code == 413
        error = envelope(response)
        assert error["code"] == "too_large"
        assert "2048" in error["message"]
    finally:
        await backend.stop()


async def test_openapi_is_3_1_and_lists_every_route(live_backend):
    async with live_backend.client() as client:
        doc = (await client.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] == "ttydesk"
    # where the event log stood, on every answer to an agent but the WebSocket's upgrade
    seq_header = doc["paths"]["/api/v1/threads"]["get"]["responses"]["200"]["headers"]
    assert seq_header["X-Event-Seq"]["schema"] == {"type": "integer", "minimum": 0}
    assert "since=" in seq_header["X-Event-Seq"]["description"]
    assert "headers" not in doc["paths"]["/api/v1/ws"]["get"]["responses"]["200"]
    assert "headers" not in doc["paths"]["/healthz"]["get"]["responses"]["200"]
    app: web.Application = live_backend.app
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method in ("HEAD", "*") or path is None:
            continue
        assert path in doc["paths"], path
        assert route.method.lower() in doc["paths"][path], (route.method, path)
    schemas = doc["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas, ref
    for path, methods in doc["paths"].items():
        for method, entry in methods.items():
            assert entry["responses"], (method, path)
            for name in [p[1:-1] for p in path.split("/") if p.startswith("{")]:
                assert any(p["name"] == name and p["in"] == "path" for p in entry["parameters"])
    threads = doc["paths"]["/api/v1/threads"]["get"]
    assert {p["name"] for p in threads["parameters"]} >= {"view", "q", "cursor", "with_total"}


async def test_a_client_gone_mid_body_is_not_an_error(live_backend, caplog):
    """A client that hangs up before its body has arrived is no server fault: nothing is
    logged as an error (it was "unhandled error in POST …" with a traceback)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", live_backend.port)
    writer.write(
        b"POST /api/v1/views HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {live_backend.agent_token}\r\n".encode()
        + b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name": '
    )
    await writer.drain()
    server = live_backend.runner.server
    async with asyncio.timeout(10):
        while not server.connections:  # the request has reached the handler's body read
            await asyncio.sleep(0.01)
    writer.close()
    async with asyncio.timeout(10):
        while server.connections:  # the server has finished with the connection
            await asyncio.sleep(0.01)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
