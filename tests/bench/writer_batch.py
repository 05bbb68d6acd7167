"""The SQLite writer alone: its CPU time per inbound message, by group-commit batch size.

``python -m tests.bench.writer_batch [--sizes 10,25,50] [--count N]`` opens a real store
on a fresh file (seeded as ``tests.bench.server --seed`` seeds it), makes every bench
customer known, then sends bursts of ``size`` returning customers' text messages
(``Store.ingest`` of the records the webhook path builds), each burst one batch, and
prints the writer thread's user + system CPU time per message for each size, twice over.
No HTTP and no loop work in the figure: what a batch costs the writer, and how much of it
is the batch's (COMMIT, the full-text segment, the events' frames, the after-batch
statements) rather than each message's. Not part of ``make bench`` (no ``main``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

from tests.bench.common import pin
from tests.bench.server import seed
from tests.bench.webhook_load import Payloads


def thread_cpu_seconds(native_id: int) -> float:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(sizes: list[int], count: int) -> None:
    from backend.domain import json_input
    from backend.domain.policy import ContentPolicy
    from backend.store.sqlite import SqliteStore
    from backend.whatsapp import parse
    from backend.whatsapp.ingest import Ingestor

    with tempfile.TemporaryDirectory(prefix="ttydesk-bench-writer-") as tmp:
        store = SqliteStore(Path(tmp) / "data" / "ttydesk.db")
        await store.open()
        try:
            await seed(store)
            ingestor = Ingestor(store, policy=ContentPolicy())
            payloads = Payloads(9)

            def record():
                body = payloads.next()[1].split(b"\r\n\r\n", 1)[1]
                plain = parse.plain_text(json_input.decode(body))
                assert plain is not None
                return ingestor.plain_text_changes(plain)[0]

            async def burst(size: int) -> None:
                records = [record() for _ in range(size)]
                await asyncio.gather(*(store.ingest([r]) for r in records))

            for _ in range(len(payloads.templates) // 20):
                await burst(25)  # first messages: every customer known from here on
            writer = store.writer
            assert writer._thread is not None  # noqa: SLF001 - the thread measured
            native_id = writer._thread.native_id  # noqa: SLF001
            assert native_id is not None
            for _ in range(2):
                for size in sizes:
                    batches, done = writer.batches, writer.transactions
                    cpu = thread_cpu_seconds(native_id)
                    for _ in range(max(1, count // size)):
                        await burst(size)
                    cpu = thread_cpu_seconds(native_id) - cpu
                    messages = writer.transactions - done
                    print(
                        f"bursts of {size:3d}: batches of {messages / (writer.batches - batches):5.1f}"
                        f", writer {cpu / messages * 1e6:6.1f} µs/msg",
                        flush=True,
                    )
        finally:
            await store.close()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,25,50")
    parser.add_argument("--count", type=int, default=6000)
    parser.add_argument("--core", type=int, default=0)
    args = parser.parse_args()
    pin(args.core)
    asyncio.run(measure([int(size) for size in args.sizes.split(",")], args.count))


if __name__ == "__main__":
    cli()
