"""Backend footprint: RSS serving the 1M-message database to 100 WebSocket clients.

The real backend runs on a copy of the generated database (core 0). A load process on
core 1 holds 100 ``websockets`` clients while webhooks arrive at 20 messages/s; meanwhile
this process browses like agents do — every view's thread list (first page with its
total, a deep page), searches, and the 5,000-message thread page by page — so the SQLite
caches and every code path are warm. RSS is sampled throughout; the figure is the peak.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.bench.common import (
    LOAD_CORE,
    ROOT,
    ServerProcess,
    bench_env,
    pinned,
    print_rows,
    row,
    rss_mb,
)
from tests.bench.corpus import SEARCH_QUERIES
from tests.bench.generate import ensure_database

NAME = "footprint"
TARGET_MB = 200.0
CLIENTS = 100
VIEWS = [
    "builtin:all_open",
    "builtin:mine",
    "builtin:unassigned",
    "builtin:closed",
    "builtin:sent",
    "1",
]


def browse(url: str, token: str, big_thread: int) -> int:
    requests = 0
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        for view in VIEWS:
            client.get("/api/v1/threads", params={"view": view, "limit": 50, "with_total": True})
            client.get("/api/v1/threads", params={"view": view, "limit": 50, "offset": 5000})
            requests += 2
        for q in SEARCH_QUERIES:
            client.get("/api/v1/search", params={"q": q, "view": "builtin:all_open"})
            requests += 1
        cursor = None
        for _ in range(25):
            params: dict[str, Any] = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            page = client.get(f"/api/v1/threads/{big_thread}/messages", params=params).json()
            requests += 1
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return requests


def main() -> list[dict[str, Any]]:
    meta = ensure_database()
    with pinned(LOAD_CORE), tempfile.TemporaryDirectory(prefix="ttydesk-bench-footprint-") as tmp:
        db = Path(tmp) / "ttydesk.db"
        shutil.copyfile(meta["db"], db)
        with ServerProcess(["--db", str(db)]) as server:
            idle = rss_mb(server.pid)
            samples: list[float] = []
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    samples.append(rss_mb(server.pid))
                    time.sleep(0.1)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            tokens = [meta["tokens"][key] for key in sorted(meta["tokens"])]
            load = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.bench.push_load",
                    "--port",
                    str(server.port),
                    "--core",
                    str(LOAD_CORE),
                    "--tokens",
                    ",".join(tokens),
                    "--clients",
                    str(CLIENTS),
                    "--rate",
                    "20",
                    "--duration",
                    "8",
                ],
                cwd=ROOT,
                env=bench_env(),
                stdout=subprocess.DEVNULL,
            )
            time.sleep(2)  # the clients connect
            requests = browse(server.url, meta["tokens"]["2"], meta["big_thread_id"])
            load.wait(60)
            done.set()
            sampler.join()
            with open(f"/proc/{server.pid}/status", encoding="ascii") as status:
                hwm = next(
                    int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:")
                )
    peak = max([*samples, hwm])
    return [
        row(NAME, "backend RSS after start (1M-message database)", idle, "MB"),
        row(
            NAME,
            f"backend peak RSS, {CLIENTS} WS clients + {requests} API requests",
            peak,
            "MB",
            f"<{TARGET_MB:g} MB",
            ok=peak < TARGET_MB,
        ),
    ]


if __name__ == "__main__":
    print_rows(main())
