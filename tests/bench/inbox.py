"""The inbox at scale: the real TUI against the real backend on 100k threads / 1M messages.

The backend serves a copy of the generated database on core 0; the TUI runs headless
(``App.run_test(size=(120, 40))``) in its own process on core 1
(``tests.bench.inbox_client``), so its RSS is the client's alone. First paint is the best of
three starts, each beside a bare Textual app's first frame (``tests.bench.bare_textual_client``)
started just before it: the ratio says how far the inbox is from Textual alone on the
machine as it is during the run.
"""

from __future__ import annotations

import compileall
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.common import ServerProcess, print_rows, row, run_module_json
from tests.bench.generate import ensure_database

NAME = "inbox"
STARTS = 3  # first paint: the best of this many starts (the last one runs the whole client)


ROOT = Path(__file__).resolve().parents[2]


def compile_client() -> None:
    """Byte-compile ttydesk's own code as an installed copy has it (pip compiles on
    install; a shell with PYTHONDONTWRITEBYTECODE=1 would otherwise make every timed start
    compile ~25 modules from source, which no agent's start pays)."""
    for package in ("backend", "tui"):
        compileall.compile_dir(ROOT / package, quiet=1, force=False)


def main() -> list[dict[str, Any]]:
    meta = ensure_database()
    compile_client()
    with tempfile.TemporaryDirectory(prefix="ttydesk-bench-inbox-") as tmp:
        db = Path(tmp) / "ttydesk.db"
        shutil.copyfile(meta["db"], db)
        with ServerProcess(["--db", str(db)]) as server:
            client = ["--server", server.url, "--token", meta["tokens"]["2"], "--core", "1"]
            bare, starts = [], []
            for start in range(STARTS):
                bare.append(run_module_json("tests.bench.bare_textual_client", ["--core", "1"]))
                last = start == STARTS - 1
                starts.append(
                    run_module_json(
                        "tests.bench.inbox_client",
                        client if last else [*client, "--first-paint-only"],
                        timeout=180,
                    )
                )
            r = starts[-1]
    big = r["top_thread"] == meta["big_thread_id"]
    paint = min(start["first_paint_ms"] for start in starts)
    paint_cpu = min(start["first_paint_cpu_ms"] for start in starts)
    imports = min(start["import_s"] for start in starts)
    bare_paint = min(b["first_frame_ms"] for b in bare)
    bare_cpu = min(b["first_frame_cpu_ms"] for b in bare)
    return [
        row(
            NAME,
            f"first paint of the thread list ({r['total_threads']} threads in view; best of "
            f"{STARTS}; imports {imports * 1000:.0f} ms incl.; baseline: bare Textual)",
            paint,
            "ms",
            "<500 ms",
            baseline=bare_paint,
            ratio=paint / bare_paint,
            ok=paint < 500,
        ),
        row(
            NAME,
            "first paint: the client's CPU time (baseline: bare Textual's)",
            paint_cpu,
            "ms",
            baseline=bare_cpu,
            ratio=paint_cpu / bare_cpu,
        ),
        row(NAME, "key→frame p50, j/k", r["move_p50_ms"], "ms"),
        row(NAME, "key→frame p95, j/k", r["move_p95_ms"], "ms", "<16 ms", ok=r["move_p95_ms"] < 16),
        row(NAME, "key→frame p50, page up/down", r["page_p50_ms"], "ms"),
        row(
            NAME,
            "key→frame p95, page up/down",
            r["page_p95_ms"],
            "ms",
            "<30 ms",
            ok=r["page_p95_ms"] < 30,
        ),
        row(NAME, "key→rows loaded p95, page up/down", r["page_loaded_p95_ms"], "ms"),
        row(
            NAME, "G (last of the list): key→frame / rows loaded", r["end_ms"], "ms", baseline=None
        ),
        row(NAME, "G: rows loaded", r["end_rows_ms"], "ms"),
        row(
            NAME,
            f"open the {meta['big_thread_messages']}-message thread (newest "
            f"{r['open_messages_loaded']} shown)",
            r["open_ms"],
            "ms",
            "<150 ms",
            ok=big and r["open_ms"] < 150,
        ),
        row(NAME, "open the thread: the client's CPU time", r["open_cpu_ms"], "ms"),
        row(NAME, "client RSS (peak)", r["hwm_mb"], "MB", "<120 MB", ok=r["hwm_mb"] < 120),
    ]


if __name__ == "__main__":
    print_rows(main())
