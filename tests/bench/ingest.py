"""Webhook ingest: sustained messages/s and acknowledgement time, ours against the baseline.

The real backend (``create_app``, a fresh SQLite file, a number connected to the help desk)
runs in its own process on core 0; the load generator (``tests.bench.webhook_load``) on
core 1 POSTs signed Meta-shaped webhooks over 64 keep-alive connections at rising rates
until the server saturates, then at half that rate. Every acknowledged message must be in
the database afterwards. The same load then goes to the bare group-commit handler of
PERF-BASELINES (``tests.bench.baseline_ingest``), in the same run.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.common import ServerProcess, print_rows, row, run_module_json

NAME = "ingest"
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0


def measure(module: str, db: Path, extra: list[str]) -> tuple[dict[str, Any], int]:
    server = ServerProcess(["--db", str(db), *extra], module=module).start()
    try:
        result = run_module_json(
            "tests.bench.webhook_load", ["--port", str(server.port), "--core", "1"]
        )
    finally:
        server.stop()
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    return result, stored


def main() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="ttydesk-bench-ingest-") as tmp:
        ours, ours_stored = measure(
            "tests.bench.server", Path(tmp) / "ours" / "ttydesk.db", ["--seed"]
        )
        base, base_stored = measure("tests.bench.baseline_ingest", Path(tmp) / "baseline.db", [])
    ratio = ours["sustained"] / base["sustained"] if base["sustained"] else None
    half_p99 = ours["half"]["p99_ms"]
    committed_ok = ours_stored >= ours["total_ok"] and base_stored >= base["total_ok"]
    sat = ours["at_saturation"]
    bsat = base["at_saturation"]
    return [
        row(
            NAME,
            "sustained msg/s (every ack committed)",
            ours["sustained"],
            "msg/s",
            "≥50% of base",
            baseline=base["sustained"],
            ratio=ratio,
            ok=ratio is not None and ratio >= TARGET_RATIO and ours["saturated"],
        ),
        row(NAME, "ack p50 at saturation", sat["p50_ms"], "ms", baseline=bsat["p50_ms"]),
        row(NAME, "ack p99 at saturation", sat["p99_ms"], "ms", baseline=bsat["p99_ms"]),
        row(
            NAME,
            f"ack p50 at 50% of saturation ({ours['half']['offered']}/s)",
            ours["half"]["p50_ms"],
            "ms",
            baseline=base["half"]["p50_ms"],
        ),
        row(
            NAME,
            f"ack p99 at 50% of saturation ({ours['half']['offered']}/s)",
            half_p99,
            "ms",
            f"<{TARGET_P99_MS:g} ms",
            baseline=base["half"]["p99_ms"],
            ok=half_p99 < TARGET_P99_MS,
        ),
        row(
            NAME,
            f"acked messages in the database ({ours_stored}/{ours['total_ok']}, "
            f"baseline {base_stored}/{base['total_ok']})",
            ours_stored,
            "msgs",
            "all",
            baseline=base_stored,
            ok=committed_ok and ours["errors"] == 0 and base["errors"] == 0,
        ),
    ]


if __name__ == "__main__":
    print_rows(main())
