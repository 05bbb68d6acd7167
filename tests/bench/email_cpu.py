"""E-mail ingest: CPU time per stored mail of the server process, ours against a bare
``aiosmtpd`` handler (the load-proof reading of ``tests/bench/email_ingest.py``).

``email_ingest`` runs both servers and their clients on one event loop and compares
mails/s: a ratio of the CPU each side spends per mail (the client's included), which a
loaded machine moves by ±20 % from run to run. Here each server runs in a process of its
own pinned to core 0 (``python -m tests.bench.email_cpu serve --side ours|bare``), the
client (8 SMTP sessions, one connection each, the same corpus as ``email_ingest``) in
this process pinned to core 1, and the server process's user + system CPU time (all its
threads, ``/proc/PID/stat``) over ``COUNT`` mails after ``WARM`` is divided by the mails
stored. Turns alternate, ours, bare, ours…, and each side's median is kept; the
sustained-rate ratio is about the inverse of the CPU ratio, so the target is ≤ 2×.

The row also says how busy each side was: the client's and the server's CPU time over
the turn's wall time. A server well below 100 % while the client is near it means the
client, not the server, set the pace of that turn (its mails/s say little; its CPU per
mail still holds).

``python -m tests.bench.email_cpu [--rounds R] [--count N] [--only ours|bare] [--tree DIR]``
(``--tree``: the servers run from another checkout, for an A/B with a change).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.common import (
    LOAD_CORE,
    ROOT,
    SERVER_CORE,
    bench_env,
    cpu_seconds,
    pin,
    pinned,
    print_rows,
    row,
)
from tests.bench.cpu_load import thread_cpu
from tests.bench.email_ingest import SUPPORT, corpus, send_all

NAME = "email_cpu"
ROUNDS = 3
COUNT = 3_000
WARM = 300
TARGET = 2.0  # CPU per mail, ours over bare, at which the sustained ratio is 0.5


# ------------------------------------------------------------------ the servers


async def serve_ours(folder: Path) -> tuple[int, Any]:
    from backend.email.channel import LISTENER
    from backend.keys import SERVICES
    from tests.support import LiveBackend

    backend = LiveBackend(
        folder,
        overrides={"email": {"addresses": [SUPPORT], "listen_port": 0}, "log_level": "WARNING"},
    )
    await backend.start()
    assert backend.app is not None
    port = backend.app[SERVICES][LISTENER].sockets[0].getsockname()[1]
    return port, backend.stop


async def serve_bare(folder: Path) -> tuple[int, Any]:
    from aiosmtpd.smtp import SMTP

    from tests.bench.email_ingest import BareStore

    store = BareStore(folder / "bare.db")
    writer = asyncio.create_task(store.writer())
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(store, enable_SMTPUTF8=True), "127.0.0.1", 0
    )

    async def stop() -> None:
        server.close()
        writer.cancel()
        store.db.close()

    return server.sockets[0].getsockname()[1], stop


async def serve(side: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    port, stop = await (serve_ours if side == "ours" else serve_bare)(folder)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stopping.set)
    print("READY " + json.dumps({"port": port}), flush=True)
    await stopping.wait()
    await stop()


# ------------------------------------------------------------------ the client (send_all)


def measure(side: str, count: int, warm: int, root: Path = ROOT) -> dict[str, Any]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.email_cpu", "serve", "--side", side],
        cwd=root,
        env=bench_env(root),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"the {side} server did not start (exit {proc.wait()})")
        port = json.loads(line[len("READY ") :])["port"]
        mails = corpus(count, start=warm)
        with pinned(LOAD_CORE):
            asyncio.run(send_all(port, corpus(warm)))
            server_before = cpu_seconds(proc.pid)
            loop_before = thread_cpu(proc.pid).get(proc.pid, 0.0)
            client_before = time.process_time()
            started = time.perf_counter()
            asyncio.run(send_all(port, mails))
            elapsed = time.perf_counter() - started
            client = time.process_time() - client_before
            server = cpu_seconds(proc.pid) - server_before
            loop = thread_cpu(proc.pid).get(proc.pid, 0.0) - loop_before
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {
        "cpu_us_per_mail": server / count * 1e6,
        "loop_us_per_mail": loop / count * 1e6,  # the event loop's thread (the rest: writer…)
        "mails_s": count / elapsed,
        "server_busy": server / elapsed,
        "client_busy": client / elapsed,
    }


def turns(
    rounds: int, count: int, sides: tuple[str, ...], root: Path = ROOT
) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for _ in range(rounds):
        for side in sides:
            runs[side].append(measure(side, count, WARM, root))
    return runs


def rows_of(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    def median(side: str, key: str) -> float | None:
        return statistics.median(r[key] for r in runs[side]) if runs.get(side) else None

    ours_us, bare_us = median("ours", "cpu_us_per_mail"), median("bare", "cpu_us_per_mail")
    ratio = ours_us / bare_us if ours_us and bare_us else None
    each = "; ".join(
        f"{side} "
        + " / ".join(
            f"{r['cpu_us_per_mail']:.0f} µs (loop {r['loop_us_per_mail']:.0f}; "
            f"{r['mails_s']:.0f}/s, server "
            f"{r['server_busy']:.0%}, client {r['client_busy']:.0%} busy)"
            for r in side_runs
        )
        for side, side_runs in runs.items()
    )
    return [
        row(
            NAME,
            f"CPU per mail stored, ours/bare aiosmtpd (µs, server process, median of "
            f"{max(len(r) for r in runs.values())} turns; every turn: {each})",
            ours_us,
            "µs/mail",
            f"≤{TARGET:g}× bare",
            baseline=bare_us,
            ratio=ratio,
            ok=None if ratio is None else ratio <= TARGET,
        )
    ]


def main() -> list[dict[str, Any]]:
    return rows_of(turns(ROUNDS, COUNT, ("ours", "bare")))


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    server = sub.add_parser("serve", help="run one side's server (pinned to core 0)")
    server.add_argument("--side", choices=("ours", "bare"), required=True)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--only", choices=("ours", "bare"), help="measure one side only")
    parser.add_argument("--tree", type=Path, default=ROOT, help="run ours from this checkout")
    args = parser.parse_args()
    if args.command == "serve":
        pin(SERVER_CORE)
        with tempfile.TemporaryDirectory(prefix="ttydesk-bench-email-srv-") as tmp:
            asyncio.run(serve(args.side, Path(tmp)))
        return
    sides = (args.only,) if args.only else ("ours", "bare")
    print_rows(rows_of(turns(args.rounds, args.count, sides, args.tree.resolve())))


if __name__ == "__main__":
    cli()
