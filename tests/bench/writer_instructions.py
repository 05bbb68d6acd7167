"""The SQLite writer's instructions per inbound message, counted by callgrind.

On this shared 2-core VM a cut of a few per cent of the writer's CPU does not show in
time (``writer_batch`` and ``ingest_cpu`` turns move by ±15 % with the other sessions'
load); an instruction count does not move with the load. ``python -m
tests.bench.writer_instructions [--bursts N] [--tree DIR]`` runs a store as
``writer_batch`` does (a seeded file, every bench customer's first message, then ``N``
bursts of 25 returning customers' texts, each burst one batch) under ``valgrind
--tool=callgrind``, has callgrind dump every thread's counts before and after the
bursts (``callgrind_control -d``), and prints each thread's instructions per message in
between: the writer's is the one that matters. Run it on two trees (``--tree``) for an
A/B; the same tree reads the same count within ~3 % (how many jobs each batch takes
varies a little). Needs valgrind; slow (~3 min); not part of ``make bench`` (no
``main``).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import ROOT, bench_env

BURST = 25
CUSTOMERS = 100


def wait_for(path: Path, proc: subprocess.Popen[bytes]) -> None:
    while not path.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"the counted run exited with {proc.returncode}")
        time.sleep(0.1)


def count(tree: Path, bursts: int) -> dict[int, float]:
    """Instructions per message in the bursts, by callgrind's thread number."""
    with tempfile.TemporaryDirectory(prefix="ttydesk-bench-instr-") as tmp:
        folder = Path(tmp)
        proc = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                "--separate-threads=yes",
                f"--callgrind-out-file={folder / 'callgrind.out'}",
                sys.executable,
                "-m",
                "tests.bench.writer_instructions",
                "--run",
                str(folder),
                "--bursts",
                str(bursts),
            ],
            cwd=tree,
            env=bench_env(tree),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for mark in ("start", "stop"):
            wait_for(folder / mark, proc)
            subprocess.run(
                ["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True
            )
            (folder / f"{mark}.go").touch()
        if proc.wait() != 0:
            raise RuntimeError(f"the counted run exited with {proc.returncode}")
        per_message: dict[int, float] = {}
        for part in folder.glob("callgrind.out.2-*"):  # the second dump: the bursts
            head = part.read_text(encoding="utf-8", errors="replace")[:4000]
            thread = re.search(r"^thread: (\d+)", head, re.M)
            summary = re.search(r"^summary: (\d+)", head, re.M)
            if thread and summary and int(summary.group(1)):
                per_message[int(thread.group(1))] = int(summary.group(1)) / (bursts * BURST)
        return per_message


async def run(folder: Path, bursts: int) -> None:
    """The counted program: the bursts between two marks the parent dumps at."""
    from backend.domain import json_input
    from backend.domain.policy import ContentPolicy
    from backend.store.sqlite import SqliteStore
    from backend.whatsapp import parse
    from backend.whatsapp.ingest import Ingestor
    from tests.bench.server import seed
    from tests.bench.webhook_load import Payloads

    store = SqliteStore(folder / "data" / "ttydesk.db")
    await store.open()
    try:
        await seed(store)
        ingestor = Ingestor(store, policy=ContentPolicy())
        payloads = Payloads(9, customers=CUSTOMERS, tag="000000001")

        def record():
            body = payloads.next()[1].split(b"\r\n\r\n", 1)[1]
            plain = parse.plain_text(json_input.decode(body))
            assert plain is not None
            return ingestor.plain_text_changes(plain)[0]

        async def burst() -> None:
            records = [record() for _ in range(BURST)]
            await asyncio.gather(*(store.ingest([r]) for r in records))

        for _ in range(CUSTOMERS // 5):
            await burst()  # first messages: every customer known from here on
        for mark in ("start", "stop"):
            (folder / mark).touch()
            while not (folder / f"{mark}.go").exists():
                await asyncio.sleep(0.05)
            if mark == "start":
                for _ in range(bursts):
                    await burst()
    finally:
        await store.close()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bursts", type=int, default=40)
    parser.add_argument("--tree", type=Path, default=ROOT, help="count this checkout")
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)  # the counted side
    args = parser.parse_args()
    if args.run is not None:
        asyncio.run(run(args.run, args.bursts))
        return
    counts = count(args.tree.resolve(), args.bursts)
    for thread, instructions in sorted(counts.items()):
        print(f"thread {thread}: {instructions:,.0f} instructions per message")
    print("(thread 1 makes the records; the writer is the largest of the others)")


if __name__ == "__main__":
    cli()
