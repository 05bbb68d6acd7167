"""The composer's drafts, kept on the server per agent and thread (``/threads/{id}/draft``)
so that they survive a quit, a crash and a second terminal.

A change is saved a second after typing stops, at once when the agent leaves the thread,
and whatever is still waiting when the inbox closes. An emptied composer deletes the kept
draft; a send deletes it on the server by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from backend import schemas
from tui.client import ApiClient, ApiError

SAVE_AFTER_S = 1.0


@dataclass(frozen=True, slots=True)
class DraftState:
    text: str
    note: bool = False
    reply_to: int | None = None


EMPTY = DraftState("")


class DraftKeeper:
    def __init__(self, client: ApiClient, *, delay: float = SAVE_AFTER_S) -> None:
        self.client = client
        self.delay = delay
        self._kept: dict[int, DraftState] = {}  # what the server has, as far as we know
        self._waiting: dict[int, tuple[DraftState, asyncio.Task[None]]] = {}

    def known(self, thread_id: int, state: DraftState) -> None:
        """The server has this draft (it was just loaded or sent)."""
        self._cancel(thread_id)
        self._kept[thread_id] = state

    def changed(self, thread_id: int, state: DraftState) -> None:
        """The composer changed: save it once typing has stopped for a moment."""
        self._schedule(thread_id, state, self.delay)

    def left(self, thread_id: int, state: DraftState) -> None:
        """The agent left the thread: save now."""
        self._schedule(thread_id, state, 0)

    async def flush(self) -> None:
        """Save every waiting change now (the inbox is closing)."""
        waiting = list(self._waiting.items())
        self._waiting.clear()
        for _, (_, task) in waiting:
            task.cancel()
        for thread_id, (state, _) in waiting:
            await self._save(thread_id, state)

    def _schedule(self, thread_id: int, state: DraftState, delay: float) -> None:
        self._cancel(thread_id)
        if self._kept.get(thread_id, EMPTY) == state or (
            not state.text.strip() and not self._kept.get(thread_id, EMPTY).text
        ):
            return  # nothing new to keep (an opened thread's emptied composer, a reload)
        task = asyncio.create_task(self._save_later(thread_id, state, delay))
        self._waiting[thread_id] = (state, task)

    def kept_text(self, thread_id: int) -> str:
        """The text the server keeps for this thread, as far as this inbox knows."""
        return self._kept.get(thread_id, EMPTY).text

    async def load(self, thread_id: int) -> DraftState | None:
        draft = await self.client.draft(thread_id)
        if draft is None:
            return None
        state = DraftState(draft.text, draft.note, draft.reply_to)
        self._kept[thread_id] = state
        return state

    def _cancel(self, thread_id: int) -> None:
        waiting = self._waiting.pop(thread_id, None)
        if waiting is not None:
            waiting[1].cancel()

    async def _save_later(self, thread_id: int, state: DraftState, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        await self._save(thread_id, state)
        waiting = self._waiting.get(thread_id)
        if waiting is not None and waiting[0] is state:
            del self._waiting[thread_id]

    async def _save(self, thread_id: int, state: DraftState) -> None:
        if self._kept.get(thread_id, EMPTY) == state:
            return
        # unreachable server, a draft too long to keep: the next change or leave tries again
        with contextlib.suppress(ApiError, ValueError):
            if state.text.strip():
                await self.client.save_draft(
                    thread_id,
                    schemas.DraftUpdate(text=state.text, note=state.note, reply_to=state.reply_to),
                )
            else:
                await self.client.delete_draft(thread_id)
            self._kept[thread_id] = state
