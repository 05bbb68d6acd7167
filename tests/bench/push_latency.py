"""Push latency: webhook receipt → WebSocket client receipt, at 200 msg/s with 100 clients.

The real backend (fresh database, a connected number) runs on core 0; one load process on
core 1 holds 100 ``websockets`` clients and POSTs signed webhooks at 200 messages/s for
10 s (``tests.bench.push_load``). Latency runs from the moment a webhook is sent to the
moment each client has its ``message.created`` frame; every client must get every
message, and no client may see a seq twice or out of order.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tests.bench.common import ServerProcess, cpu_seconds, print_rows, row, run_module_json

NAME = "push"
CLIENTS = 100
RATE = 200
DURATION = 10
TARGET_P99_MS = 100.0


def main() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="ttydesk-bench-push-") as tmp:
        server = ServerProcess(["--db", str(Path(tmp) / "ttydesk.db"), "--seed"]).start()
        try:
            tokens = [v for k, v in server.info.items() if k.endswith("_token")]
            cpu = cpu_seconds(server.pid)
            result = run_module_json(
                "tests.bench.push_load",
                [
                    "--port",
                    str(server.port),
                    "--core",
                    "1",
                    "--tokens",
                    ",".join(tokens),
                    "--clients",
                    str(CLIENTS),
                    "--rate",
                    str(RATE),
                    "--duration",
                    str(DURATION),
                ],
            )
            server_cpu = (cpu_seconds(server.pid) - cpu) / (DURATION + 1)
        finally:
            server.stop()
    p99 = result["p99_ms"]
    clean = result["duplicates"] == 0 and result["out_of_order"] == 0 and result["missing"] == 0
    label = f"{RATE} msg/s, {CLIENTS} clients"
    return [
        row(NAME, f"webhook → client p50 ({label})", result["p50_ms"], "ms"),
        row(
            NAME,
            f"webhook → client p99 ({label})",
            p99,
            "ms",
            f"<{TARGET_P99_MS:g} ms",
            ok=p99 < TARGET_P99_MS,
        ),
        row(
            NAME,
            f"deliveries (missing {result['missing']}, dup {result['duplicates']}, "
            f"out of order {result['out_of_order']})",
            result["deliveries"],
            "frames",
            "all, in order",
            ok=clean,
        ),
        row(NAME, "backend CPU during the run", server_cpu * 100, "%"),
        row(NAME, "load process CPU (clients + webhooks)", result["load_cpu"] * 100, "%"),
    ]


if __name__ == "__main__":
    print_rows(main())
