"""ApiClient errors and the LiveStream's since/hello/dedupe/resync/reconnect, against the
real backend (``live_backend``: aiohttp on 127.0.0.1 and a fresh SQLite file).

Only ``test_unexpected_body_and_non_json_errors`` uses a mock transport: it stands for
what no ttydesk backend sends (a proxy's HTML 502 page, a body of another service).
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from backend.schemas import EventType, MeUpdate, Thread
from backend.store.sqlite import SqliteStore
from tests.support import LiveBackend
from tests.tui.backend_fixtures import make_app, wait_for
from tui.client import ApiClient, ApiError, LiveEvent, LiveStream, decode_event


def fresh_or_loaded(client: ApiClient, loaded: bool) -> ApiClient:
    """A client as the inbox starts with it (its GETs sent by ``quick_http``), or with httpx
    loaded, as it is after the first frame."""
    if loaded:
        client.load_http()
    return client


BOTH_WAYS = pytest.mark.parametrize("loaded", [False, True], ids=["quick_http", "httpx"])


@BOTH_WAYS
async def test_error_envelope_becomes_api_error(live_backend, loaded):
    client = fresh_or_loaded(ApiClient(live_backend.url, live_backend.admin_token), loaded)
    try:
        with pytest.raises(ApiError) as caught:
            await client.contact(999999)
        assert caught.value.status == 404 and caught.value.code == "contact_not_found"
        assert caught.value.message == "There is no such contact."  # the envelope's sentence
    finally:
        await client.aclose()


@BOTH_WAYS
async def test_bad_token_is_a_sentence(live_backend, loaded):
    client = fresh_or_loaded(ApiClient(live_backend.url, "wrong"), loaded)
    try:
        with pytest.raises(ApiError) as caught:
            await client.me()
        assert caught.value.status == 401
        assert "did not accept your token" in caught.value.message
    finally:
        await client.aclose()


@BOTH_WAYS
async def test_a_page_reads_the_same_either_way(live_backend, loaded):
    client = fresh_or_loaded(ApiClient(live_backend.url, live_backend.admin_token), loaded)
    try:
        me = await client.me()
        page = await client.threads(view="builtin:all_open", offset=0, limit=5, with_total=True)
        assert me.role == "admin" and page.total is not None and len(page.items) <= 5
        assert (client._http is not None) == loaded  # the quick GETs did not load httpx
    finally:
        await client.aclose()


@BOTH_WAYS
async def test_a_server_that_is_not_there_is_a_sentence(loaded):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    client = fresh_or_loaded(ApiClient(f"127.0.0.1:{port}", "t"), loaded)
    with pytest.raises(ApiError) as caught:
        await client.me()
    assert caught.value.status == 0 and caught.value.code == "unreachable"
    assert caught.value.message.startswith(f"Cannot reach the server at http://127.0.0.1:{port}")
    await client.aclose()


@asynccontextmanager
async def raw_server(answer: bytes | None) -> AsyncIterator[str]:
    """Not a ttydesk backend: a server that reads a request and writes ``answer`` as it is
    (a proxy's or another program's bytes), then closes; ``None``: never answers."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        if answer is None:
            await reader.read()  # until the client gives up
        else:
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


ME = json.dumps(
    {
        "id": 7,
        "name": "Ana",
        "role": "agent",
        "availability": "available",
        "notify": "mine",
        "created_at": "2026-01-02T03:04:05Z",
    }
).encode()


async def test_the_first_gets_read_chunked_and_close_delimited_bodies():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for start in range(0, len(ME), 10):
        piece = ME[start : start + 10]
        chunked += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    chunked += b"0\r\n\r\n"
    until_closed = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + ME
    for answer in (chunked, until_closed):
        async with raw_server(answer) as url:
            client = ApiClient(url, "t")
            me = await client.me()
            assert (me.id, me.name, client._http) == (7, "Ana", None)


async def test_a_first_get_answered_with_nonsense_or_not_at_all_is_a_sentence():
    async with raw_server(b"SSH-2.0-OpenSSH_9.6\r\n\r\n") as url:
        with pytest.raises(ApiError) as caught:
            await ApiClient(url, "t").me()
        assert caught.value.code == "unreachable" and "not an HTTP response" in str(caught.value)
    async with raw_server(None) as url:
        with pytest.raises(ApiError) as caught:
            await ApiClient(url, "t", timeout=0.2).me()
        assert caught.value.code == "timeout" and "did not answer in time" in str(caught.value)


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


async def write_while_down(backend: LiveBackend, change: Callable[[SqliteStore], Any]) -> int:
    """Commit through the store's own functions while the server is stopped (so the events
    can only reach a client by the replay); returns the newest seq."""
    assert backend.app is None, "stop the backend first"
    store = SqliteStore(backend.settings.database_path, clock=backend.clock)
    await store.open()
    try:
        await change(store)
        return (await store.event_bounds())[1]
    finally:
        await store.close()


async def newest_seq(backend: LiveBackend) -> int:
    return (await backend.store.event_bounds())[1]


async def toggle_availability(backend: LiveBackend, times: int = 1) -> None:
    """``agent.updated`` events, through the API."""
    async with backend.client(backend.agent_token) as client:
        for index in range(times):
            state = "away" if index % 2 == 0 else "available"
            response = await client.patch("/api/v1/me", json={"availability": state})
            assert response.status_code == 200, response.text


class Recorder:
    def __init__(self) -> None:
        self.seen: list[int] = []
        self.states: list[str] = []
        self.resyncs: list[LiveEvent | None] = []

    def event(self, event: LiveEvent) -> None:
        if event.seq:
            self.seen.append(event.seq)

    def state(self, state: str, detail: str | None) -> None:
        self.states.append(state)

    async def resync(self, event: LiveEvent | None) -> None:
        self.resyncs.append(event)


@pytest.fixture
async def recorded(live_backend) -> AsyncIterator[tuple[LiveStream, Recorder]]:
    client = ApiClient(live_backend.url, live_backend.admin_token)
    stream = LiveStream(client, backoff=(0.05,))
    recorder = Recorder()
    task = asyncio.create_task(stream.run(recorder.event, recorder.state, recorder.resync))
    try:
        yield stream, recorder
    finally:
        task.cancel()
        await client.aclose()


async def test_hello_sets_since_so_a_reconnect_needs_no_refetch(live_backend, recorded):
    """No event yet: ``hello`` still tells where the log ends; after a restart the stream
    resumes with ``since`` instead of asking for a refetch."""
    stream, recorder = recorded
    await wait_for(lambda: stream.state == "connected")
    newest = await newest_seq(live_backend)
    assert newest > 0  # the agents' creation is logged
    await wait_for(lambda: stream.since == newest)
    assert recorder.seen == []
    await live_backend.restart()
    await wait_for(lambda: stream.connections == 2 and stream.state == "connected", timeout=10)
    assert recorder.resyncs == []  # nothing to refetch
    await toggle_availability(live_backend)
    await wait_for(lambda: recorder.seen == [newest + 1])


async def test_stream_dedupes_replays_and_resumes_after_restart(live_backend, recorded):
    stream, recorder = recorded
    await wait_for(lambda: stream.state == "connected")
    first = await newest_seq(live_backend) + 1
    await toggle_availability(live_backend)
    await wait_for(lambda: recorder.seen == [first])
    await live_backend.stop()
    await wait_for(lambda: stream.state == "reconnecting")

    async def two_changes(store: SqliteStore) -> None:  # committed while the client is away
        await store.update_agent(live_backend.agent.id, MeUpdate(availability="away"))
        await store.update_agent(live_backend.agent.id, MeUpdate(availability="available"))

    newest = await write_while_down(live_backend, two_changes)
    assert newest == first + 2
    await live_backend.start()
    await wait_for(lambda: recorder.seen == [first, first + 1, first + 2], timeout=10)
    assert recorder.resyncs == []
    # a replay overlapping what was applied is dropped
    frame = {"seq": first + 1, "type": "agent.updated", "data": {}}
    assert stream._decode(json.dumps(frame)) is None
    states = recorder.states
    assert states[0] == "connecting" and "reconnecting" in states and states[-1] == "connected"


async def test_resync_refetches_and_starts_from_the_newest(tmp_path):
    """``since`` older than the (pruned) log: the server says resync; the stream refetches
    once, reconnects from the newest event and goes on from there."""
    backend = LiveBackend(data_dir=tmp_path / "data", overrides={"event_retention": 100})
    await backend.start()
    try:
        await backend.seed_agents()
        await toggle_availability(backend, 130)
        await backend.restart()  # the pruning runs at start-up, in a task of its own
        for _ in range(200):
            oldest, newest = await backend.store.event_bounds()
            if oldest > 2:
                break
            await asyncio.sleep(0.02)
        assert oldest > 2
        client = ApiClient(backend.url, backend.admin_token)
        recorder = Recorder()
        stream = LiveStream(client, since=1, backoff=(0.05,))
        task = asyncio.create_task(stream.run(recorder.event, recorder.state, recorder.resync))
        try:
            await wait_for(lambda: len(recorder.resyncs) == 1 and stream.state == "connected")
            resync = recorder.resyncs[0]
            assert resync is not None and resync.data.reason == "since_older_than_log"
            assert resync.data.oldest_seq == oldest
            await wait_for(lambda: stream.since == newest)  # from the hello
            await toggle_availability(backend)
            await wait_for(lambda: recorder.seen == [newest + 1])
            assert stream.since == newest + 1
        finally:
            task.cancel()
            await client.aclose()
    finally:
        await backend.stop()


async def test_app_reconnect_before_any_event_does_not_refetch(live_backend):
    """The app's view of the hello: a restart with nothing new reloads nothing."""
    from tests.backend.seed import seed_threads
    from tests.tui.backend_fixtures import inbox_ready

    await seed_threads(live_backend.store, 3)
    app = make_app(live_backend.url, live_backend.admin_token)
    async with app.run_test(size=(100, 30)):
        screen = await inbox_ready(app)
        fetches = screen.threads.fetch_count
        newest = await newest_seq(live_backend)
        await wait_for(lambda: app.stream is not None and app.stream.since == newest)
        await live_backend.restart()
        await wait_for(lambda: app.stream.connections == 2 and app.conn_state == "connected")
        assert app.stream.since == newest
        # a later event (not a thread's) arrives after the hello: whatever the hello was
        # going to cause has happened by then
        await toggle_availability(live_backend)
        await wait_for(lambda: app.stream.since == newest + 1)
        assert screen.threads.fetch_count == fetches


async def test_a_page_type_is_built_once(live_backend):
    """pydantic holds a parametrized generic (``Page[Agent]``) weakly: once collected, the
    next request made it again and built its validator anew (for ``Page[Message]``, some
    30 ms of every thread opened). Run in a process of its own, as the inbox runs: here the
    in-process backend holds its page types."""
    script = (
        "import asyncio, gc, sys\n"
        "from backend.schemas import Agent, Page\n"
        "from tui.client import ApiClient\n"
        "async def main():\n"
        "    client = ApiClient(sys.argv[1], sys.argv[2])\n"
        "    assert await client.agents()\n"
        "    await client.aclose()\n"
        "    gc.collect()\n"
        "    print(Page[Agent].__pydantic_complete__)\n"
        "asyncio.run(main())\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        live_backend.url,
        live_backend.admin_token,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    assert out.decode().strip() == "True"  # the type the request built is the one kept
