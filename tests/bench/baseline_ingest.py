"""The ingest baseline of PERF-BASELINES: a bare aiohttp handler + group-commit SQLite insert.

Checks the signature, parses the JSON, and for each message upserts its thread and inserts
the message; one writer task commits whatever is waiting (≤500 rows per transaction) and
each request answers 200 only after its rows committed. Same loop, JSON library, SQLite
settings (the writer's ``synchronous`` included: durable commits cost the same fsync here)
and pinning as the real backend. ``--port P --core C --db PATH [--synchronous MODE]``;
prints READY.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
from pathlib import Path

import aiosqlite
from aiohttp import web

from backend.store import memory_statistics_off
from backend.store.engine import WRITER_SYNCHRONOUS
from tests.bench.common import APP_SECRET, pin

SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (id INTEGER PRIMARY KEY, wa_id TEXT NOT NULL UNIQUE,
    name TEXT, last_message_at TEXT, preview TEXT, unread INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, thread_id INTEGER NOT NULL,
    wamid TEXT UNIQUE, kind TEXT NOT NULL, text TEXT, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS messages_thread ON messages(thread_id, id);
"""
UPSERT = """INSERT INTO threads (wa_id, name, last_message_at, preview, unread) VALUES (?,?,?,?,1)
ON CONFLICT(wa_id) DO UPDATE SET last_message_at = excluded.last_message_at,
    preview = excluded.preview, unread = unread + 1"""
INSERT = """INSERT OR IGNORE INTO messages (thread_id, wamid, kind, text, created_at)
VALUES ((SELECT id FROM threads WHERE wa_id = ?), ?, ?, ?, ?)"""
SECRET = APP_SECRET.encode()


async def writer(db: aiosqlite.Connection, queue: asyncio.Queue) -> None:
    while True:
        batch = [await queue.get()]
        while len(batch) < 500 and not queue.empty():
            batch.append(queue.get_nowait())
        rows = [r for rs, _ in batch for r in rs]
        try:
            await db.execute("BEGIN IMMEDIATE")
            await db.executemany(UPSERT, [(r[0], r[1], r[4], r[3][:140]) for r in rows])
            await db.executemany(INSERT, [(r[0], r[2], r[5], r[3], r[4]) for r in rows])
            await db.commit()
            outcome = None
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
            outcome = exc
            if db.in_transaction:
                await db.rollback()
        for _, future in batch:
            if not future.done():
                future.set_exception(outcome) if outcome else future.set_result(None)


async def receive(request: web.Request) -> web.Response:
    body = await request.read()
    digest = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(digest, request.headers.get("X-Hub-Signature-256", "")):
        return web.Response(status=401)
    rows = []
    for entry in json.loads(body)["entry"]:
        for change in entry["changes"]:
            value = change["value"]
            names = {c.get("wa_id"): c["profile"].get("name") for c in value.get("contacts", [])}
            for m in value.get("messages", []):
                text = m.get("text", {}).get("body")
                rows.append(
                    (m["from"], names.get(m["from"]), m["id"], text, m["timestamp"], m["type"])
                )
    future = asyncio.get_running_loop().create_future()
    await request.app["queue"].put((rows, future))
    await future
    return web.Response(text="ok")


async def serve(args: argparse.Namespace) -> None:
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(Path(args.db), isolation_level=None)
    for pragma in (
        "journal_mode = WAL",
        f"synchronous = {args.synchronous}",
        "cache_size = -32000",
    ):
        await db.execute(f"PRAGMA {pragma}")
    await db.executescript(SCHEMA)
    app = web.Application()
    app["queue"] = asyncio.Queue()
    app.router.add_post("/webhooks/whatsapp", receive)
    task = asyncio.create_task(writer(db, app["queue"]))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port, backlog=1024).start()
    print("READY " + json.dumps({"pid": os.getpid()}), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        task.cancel()
        await runner.cleanup()
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--db", required=True)
    parser.add_argument("--synchronous", default=WRITER_SYNCHRONOUS, choices=("NORMAL", "FULL"))
    args = parser.parse_args()
    pin(args.core)
    memory_statistics_off()  # the SQLite library as `ttydesk serve` sets it
    # A bench started in the background (nohup, `&`) inherits SIGINT ignored; the harness
    # stops its servers with SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
