"""A realistic benchmark database: threads with contacts and tickets, and their messages.

``python -m tests.bench.generate --threads 100000 --messages 1000000`` builds
``tests/bench/.data/bench-<threads>-<messages>.db`` (and a ``.json`` beside it with the agent
tokens and the ids a benchmark needs), or reuses it when present (``--force`` rebuilds).

The file is created by the real migrations (``backend.store.engine.migrate``), then filled
with plain ``sqlite3`` ``executemany`` in big transactions, secondary indexes dropped during
the load and recreated from the schema's own SQL afterwards, FTS rows included. The data:
one thread per contact, each with a ticket; messages spread over 180 days in seven
languages (common and rare terms, unique order numbers, emoji), ids in time order across
all threads as a live inbox writes them; one thread of 5,000 messages at the top of the
list; the newest ~35 % of threads open (new / waiting on us / waiting on the contact),
the rest closed; ten agents and an admin; a WhatsApp number connected to the help desk.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench import corpus
from tests.bench.common import DATA_DIR, DISPLAY_NUMBER, PHONE_NUMBER_ID, WABA_ID

DEFAULT_THREADS = 100_000
DEFAULT_MESSAGES = 1_000_000
BIG_THREAD_MESSAGES = 5_000
AGENTS = 10
OPEN_SHARE = 0.35
SPAN_DAYS = 180
CHUNK = 50_000
FORMAT_VERSION = 2  # bump when the generated data changes shape


def paths(threads: int, messages: int, folder: Path = DATA_DIR) -> tuple[Path, Path]:
    stem = folder / f"bench-{threads}-{messages}"
    return stem.with_suffix(".db"), stem.with_suffix(".json")


def ensure_database(
    threads: int = DEFAULT_THREADS, messages: int = DEFAULT_MESSAGES, *, force: bool = False
) -> dict[str, Any]:
    """The cached database's description, building it first when missing or stale."""
    db, meta_path = paths(threads, messages)
    if not force and db.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("format") == FORMAT_VERSION:
            meta["cached"] = True
            return meta
    return build(threads, messages)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")


def _chunks(rows: Iterator[tuple], size: int = CHUNK) -> Iterator[list[tuple]]:
    chunk: list[tuple] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _message_counts(rng: random.Random, threads: int, messages: int) -> list[int]:
    """Messages per thread: thread 0 has the big one, the rest a heavy-tailed spread."""
    big = min(BIG_THREAD_MESSAGES, max(1, messages // 10))
    counts = [1] * threads
    counts[0] = big
    rest = messages - big - (threads - 1)
    if rest < 0:
        raise SystemExit("need at least one message per thread")
    weights = [0.0] + [rng.paretovariate(1.6) for _ in range(threads - 1)]
    for index in rng.choices(range(threads), weights=weights, k=rest):
        counts[index] += 1
    return counts


def build(threads: int, messages: int, folder: Path = DATA_DIR) -> dict[str, Any]:
    """Build the database (and its ``.json``) in ``folder``; its description."""
    from backend.domain.tickets import subject_from_text
    from backend.store.agents import hash_token, new_token
    from backend.store.conversations import preview_of
    from backend.store.engine import migrate

    started = time.perf_counter()
    rng = random.Random(20261126)
    folder.mkdir(parents=True, exist_ok=True)
    db, meta_path = paths(threads, messages, folder)
    tmp = db.with_suffix(".tmp")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
        leftover.unlink(missing_ok=True)

    conn = sqlite3.connect(tmp, isolation_level=None)
    migrate(conn)
    for pragma in (
        "journal_mode = OFF",
        "synchronous = OFF",
        "locking_mode = EXCLUSIVE",
        "temp_store = MEMORY",
        "cache_size = -1000000",
        "foreign_keys = OFF",
    ):
        conn.execute(f"PRAGMA {pragma}")
    big_tables = ("messages", "threads", "tickets", "contacts", "associations", "ticket_timeline")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({', '.join('?' for _ in big_tables)})",
        big_tables,
    ).fetchall()
    conn.execute("BEGIN")
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")

    now = time.time()
    start = now - SPAN_DAYS * 86400
    now_iso = _iso(now)

    # -- agents, channel, number, views
    tokens: dict[str, str] = {}
    agent_rows = []
    for agent_id in range(1, AGENTS + 2):
        admin = agent_id == 1
        token = new_token()
        tokens[str(agent_id)] = token
        first, last = corpus.person(rng, corpus.pick_lang(rng))
        agent_rows.append(
            (
                agent_id,
                "Bench Admin" if admin else f"{first} {last} {agent_id}",
                f"agent{agent_id}@acme.example",
                "admin" if admin else "agent",
                json.dumps(["lang:es"] if agent_id % 3 == 0 else []),
                hash_token(token),
                _iso(start - 86400),
                _iso(start - 86400),
            )
        )
    conn.executemany(
        "INSERT INTO agents (id, name, email, role, skills, token_hash, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        agent_rows,
    )
    conn.execute(
        "INSERT INTO channels (id, waba_id, access_token, legal_name, display_name, status, "
        "verified_business, created_at, updated_at) VALUES (1, ?, 'bench-access-token', "
        "'Acme Support S.L.', 'Acme Support', 'connected', 1, ?, ?)",
        (WABA_ID, _iso(start - 86400), now_iso),
    )
    conn.execute(
        "INSERT INTO phone_numbers (channel_id, phone_number_id, display_phone_number, "
        "verified_name, destination, status, connected_at, created_at) "
        "VALUES (1, ?, ?, 'Acme Support', 'help_desk', 'connected', ?, ?)",
        (PHONE_NUMBER_ID, "+" + DISPLAY_NUMBER, _iso(start - 86400), _iso(start - 86400)),
    )
    conn.execute(
        "INSERT INTO views (name, sharing, owner_id, filters, position, created_at, updated_at) "
        "VALUES ('Urgent and high', 'everyone', 1, ?, 0, ?, ?)",
        (
            json.dumps(
                [{"property": "priority", "operator": "is_any_of", "values": ["urgent", "high"]}]
            ),
            now_iso,
            now_iso,
        ),
    )
    business = "+" + DISPLAY_NUMBER

    # -- message times per thread, then every message in time order
    counts = _message_counts(rng, threads, messages)
    times: list[float] = []
    owner_of: list[int] = []
    for index, count in enumerate(counts):
        if index == 0:
            first_at = now - 60 * 86400
            span = now - 60 - first_at
        else:
            first_at = rng.uniform(start, now - 600)
            span = min(now - 60 - first_at, count * rng.expovariate(1 / 2400))
        times.append(first_at)
        if index == 0:  # the big thread has the newest message: the top of every list
            times.append(now - 30)
            count -= 1
        times.extend(first_at + rng.random() * span for _ in range(count - 1))
        owner_of.extend([index] * (len(times) - len(owner_of)))
    # thread order: by the first message; ids = that order, so thread id 1 is the oldest
    firsts = [0.0] * threads
    for index in range(threads):
        firsts[index] = float("inf")
    for ts, index in zip(times, owner_of, strict=True):
        if ts < firsts[index]:
            firsts[index] = ts
    thread_order = sorted(range(threads), key=firsts.__getitem__)
    thread_id_of = [0] * threads
    for position, index in enumerate(thread_order):
        thread_id_of[index] = position + 1
    order = sorted(range(len(times)), key=times.__getitem__)

    langs = [corpus.pick_lang(rng) for _ in range(threads)]
    people = [corpus.person(rng, lang) for lang in langs]
    phones = [corpus.phone(rng, lang, n) for n, lang in enumerate(langs)]
    owners = [rng.randrange(2, AGENTS + 2) for _ in range(threads)]

    last_at = [""] * threads
    last_preview = [""] * threads
    last_dir = ["in"] * threads
    inbound = [0] * threads
    outbound = [0] * threads
    first_in = [""] * threads
    last_in = [""] * threads
    last_in_ts = [0.0] * threads
    first_resp = [None] * threads
    first_in_ts = [0.0] * threads
    subject = [""] * threads
    last_status = [None] * threads

    media_rows: list[tuple] = []

    def message_rows() -> Iterator[tuple]:
        message_id = 0
        for position in order:
            message_id += 1
            ts = times[position]
            index = owner_of[position]
            thread_id = thread_id_of[index]
            lang = langs[index]
            at = _iso(ts)
            direction = "in" if inbound[index] == 0 or rng.random() < 0.55 else "out"
            text = corpus.message_text(rng, lang, direction == "in", people[index][0])
            kind, caption, media_id = "text", None, None
            roll = rng.random()
            if roll < 0.02:
                kind, caption, text = "image", text, None
            elif roll < 0.025:
                kind, caption, text = "document", text, None
            if kind != "text":
                media_id = len(media_rows) + 1
                mime = "image/jpeg" if kind == "image" else "application/pdf"
                media_rows.append(
                    (
                        media_id,
                        f"{1000000000000000 + message_id}",
                        direction,
                        mime,
                        None if kind == "image" else f"invoice-{message_id}.pdf",
                        rng.randrange(20_000, 2_000_000),
                        "ready",
                        PHONE_NUMBER_ID,
                        at,
                    )
                )
            last_at[index] = at
            last_preview[index] = preview_of(kind, text, caption)
            last_dir[index] = direction
            if direction == "in":
                if inbound[index] == 0:
                    first_in[index] = at
                    first_in_ts[index] = ts
                    subject[index] = subject_from_text(text or caption, "WhatsApp conversation")
                inbound[index] += 1
                last_in[index] = at
                last_in_ts[index] = ts
                yield (
                    message_id,
                    thread_id,
                    "in",
                    kind,
                    text,
                    None,
                    f"wamid.HBgL{message_id:012d}{thread_id:07d}AA",
                    None,
                    media_id,
                    caption,
                    phones[index],
                    business,
                    at,
                    None,
                    None,
                    None,
                )
            else:
                outbound[index] += 1
                if first_resp[index] is None:
                    first_resp[index] = int(ts - first_in_ts[index])
                status = "read" if rng.random() < 0.7 else "delivered"
                last_status[index] = status
                yield (
                    message_id,
                    thread_id,
                    "out",
                    kind,
                    text,
                    owners[index],
                    f"wamid.HBgL{message_id:012d}{thread_id:07d}BB",
                    status,
                    media_id,
                    caption,
                    business,
                    phones[index],
                    at,
                    at,
                    _iso(ts + 2),
                    _iso(ts + 30) if status == "read" else None,
                )

    insert_message = (
        "INSERT INTO messages (id, thread_id, direction, kind, text, author_id, wamid, status, "
        "media_id, caption, from_number, to_number, created_at, sent_at, delivered_at, read_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    for chunk in _chunks(message_rows()):
        conn.executemany(insert_message, chunk)
        conn.executemany(
            "INSERT INTO messages_fts (rowid, body) VALUES (?, ?)",
            [(r[0], r[4] or r[9]) for r in chunk if r[4] or r[9]],
        )
    conn.executemany(
        "INSERT INTO media (id, external_id, direction, mime_type, filename, size, state, "
        "phone_number_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        media_rows,
    )
    t_messages = time.perf_counter() - started

    # -- threads, tickets, contacts: the newest OPEN_SHARE of threads are open
    by_recency = sorted(range(threads), key=last_at.__getitem__, reverse=True)
    open_threads = set(by_recency[: int(threads * OPEN_SHARE)])
    contact_rows, contact_fts, thread_rows, ticket_rows, ticket_fts = [], [], [], [], []
    timeline_rows, assoc_rows = [], []
    for index in range(threads):
        tid = thread_id_of[index]
        lang = langs[index]
        first, last = people[index]
        number = phones[index]
        created = first_in[index] or last_at[index]
        country = corpus.COUNTRY[lang][0]
        contact_rows.append(
            (
                tid,
                first,
                last,
                number,
                country,
                f"{country}.{rng.randrange(10**15, 10**16)}",
                number.lstrip("+"),
                created,
                last_at[index],
            )
        )
        contact_fts.append(
            (tid, f"{first} {last} {number} {number.lstrip('+')} {number.lstrip('+')}")
        )
        is_open = index in open_threads
        if is_open:
            if outbound[index] == 0:
                status = "new"
            else:
                status = "waiting_on_us" if last_dir[index] == "in" else "waiting_on_contact"
            owner = None if rng.random() < 0.15 else owners[index]
            unread = rng.randrange(1, 4) if last_dir[index] == "in" else 0
        else:
            status, owner, unread = "closed", owners[index], 0
        roll = rng.random()
        priority = (
            "urgent"
            if roll < 0.01
            else "high"
            if roll < 0.04
            else "low"
            if roll < 0.14
            else "medium"
        )
        session = _iso(last_in_ts[index] + 86400) if last_in[index] else None
        closed_at = None if is_open else last_at[index]
        thread_rows.append(
            (
                tid,
                PHONE_NUMBER_ID,
                business,
                tid,
                tid,
                status,
                owner,
                last_at[index],
                last_preview[index],
                last_dir[index],
                unread,
                session,
                created,
                inbound[index],
                first_in[index] or None,
                last_in[index] or None,
            )
        )
        ticket_rows.append(
            (
                tid,
                subject[index] or "WhatsApp conversation",
                status,
                priority,
                owner,
                tid,
                tid,
                business,
                number.lstrip("+"),
                first_resp[index],
                outbound[index],
                last_status[index],
                created,
                last_at[index],
                closed_at,
            )
        )
        ticket_fts.append((tid, subject[index] or "WhatsApp conversation"))
        assoc_rows.append((tid, tid))
        timeline_rows.append((tid, created, None, "created", None, "new"))
        if owner is not None:
            timeline_rows.append((tid, created, None, "owner_changed", None, str(owner)))
        if closed_at:
            timeline_rows.append(
                (tid, closed_at, owner, "status_changed", "waiting_on_contact", "closed")
            )

    conn.executemany(
        "INSERT INTO contacts (id, first_name, last_name, phone, country, wa_user_id, wa_id, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        contact_rows,
    )
    conn.executemany("INSERT INTO contacts_fts (rowid, body) VALUES (?, ?)", contact_fts)
    conn.executemany(
        "INSERT INTO threads (id, phone_number_id, business_number, contact_id, ticket_id, status, "
        "owner_id, last_message_at, last_message_preview, last_message_direction, unread_count, "
        "session_expires_at, created_at, inbound_count, first_inbound_at, last_inbound_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        thread_rows,
    )
    conn.executemany(
        "INSERT INTO tickets (id, subject, status, priority, owner_id, thread_id, contact_id, "
        "business_number, contact_wa_id, first_response_seconds, outbound_count, "
        "last_delivery_status, created_at, updated_at, closed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ticket_rows,
    )
    conn.executemany("INSERT INTO tickets_fts (rowid, body) VALUES (?, ?)", ticket_fts)
    conn.executemany(
        "INSERT INTO associations (contact_id, object_type, object_id) VALUES (?, 'ticket', ?)",
        assoc_rows,
    )
    conn.executemany(
        "INSERT INTO ticket_timeline (ticket_id, at, actor_id, action, old, new) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        timeline_rows,
    )
    conn.execute(
        "INSERT INTO settings_kv (key, value) VALUES ('bench.generated', ?)",
        (json.dumps({"threads": threads, "messages": messages, "at": now_iso}),),
    )
    for _, sql in indexes:
        conn.execute(sql)
    # what the writer keeps per batch (store/reports.py), for the rows inserted here
    conn.execute(
        "INSERT INTO message_hours (hour, business_number, direction, messages) "
        "SELECT substr(m.created_at, 1, 13), COALESCE(th.business_number, th.phone_number_id, ''), "
        "m.direction, COUNT(*) FROM messages m JOIN threads th ON th.id = m.thread_id "
        "WHERE m.kind NOT IN ('note', 'event') GROUP BY 1, 2, 3"
    )
    conn.execute(
        "UPDATE message_hours_counted SET upto = (SELECT COALESCE(MAX(id), 0) FROM messages)"
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA locking_mode = NORMAL")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        stale.unlink(missing_ok=True)
    os.replace(tmp, db)

    big_thread_id = thread_id_of[0]
    meta = {
        "format": FORMAT_VERSION,
        "db": str(db),
        "threads": threads,
        "messages": messages,
        "generated_at": now_iso,
        "admin_id": 1,
        "admin_token": tokens["1"],
        "tokens": tokens,
        "big_thread_id": big_thread_id,
        "big_thread_messages": counts[0],
        "open_threads": len(open_threads),
        "build_seconds": round(time.perf_counter() - started, 1),
        "messages_seconds": round(t_messages, 1),
        "size_mb": round(db.stat().st_size / 1e6),
        "cached": False,
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES)
    parser.add_argument("--force", action="store_true", help="rebuild even when cached")
    args = parser.parse_args()
    meta = ensure_database(args.threads, args.messages, force=args.force)
    shown = {k: v for k, v in meta.items() if k != "tokens"}
    print(json.dumps(shown, indent=2))


if __name__ == "__main__":
    main()
