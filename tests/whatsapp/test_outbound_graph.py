"""The Graph API client: Meta's error shape, and timeouts told apart (never left vs ambiguous)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from backend.whatsapp.graph import GraphClient, GraphError, GraphTimeout, GraphUnreachable
from backend.whatsapp.outbox import is_ambiguous, is_retryable
from tests.support import REFUSED_URL


@pytest.fixture
async def fake_graph(aiohttp_server):
    seen: list[dict] = []

    async def messages(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append({"auth": request.headers.get("Authorization"), "body": body})
        text = body.get("text", {}).get("body")
        if text == "hang":
            await asyncio.sleep(5)
        if text == "error":
            return web.json_response(
                {
                    "error": {
                        "message": "(#131047) Re-engagement message",
                        "type": "OAuthException",
                        "code": 131047,
                        "error_subcode": 2494010,
                        "error_data": {"messaging_product": "whatsapp", "details": "24h passed"},
                        "fbtrace_id": "Axyz",
                    }
                },
                status=400,
            )
        if text == "proxy":
            return web.Response(status=502, text="<html>bad gateway</html>")
        return web.json_response({"messaging_product": "whatsapp", "messages": [{"id": "wamid.1"}]})

    app = web.Application()
    app.router.add_post("/v26.0/{pnid}/messages", messages)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/"), seen


async def send(graph: GraphClient, text: str):
    return await graph.send_message("tok", "123", {"type": "text", "text": {"body": text}})


async def test_success_and_bearer_token(fake_graph):
    url, seen = fake_graph
    graph = GraphClient(url, "v26.0", timeout=1)
    try:
        answer = await send(graph, "hi")
        assert answer["messages"][0]["id"] == "wamid.1"
        assert seen[0]["auth"] == "Bearer tok"
    finally:
        await graph.close()


async def test_meta_error_shape_is_typed(fake_graph):
    url, _ = fake_graph
    graph = GraphClient(url, "v26.0", timeout=1)
    try:
        with pytest.raises(GraphError) as caught:
            await send(graph, "error")
        error = caught.value
        assert (error.code, error.subcode, error.details, error.http_status) == (
            131047,
            2494010,
            "24h passed",
            400,
        )
        assert not is_retryable(error) and not is_ambiguous(error)
        with pytest.raises(GraphError) as proxy:
            await send(graph, "proxy")
        assert proxy.value.code is None and is_ambiguous(proxy.value)
    finally:
        await graph.close()


async def test_read_timeout_is_ambiguous_connect_refused_is_not(fake_graph):
    url, _ = fake_graph
    graph = GraphClient(url, "v26.0", timeout=0.3)
    try:
        with pytest.raises(GraphTimeout):
            await send(graph, "hang")
    finally:
        await graph.close()
    closed = GraphClient(REFUSED_URL, "v26.0", timeout=0.3)
    try:
        with pytest.raises(GraphUnreachable):
            await send(closed, "hi")
    finally:
        await closed.close()


@pytest.mark.parametrize(
    ("code", "status", "retry"),
    [
        (130429, 429, True),
        (4, 400, True),
        (80007, 400, True),
        (131056, 400, True),
        (131057, 400, True),
        (1, 500, True),
        (2, 503, True),
        (131000, 500, True),
        (131016, 503, True),
        (131026, 400, False),
        (100, 400, False),
        (190, 401, False),
        (99999, 429, True),  # a rate limit, whatever its code: nothing was sent
        (None, 429, True),
        (1, 499, False),  # Meta's "nothing happened" codes count only on a 5xx
        (99999, 500, False),  # a 5xx without one of them may have been sent
        (None, 502, False),
    ],
)
def test_retry_classification(code, status, retry):
    assert is_retryable(GraphError(code, None, None, status)) is retry


@pytest.mark.parametrize(
    ("code", "status", "ambiguous"),
    [
        (None, 500, True),  # a proxy's 5xx: Meta may have taken the message
        (None, 502, True),
        (99999, 503, True),
        (1, 500, False),  # Meta said nothing happened
        (2, 503, False),
        (131000, 500, False),
        (131016, 503, False),
        (None, 499, False),
        (131026, 400, False),
        (None, 429, False),
    ],
)
def test_ambiguous_classification(code, status, ambiguous):
    assert is_ambiguous(GraphError(code, None, None, status)) is ambiguous
