"""The event log on PostgreSQL, with numbers in commit order (issue 16, step 3's trap).

A number taken before commit (a sequence, a counter read early) lets a transaction with a
higher number commit first: a reader that reads ``seq > cursor`` and moves its cursor past
that number never sees the lower one when it commits. Here a transaction takes its numbers
with ``UPDATE event_counter … RETURNING`` as the last thing before COMMIT: the counter's
row stays locked until the transaction ends, so a second transaction that wants numbers
waits until the first has committed (or rolled back, and then takes the same numbers).
Numbers are handed out in commit order with no gap, and every reader, in any process, may
read everything above its cursor. Taking them last keeps the wait to the insert of the
events and the COMMIT.

Every process's hub follows the log (``EventFollower``): a ``NOTIFY`` sent with the events
(PostgreSQL delivers it at COMMIT) wakes the followers of every process, each of which
then reads what is above its cursor; a notification that is lost costs only the time
to the next poll, since the log, not the notification, is the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from pydantic import BaseModel

from backend.store.engine import CommittedEvent, dumps

log = logging.getLogger(__name__)

CHANNEL = "ttydesk_events"
POLL_SECONDS = 1.0
RETRY_SECONDS = 1.0
# the numbers, and the other processes' followers woken at COMMIT, in one round trip
TAKE_NUMBERS = (
    "UPDATE event_counter SET last = last + %s WHERE id = 1 "
    f"RETURNING last, pg_notify('{CHANNEL}', last::text)"
)
# the same, only if no event has been numbered after a given one (nothing taken otherwise)
TAKE_NUMBERS_UNLESS_LOGGED_AFTER = (
    "UPDATE event_counter SET last = last + %s WHERE id = 1 AND last <= %s "
    f"RETURNING last, pg_notify('{CHANNEL}', last::text)"
)
INSERT_EVENT = "INSERT INTO events (seq, type, payload, at, entity_id) VALUES (%s, %s, %s, %s, %s)"


def frame(seq: int, event_type: str, data: dict[str, Any] | BaseModel) -> str:
    """The ``{"seq","type","data"}`` frame, encoded as the SQLite engine's ``Tx.emit`` does."""
    encoded = data.model_dump_json() if isinstance(data, BaseModel) else dumps(data)
    return f'{{"seq":{seq},"type":{dumps(str(event_type))},"data":{encoded}}}'


def append_events(
    conn: psycopg.Connection,
    events: Sequence[tuple[str, dict[str, Any] | BaseModel]],
    at: str,
    entities: Sequence[int] = (),
    *,
    unless_logged_after: int | None = None,
) -> list[CommittedEvent]:
    """Number and log ``(type, data)`` events in ``conn``'s open transaction; call it as the
    transaction's last statement before COMMIT (it holds the log's lock until then). They
    are committed events once that COMMIT returns. ``entities``: each event's row, for a
    snapshot event (0: none), as SQLite's log names it. ``unless_logged_after``: log
    nothing (and return no event) if an event above that number is in the log, or is
    being numbered by a transaction yet to commit (the check waits for it)."""
    if not events:
        return []
    if unless_logged_after is None:
        row = conn.execute(TAKE_NUMBERS, (len(events),)).fetchone()
    else:
        row = conn.execute(
            TAKE_NUMBERS_UNLESS_LOGGED_AFTER, (len(events), unless_logged_after)
        ).fetchone()
        if row is None:
            return []
    if row is None:
        raise RuntimeError("event_counter has lost its row (migration 0001 makes it)")
    first = row[0] - len(events) + 1
    committed = [
        CommittedEvent(seq, event_type, frame(seq, event_type, data))
        for seq, (event_type, data) in enumerate(events, start=first)
    ]
    rows = [
        (event.seq, event.type, event.frame, at, (entities[index] or None) if entities else None)
        for index, event in enumerate(committed)
    ]
    with conn.cursor() as cursor:
        cursor.executemany(INSERT_EVENT, rows)
    return committed


def read_events(conn: psycopg.Connection, after: int, limit: int = 1000) -> list[CommittedEvent]:
    """Committed events above ``after``, in order: no later commit can fall below them."""
    rows = conn.execute(
        "SELECT seq, type, payload FROM events WHERE seq > %s ORDER BY seq LIMIT %s",
        (after, limit),
    ).fetchall()
    return [CommittedEvent(seq, event_type, payload) for seq, event_type, payload in rows]


def newest_seq(conn: psycopg.Connection) -> int:
    """The newest committed event's number (the counter's committed value)."""
    row = conn.execute("SELECT last FROM event_counter WHERE id = 1").fetchone()
    return 0 if row is None else int(row[0])


class EventFollower:
    """Reads the log above a cursor whenever a commit (of any process) is announced, and
    hands each page of events, in order, to ``on_events``: a hub fed by it sends every
    process's events in one order, none missing, none twice.

    Two connections: one that waits for notifications and one that reads, so that waiting
    never holds up a read and a notification that comes during a read is not lost. When
    either is lost (the server restarted, a proxy cut it), both are made again and the
    log is read from the cursor: nothing committed meanwhile is missed.
    """

    def __init__(
        self,
        url: str,
        on_events: Callable[[list[CommittedEvent]], None],
        *,
        after: int,
        poll_seconds: float = POLL_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        page: int = 1000,
    ) -> None:
        self.url = url
        self.cursor = after
        self._on_events = on_events
        self._poll_seconds = poll_seconds
        self._retry_seconds = retry_seconds
        self._page = page
        self._wake = asyncio.Event()
        self.caught_up = asyncio.Event()  # set each time it has read to the end of the log
        self.connections = 0  # how many times it has connected (1 + reconnections)
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ttydesk-pg-follow")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait_for(self, seq: int) -> None:
        """Until the events up to ``seq`` have been handed on."""
        if self.cursor >= seq:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, waiter))
        try:
            await waiter
        finally:
            if not waiter.done():
                self._waiters.remove((seq, waiter))

    def offer(self, events: Sequence[CommittedEvent]) -> None:
        """Events this process has just committed: handed on at once if they are the next
        ones of the log (every number up to theirs handed on already: numbers follow
        commit order, with no gap), which spares the writer the round trip of a read;
        else the follower reads them in their turn."""
        if events and events[0].seq == self.cursor + 1:
            self._hand_on(events)

    def _hand_on(self, events: Sequence[CommittedEvent]) -> None:
        """Hand on the events above the cursor, and move it (no await in between: an
        ``offer`` cannot come between them and hand the same events on twice)."""
        fresh = [event for event in events if event.seq > self.cursor]
        if not fresh:
            return
        try:
            self._on_events(fresh)
        except Exception:
            log.exception("handing on followed events failed")
        self.cursor = fresh[-1].seq
        waiting = []
        for seq, waiter in self._waiters:
            if seq <= self.cursor:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                waiting.append((seq, waiter))
        self._waiters = waiting

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                log.warning("lost the event log's connection (%s): connecting again", exc)
            await asyncio.sleep(self._retry_seconds)

    async def _follow(self) -> None:
        async with (
            await psycopg.AsyncConnection.connect(self.url, autocommit=True) as listener,
            await psycopg.AsyncConnection.connect(self.url, autocommit=True) as reader,
        ):
            await listener.execute(f"LISTEN {CHANNEL}")  # before reading: no commit slips by
            self.connections += 1
            listening = asyncio.create_task(self._listen(listener))
            try:
                while True:
                    self._wake.clear()  # before reading: a commit announced meanwhile wakes
                    await self._catch_up(reader)
                    self.caught_up.set()
                    woken = asyncio.create_task(self._wake.wait())
                    await asyncio.wait(
                        {woken, listening},
                        timeout=self._poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    woken.cancel()
                    if listening.done():
                        listening.result()  # the listener's connection was lost: raises
            finally:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
                    await listening

    async def _listen(self, listener: psycopg.AsyncConnection) -> None:
        async for _ in listener.notifies():
            self._wake.set()
        raise psycopg.OperationalError("the notifications stopped")

    async def _catch_up(self, reader: psycopg.AsyncConnection) -> None:
        while True:
            cursor = await reader.execute(
                "SELECT seq, type, payload FROM events WHERE seq > %s ORDER BY seq LIMIT %s",
                (self.cursor, self._page),
            )
            rows = await cursor.fetchall()
            if not rows:
                return
            # some may have been offered while this read was on its way
            self._hand_on([CommittedEvent(seq, kind, payload) for seq, kind, payload in rows])
            if len(rows) < self._page:
                return
