"""Live push over real WebSockets: replay after a disconnect, resync, slow clients, presence,
and a server restart losing nothing committed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket

import pytest
import websockets

from backend import schemas
from backend.keys import HUB
from backend.store import conversations as conv
from tests.backend.seed import seed_thread
from tests.backend.wsclient import LiveClient
from tests.support import LiveBackend


async def toggle_read(backend: LiveBackend, thread_id: int, times: int) -> None:
    async with backend.client(backend.agent_token) as client:
        for i in range(times):
            path = "unread" if i % 2 == 0 else "read"
            response = await client.post(f"/api/v1/threads/{thread_id}/{path}")
            assert response.status_code == 200


async def test_reconnect_with_since_gets_every_missed_event_once_in_order(live_backend):
    thread = await seed_thread(live_backend.store, name="Ann", phone="+34611111111", text="hi")
    await toggle_read(live_backend, thread.id, 1)  # unread_count 1 → read, so toggles change it
    start = (await live_backend.store.event_bounds())[1]
    async with LiveClient.connect(live_backend, live_backend.admin_token, since=start) as steady:
        async with LiveClient.connect(live_backend, live_backend.agent_token, since=start) as a:
            await toggle_read(live_backend, thread.id, 4)
            first = await a.until_seq((await live_backend.store.event_bounds())[1])
        last_seen = first[-1]["seq"]
        # while A is away: changes from the API and from the store, one of them concurrent
        await asyncio.gather(
            toggle_read(live_backend, thread.id, 6),
            live_backend.store.update_agent(
                live_backend.agent.id, schemas.MeUpdate(availability="away")
            ),
        )
        async with LiveClient.connect(
            live_backend, live_backend.agent_token, since=last_seen
        ) as again:
            await toggle_read(live_backend, thread.id, 3)
            end = (await live_backend.store.event_bounds())[1]
            second = await again.until_seq(end)
        steady_frames = await steady.until_seq(end)
    seqs = [f["seq"] for f in first + second]
    assert seqs == list(range(start + 1, end + 1))
    assert [f["seq"] for f in steady_frames] == seqs
    assert [f["type"] for f in first + second] == [f["type"] for f in steady_frames]


async def test_since_older_than_the_retained_log_gets_resync(tmp_path):
    backend = LiveBackend(data_dir=tmp_path / "d", overrides={"event_retention": 100})
    await backend.start()
    try:
        await backend.seed_agents()
        await backend.store.write(
            lambda tx: [tx.emit("thread.updated", {"i": i}) for i in range(250)]
        )
        await backend.store.prune_events(backend.settings.event_retention)
        oldest, newest = await backend.store.event_bounds()
        assert oldest > 5
        async with LiveClient.connect(backend, backend.agent_token, since=5) as live:
            frame = await live.recv()
        assert frame["type"] == "resync"
        assert frame["seq"] == 0  # not a logged event: the client's place stays
        assert frame["data"] == {"reason": "since_older_than_log", "oldest_seq": oldest}
        # the event after since=oldest - 2 is gone: the nearest seq that cannot resume
        async with LiveClient.connect(backend, backend.agent_token, since=oldest - 2) as live:
            frame = await live.recv()
        assert frame["data"] == {"reason": "since_older_than_log", "oldest_seq": oldest}
        async with LiveClient.connect(backend, backend.agent_token, since=newest + 50) as live:
            frame = await live.recv()
        assert frame["type"] == "resync"
        assert frame["data"] == {"reason": "since_ahead_of_server", "oldest_seq": oldest}
        async with LiveClient.connect(backend, backend.agent_token, since=oldest - 1) as live:
            frames = await live.until_seq(newest)
        assert [f["seq"] for f in frames] == list(range(oldest, newest + 1))
    finally:
        await backend.stop()


async def test_slow_client_is_dropped_with_resync_while_others_keep_up(tmp_path):
    backend = LiveBackend(data_dir=tmp_path / "d", overrides={"ws_queue_size": 64})
    await backend.start()
    try:
        await backend.seed_agents()
        thread = await seed_thread(backend.store, name="Ann", phone="+34611111111", text="hi")
        big = "x" * 60_000
        start = (await backend.store.event_bounds())[1]

        def burst(tx):
            for _ in range(8):
                message_id = conv.insert_message(
                    tx, thread_id=thread.id, direction="in", kind="text", text=big
                )
                conv.emit_message(tx, message_id, created=True)

        # a terminal that stops reading: a tiny receive buffer (no autotuning) and a paused
        # transport, so the server's socket buffer fills and its writer blocks
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", backend.port))
        sock.setblocking(False)
        async with (
            LiveClient.connect(backend, backend.agent_token, since=start) as fast,
            LiveClient.connect(
                backend,
                backend.admin_token,
                since=start,
                max_queue=1,
                max_size=2**20,
                sock=sock,
                compression=None,
            ) as slow,
        ):
            slow.ws.transport.pause_reading()
            received = []
            for _ in range(40):
                # the fast terminal keeps up with each burst; the slow one falls behind
                await backend.store.write(burst)
                end = (await backend.store.event_bounds())[1]
                received += await fast.until_seq(end, timeout=20)
            assert [f["seq"] for f in received] == list(range(start + 1, end + 1))
            slow.ws.transport.resume_reading()
            frames = []
            with pytest.raises(Exception):  # noqa: B017 - the server closes the slow socket
                while True:
                    frames.append(await slow.recv(timeout=10))
        assert frames[-1]["type"] == "resync"
        assert frames[-1]["data"]["reason"] == "slow_client"
        assert len(frames) - 1 < end - start
    finally:
        await backend.stop()


async def until(condition, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def fast_and_stalled_clients(backend: LiveBackend, hub, start: int, burst):
    """A client that reads and one that has stopped reading (a tiny receive buffer, its
    transport paused), with ``burst`` written until the hub drops the stalled one; the fast
    one has read everything by then."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", backend.port))
    sock.setblocking(False)
    async with (
        LiveClient.connect(backend, backend.agent_token, since=start) as fast,
        LiveClient.connect(
            backend,
            backend.admin_token,
            since=start,
            max_queue=1,
            max_size=2**20,
            sock=sock,
            compression=None,
        ) as slow,
    ):
        slow.ws.transport.pause_reading()

        def slow_subscribed() -> bool:
            return any(s.agent_id == backend.admin.id for s in hub.subscribers)

        await until(slow_subscribed)
        while slow_subscribed():
            await backend.store.write(burst)
            await fast.until_seq((await backend.store.event_bounds())[1], timeout=20)
        yield fast, slow


async def test_a_client_that_stops_reading_gets_resync_not_the_stale_backlog(tmp_path):
    """Paused for longer than anything the server would wait, then reading again: it finds
    at most what the socket held, then the resync frame and the close, and resumes with
    since=. Before, the writer sat blocked behind the full socket with a queue of stale
    frames, and the client got megabytes of them and a bare close."""
    backend = LiveBackend(data_dir=tmp_path / "d")
    await backend.start()
    try:
        await backend.seed_agents()
        hub = backend.app[HUB]
        thread = await seed_thread(backend.store, name="Ann", phone="+34611111111", text="hi")
        big = "x" * 20_000
        start = (await backend.store.event_bounds())[1]

        def burst(tx):
            for _ in range(50):
                message_id = conv.insert_message(
                    tx, thread_id=thread.id, direction="in", kind="text", text=big
                )
                conv.emit_message(tx, message_id, created=True)

        async with fast_and_stalled_clients(backend, hub, start, burst) as (fast, slow):
            slow.ws.transport.resume_reading()
            stale_bytes = 0
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    raw = await asyncio.wait_for(slow.ws.recv(), 10)
                    frame = json.loads(raw)
                    if frame["type"] == "resync":
                        break
                    stale_bytes += len(raw)
                await asyncio.wait_for(slow.ws.recv(), 10)
        assert frame["type"] == "resync", "closed without a resync frame"
        assert frame["data"]["reason"] == "slow_client"
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
        assert closed.value.rcvd.reason == "too slow; resume with since"
        assert stale_bytes < 1_000_000
    finally:
        await backend.stop()


async def test_a_presence_flood_is_rate_limited_and_cannot_make_others_resync(tmp_path):
    backend = LiveBackend(data_dir=tmp_path / "d", overrides={"ws_queue_size": 64})
    await backend.start()
    try:
        await backend.seed_agents()
        thread = await seed_thread(backend.store, name="Ann", phone="+34611111111", text="hi")
        async with (
            LiveClient.connect(backend, backend.admin_token) as watcher,
            LiveClient.connect(backend, backend.agent_token) as flooder,
        ):
            await watcher.next_of("hello")  # live: what the flooder sends is queued for it
            for n in range(1, 1001):  # written back to back
                await flooder.ws.send(
                    json.dumps({"type": "presence", "thread_id": n, "state": "typing"})
                )
            await flooder.ws.send(
                json.dumps({"type": "presence", "thread_id": thread.id, "state": "viewing"})
            )
            # the newest state is never lost to the limit: it arrives once the bucket refills
            while True:
                frame = await watcher.next_of("presence", timeout=10)
                if frame["data"]["state"] == "viewing":
                    break
            await toggle_read(backend, thread.id, 2)  # unread (as seeded), then read
            await watcher.next_of("thread.updated")
        types = [frame["type"] for frame in watcher.frames]
        assert "resync" not in types
        assert types.count("presence") < 100
    finally:
        await backend.stop()


async def test_presence_fans_out_and_expires_on_disconnect(live_backend):
    thread = await seed_thread(live_backend.store, name="Ann", phone="+34611111111", text="hi")
    async with LiveClient.connect(live_backend, live_backend.admin_token) as watcher:
        await watcher.next_of("hello")  # live: each state reaches it, not just a snapshot
        async with LiveClient.connect(live_backend, live_backend.agent_token) as typist:
            await typist.ws.send(
                f'{{"type": "presence", "thread_id": {thread.id}, "state": "typing"}}'
            )
            frame = await watcher.next_of("presence")
            assert frame["seq"] == 0
            assert frame["data"] == {
                "agent_id": live_backend.agent.id,
                "agent_name": "Bob Agent",
                "thread_id": thread.id,
                "state": "typing",
            }
            async with LiveClient.connect(live_backend, live_backend.admin_token) as late:
                snapshot = await late.next_of("presence")
                assert snapshot["data"]["state"] == "typing"
            await typist.ws.send('{"type": "shout"}')
            error = await typist.next_of("error")
            assert error["seq"] == 0
            assert error["data"] == {
                "code": "bad_client_message",
                "message": 'Send {"type": "presence", "thread_id": N, '
                '"state": "viewing"|"typing"|"idle"}.',
            }
            # the connection goes on after a bad message
            await typist.ws.send(
                f'{{"type": "presence", "thread_id": {thread.id}, "state": "viewing"}}'
            )
            assert (await watcher.next_of("presence"))["data"]["state"] == "viewing"
        gone = await watcher.next_of("presence")
        assert gone["data"]["agent_id"] == live_backend.agent.id
        assert gone["data"]["state"] == "idle"
    # presence is never logged (read once: a view.counts may be logged between two reads)
    logged = await live_backend.store.events_after(0, 10_000)
    assert logged and not [row for row in logged if '"presence"' in row[1]]


async def test_presence_sent_while_a_watcher_replays_reaches_it_once(live_backend):
    """A client still replaying the log is already subscribed, so presence published
    meanwhile is queued for it; the snapshot it then gets says the same again. It must
    see each state once: the snapshot stands for what was queued before it."""
    hub = live_backend.app[HUB]
    start = (await live_backend.store.event_bounds())[1]
    padding = "x" * 500  # ~3 MB of log: the replay waits on the watcher's full socket
    await live_backend.store.write(
        lambda tx: [tx.emit("thread.updated", {"i": i, "pad": padding}) for i in range(6000)]
    )
    async with LiveClient.connect(live_backend, live_backend.agent_token) as typist:
        await typist.next_of("hello")
        async with LiveClient.connect(
            live_backend, live_backend.admin_token, since=start
        ) as watcher:  # not reading yet: its replay stalls
            (watching,) = [s for s in hub.subscribers if s.agent_id == live_backend.admin.id]
            await typist.ws.send(
                json.dumps({"type": "presence", "thread_id": 7, "state": "typing"})
            )
            await until(lambda: watching.queue.qsize() == 1)
            await typist.ws.send(
                json.dumps({"type": "presence", "thread_id": 7, "state": "viewing"})
            )
            await until(lambda: watching.queue.qsize() == 2)
            await watcher.next_of("hello", timeout=60)
            await typist.ws.send(
                json.dumps({"type": "presence", "thread_id": 8, "state": "typing"})
            )
            seen: list[tuple[int, str]] = []
            while not seen or seen[-1][0] != 8:
                data = (await watcher.next_of("presence"))["data"]
                seen.append((data["thread_id"], data["state"]))
    assert seen == [(7, "viewing"), (8, "typing")]


async def test_restart_loses_no_committed_event(live_backend):
    thread = await seed_thread(live_backend.store, name="Ann", phone="+34611111111", text="hi")
    await toggle_read(live_backend, thread.id, 5)
    before = await live_backend.store.events_after(0, 10_000)
    await live_backend.restart()
    async with LiveClient.connect(live_backend, live_backend.agent_token, since=0) as live:
        replayed = await live.until_seq(before[-1][0])
        async with live_backend.client(live_backend.agent_token) as client:
            assert (await client.post(f"/api/v1/threads/{thread.id}/read")).status_code == 200
        after = await live.next_of("thread.updated")
    assert [(f["seq"], f["type"]) for f in replayed] == [
        (seq, json.loads(frame)["type"]) for seq, frame in before
    ]
    assert after["seq"] > before[-1][0]


async def test_bad_since_and_no_token_on_the_websocket(live_backend):
    import websockets

    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(live_backend.ws_url):
            pass
    assert refused.value.response.status_code == 401
    headers = {"Authorization": f"Bearer {live_backend.agent_token}"}
    with pytest.raises(websockets.InvalidStatus) as bad:
        async with websockets.connect(
            live_backend.ws_url + "?since=-1", additional_headers=headers
        ):
            pass
    assert bad.value.response.status_code == 422
    assert json.loads(bad.value.response.body) == {
        "error": {
            "code": "invalid_field",
            "message": "since cannot be negative.",
            "field": "since",
        }
    }
    with pytest.raises(websockets.InvalidStatus) as bad:
        async with websockets.connect(
            live_backend.ws_url + "?since=12abc", additional_headers=headers
        ):
            pass
    assert bad.value.response.status_code == 422
    assert json.loads(bad.value.response.body) == {
        "error": {
            "code": "invalid_field",
            "message": "since must be a whole number (the last seq you saw).",
            "field": "since",
        }
    }
    # an empty since is no since: the stream starts after the newest event
    newest = (await live_backend.store.event_bounds())[1]
    async with websockets.connect(
        live_backend.ws_url + "?since=", additional_headers=headers
    ) as ws:
        hello = await LiveClient(ws).next_of("hello")
    assert hello["data"] == {"last_seq": newest}


async def _log_events(backend: LiveBackend, count: int) -> int:
    """Commit ``count`` logged events; the newest seq."""
    await backend.store.write(
        lambda tx: [tx.emit("thread.updated", {"i": i}) for i in range(count)]
    )
    return (await backend.store.event_bounds())[1]


async def test_a_replay_of_several_pages_sends_every_event_once_in_order(live_backend):
    from backend.api.ws import REPLAY_PAGE

    start = (await live_backend.store.event_bounds())[1]
    newest = await _log_events(live_backend, 2 * REPLAY_PAGE + 1)
    async with LiveClient.connect(live_backend, live_backend.agent_token, since=start) as live:
        frames = await live.until_seq(newest)
        hello = await live.next_of("hello")
    assert [f["seq"] for f in frames] == list(range(start + 1, newest + 1))
    assert [f["data"]["i"] for f in frames] == list(range(2 * REPLAY_PAGE + 1))
    assert hello["data"] == {"last_seq": newest}


async def test_events_committed_during_a_replay_arrive_once_none_lost_none_twice(
    live_backend, monkeypatch
):
    """The subscriber is registered before the log is read, and the live queue skips what
    the replay sent. A hook on the replay's page reads commits an event after each: one
    after the first page (the replay reads it too: the queue's copy must be skipped) and
    one after the last page (only the queue has it: it must not be lost)."""
    from backend.api.ws import REPLAY_PAGE

    store = live_backend.store
    start = (await store.event_bounds())[1]
    newest = await _log_events(live_backend, REPLAY_PAGE + 500)
    read_page = store.event_page
    during: list[int] = []

    async def page_then_commit(seq: int, limit: int):
        page = await read_page(seq, limit)
        if len(during) < 2:
            marker = {"during": len(during)}
            during.append(await store.write(lambda tx: tx.emit("thread.updated", marker)))
        return page

    monkeypatch.setattr(store, "event_page", page_then_commit)
    async with LiveClient.connect(live_backend, live_backend.agent_token, since=start) as live:
        frames = await live.until_seq(newest + 2)
        after = await _log_events(live_backend, 1)  # a duplicate would come before this one
        frames += await live.until_seq(after)
    assert during == [newest + 1, newest + 2]
    assert [f["seq"] for f in frames] == list(range(start + 1, after + 1))


async def test_a_burst_of_presence_up_to_the_bucket_goes_out_whole_and_the_next_waits(
    live_backend,
):
    """The bucket holds PRESENCE_BURST tokens: that many states sent back to back all go
    out, none coalesced; the one after them waits for a token and is not lost."""
    from backend.api.ws import PRESENCE_BURST

    async with (
        LiveClient.connect(live_backend, live_backend.admin_token) as watcher,
        LiveClient.connect(live_backend, live_backend.agent_token) as typist,
    ):
        await watcher.next_of("hello")  # live: each state reaches it, not just a snapshot
        for thread_id in range(1, PRESENCE_BURST + 2):
            await typist.ws.send(
                json.dumps({"type": "presence", "thread_id": thread_id, "state": "typing"})
            )
        seen = []
        while PRESENCE_BURST + 1 not in seen:
            frame = await watcher.next_of("presence")
            if frame["data"]["agent_id"] == live_backend.agent.id:
                seen.append(frame["data"]["thread_id"])
    assert seen == list(range(1, PRESENCE_BURST + 2))


async def test_a_first_connection_without_since_starts_after_the_newest_event(live_backend):
    """A terminal's first connection sends no ``since``: nothing is replayed, the hello
    says where the log stands, and what is committed next arrives."""
    newest = await _log_events(live_backend, 3)
    headers = {"Authorization": f"Bearer {live_backend.agent_token}"}
    async with websockets.connect(live_backend.ws_url, additional_headers=headers) as ws:
        live = LiveClient(ws)
        hello = await live.next_of("hello")
        after = await _log_events(live_backend, 1)
        frames = await live.until_seq(after)
    assert hello["data"] == {"last_seq": newest}
    assert [f["seq"] for f in live.frames if f["seq"]] == [after]
    assert [f["data"] for f in frames] == [{"i": 0}]


async def test_a_dropped_client_that_never_reads_again_is_cut_off(tmp_path, monkeypatch, caplog):
    """After its resync, a client that still reads nothing is not kept: its connection is
    aborted (SLOW_CLIENT_ABORT_SECONDS, shortened here) with whatever it never read.
    The heartbeat is off, so only that rule can end the connection."""
    from backend.api import ws as ws_api

    monkeypatch.setattr(ws_api, "SLOW_CLIENT_ABORT_SECONDS", 0.2)
    backend = LiveBackend(data_dir=tmp_path / "d", overrides={"ws_heartbeat": 3600.0})
    await backend.start()
    try:
        await backend.seed_agents()
        hub = backend.app[HUB]
        thread = await seed_thread(backend.store, name="Ann", phone="+34611111111", text="hi")
        start = (await backend.store.event_bounds())[1]

        def burst(tx):
            for _ in range(50):
                message_id = conv.insert_message(
                    tx, thread_id=thread.id, direction="in", kind="text", text="x" * 20_000
                )
                conv.emit_message(tx, message_id, created=True)

        async with fast_and_stalled_clients(backend, hub, start, burst) as (fast, slow):
            assert backend.runner is not None
            server = backend.runner.server
            assert server is not None
            await until(lambda: len(server.connections) == 1)  # the fast one's
            assert not fast.ws.transport.is_closing()
            # reading nothing, the stalled client would wait out its close timeout (10 s)
            # for a close frame it cannot read: it drops its end of the cut connection
            slow.ws.transport.abort()
        # the resync and close frames that could not be written in time are given up
        # quietly: nothing fails in the server
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    finally:
        await backend.stop()


@contextlib.asynccontextmanager
async def writer_waiting_on_a_stalled_client(backend: LiveBackend):
    """A client that reads nothing (a tiny receive buffer, its transport paused), and
    events written one at a time until the server's writer waits for its full socket to
    drain (aiohttp's flow control): yields the client and the ``since`` it connected with."""
    hub = backend.app[HUB]
    thread = await seed_thread(backend.store, name="Ann", phone="+34611111111", text="hi")
    start = (await backend.store.event_bounds())[1]

    def one(tx):
        message_id = conv.insert_message(
            tx, thread_id=thread.id, direction="in", kind="text", text="x" * 20_000
        )
        conv.emit_message(tx, message_id, created=True)

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", backend.port))
    sock.setblocking(False)
    async with LiveClient.connect(
        backend, backend.admin_token, since=start, max_size=2**20, sock=sock, compression=None
    ) as slow:
        slow.ws.transport.pause_reading()
        await until(lambda: any(s.agent_id == backend.admin.id for s in hub.subscribers))
        assert backend.runner is not None and backend.runner.server is not None
        (connection,) = backend.runner.server.connections
        while connection._drain_waiter is None:
            await backend.store.write(one)
        yield slow, start


async def test_the_server_shuts_down_without_waiting_for_a_client_that_stopped_reading(
    tmp_path, caplog
):
    """A shutdown closes every socket, and must not wait for a client that reads nothing:
    its close frame goes behind what the socket holds, for the client to find if it ever
    reads again. Before, the shutdown waited for that socket to drain: forever, or until
    the client's queue overflowed and its dropped writer's cancel broke the shutdown
    (CancelledError out of ``close_websockets``: the rest of the cleanup never ran)."""
    backend = LiveBackend(
        data_dir=tmp_path / "d", overrides={"ws_heartbeat": 3600.0, "ws_queue_size": 64}
    )
    await backend.start()
    try:
        await backend.seed_agents()
        async with writer_waiting_on_a_stalled_client(backend) as (slow, start):
            async with asyncio.timeout(30):  # it waited forever
                await backend.stop()
            slow.ws.transport.resume_reading()
            frames = []
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    frames.append(json.loads(await asyncio.wait_for(slow.ws.recv(), 10)))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert closed.value.rcvd.reason == "server shutting down"
        # what the socket held: the hello, then the log in order from the start, no gap
        seqs = [frame["seq"] for frame in frames[1:]]
        assert frames[0]["type"] == "hello" and seqs == list(
            range(start + 1, start + 1 + len(seqs))
        )
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    finally:
        await backend.stop()


async def test_a_client_that_resets_its_connection_while_the_server_waits_on_it_ends_quietly(
    tmp_path, caplog
):
    """A client gone with a reset (its socket closed with unread data) while the server's
    writer waits for that socket to drain: the wait ends in a ConnectionError, which is the
    client's end, not the server's error (escaping, aiohttp logs "Error handling request")."""
    backend = LiveBackend(data_dir=tmp_path / "d", overrides={"ws_heartbeat": 3600.0})
    await backend.start()
    try:
        await backend.seed_agents()
        hub = backend.app[HUB]
        async with writer_waiting_on_a_stalled_client(backend) as (slow, _):
            slow.ws.transport.abort()  # unread data in its buffer: the kernel sends a reset
            assert backend.runner is not None and backend.runner.server is not None
            server = backend.runner.server
            await until(lambda: not server.connections and not hub.subscribers)
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    finally:
        await backend.stop()


async def test_a_binary_frame_is_ignored_and_a_frame_over_the_limit_ends_the_connection(
    live_backend, caplog
):
    """Only text frames mean something: a binary one is skipped and the connection goes
    on; a message over CLIENT_MESSAGE_LIMIT is a protocol error, logged and closed."""
    from backend.api.ws import CLIENT_MESSAGE_LIMIT

    caplog.set_level(logging.INFO, logger="backend.api.ws")
    thread = await seed_thread(live_backend.store, name="Ann", phone="+34611111111", text="hi")
    async with LiveClient.connect(live_backend, live_backend.admin_token) as watcher:
        await watcher.next_of("hello")
        async with LiveClient.connect(live_backend, live_backend.agent_token) as typist:
            await typist.ws.send(b"\x00\x01")
            await typist.ws.send(
                json.dumps({"type": "presence", "thread_id": thread.id, "state": "typing"})
            )
            frame = await watcher.next_of("presence")
            assert frame["data"]["state"] == "typing"
            assert [r for r in caplog.records if r.name == "backend.api.ws"] == []
            await typist.ws.send("x" * (CLIENT_MESSAGE_LIMIT + 1))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await typist.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "backend.api.ws"]
    assert logged.startswith("websocket error: ") and "size" in logged.lower()


async def test_every_answer_to_an_agent_says_where_the_log_stood_before_its_read(live_backend):
    """``X-Event-Seq``: from the start of the process (a restart, nothing published yet),
    every answer to an agent carries the newest committed seq taken before its read; a
    stream opened later with ``since=`` that seq replays what was committed in between."""
    thread = await seed_thread(live_backend.store, name="Ann", phone="+34611111111", text="hi")
    await toggle_read(live_backend, thread.id, 3)
    await live_backend.restart()
    newest = (await live_backend.store.event_bounds())[1]
    assert newest > 0
    async with live_backend.client(live_backend.agent_token) as client:
        read = await client.get(f"/api/v1/threads/{thread.id}")
        assert read.status_code == 200
        position = int(read.headers[schemas.EVENT_SEQ_HEADER])
        assert position == newest
        # a change committed after the read, before the stream connects (it was unread)
        assert (await client.post(f"/api/v1/threads/{thread.id}/read")).status_code == 200
        changed = (await live_backend.store.event_bounds())[1]
        assert changed > position
        later = await client.get("/api/v1/me")
        assert int(later.headers[schemas.EVENT_SEQ_HEADER]) == changed
        # not on what is answered to no agent
        refused = await client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
        assert refused.status_code == 401
        assert schemas.EVENT_SEQ_HEADER not in refused.headers
        assert schemas.EVENT_SEQ_HEADER not in (await client.get("/healthz")).headers
    async with LiveClient.connect(live_backend, live_backend.agent_token, since=position) as ws:
        replayed = await ws.until_seq(changed)
    assert [f["seq"] for f in replayed] == list(range(position + 1, changed + 1))
    assert replayed[-1]["type"] == "thread.updated"
    assert replayed[-1]["data"]["id"] == thread.id
    assert (
        replayed[-1]["data"]["unread_count"]
        == (await client_thread(live_backend, thread.id))["unread_count"]
    )


async def client_thread(backend: LiveBackend, thread_id: int) -> dict:
    async with backend.client(backend.agent_token) as client:
        return (await client.get(f"/api/v1/threads/{thread_id}")).json()


async def test_a_log_pruned_empty_still_tells_a_client_behind_it_to_resync(live_backend):
    """Every event pruned (a retention of 0): a client whose since is behind the newest
    event cannot be replayed what it missed and is told to resync, before and after a
    restart; one that had seen everything resumes (its ``hello`` says where it stands)."""
    thread = await seed_thread(live_backend.store, name="Ann", phone="+34611111111", text="hi")
    await toggle_read(live_backend, thread.id, 4)
    for restart in (False, True):
        if restart:
            await live_backend.restart()
        newest = (await live_backend.store.event_bounds())[1]
        await live_backend.store.prune_events(keep=0)
        assert await live_backend.store.event_bounds() == (0, 0)
        token = live_backend.agent_token
        async with LiveClient.connect(live_backend, token, since=newest) as ws:
            hello = await ws.next_of("hello")  # (a view.counts this client woke may come first)
        assert hello["data"]["last_seq"] >= newest
        assert not [f for f in ws.frames if f["type"] == "resync"]
        async with LiveClient.connect(live_backend, token, since=newest - 2) as ws:
            frame = await ws.recv()
        assert frame["type"] == "resync"
        assert frame["data"]["reason"] == "since_older_than_log"
        # the log is empty (None), unless the view.counts the first client woke was logged
        # since: then it is the oldest, and newer than anything the client had seen
        oldest = frame["data"]["oldest_seq"]
        assert oldest is None or oldest > newest
