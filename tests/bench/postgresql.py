"""PostgreSQL beside SQLite (issue 16, "Measured"): each figure on both engines in one run.

A throwaway PostgreSQL server (``tests/pg_cluster.py``) is started for the run; unlike the
test suite's, it commits durably (fsync and ``synchronous_commit`` on, as SQLite's writer
with ``synchronous=FULL``: a webhook answered 200 survives a power cut on both). It is not
pinned; ``serve`` processes are (the first on core 0, a second on core 1) and the load
process runs on core 1, as in the other benchmarks. Without PostgreSQL's binaries the
module gives one "skipped" line saying what to install.

- **ingest**: ``tests.bench.webhook_load`` at rising rates until saturation against one
  SQLite process, one PostgreSQL process, and two PostgreSQL processes of one database
  (the connections spread over both). Target: two on PostgreSQL ≥ one on SQLite.
- **push**: webhook → every WebSocket client at 200 msg/s to 100 clients
  (``tests.bench.push_load``), the clients and the webhooks spread over the processes:
  a client of one process must see the messages posted to the other. Target p99 < 100 ms.
- **replay**: a client reconnects with ``?since=`` 10,000 events back, to a process started
  on a database that ingest filled (topped up to 10,000 events with copies of its newest
  ones where ingest logged fewer; the events are read from the log, not from memory): the
  time to the last frame.
- **search**: the queries of ``tests.bench.search`` on the generated database
  (``tests.bench.generate``), on SQLite and copied into PostgreSQL with ``ttydesk admin
  migrate --to`` (the copy's time is reported, then ``ANALYZE``'s). Target p95 < 50 ms.
  ``TTYDESK_BENCH_PG_SEARCH=THREADS,MESSAGES`` takes a smaller database for a quick run
  (the figure for results.md is the default 100,000 threads, 1M messages).

``TTYDESK_BENCH_PG_ROUNDS`` (default 1) runs the ingest comparison in that many turns, each
side's best kept; ``TTYDESK_BENCH_PG_PARTS=push,search`` runs only those parts (replay needs
ingest's databases).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.bench.common import (
    LOAD_CORE,
    ServerProcess,
    bench_env,
    percentile,
    pinned,
    print_rows,
    row,
    run_module_json,
)

NAME = "postgresql"
ROUNDS = int(os.environ.get("TTYDESK_BENCH_PG_ROUNDS", "1"))
SEARCH_SIZE = os.environ.get("TTYDESK_BENCH_PG_SEARCH", "100000,1000000")
PARTS = os.environ.get("TTYDESK_BENCH_PG_PARTS", "ingest,push,replay,search").split(",")
# durable, as SQLite's writer is; enough connections for the pools of several processes
SERVER_OPTIONS = (
    "-c fsync=on -c synchronous_commit=on -c max_connections=200 -c shared_buffers=256MB"
)
PUSH_CLIENTS = 100
PUSH_RATE = 200
PUSH_SECONDS = 10
TARGET_PUSH_P99_MS = 100.0
REPLAY_EVENTS = 10_000
REPLAY_TURNS = 3
TARGET_SEARCH_P95_MS = 50.0

Row = dict[str, Any]


class Engine:
    """Where one configuration's ``serve`` processes keep their data."""

    def __init__(self, label: str, folder: Path, url: str | None) -> None:
        self.label = label  # "SQLite", "PostgreSQL"
        self.folder = folder
        self.url = url
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def db(self) -> Path:
        return self.folder / "ttydesk.db"

    def server_args(self, *, seed: bool) -> list[str]:
        args = ["--db", str(self.db)]
        if self.url:
            args += ["--database-url", self.url]
        return args + (["--seed"] if seed else [])

    def value(self, sql: str) -> int:
        if self.url is None:
            with sqlite3.connect(self.db) as conn:
                return int(conn.execute(sql).fetchone()[0] or 0)
        import psycopg

        with psycopg.connect(self.url) as conn:
            found = conn.execute(sql).fetchone()  # type: ignore[arg-type]
            return int(found[0] or 0) if found else 0

    def newest_seq(self) -> int:
        return self.value(
            "SELECT MAX(seq) FROM events"
            if self.url is None
            else "SELECT last FROM event_counter WHERE id = 1"
        )


@contextmanager
def serving(engine: Engine, processes: int, *, seed: bool = True) -> Iterator[list[ServerProcess]]:
    """``processes`` servers of one database: the first seeds it (agents, a number) alone,
    then the others start; server n is pinned to core n (0, 1)."""
    with ExitStack() as stack:
        servers = []
        for index in range(processes):
            server = ServerProcess(engine.server_args(seed=seed and index == 0), core=index % 2)
            servers.append(stack.enter_context(server))
        yield servers


class Postgres:
    """The run's server; ``database()`` makes a new empty database on it."""

    def __init__(self) -> None:
        from tests.pg_cluster import start_cluster

        self.cluster = start_cluster(SERVER_OPTIONS)
        self.made = 0

    def database(self, name: str) -> str:
        import psycopg

        self.made += 1
        name = f"{name}_{self.made}"
        with psycopg.connect(self.cluster.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        return self.cluster.url(name)

    def stop(self) -> None:
        self.cluster.stop()


# -- ingest


def ingest_run(engine: Engine, processes: int) -> dict[str, Any]:
    with serving(engine, processes) as servers:
        result = run_module_json(
            "tests.bench.webhook_load",
            ["--port", ",".join(str(s.port) for s in servers), "--core", str(LOAD_CORE)],
        )
    result["stored"] = engine.value("SELECT COUNT(*) FROM messages")
    return result


def ingest(pg: Postgres, tmp: Path) -> tuple[list[Row], dict[str, Engine]]:
    """The rows, and a database of each engine that ingest filled (for replay)."""
    runs: dict[str, list[dict[str, Any]]] = {"sqlite": [], "pg1": [], "pg2": []}
    filled: dict[str, Engine] = {}
    for turn in range(ROUNDS):
        for key, processes in (("sqlite", 1), ("pg1", 1), ("pg2", 2)):
            url = None if key == "sqlite" else pg.database(f"ingest_{key}")
            engine = Engine(
                "SQLite" if url is None else "PostgreSQL", tmp / f"ingest-{key}-{turn}", url
            )
            runs[key].append(ingest_run(engine, processes))
            filled.setdefault(key, engine)
    best = {key: max(found, key=lambda r: r["sustained"]) for key, found in runs.items()}
    every = [r for found in runs.values() for r in found]
    clean = all(r["stored"] >= r["total_ok"] and r["errors"] == 0 for r in every)
    sqlite = best["sqlite"]["sustained"]
    turns = f"best of {ROUNDS}" if ROUNDS > 1 else "one turn each"
    rows = [
        row(
            NAME,
            f"ingest msg/s, 1 SQLite process ({turns})",
            sqlite,
            "msg/s",
        ),
        row(
            NAME,
            "ingest msg/s, 1 PostgreSQL process (baseline: 1 SQLite)",
            best["pg1"]["sustained"],
            "msg/s",
            baseline=sqlite,
            ratio=best["pg1"]["sustained"] / sqlite if sqlite else None,
        ),
        row(
            NAME,
            "ingest msg/s, 2 PostgreSQL processes (baseline: 1 SQLite)",
            best["pg2"]["sustained"],
            "msg/s",
            "≥ 1 SQLite",
            baseline=sqlite,
            ratio=best["pg2"]["sustained"] / sqlite if sqlite else None,
            ok=best["pg2"]["sustained"] >= sqlite,
        ),
    ]
    for key, label in (("sqlite", "1 SQLite"), ("pg1", "1 PG"), ("pg2", "2 PG")):
        sat = best[key]["at_saturation"]
        rows.append(
            row(
                NAME,
                f"ingest ack p99 at saturation, {label} (p50 {sat['p50_ms']} ms)",
                sat["p99_ms"],
                "ms",
            )
        )
    rows.append(
        row(
            NAME,
            "ingest: every acked message stored, no error ("
            + "; ".join(
                f"{key} {r['stored']}/{r['total_ok']} stored, {r['errors']} errors"
                for key, found in runs.items()
                for r in found
            )
            + ")",
            sum(r["errors"] for r in every),
            "errors",
            "0",
            ok=clean,
        )
    )
    return rows, filled


# -- push


def push_run(engine: Engine, processes: int) -> dict[str, Any]:
    with serving(engine, processes) as servers:
        tokens = [v for k, v in servers[0].info.items() if k.endswith("_token")]
        return run_module_json(
            "tests.bench.push_load",
            [
                "--port",
                ",".join(str(s.port) for s in servers),
                "--core",
                str(LOAD_CORE),
                "--tokens",
                ",".join(tokens),
                "--clients",
                str(PUSH_CLIENTS),
                "--rate",
                str(PUSH_RATE),
                "--duration",
                str(PUSH_SECONDS),
            ],
        )


def push(pg: Postgres, tmp: Path) -> list[Row]:
    rows = []
    label = f"{PUSH_RATE} msg/s, {PUSH_CLIENTS} clients"
    for key, processes in (("sqlite", 1), ("pg1", 1), ("pg2", 2)):
        url = None if key == "sqlite" else pg.database(f"push_{key}")
        engine = Engine("SQLite" if url is None else "PostgreSQL", tmp / f"push-{key}", url)
        result = push_run(engine, processes)
        where = f"{processes} {engine.label} process" + ("es" if processes > 1 else "")
        clean = result["missing"] == 0 and result["duplicates"] == 0
        clean = clean and result["out_of_order"] == 0
        rows.append(
            row(
                NAME,
                f"push webhook → every client p99, {where} ({label}; p50 {result['p50_ms']} ms; "
                f"missing {result['missing']}, dup {result['duplicates']}, "
                f"out of order {result['out_of_order']} of {result['messages']} × "
                f"{result['clients']})",
                result["p99_ms"],
                "ms",
                f"<{TARGET_PUSH_P99_MS:g} ms, all",
                ok=result["p99_ms"] < TARGET_PUSH_P99_MS and clean,
            )
        )
    return rows


# -- replay


async def replay_once(url: str, token: str, since: int, last: int) -> tuple[float, int]:
    """Seconds from connecting with ``?since=`` to the frame of ``last``; frames received."""
    from websockets.asyncio.client import connect

    started = time.perf_counter()
    frames = 0
    async with connect(
        f"{url}?since={since}",
        additional_headers={"Authorization": f"Bearer {token}"},
        max_size=None,
    ) as ws:
        async for frame in ws:
            frames += 1
            head = str(frame)[:40]
            if head.startswith(f'{{"seq":{last},') or head.startswith(f'{{"seq": {last},'):
                return time.perf_counter() - started, frames
    raise RuntimeError(f"the socket closed before event {last} (after {frames} frames)")


async def top_up(engine: Engine, events: int) -> None:
    """Log ``events`` more events through the store, copies of the newest ones ingest
    logged (their types and sizes), so that there are 10,000 to replay."""
    import json

    from backend.store import PostgresStore, SqliteStore

    store = SqliteStore(engine.db) if engine.url is None else PostgresStore(engine.url)
    await store.open()
    try:
        page = await store.event_page(max(0, engine.newest_seq() - 500), 500)
        samples = [json.loads(text) for _, text in page.frames]
        for start in range(0, events, 500):
            chunk = [samples[n % len(samples)] for n in range(start, min(events, start + 500))]

            def log(tx: Any, chunk: list[dict[str, Any]] = chunk) -> None:
                for sample in chunk:
                    tx.emit(sample["type"], sample["data"])

            await store.write(log)
    finally:
        await store.close()


def replay(filled: dict[str, Engine]) -> list[Row]:
    timings: dict[str, tuple[float, int, int]] = {}
    for key in ("sqlite", "pg1"):
        engine = filled[key]
        if engine.newest_seq() < REPLAY_EVENTS:
            asyncio.run(top_up(engine, REPLAY_EVENTS - engine.newest_seq()))
        newest = engine.newest_seq()
        since = max(0, newest - REPLAY_EVENTS)
        with serving(engine, 1, seed=False) as (server,), pinned(LOAD_CORE):
            token = admin_token(engine)
            url = f"ws://127.0.0.1:{server.port}/api/v1/ws"
            turns = [
                asyncio.run(replay_once(url, token, since, newest)) for _ in range(REPLAY_TURNS)
            ]
        seconds = sorted(t for t, _ in turns)[len(turns) // 2]
        timings[key] = (seconds, turns[0][1], newest - since)
    sqlite_ms = timings["sqlite"][0] * 1000
    pg_ms = timings["pg1"][0] * 1000
    return [
        row(
            NAME,
            f"replay of {timings[key][2]:,} events after a reconnect, {label} "
            f"(median of {REPLAY_TURNS}; {timings[key][1]:,} frames)"
            + (" (baseline: SQLite)" if key == "pg1" else ""),
            timings[key][0] * 1000,
            "ms",
            baseline=sqlite_ms if key == "pg1" else None,
            ratio=pg_ms / sqlite_ms if key == "pg1" and sqlite_ms else None,
        )
        for key, label in (("sqlite", "SQLite"), ("pg1", "PostgreSQL"))
    ]


def admin_token(engine: Engine) -> str:
    """A new token of the seeded admin (agent 1), as ``ttydesk admin`` would make."""
    from backend.store.agents import hash_token, new_token

    token = new_token()
    sql = "UPDATE agents SET token_hash = {mark} WHERE id = 1"
    if engine.url is None:
        with sqlite3.connect(engine.db) as conn:
            conn.execute(sql.format(mark="?"), (hash_token(token),))
    else:
        import psycopg

        with psycopg.connect(engine.url) as conn:
            conn.execute(sql.format(mark="%s"), (hash_token(token),))  # type: ignore[arg-type]
    return token


# -- search


def search(pg: Postgres, tmp: Path) -> list[Row]:
    from tests.bench.generate import ensure_database
    from tests.bench.search import run_queries

    threads, messages = (int(part) for part in SEARCH_SIZE.split(","))
    meta = ensure_database(threads, messages)
    token = meta["tokens"]["2"]
    size = f"{threads // 1000}k threads, {messages // 1000}k msgs"
    with pinned(LOAD_CORE), ServerProcess(["--db", meta["db"]]) as server:
        sqlite_ms, _, sqlite_hits = run_queries(server.url, token)
    url = pg.database("search")
    started = time.perf_counter()
    env = bench_env()
    env["TTYDESK_DATABASE"] = meta["db"]
    subprocess.run(
        [sys.executable, "-m", "backend.cli", "admin", "migrate", "--to", url],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    copy_seconds = time.perf_counter() - started
    engine = Engine("PostgreSQL", tmp / "search", url)
    started = time.perf_counter()
    analyze(url)
    analyze_seconds = time.perf_counter() - started
    with pinned(LOAD_CORE), ServerProcess(engine.server_args(seed=False)) as server:
        pg_ms, slowest, pg_hits = run_queries(server.url, token)
    sqlite_p95 = percentile(sqlite_ms, 95)
    pg_p95 = percentile(pg_ms, 95)
    worst = sorted(slowest.items(), key=lambda kv: -kv[1])[:3]
    return [
        row(NAME, f"search p95 on SQLite ({len(sqlite_ms)} queries, {size})", sqlite_p95, "ms"),
        row(
            NAME,
            f"search p95 on PostgreSQL (p50 {percentile(pg_ms, 50):.1f} ms, SQLite "
            f"{percentile(sqlite_ms, 50):.1f}; baseline: SQLite)",
            pg_p95,
            "ms",
            f"<{TARGET_SEARCH_P95_MS:g} ms",
            baseline=sqlite_p95,
            ratio=pg_p95 / sqlite_p95 if sqlite_p95 else None,
            ok=pg_p95 < TARGET_SEARCH_P95_MS,
        ),
        row(
            NAME,
            "search on PostgreSQL, slowest: " + "; ".join(f"{k} {v:.0f} ms" for k, v in worst),
            worst[0][1] if worst else None,
            "ms",
        ),
        row(
            NAME,
            f"search: hits on PostgreSQL (baseline: SQLite; {size})",
            pg_hits,
            "hits",
            "same",
            baseline=sqlite_hits,
            ok=pg_hits == sqlite_hits,
        ),
        row(
            NAME,
            f"loading {size} into PostgreSQL: `ttydesk admin migrate --to` "
            f"(then ANALYZE {analyze_seconds:.0f} s)",
            copy_seconds,
            "s",
        ),
    ]


def analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


# --


def section(title: str, measure: Callable[[], list[Row]]) -> list[Row]:
    """One part's rows; a part that fails is one MISSED line, the others still run."""
    if title not in PARTS:
        return []
    started = time.perf_counter()
    try:
        rows = measure()
    except Exception as exc:
        print(f"{NAME}: {title} failed: {exc!r}", file=sys.stderr)
        return [row(NAME, f"{title} failed: {exc!r}"[:300], None, "", ok=False)]
    print(f"{NAME}: {title}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return rows


def main() -> list[Row]:
    from tests.pg_cluster import ClusterError, find_binaries

    try:
        find_binaries()
    except ClusterError as exc:
        return [row(NAME, f"skipped: {exc}", None, "")]
    pg = Postgres()
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="ttydesk-bench-pg-") as folder:
            tmp = Path(folder)
            filled: dict[str, Engine] = {}

            def ingest_part() -> list[Row]:
                found, engines = ingest(pg, tmp)
                filled.update(engines)
                return found

            rows += section("ingest", ingest_part)
            rows += section("push", lambda: push(pg, tmp))
            if filled:
                rows += section("replay", lambda: replay(filled))
            rows += section("search", lambda: search(pg, tmp))
    finally:
        pg.stop()
    return rows


if __name__ == "__main__":
    print_rows(main())
