"""WebSocket fan-out: committed events to 100 clients, next to a bare aiohttp broadcast.

Two servers, each in its own process pinned to core 0, are measured in the same run with
the same 100 clients (this process, pinned to core 1) and the same ~1.5 KB frames:

* **ours**: the real backend (``create_app``); each event is a transaction function that
  emits a ``thread.updated`` frame, committed by the group-commit writer and fanned out
  through the hub's per-client queues and writer tasks;
* **bare**: an aiohttp handler that keeps a set of sockets and ``send_str``s each frame to
  every one of them in turn: no database, no queues.

Phases: *paced* (``RATE`` events/s for ``SECONDS`` s) gives commit→receipt latency; *burst*
(``BURST`` events at once, concurrent writers) gives events/s committed and received by
all clients. The commit time is taken by the server (a commit subscriber for ours, just
before the broadcast loop for bare) and the receipt time by the client, on the same clock.
Clients do not negotiate compression (so each frame is encoded once, as the hub intends).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.common import LOAD_CORE, SERVER_CORE, bench_env, free_port, percentile, pin, row

BENCHMARK = "ws_fanout"
CLIENTS = 100
RATE = 100  # events/s in the paced phase
SECONDS = 3.0
BURST = 2000
TIMEOUT = 30.0


# ------------------------------------------------------------------ the frame both servers send


def sample_thread() -> dict[str, Any]:
    from datetime import UTC, datetime

    from backend import schemas

    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    ticket = schemas.Ticket(
        id=4711,
        subject="Where is my order? It was due on Monday",
        status=schemas.TicketStatus.waiting_on_us,
        priority=schemas.TicketPriority.medium,
        owner_id=2,
        thread_id=4711,
        contact_id=815,
        business_number="+15550001111",
        contact_wa_id="34612345678",
        first_inbound_at=now,
        last_inbound_at=now,
        session_expires_at=now,
        inbound_count=3,
        outbound_count=1,
        created_at=now,
        updated_at=now,
    )
    thread = schemas.Thread(
        id=4711,
        business_number="+15550001111",
        phone_number_id="106540352242922",
        contact=schemas.ContactSummary(
            id=815, name="Lucía Pérez", phone="+34612345678", wa_id="34612345678"
        ),
        ticket=ticket,
        last_message_at=now,
        last_message_preview="Hola, ¿dónde está mi pedido? Lo esperaba el lunes y todavía no…",
        last_message_direction=schemas.Direction.inbound,
        unread_count=2,
        session_expires_at=now,
        created_at=now,
    )
    return thread.model_dump(mode="json")


# ------------------------------------------------------------------ server processes


async def _wait_for(count: Any, wanted: int) -> None:
    while count() < wanted:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)


async def _phases(emit_one, commits: dict[int, float]) -> dict[str, Any]:
    """Paced then burst; returns the seqs of each phase (commit times land in ``commits``)."""
    paced: list[asyncio.Task[int]] = []
    start = time.perf_counter()
    for i in range(int(RATE * SECONDS)):
        delay = start + i / RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        paced.append(asyncio.create_task(emit_one()))
    paced_seqs = [await task for task in paced]
    await asyncio.sleep(1.0)
    burst_seqs = list(await asyncio.gather(*(emit_one() for _ in range(BURST))))
    return {"paced": paced_seqs, "burst": burst_seqs}


async def serve_ours(port: int, out: Path) -> None:
    from aiohttp import web

    from backend import schemas
    from backend.app import create_app
    from backend.config import Settings
    from backend.keys import HUB, STORE

    data_dir = Path(tempfile.mkdtemp(prefix="ttydesk-bench-ws-"))
    settings = Settings(
        data_dir=data_dir,
        port=port,
        ws_queue_size=100_000,
        event_retention=1_000_000,
        log_level="WARNING",
    )
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    store, hub = app[STORE], app[HUB]
    made = await store.create_agent(schemas.AgentCreate(name="Bench"))
    commits: dict[int, float] = {}

    def on_commit(events) -> None:
        now = time.time()
        for event in events:
            commits[event.seq] = now

    store.on_commit(on_commit)
    await web.TCPSite(runner, "127.0.0.1", port).start()
    data = sample_thread()
    newest = (await store.event_bounds())[1]
    print("READY " + json.dumps({"token": made.token, "since": newest}), flush=True)
    await _wait_for(lambda: len(hub.subscribers), CLIENTS)

    async def emit_one() -> int:
        return await store.write(lambda tx: tx.emit("thread.updated", data))

    seqs = await _phases(emit_one, commits)
    out.write_text(json.dumps({"seqs": seqs, "commits": commits, "batches": store.writer.batches}))
    print("DONE " + json.dumps({"last": max(seqs["burst"])}), flush=True)
    await asyncio.sleep(TIMEOUT)  # the clients are still reading; the parent stops us
    await runner.cleanup()


async def serve_bare(port: int, out: Path) -> None:
    from aiohttp import web

    sockets: set[web.WebSocketResponse] = set()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sockets.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            sockets.discard(ws)
        return ws

    app = web.Application()
    app.router.add_get("/api/v1/ws", handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("READY " + json.dumps({"token": "", "since": 0}), flush=True)
    await _wait_for(lambda: len(sockets), CLIENTS)
    data = sample_thread()
    commits: dict[int, float] = {}
    counter = iter(range(1, 10**9))
    lock = asyncio.Lock()  # one broadcast at a time keeps frames in seq order per client

    async def emit_one() -> int:
        async with lock:
            seq = next(counter)
            frame = json.dumps(
                {"seq": seq, "type": "thread.updated", "data": data},
                separators=(",", ":"),
                ensure_ascii=False,
            )
            commits[seq] = time.time()
            for ws in list(sockets):
                await ws.send_str(frame)
            return seq

    seqs = await _phases(emit_one, commits)
    out.write_text(json.dumps({"seqs": seqs, "commits": commits, "batches": None}))
    print("DONE " + json.dumps({"last": max(seqs["burst"])}), flush=True)
    await asyncio.sleep(TIMEOUT)
    await runner.cleanup()


# ------------------------------------------------------------------ clients (this process)


async def _client(url: str, token: str, receipts: dict[int, float], done: asyncio.Event):
    import websockets

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with websockets.connect(
        url, additional_headers=headers, compression=None, max_size=2**22, max_queue=None
    ) as ws:
        done.set()
        async for frame in ws:
            # '{"seq":123,"type":…': read the seq without parsing the whole frame
            seq = int(frame[7 : frame.index(",", 7)])
            receipts[seq] = time.time()


async def measure(role: str) -> dict[str, Any]:
    port = free_port()
    out = Path(tempfile.mkstemp(prefix=f"ws-fanout-{role}-", suffix=".json")[1])
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bench.ws_fanout",
        "--role",
        role,
        "--port",
        str(port),
        "--out",
        str(out),
        env=bench_env(),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    clients: list[asyncio.Task[None]] = []
    try:
        ready = await asyncio.wait_for(proc.stdout.readline(), 60)
        info = json.loads(ready.decode().removeprefix("READY "))
        url = f"ws://127.0.0.1:{port}/api/v1/ws?since={info['since']}"
        receipts: list[dict[int, float]] = [{} for _ in range(CLIENTS)]
        for index in range(CLIENTS):
            connected = asyncio.Event()
            clients.append(
                asyncio.create_task(_client(url, info["token"], receipts[index], connected))
            )
            await asyncio.wait_for(connected.wait(), 10)
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        last = json.loads(line.decode().removeprefix("DONE "))["last"]
        deadline = time.monotonic() + TIMEOUT
        while any(last not in r for r in receipts) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        result = json.loads(out.read_text())
    finally:
        for task in clients:
            task.cancel()
        for task in clients:
            with contextlib.suppress(BaseException):
                await task
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()
        out.unlink(missing_ok=True)
    commits = {int(seq): t for seq, t in result["commits"].items()}
    paced, burst = result["seqs"]["paced"], result["seqs"]["burst"]
    latencies = [(r[seq] - commits[seq]) * 1000 for r in receipts for seq in paced if seq in r]
    burst_start = min(commits[seq] for seq in burst)
    burst_end = max(max(r.get(seq, float("nan")) for seq in burst) for r in receipts)
    missing = sum(1 for r in receipts for seq in paced + burst if seq not in r)
    return {
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "rate": len(burst) / (burst_end - burst_start),
        "missing": missing,
        "batches": result["batches"],
    }


async def run() -> list[dict[str, Any]]:
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    pin(LOAD_CORE)
    try:
        ours = await measure("ours")
        bare = await measure("bare")
    finally:
        if before is not None:
            os.sched_setaffinity(0, before)
    for name, figures in (("ours", ours), ("bare", bare)):
        if figures["missing"]:
            print(f"ws_fanout: {name}: {figures['missing']} frames never arrived", file=sys.stderr)
    return [
        row(
            BENCHMARK,
            f"events/s to {CLIENTS} clients (burst of {BURST})",
            ours["rate"],
            "ev/s",
            baseline=bare["rate"],
            ratio=ours["rate"] / bare["rate"],
        ),
        row(
            BENCHMARK,
            f"commit→receipt p50 at {RATE} ev/s",
            ours["p50"],
            "ms",
            baseline=bare["p50"],
            ratio=ours["p50"] / bare["p50"] if bare["p50"] else None,
        ),
        row(
            BENCHMARK,
            f"commit→receipt p99 at {RATE} ev/s",
            ours["p99"],
            "ms",
            baseline=bare["p99"],
            ratio=ours["p99"] / bare["p99"] if bare["p99"] else None,
        ),
        row(BENCHMARK, "frames lost (ours / bare)", ours["missing"], "", baseline=bare["missing"]),
    ]


async def main() -> list[dict[str, Any]]:
    return await run()


def _serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=("ours", "bare"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    pin(SERVER_CORE)
    serve = serve_ours if args.role == "ours" else serve_bare
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.out))


if __name__ == "__main__":
    if "--role" in sys.argv:
        _serve(sys.argv[1:])
    else:
        from tests.bench.common import print_rows

        print_rows(asyncio.run(main()))
