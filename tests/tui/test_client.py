"""ApiClient errors and the LiveStream's since/dedupe/resync/reconnect, against an in-test
aiohttp server."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from aiohttp import web

from backend.schemas import EventType, Thread
from tests.tui.fake_backend import FakeBackend, wait_for
from tui.client import ApiClient, ApiError, LiveStream, decode_event


async def test_error_envelope_becomes_api_error(fake: FakeBackend):
    client = ApiClient(fake.url, fake.admin_token)
    try:
        with pytest.raises(ApiError) as caught:
            await client.contact(999999)
        assert caught.value.status == 404 and caught.value.code == "not_found"
    finally:
        await client.aclose()


async def test_bad_token_is_a_sentence(fake: FakeBackend):
    client = ApiClient(fake.url, "wrong")
    try:
        with pytest.raises(ApiError) as caught:
            await client.me()
        assert caught.value.status == 401
        assert "did not accept your token" in caught.value.message
    finally:
        await client.aclose()


async def test_unexpected_body_and_non_json_errors():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/me"):
            return httpx.Response(200, json={"nonsense": True})
        return httpx.Response(502, text="<html>bad gateway</html>")

    client = ApiClient("example.test", "t", transport=httpx.MockTransport(handler))
    assert client.server == "http://example.test"
    with pytest.raises(ApiError, match="cannot read"):
        await client.me()
    with pytest.raises(ApiError) as caught:
        await client.usage()
    assert caught.value.status == 502 and "WhatsApp" in caught.value.message
    await client.aclose()


async def test_ws_url():
    client = ApiClient("https://desk.example/base", "t")
    assert client.ws_url(None) == "wss://desk.example/base/api/v1/ws"
    assert client.ws_url(7) == "wss://desk.example/base/api/v1/ws?since=7"
    await client.aclose()


def test_decode_known_and_unknown_events():
    from backend.schemas import Event

    live = decode_event(Event(seq=3, type="view.counts", data={"counts": {"a": 1}}))
    assert live.data.counts == {"a": 1}
    odd = decode_event(Event(seq=4, type="something.new", data={"x": 1}))
    assert odd.data == {"x": 1}
    broken = decode_event(Event(seq=5, type=EventType.thread_updated, data={"id": "x"}))
    assert broken.data == {"id": "x"}  # not a Thread: left raw, never raises
    assert not isinstance(broken.data, Thread)


async def test_stream_dedupes_replays_and_resumes_after_restart(fake: FakeBackend):
    seen: list[int] = []
    states: list[str] = []
    client = ApiClient(fake.url, fake.admin_token)
    stream = LiveStream(client, backoff=(0.05,))
    task = asyncio.create_task(
        stream.run(lambda e: seen.append(e.seq), lambda s, d: states.append(s))
    )
    try:
        await wait_for(lambda: stream.state == "connected")
        await fake.emit_counts()
        await wait_for(lambda: seen == [1])
        await fake.stop()
        await wait_for(lambda: stream.state == "reconnecting")
        await fake.emit_counts()  # committed while the client is away
        await fake.emit_counts()
        await fake.start()
        await wait_for(lambda: seen == [1, 2, 3])
        # a replay overlapping what was applied is dropped
        assert (
            stream._decode(json.dumps({"seq": 2, "type": "view.counts", "data": {"counts": {}}}))
            is None
        )
        assert states[0] == "connecting" and "reconnecting" in states and states[-1] == "connected"
    finally:
        task.cancel()
        await client.aclose()


async def test_resync_refetches_and_starts_from_the_newest(aiohttp_server):
    connects: list[str] = []

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connects.append(request.query_string)
        if len(connects) == 1:
            await ws.send_str(
                json.dumps(
                    {
                        "seq": 0,
                        "type": "resync",
                        "data": {"reason": "since_older_than_log", "oldest_seq": 50},
                    }
                )
            )
            await ws.close()
        else:
            await ws.send_str(
                json.dumps({"seq": 60, "type": "view.counts", "data": {"counts": {}}})
            )
            await asyncio.sleep(5)
        return ws

    app = web.Application()
    app.router.add_get("/api/v1/ws", ws_handler)
    server = await aiohttp_server(app)
    client = ApiClient(f"http://127.0.0.1:{server.port}", "t")
    resyncs: list[object] = []
    events: list[int] = []

    async def on_resync(event):
        resyncs.append(event)

    stream = LiveStream(client, since=10, backoff=(0.05,))
    task = asyncio.create_task(
        stream.run(lambda e: events.append(e.seq), lambda s, d: None, on_resync)
    )
    try:
        await wait_for(lambda: events == [60])
        assert connects == ["since=10", ""]
        assert len(resyncs) == 1 and resyncs[0].data.reason == "since_older_than_log"
        assert stream.since == 60
    finally:
        task.cancel()
        await client.aclose()
