"""A closed-loop webhook load that reads the server's CPU time around it.

``python -m tests.bench.cpu_load --port P --pid PID --count N [--warm W]`` sends ``W``
webhooks (new customers' first messages: contacts, threads, tickets) and then ``N``
more over 64 keep-alive connections, each connection sending its next request as soon as
the previous one is answered, so the server runs saturated; around the ``N`` it reads the
server process's user + system CPU time (every thread's, ``/proc/PID/stat``) and its
threads' context switches, and prints one JSON line. CPU time per acknowledged message
is what the ingest ratio comes down to when the server has one core, and it moves less
than messages/s when other processes take the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from tests.bench.common import cpu_seconds, pin
from tests.bench.webhook_load import HttpConnection, Payloads, open_connections


def context_switches(pid: int) -> tuple[int, int]:
    """(voluntary, involuntary) context switches of all the process's threads so far."""
    voluntary = involuntary = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "status").read_text(encoding="ascii")
        except OSError:  # a thread that ended meanwhile
            continue
        for line in text.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                voluntary += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                involuntary += int(line.split()[1])
    return voluntary, involuntary


def thread_cpu(pid: int) -> dict[int, float]:
    """User + system CPU seconds of each of the process's threads so far, by thread id."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds


async def closed_loop(
    connections: list[HttpConnection], payloads: Payloads, count: int
) -> tuple[int, int]:
    """Send ``count`` requests, each connection one at a time; (acknowledged, errors)."""
    left = count
    ok = errors = 0

    async def work(conn: HttpConnection) -> None:
        nonlocal left, ok, errors
        while left > 0:
            left -= 1
            _, data = payloads.next()
            try:
                status = await conn.request(data)
            except ConnectionError:
                errors += 1
                return
            if status == 200:
                ok += 1
            else:
                errors += 1

    await asyncio.gather(*(work(conn) for conn in connections))
    return ok, errors


async def measure(port: int, pid: int, count: int, warm: int, connections: int) -> dict[str, Any]:
    payloads = Payloads(port)
    conns = await open_connections(port, connections)
    await closed_loop(conns, payloads, warm)
    cpu_before = cpu_seconds(pid)
    switches_before = context_switches(pid)
    threads_before = thread_cpu(pid)
    started = time.perf_counter()
    ok, errors = await closed_loop(conns, payloads, count)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu_before
    threads = {
        tid: seconds - threads_before.get(tid, 0.0) for tid, seconds in thread_cpu(pid).items()
    }
    switches = [a - b for a, b in zip(context_switches(pid), switches_before, strict=True)]
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return {
        "ok": ok,
        "errors": errors,
        "cpu_s": cpu,
        "cpu_us_per_msg": cpu / ok * 1e6 if ok else None,
        "wall_msg_s": ok / elapsed if elapsed else None,
        # the main thread (the loop) first, then the others by CPU time
        "threads_us_per_msg": [
            round(threads[tid] / ok * 1e6, 1) if ok else None
            for tid in sorted(threads, key=lambda tid: (tid != pid, -threads[tid]))
            if threads[tid] > 0
        ],
        "voluntary_switches_per_msg": switches[0] / ok if ok else None,
        "involuntary_switches_per_msg": switches[1] / ok if ok else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--warm", type=int, default=4_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--core", type=int, default=1)
    args = parser.parse_args()
    pin(args.core)
    result = asyncio.run(measure(args.port, args.pid, args.count, args.warm, args.connections))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
