"""Full-text search over the 1M-message database through the real API, with view filters.

The real backend serves the generated database (``tests.bench.generate``) on core 0; this
process, on core 1, runs every query of ``corpus.SEARCH_QUERIES`` (common and rare terms,
prefixes, two-word queries, seven languages, a contact name, no hits) under each view
(all open, mine, unassigned, closed, a custom "urgent and high" view) with
``GET /api/v1/search?q=…&view=…`` over one keep-alive connection, and reports the
latency percentiles of the whole request.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.bench.common import LOAD_CORE, ServerProcess, percentile, pinned, print_rows, row
from tests.bench.corpus import SEARCH_QUERIES
from tests.bench.generate import ensure_database

NAME = "search"
TARGET_P95_MS = 50.0
VIEWS = ["builtin:all_open", "builtin:mine", "builtin:unassigned", "builtin:closed", "1"]
PASSES = 2


def run_queries(url: str, token: str) -> tuple[list[float], dict[str, float], int]:
    """(latencies in ms, the slowest per query, hits)."""
    latencies: list[float] = []
    slowest: dict[str, float] = {}
    hits = 0
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        for q in SEARCH_QUERIES[:8]:  # warm the connection and the page cache a little
            client.get("/api/v1/search", params={"q": q, "view": VIEWS[0]})
        for _ in range(PASSES):
            for view in VIEWS:
                for q in SEARCH_QUERIES:
                    started = time.perf_counter()
                    response = client.get("/api/v1/search", params={"q": q, "view": view})
                    elapsed = (time.perf_counter() - started) * 1000
                    response.raise_for_status()
                    hits += len(response.json()["items"])
                    latencies.append(elapsed)
                    key = f"{q!r} in {view}"
                    slowest[key] = max(slowest.get(key, 0.0), elapsed)
    return latencies, slowest, hits


def main() -> list[dict[str, Any]]:
    meta = ensure_database()
    with pinned(LOAD_CORE), ServerProcess(["--db", meta["db"]]) as server:
        latencies, slowest, hits = run_queries(server.url, meta["tokens"]["2"])
    p95 = percentile(latencies, 95)
    worst = sorted(slowest.items(), key=lambda kv: -kv[1])[:3]
    size = f"{meta['threads'] // 1000}k threads, {meta['messages'] // 1000}k msgs"
    return [
        row(
            NAME,
            f"p50 full text + view ({len(latencies)} queries, {size})",
            percentile(latencies, 50),
            "ms",
        ),
        row(
            NAME,
            "p95 full text + view",
            p95,
            "ms",
            f"<{TARGET_P95_MS:g} ms",
            ok=p95 < TARGET_P95_MS,
        ),
        row(NAME, "p99 full text + view", percentile(latencies, 99), "ms"),
        row(
            NAME,
            "slowest: " + "; ".join(f"{k} {v:.0f} ms" for k, v in worst),
            worst[0][1] if worst else None,
            "ms",
        ),
    ]


if __name__ == "__main__":
    print_rows(main())
