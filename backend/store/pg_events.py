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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from pydantic import BaseModel

from backend.store.engine import CommittedEvent, dumps

TAKE_NUMBERS = "UPDATE event_counter SET last = last + %s WHERE id = 1 RETURNING last"
INSERT_EVENT = "INSERT INTO events (seq, type, payload, at) VALUES (%s, %s, %s, %s)"


def frame(seq: int, event_type: str, data: dict[str, Any] | BaseModel) -> str:
    """The ``{"seq","type","data"}`` frame, encoded as the SQLite engine's ``Tx.emit`` does."""
    encoded = data.model_dump_json() if isinstance(data, BaseModel) else dumps(data)
    return f'{{"seq":{seq},"type":{dumps(str(event_type))},"data":{encoded}}}'


def append_events(
    conn: psycopg.Connection,
    events: Sequence[tuple[str, dict[str, Any] | BaseModel]],
    at: str,
) -> list[CommittedEvent]:
    """Number and log ``(type, data)`` events in ``conn``'s open transaction; call it as the
    transaction's last statement before COMMIT (it holds the log's lock until then). They
    are committed events once that COMMIT returns."""
    if not events:
        return []
    row = conn.execute(TAKE_NUMBERS, (len(events),)).fetchone()
    if row is None:
        raise RuntimeError("event_counter has lost its row (migration 0001 makes it)")
    first = row[0] - len(events) + 1
    committed = [
        CommittedEvent(seq, event_type, frame(seq, event_type, data))
        for seq, (event_type, data) in enumerate(events, start=first)
    ]
    with conn.cursor() as cursor:
        cursor.executemany(
            INSERT_EVENT, [(event.seq, event.type, event.frame, at) for event in committed]
        )
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
