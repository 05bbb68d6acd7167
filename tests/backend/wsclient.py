"""A small real-WebSocket client for tests: connect with a token, wait for events by type."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets

from tests.support import LiveBackend


class LiveClient:
    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, backend: LiveBackend, token: str, since: int | None = None, **options: Any
    ) -> AsyncIterator[LiveClient]:
        """Without ``since``, from the newest logged event: nothing committed after the call
        is missed (the server registers a subscriber only after the handshake)."""
        if since is None:
            since = (await backend.store.event_bounds())[1]
        url = f"{backend.ws_url}?since={since}"
        headers = {"Authorization": f"Bearer {token}"}
        async with websockets.connect(url, additional_headers=headers, **options) as ws:
            yield cls(ws)

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.frames.append(frame)
        return frame

    async def next_of(self, event_type: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next frame of this type; frames of other types are kept in ``frames``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no {event_type} event within {timeout}s")
            frame = await self.recv(left)
            if frame["type"] == event_type:
                return frame

    async def until_seq(self, seq: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Logged frames (seq > 0) received until one with ``seq`` arrives."""
        got: list[dict[str, Any]] = []
        while True:
            frame = await self.recv(timeout)
            if frame["seq"]:
                got.append(frame)
                if frame["seq"] >= seq:
                    return got
