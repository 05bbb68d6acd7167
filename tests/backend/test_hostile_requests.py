"""Hostile REST input on every route of the OpenAPI document: integers beyond 64 bits (in
paths, queries and bodies), crafted cursors, deeply nested JSON, NaN and Infinity, broken
strings. Each is a 4xx with the JSON error envelope, never a 500.

Failed before the fix: 103 such requests answered 500 (OverflowError binding an id,
RecursionError reading a body, a cursor decoding to a list or a lone surrogate, ...).
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx

from tests.support import LiveBackend

HUGE = str(2**64)
HUGE_NEGATIVE = str(-(2**70))
TOO_MANY_DIGITS = "1" * 5000  # Python's int() refuses more than 4,300 digits


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# cursors no page could have given out: each is refused, whatever the route
REFUSED_CURSORS = [
    "!!!",
    b64(b"\xff\xfe"),
    b64(b'{"a": 1}'),
    b64(b"[[1], [2]]"),
    b64(b"[[1], [2], [3]]"),
    b64(f"[{HUGE}, 1]".encode()),
    b64(f'["2026-01-01", {HUGE}]'.encode()),
    b64(f'["2026-01-01", {HUGE}, 1]'.encode()),
    b64(b"[NaN, 1]"),
    b64(b"[1e999, 1, 1]"),
    b64(b"[" + b"1," * 700 + b"1]"),
    HUGE,
    TOO_MANY_DIGITS,
]
# well-formed keys that match nothing: an empty page or a refusal, never a 500
ODD_CURSORS = [b64(b'["\\ud83d", 1]'), b64(b'["\\ud83d", 1, 2]'), b64(b"[1]"), b64(b"[]")]
# every item fits one page: the cursor is accepted and ignored
CURSOR_IGNORED = {"/api/v1/views", "/api/v1/views/properties"}
QUERY_VALUES = [HUGE, HUGE_NEGATIVE, TOO_MANY_DIGITS, "-1", "nan", "1e999", "²"]
BODIES = [
    b"[" * 50_000 + b"]" * 50_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b'{"a": -Infinity}',
    b'{"a": 1e999}',
    b'{"a": ' + HUGE.encode() + b"}",
    b'{"a": "\\ud83d"}',
]


async def operations(client: httpx.AsyncClient) -> list[tuple[str, str, dict[str, Any]]]:
    doc = (await client.get("/api/v1/openapi.json")).json()
    found = []
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            if path.endswith("/ws"):
                continue
            found.append((method.upper(), path, {"doc": doc, **operation}))
    return found


def body_properties(operation: dict[str, Any]) -> list[str]:
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = schema.get("schema", {}).get("$ref")
    if ref is None:
        return []
    model = operation["doc"]["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return list(model.get("properties", {}))


def with_path(path: str, operation: dict[str, Any], value: str) -> str:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", value)
    return path


def assert_refused(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json"), what
        error = response.json()["error"]
        assert error["code"] and error["message"], what


async def test_integers_beyond_64_bits_in_paths_are_refused(backend):
    async with backend.client(backend.admin_token) as client:
        for method, path, operation in await operations(client):
            if "{" not in path:
                continue
            for value in (HUGE, HUGE_NEGATIVE, "9" * 400):
                url = with_path(path, operation, value)
                response = await client.request(method, url, json={} if method != "GET" else None)
                assert_refused(response, f"{method} {path} = {value[:30]}")
                assert response.status_code in (400, 404, 422), (method, path, response.text)


async def test_hostile_query_values_and_crafted_cursors_are_refused(backend):
    async with backend.client(backend.admin_token) as client:
        for method, path, operation in await operations(client):
            url = with_path(path, operation, "1")
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            for name in names:
                values = REFUSED_CURSORS + ODD_CURSORS if name == "cursor" else QUERY_VALUES
                for value in values:
                    response = await client.request(method, url, params={name: value})
                    assert_refused(response, f"{method} {path}?{name}={value[:30]}")
            if "cursor" in names and path not in CURSOR_IGNORED:
                for cursor in REFUSED_CURSORS:
                    # with what the route requires besides (search needs q)
                    params = (
                        {"q": "Hello", "cursor": cursor} if "q" in names else {"cursor": cursor}
                    )
                    response = await client.request(method, url, params=params)
                    assert response.status_code == 422, (path, cursor[:30], response.text)
                    assert response.json()["error"]["field"] == "cursor"


async def test_hostile_json_bodies_are_refused(backend):
    async with backend.client(backend.admin_token) as client:
        for method, path, operation in await operations(client):
            if method not in ("POST", "PATCH", "PUT"):
                continue
            url = with_path(path, operation, "1")
            for body in BODIES:
                response = await client.request(
                    method, url, content=body, headers={"content-type": "application/json"}
                )
                assert_refused(response, f"{method} {path} {body[:30]!r}")
            for name in body_properties(operation):
                # a number beyond 64 bits, as JSON and as the text pydantic also reads
                for value in (f'{{"{name}": {HUGE}}}', f'{{"{name}": "{HUGE}"}}'):
                    response = await client.request(
                        method, url, content=value, headers={"content-type": "application/json"}
                    )
                    assert_refused(response, f"{method} {path} {value}")


async def test_json_bodies_out_of_range_name_the_problem(backend):
    async with backend.client(backend.agent_token) as client:
        nested = await client.post(
            "/api/v1/views",
            content=b"[" * 50_000 + b"]" * 50_000,
            headers={"content-type": "application/json"},
        )
        not_a_number = await client.post(
            "/api/v1/views", content=b'{"name": "x", "filters": [], "position": NaN}'
        )
        as_text = await client.post(
            "/api/v1/threads/1/messages",
            json={"kind": "reaction", "message_id": HUGE, "emoji": "👍"},
        )
        broken = await client.post(
            "/api/v1/threads/1/messages", content=b'{"kind": "note", "text": "half \\ud83d"}'
        )
    assert nested.status_code == 400 and nested.json()["error"]["code"] == "malformed_json"
    assert "nested" in nested.json()["error"]["message"]
    assert not_a_number.status_code == 400
    assert "NaN" in not_a_number.json()["error"]["message"]
    assert as_text.status_code == 422 and as_text.json()["error"]["field"] == "message_id"
    # text is data: a lone surrogate is stored replaced, never a 500
    assert broken.status_code == 202, broken.text
    assert broken.json()["text"] == "half \ufffd"
    json.dumps(broken.json())  # encodable


async def test_a_chunked_json_body_over_the_limit_is_413_while_it_streams(tmp_path):
    """A chunked body announces no length: the server answers 413 once it passes
    max_body_bytes, while the client is still sending. Failed before the fix: the server
    read up to the upload limit (100 MB) before looking at the size."""
    live = LiveBackend(data_dir=tmp_path / "data", overrides={"max_body_bytes": 4096})
    await live.start()
    await live.seed_agents()
    reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
    try:
        writer.write(
            "POST /api/v1/views HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {live.agent_token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b" " * 4096
        for _ in range(4):  # four times the limit, and never the final empty chunk
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        async with asyncio.timeout(10):
            status_line = await reader.readline()
        assert status_line.split()[1] == b"413", status_line
    finally:
        writer.close()
        await writer.wait_closed()
        await live.stop()
