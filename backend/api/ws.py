"""``GET /api/v1/ws?since=<seq>``: replay from the event log, then live events in commit order.

The subscriber is registered *before* the log is read, so an event committed while the
replay runs is queued rather than lost; frames already replayed are skipped by seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import WSMsgType, web

from backend import schemas
from backend.api.auth import current_agent
from backend.api.wire import operation
from backend.domain.errors import InvalidField
from backend.hub import Subscriber
from backend.keys import HUB, SETTINGS, STORE, WEBSOCKETS

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

REPLAY_PAGE = 2000
CLIENT_MESSAGE_LIMIT = 64 * 1024


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
    app[WEBSOCKETS].add(ws)
    subscriber = hub.subscribe(agent.id, agent.name)
    writer: asyncio.Task[None] | None = None
    try:
        last = await _replay(ws, store, hub, since)
        if last is None:
            return ws
        # where the replay ended: a client that loses the connection before any event
        # arrives can still resume with since=<last_seq> instead of refetching everything
        await ws.send_str(json.dumps({"seq": 0, "type": "hello", "data": {"last_seq": last}}))
        for presence in hub.presence_snapshot(exclude=subscriber):
            await ws.send_str(json.dumps({"seq": 0, "type": "presence", "data": presence}))
        writer = asyncio.create_task(_write(ws, subscriber, last), name=f"ws-writer-{agent.id}")
        await _read(ws, hub, subscriber)
    finally:
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
    if since is None:
        return max(newest, hub.last_seq)
    if since > max(newest, hub.last_seq):
        await ws.send_str(resync_frame("since_ahead_of_server", oldest or None))
        await ws.close()
        return None
    if oldest and since < oldest - 1:
        await ws.send_str(resync_frame("since_older_than_log", oldest))
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


async def _write(ws: web.WebSocketResponse, subscriber: Subscriber, last: int) -> None:
    while True:
        item = await subscriber.queue.get()
        if item is None:  # overflowed: this client fell behind
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(resync_frame("slow_client"))
                await ws.close(code=4000, message=b"too slow; resume with since")
            return
        seq, frame = item
        if seq and seq <= last:
            continue  # already sent by the replay
        if seq:
            last = seq
        try:
            await ws.send_frame(frame, WSMsgType.TEXT)  # already UTF-8, encoded once by the hub
        except (ConnectionError, RuntimeError):
            return


async def _read(ws: web.WebSocketResponse, hub, subscriber: Subscriber) -> None:
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            if msg.type == WSMsgType.ERROR:
                log.info("websocket error: %s", ws.exception())
            continue
        try:
            presence = schemas.ClientPresence.model_validate_json(msg.data)
        except ValueError:
            await ws.send_str(
                json.dumps(
                    {
                        "seq": 0,
                        "type": "error",
                        "data": {
                            "code": "bad_client_message",
                            "message": 'Send {"type": "presence", "thread_id": N, '
                            '"state": "viewing"|"typing"|"idle"}.',
                        },
                    }
                )
            )
            continue
        hub.publish_presence(subscriber, presence.thread_id, presence.state.value)
