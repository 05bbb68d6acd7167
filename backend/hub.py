"""Fan-out of committed events to WebSocket subscribers.

Each subscriber has its own queue, bounded in frames and in bytes, drained by its
connection's writer task. Publishing never waits: a subscriber whose queue would pass
either bound is marked *overflowed*, its queue is dropped (the frames are stale: the client
will resume from the log with ``since=``) and replaced by one ``OVERFLOWED`` marker, on
which its connection's writer sends a ``resync`` instruction and closes, so one slow
terminal never slows the others. Frames are encoded once (by the
store) and the same string goes to everyone.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Frame(Protocol):
    seq: int
    frame: str


DEFAULT_QUEUE_BYTES = 4 * 1024 * 1024
# the seq of the marker an overflowed queue holds in place of its frames
OVERFLOWED = -1


@dataclass(eq=False)
class Subscriber:
    agent_id: int
    agent_name: str
    queue_size: int
    queue_bytes: int = DEFAULT_QUEUE_BYTES
    queue: asyncio.Queue[tuple[int, bytes]] = field(init=False)
    queued_bytes: int = 0
    overflowed: bool = False
    # called soon after the queue overflowed, while the connection's writer may still wait
    # on a client that stopped reading (never during a publish: it may unsubscribe)
    on_overflow: Callable[[], None] | None = None
    presence_thread: int | None = None
    presence_state: str = "idle"

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.queue_size)

    def offer(self, seq: int, frame: bytes) -> None:
        if self.overflowed:
            return
        if self.queued_bytes + len(frame) > self.queue_bytes or self.queue.full():
            self.overflowed = True
            while not self.queue.empty():  # stale now: the client resumes from the log
                self.queue.get_nowait()
            self.queued_bytes = 0
            self.queue.put_nowait((OVERFLOWED, b""))
            if self.on_overflow is not None:
                asyncio.get_running_loop().call_soon(self.on_overflow)
            return
        self.queue.put_nowait((seq, frame))
        self.queued_bytes += len(frame)

    def drop_queued_presence(self) -> None:
        """Forget the presence frames (seq 0) queued so far: a snapshot replaces them."""
        kept = []
        while not self.queue.empty():
            seq, frame = self.queue.get_nowait()
            if seq:
                kept.append((seq, frame))
            else:
                self.queued_bytes -= len(frame)
        for item in kept:
            self.queue.put_nowait(item)

    async def next(self) -> tuple[int, bytes]:
        seq, frame = await self.queue.get()
        self.queued_bytes -= len(frame)
        return seq, frame


class Hub:
    """``share`` tells other processes a local client's presence (the store's
    ``share_presence``); ``remote_presence`` is told theirs (PostgreSQL: pg_presence)."""

    def __init__(
        self,
        queue_size: int = 1000,
        queue_bytes: int = DEFAULT_QUEUE_BYTES,
        *,
        share: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.queue_size = queue_size
        self.queue_bytes = queue_bytes
        self._subscribers: set[Subscriber] = set()
        self._share = share
        self._keys: dict[Subscriber, str] = {}
        self._numbers = itertools.count(1)
        self._remote: dict[str, dict[str, Any]] = {}  # other processes' clients, not idle
        self.last_seq = 0
        self.published = 0
        self._watched = asyncio.Event()  # set while a client subscribes
        self._waiting = 0  # tasks waiting for a client (``wait_for_subscriber``)

    @property
    def subscribers(self) -> frozenset[Subscriber]:
        return frozenset(self._subscribers)

    def subscribe(self, agent_id: int, agent_name: str) -> Subscriber:
        subscriber = Subscriber(agent_id, agent_name, self.queue_size, self.queue_bytes)
        self._subscribers.add(subscriber)
        self._keys[subscriber] = str(next(self._numbers))
        self._watched.set()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber not in self._subscribers:
            return
        if subscriber.presence_state != "idle" or subscriber.presence_thread is not None:
            self.publish_presence(subscriber, None, "idle")
        self._subscribers.discard(subscriber)
        self._keys.pop(subscriber, None)
        if not self._subscribers:
            self._watched.clear()

    async def wait_for_subscriber(self) -> None:
        """Return once a client subscribes (at once while one does): work done only for
        clients (the pushed view counts) waits here while nobody is connected."""
        self._waiting += 1
        try:
            await self._watched.wait()
        finally:
            self._waiting -= 1

    @property
    def waited_for(self) -> bool:
        """Whether a task waits for a client to subscribe."""
        return self._waiting > 0

    def start_at(self, seq: int) -> None:
        """The log's newest committed event when the store opened, before anything else
        writes: ``last_seq`` then says, from the start, that every event up to it is
        committed (the position a client's reads are stamped with, ``X-Event-Seq``)."""
        self.last_seq = max(self.last_seq, seq)

    def publish(self, events: Iterable[Frame]) -> None:
        """Called on the event loop after each commit, in seq order."""
        subscribers = self._subscribers
        for event in events:
            self.last_seq = max(self.last_seq, event.seq)
            self.published += 1
            if subscribers:
                frame = event.frame.encode()  # once for every subscriber
                for subscriber in subscribers:
                    subscriber.offer(event.seq, frame)

    def publish_presence(self, source: Subscriber, thread_id: int | None, state: str) -> None:
        """Presence is ephemeral: fanned out with seq 0, never written to the event log."""
        if source not in self._subscribers:
            return  # gone (or dropped as too slow): its idle has been sent already
        source.presence_thread = thread_id if state != "idle" else None
        source.presence_state = state
        data = {
            "agent_id": source.agent_id,
            "agent_name": source.agent_name,
            "thread_id": thread_id,
            "state": state,
        }
        self._fan_out(data, skip=source)
        if self._share is not None:
            self._share(self._keys[source], data)

    def remote_presence(self, key: str, data: dict[str, Any] | None) -> None:
        """Another process's client's presence (None: its process is gone, so it ends)."""
        if data is None:
            known = self._remote.pop(key, None)
            if known is None:
                return
            data = {**known, "thread_id": None, "state": "idle"}
        elif data.get("state") == "idle":
            self._remote.pop(key, None)
        else:
            self._remote[key] = data
        self._fan_out(data)

    def _fan_out(self, data: dict[str, Any], skip: Subscriber | None = None) -> None:
        frame = json.dumps(
            {"seq": 0, "type": "presence", "data": data}, separators=(",", ":")
        ).encode()
        for subscriber in self._subscribers:
            if subscriber is not skip:
                subscriber.offer(0, frame)

    def presence_snapshot(self, exclude: Subscriber | None = None) -> list[dict[str, object]]:
        local: list[dict[str, object]] = [
            {
                "agent_id": s.agent_id,
                "agent_name": s.agent_name,
                "thread_id": s.presence_thread,
                "state": s.presence_state,
            }
            for s in self._subscribers
            if s is not exclude and s.presence_state != "idle"
        ]
        return local + [dict(data) for data in self._remote.values()]
