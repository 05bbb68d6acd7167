"""Presence across processes on PostgreSQL (issue 16, step 3).

Presence (an agent viewing or typing in a thread) is ephemeral: never logged, fanned out
by each process's hub to its own WebSocket clients. With several processes, each one
tells the others its clients' presence with ``NOTIFY`` on one channel, and keeps what
the others told it:

- a change: ``{"p": process, "k": key, "d": presence}`` (``d``: the frame's data; an
  ``idle`` one ends the entry);
- a heartbeat ``{"p": process, "beat": 1}`` every ``HEARTBEAT_SECONDS``: a process not
  heard from for ``EXPIRE_SECONDS`` (killed with ``kill -9``, cut off) is gone, and each
  of its entries is ended (handed on as idle) by every other process;
- ``{"p": process, "hello": 1}`` when a process starts listening (and after a lost
  connection): the others send it their entries again, so its clients' snapshot holds
  every process's presence;
- ``{"p": process, "bye": 1}`` when it stops: its entries end at once.

Nothing is written to a table: a notification costs no WAL flush, and a process that dies
leaves nothing behind to clean up. A notification lost with a connection is made good by
the next hello (entries) or heartbeat (liveness).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "ttydesk_presence"
HEARTBEAT_SECONDS = 2.0
EXPIRE_SECONDS = 3 * HEARTBEAT_SECONDS
RETRY_SECONDS = 1.0

# what a process is told: (key, presence) for a change, (key, None) for an entry ended
# because its process is gone
PresenceCallback = Callable[[str, dict[str, Any] | None], None]


class PresenceRelay:
    """One process's side of presence over ``NOTIFY``: ``share`` what its clients do,
    ``on_presence`` is told what the other processes' clients do."""

    def __init__(
        self,
        url: str,
        on_presence: PresenceCallback,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        expire_seconds: float = EXPIRE_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.url = url
        self.process = uuid.uuid4().hex[:12]
        self._on_presence = on_presence
        self._heartbeat_seconds = heartbeat_seconds
        self._expire_seconds = expire_seconds
        self._retry_seconds = retry_seconds
        self._local: dict[str, dict[str, Any]] = {}  # this process's entries (not idle)
        self._remote: dict[str, set[str]] = {}  # process → its keys (not idle)
        self._heard: dict[str, float] = {}  # process → when last heard (monotonic)
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._keep(self._listen), name="ttydesk-presence-listen"),
            asyncio.create_task(self._keep(self._send), name="ttydesk-presence-send"),
            asyncio.create_task(self._beat(), name="ttydesk-presence-beat"),
        ]

    async def stop(self) -> None:
        """Say bye (the others end this process's entries at once), then stop."""
        with contextlib.suppress(psycopg.Error, OSError, TimeoutError):
            async with (
                asyncio.timeout(2.0),
                await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn,
            ):
                await self._notify(conn, {"bye": 1})
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def share(self, key: str, presence: dict[str, Any]) -> None:
        """Tell the other processes a local client's presence (never waits)."""
        if presence.get("state") == "idle":
            self._local.pop(key, None)
        else:
            self._local[key] = presence
        self._outbox.put_nowait({"k": key, "d": presence})

    # ------------------------------------------------------------------ inside

    async def _keep(self, run: Callable[[], Any]) -> None:
        while True:
            try:
                await run()
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                log.warning("presence lost its connection (%s): connecting again", exc)
            await asyncio.sleep(self._retry_seconds)

    async def _notify(self, conn: psycopg.AsyncConnection, message: dict[str, Any]) -> None:
        payload = json.dumps({"p": self.process, **message}, separators=(",", ":"))
        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    async def _send(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            while True:
                message = await self._outbox.get()
                try:
                    await self._notify(conn, message)
                except BaseException:
                    self._outbox.put_nowait(message)  # sent on the next connection
                    raise

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            self._outbox.put_nowait({"beat": 1})
            self._expire()

    def _expire(self) -> None:
        now = time.monotonic()
        for process, heard in list(self._heard.items()):
            if now - heard > self._expire_seconds:
                log.info("presence: process %s is gone, its entries end", process)
                self._forget(process)

    def _forget(self, process: str) -> None:
        self._heard.pop(process, None)
        for key in self._remote.pop(process, set()):
            self._hand_on(key, None)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self._outbox.put_nowait({"hello": 1})  # the others' entries, sent again
            async for notification in conn.notifies():
                self._received(notification.payload)
        raise psycopg.OperationalError("the notifications stopped")

    def _received(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            process = message["p"]
        except (ValueError, TypeError, KeyError):
            log.warning("presence: an unreadable notification was ignored")
            return
        if process == self.process:
            return
        if message.get("bye"):
            self._forget(process)
            return
        self._heard[process] = time.monotonic()
        keys = self._remote.setdefault(process, set())
        if message.get("hello"):
            for key, presence in self._local.items():
                self._outbox.put_nowait({"k": key, "d": presence})
            return
        key, presence = message.get("k"), message.get("d")
        if not isinstance(key, str) or not isinstance(presence, dict):
            return
        key = f"{process}:{key}"
        if presence.get("state") == "idle":
            keys.discard(key)
        else:
            keys.add(key)
        self._hand_on(key, presence)

    def _hand_on(self, key: str, presence: dict[str, Any] | None) -> None:
        try:
            self._on_presence(key, presence)
        except Exception:
            log.exception("handing on presence failed")
