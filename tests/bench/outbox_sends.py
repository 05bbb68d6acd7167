"""Sends through the outbox: agents' replies queued over the API until Meta (the simulator,
in this process) has accepted every one, for text and template replies.

Measures messages/s from the first ``POST …/messages`` to the last outbox row settled:
the send transaction, the claim, the Graph API body built from the stored request, the
HTTP call and the ``outbox_sent`` transaction. No target: it is compared before/after a
change to the send path, on the same machine.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.common import row
from tests.whatsapp.outbound_fixtures import start_env, stop_env

THREADS = 20
PER_THREAD = 15
TEMPLATE = {
    "kind": "template",
    "name": "order_update",
    "language": "en_US",
    "variables": {
        "header": "https://example.com/box.jpg",
        "1": "Maria",
        "2": "A123",
        "button.0": "A123",
    },
}


async def _settled(env: Any) -> int:
    return await env.backend.store.readers.value("SELECT COUNT(*) FROM outbox WHERE state = 'done'")


async def measure(kind: str) -> float:
    with tempfile.TemporaryDirectory() as folder:
        env = await start_env(Path(folder) / "data", status_timing={"sent": 0.0})
        try:
            await env.connect_channel()
            threads = [
                (await env.customer_writes(customer=f"3461{index:07d}"))["id"]
                for index in range(THREADS)
            ]
            body = {"kind": "text", "text": "On its way"} if kind == "text" else TEMPLATE
            started = time.perf_counter()

            async def reply(thread_id: int) -> None:
                for _ in range(PER_THREAD):
                    response = await env.send(thread_id, body)
                    assert response.status_code == 202, response.text

            await asyncio.gather(*(reply(thread_id) for thread_id in threads))
            total = THREADS * PER_THREAD
            await env.until(lambda: _at(env, total), timeout=300.0)
            return total / (time.perf_counter() - started)
        finally:
            await stop_env(env)


async def _at(env: Any, total: int) -> bool:
    return await _settled(env) >= total


async def main() -> list[dict[str, Any]]:
    return [
        row("outbox sends", f"{kind} replies sent", await measure(kind), "msg/s")
        for kind in ("text", "template")
    ]


if __name__ == "__main__":
    from tests.bench.common import print_rows

    print_rows(asyncio.run(main()))
