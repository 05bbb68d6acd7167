"""``GET /api/v1/ws?since=<seq>``: replay from the event log, then live events in commit order.

The subscriber is registered *before* the log is read, so an event committed while the
replay runs is queued rather than lost; frames already replayed are skipped by seq.

A client that stops reading (a suspended laptop, a frozen terminal) fills the socket and
then its queue in the hub; when that overflows, the hub lets go of it at once and its
queue is dropped for one marker, on which the writer sends a ``resync`` frame and closes.
The client then finds, behind what the socket already held, the resync and resumes with
``since=``; one that never reads again is cut after SLOW_CLIENT_ABORT_SECONDS. The
socket's send buffer is kept small so that backlog stays small too.

One task at a time writes frames to the socket (the handler during the replay, then the
writer: events, presence, the resync, and the answer to a message the server cannot read,
queued like the rest): aiohttp shares one drain waiter among a connection's writers, so a
second writer cancelled while waiting on a full socket would cancel the wait of every
frame after it.

A client's presence messages are rate-limited (a token bucket per connection): one
agent's flood must not fill the others' queues and force them to resync. Presence over
the rate is not lost but coalesced: the newest state is sent when the bucket refills.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import socket
import time

from aiohttp import WSMsgType, web

from backend import schemas
from backend.api.auth import current_agent
from backend.api.wire import operation
from backend.domain.errors import InvalidField
from backend.hub import OVERFLOWED, Subscriber
from backend.keys import HUB, SETTINGS, STORE, WEBSOCKETS

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

REPLAY_PAGE = 2000
CLIENT_MESSAGE_LIMIT = 64 * 1024
# what the kernel may hold for a client that stopped reading (Linux doubles it); left to
# autotuning it grows to megabytes of frames the client would read before its resync
SOCKET_SEND_BUFFER = 128 * 1024
# how long the connection of a client whose queue overflowed may hold what it has not read
# (its resync and close among it) before it is cut
SLOW_CLIENT_ABORT_SECONDS = 300.0
PRESENCE_PER_SECOND = 5.0
PRESENCE_BURST = 10


EVENT_SEQ_HEADER = schemas.EVENT_SEQ_HEADER
EVENT_SEQ_DESCRIPTION = (
    "Where the event log stood before this request was read: every event up to this seq "
    "was committed before, and a change the answer does not show comes with a higher one. "
    "A client that reads state first and connects later opens the WebSocket with "
    "since=<the smallest X-Event-Seq of its reads>, so nothing committed in between is missed."
)


def resync_frame(reason: str, oldest_seq: int | None = None) -> str:
    data = schemas.Resync(reason=reason, oldest_seq=oldest_seq).model_dump(mode="json")
    return json.dumps({"seq": 0, "type": schemas.EventType.resync.value, "data": data})


def _since(request: web.Request) -> int | None:
    raw = request.query.get("since")
    if raw is None or raw == "":
        return None
    try:
        since = int(raw)
    except ValueError:
        raise InvalidField(
            "since must be a whole number (the last seq you saw).", field="since"
        ) from None
    if since < 0:
        raise InvalidField("since cannot be negative.", field="since")
    return since


@operation(
    routes,
    "GET",
    "/api/v1/ws",
    summary="WebSocket: replays events after ?since=, then streams new ones",
)
async def websocket(request: web.Request) -> web.StreamResponse:
    since = _since(request)
    agent = current_agent(request)
    app = request.app
    settings, store, hub = app[SETTINGS], app[STORE], app[HUB]

    # no per-message compression: it would compress each frame once per client, undoing
    # the hub's encode-once fan-out
    ws = web.WebSocketResponse(
        heartbeat=settings.ws_heartbeat, max_msg_size=CLIENT_MESSAGE_LIMIT, compress=False
    )
    await ws.prepare(request)
    _limit_send_buffer(request)
    app[WEBSOCKETS].add(ws)
    subscriber = hub.subscribe(agent.id, agent.name)
    subscriber.on_overflow = functools.partial(_let_go_when_overflowed, request, hub, subscriber)
    writer: asyncio.Task[None] | None = None
    limiter = PresenceLimiter(hub, subscriber)
    try:
        last = await _replay(ws, store, hub, since)
        if last is None:
            return ws
        # presence as it stands now, in place of what was queued for it during the replay
        subscriber.drop_queued_presence()
        presence = hub.presence_snapshot(exclude=subscriber)
        # where the replay ended: a client that loses the connection before any event
        # arrives can still resume with since=<last_seq> instead of refetching everything
        await ws.send_str(json.dumps({"seq": 0, "type": "hello", "data": {"last_seq": last}}))
        for state in presence:
            await ws.send_str(json.dumps({"seq": 0, "type": "presence", "data": state}))
        writer = asyncio.create_task(_write(ws, subscriber, last), name=f"ws-writer-{agent.id}")
        await _read(ws, subscriber, limiter)
    finally:
        limiter.close()
        hub.unsubscribe(subscriber)
        app[WEBSOCKETS].discard(ws)
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        if not ws.closed:
            await ws.close()
    return ws


async def _replay(ws: web.WebSocketResponse, store, hub, since: int | None) -> int | None:
    """Send every logged event after ``since``; the last seq sent, or None after a resync."""
    oldest, newest = await store.event_bounds()
    head = max(newest, hub.last_seq)  # (the hub starts at the log's newest, even pruned away)
    if since is None:
        return head
    if since > head:
        await ws.send_str(resync_frame("since_ahead_of_server", oldest or None))
        await ws.close()
        return None
    if since < head and (not oldest or since < oldest - 1):  # what it missed is pruned
        await ws.send_str(resync_frame("since_older_than_log", oldest or None))
        await ws.close()
        return None
    last = since
    while True:
        page = await store.event_page(last, REPLAY_PAGE)
        for _, frame in page.frames:
            await ws.send_str(frame)
        last = page.last_seq
        if not page.full:
            return last


def _limit_send_buffer(request: web.Request) -> None:
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SEND_BUFFER)


def _let_go_when_overflowed(request: web.Request, hub, subscriber: Subscriber) -> None:
    """At the overflow, while the writer may still wait on the full socket: the hub stops
    counting the client (its presence goes) and a client that never reads again is cut."""
    hub.unsubscribe(subscriber)
    transport = request.transport
    if transport is not None:
        asyncio.get_running_loop().call_later(SLOW_CLIENT_ABORT_SECONDS, transport.abort)


async def _write(ws: web.WebSocketResponse, subscriber: Subscriber, last: int) -> None:
    try:
        while True:
            seq, frame = await subscriber.next()
            if seq == OVERFLOWED:
                # behind what the socket holds; close raises nothing (aiohttp keeps any
                # error it meets and closes the transport) and does not wait for it to drain
                await ws.send_str(resync_frame("slow_client"))
                await ws.close(code=4000, message=b"too slow; resume with since", drain=False)
                return
            if seq and seq <= last:
                continue  # already sent by the replay
            if seq:
                last = seq
            await ws.send_frame(frame, WSMsgType.TEXT)  # already UTF-8, encoded once by the hub
    except ConnectionError:  # the client is gone: its reader ends the connection
        return


class PresenceLimiter:
    """A token bucket per connection for presence; over the rate, the newest state waits
    for the next token instead of being dropped."""

    def __init__(self, hub, subscriber: Subscriber) -> None:
        self._hub = hub
        self._subscriber = subscriber
        self._tokens = float(PRESENCE_BURST)
        self._refilled = time.monotonic()
        self._pending: tuple[int | None, str] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def offer(self, thread_id: int | None, state: str) -> None:
        self._pending = (thread_id, state)
        if self._timer is None:
            self._flush()

    def _flush(self) -> None:
        self._timer = None
        if self._pending is None:
            return
        now = time.monotonic()
        self._tokens = min(
            PRESENCE_BURST, self._tokens + (now - self._refilled) * PRESENCE_PER_SECOND
        )
        self._refilled = now
        if self._tokens < 1:
            wait = (1 - self._tokens) / PRESENCE_PER_SECOND
            self._timer = asyncio.get_running_loop().call_later(wait, self._flush)
            return
        self._tokens -= 1
        thread_id, state = self._pending
        self._pending = None
        self._hub.publish_presence(self._subscriber, thread_id, state)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


# the answer to a message the server cannot read
BAD_CLIENT_MESSAGE = json.dumps(
    {
        "seq": 0,
        "type": "error",
        "data": {
            "code": "bad_client_message",
            "message": 'Send {"type": "presence", "thread_id": N, '
            '"state": "viewing"|"typing"|"idle"}.',
        },
    }
).encode()


async def _read(
    ws: web.WebSocketResponse, subscriber: Subscriber, limiter: PresenceLimiter
) -> None:
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            if msg.type == WSMsgType.ERROR:
                log.info("websocket error: %s", ws.exception())
            continue
        try:
            update = schemas.ClientPresence.model_validate_json(msg.data)
        except ValueError:
            subscriber.offer(0, BAD_CLIENT_MESSAGE)  # sent by the writer, behind the events
            continue
        limiter.offer(update.thread_id, update.state.value)
