"""The composer's drafts, kept on the server per agent and thread (``/threads/{id}/draft``)
so that they survive a quit, a crash and a second terminal.

A change is saved a second after typing stops, at once when the agent leaves the thread,
and whatever is still waiting when the inbox closes. An emptied composer deletes the kept
draft; a send deletes it on the server by itself.

Each composer state read gets a revision (``RevisionClock``: milliseconds, newer for each
change; the same state read again keeps its own), and a send carries the revision of the
state it sent: the server refuses a save not newer than that send (409 ``draft_outdated``),
so a save on its way when the agent sent, or the quit's save while the send was
unanswered, cannot make the sent text a draft again. Such a refusal of a state this inbox
sent (or read before a send of its own) is taken quietly. Of a state read after its last
send, it is another terminal of the agent's whose clock is ahead: the refusal names the
newest revision, and the state is saved again past it, so that what was written is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from backend import schemas
from tui.client import ApiClient, ApiError

SAVE_AFTER_S = 1.0


@dataclass(frozen=True, slots=True)
class DraftState:
    text: str
    note: bool = False
    reply_to: int | None = None
    revision: int = dataclasses.field(default=0, compare=False)  # RevisionClock's


EMPTY = DraftState("")


class RevisionClock:
    """Milliseconds since the epoch, each newer than the last one given or heard of (the
    same client orders its own saves and sends, whatever its clock does)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._last = 0

    def next(self) -> int:
        self._last = max(int(self._now() * 1000), self._last + 1)
        return self._last

    def heard(self, revision: int | None) -> None:
        if revision is not None:
            self._last = max(self._last, revision)


class DraftKeeper:
    def __init__(
        self,
        client: ApiClient,
        *,
        delay: float = SAVE_AFTER_S,
        clock: RevisionClock | None = None,
        on_kept: Callable[[int, bool], None] | None = None,
    ) -> None:
        self.client = client
        self.delay = delay
        self.clock = clock or RevisionClock()
        self.on_kept = on_kept  # (thread id, whether the server now keeps a draft there)
        self._kept: dict[int, DraftState] = {}  # what the server has, as far as we know
        self._waiting: dict[int, tuple[DraftState, asyncio.Task[None]]] = {}
        self._read: dict[int, DraftState] = {}  # the composer as last read, with its revision
        self._sent: dict[int, int] = {}  # the revision of this inbox's last send per thread

    def revision(self, thread_id: int, state: DraftState) -> int:
        """The revision of this composer state: the one it was read with when it is the
        last one read, a new one when the composer changed since (what a send carries)."""
        return self._stamp(thread_id, state).revision

    def _stamp(self, thread_id: int, state: DraftState) -> DraftState:
        last = self._read.get(thread_id)
        if last is not None and last == state:
            return last
        stamped = dataclasses.replace(state, revision=self.clock.next())
        self._read[thread_id] = stamped
        return stamped

    def sent(self, thread_id: int, revision: int) -> None:
        """A send from this composer carries ``revision`` (recorded as it leaves)."""
        self._sent[thread_id] = max(revision, self._sent.get(thread_id, 0))

    def known(self, thread_id: int, state: DraftState) -> None:
        """The server has this draft (it was just loaded or sent)."""
        self._cancel(thread_id)
        self._keep(thread_id, state)

    def _keep(self, thread_id: int, state: DraftState) -> None:
        self._kept[thread_id] = state
        if self.on_kept is not None:
            self.on_kept(thread_id, bool(state.text.strip()))

    def changed(self, thread_id: int, state: DraftState) -> None:
        """The composer changed: save it once typing has stopped for a moment."""
        self._schedule(thread_id, self._stamp(thread_id, state), self.delay)

    def left(self, thread_id: int, state: DraftState) -> None:
        """The agent left the thread: save now."""
        self._schedule(thread_id, self._stamp(thread_id, state), 0)

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
            self._keep(thread_id, EMPTY)
            return None
        self.clock.heard(draft.revision)  # (saved by another terminal, its clock ahead)
        state = DraftState(draft.text, draft.note, draft.reply_to, draft.revision or 0)
        self._keep(thread_id, state)
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
            try:
                await self._put(thread_id, state)
            except ApiError as exc:
                if exc.code != "draft_outdated":
                    raise
                if not self._written_since_sending(thread_id, state, exc.newest_revision):
                    # sent (or written over) since this state was read: nothing to keep
                    self._kept[thread_id] = state
                    return
                state = self._restamp(thread_id, state, exc.newest_revision)
                await self._put(thread_id, state)
            self._keep(thread_id, state)

    async def _put(self, thread_id: int, state: DraftState) -> None:
        if state.text.strip():
            await self.client.save_draft(
                thread_id,
                schemas.DraftUpdate(
                    text=state.text,
                    note=state.note,
                    reply_to=state.reply_to,
                    revision=state.revision or None,
                ),
            )
        else:
            await self.client.delete_draft(thread_id, state.revision or None)

    def _written_since_sending(self, thread_id: int, state: DraftState, newest: int | None) -> bool:
        """A refused state read after this inbox's last send in the thread: not what it
        sent, but work the server only thinks older (another terminal's clock is ahead).
        A state not newer than its own send was sent, or written over: nothing to keep."""
        return newest is not None and state.revision > self._sent.get(thread_id, 0)

    def _restamp(self, thread_id: int, state: DraftState, newest: int | None) -> DraftState:
        self.clock.heard(newest)
        restamped = dataclasses.replace(state, revision=self.clock.next())
        if self._read.get(thread_id) is state:
            self._read[thread_id] = restamped
        return restamped
