"""Hostile megabytes: the content policy on a megabyte of each worst case, and a 1 MB text
through the real webhook into the store.

These were wall-clock limits inside the test suite (tests/domain/test_policy.py,
tests/whatsapp/test_inbound_quarantine.py), where a loaded machine made them fail; the
suite keeps what they check (the answer, nothing lost), the figures live here.
``python -m tests.bench hostile_text``.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.common import print_rows, row

NAME = "hostile_text"

# the texts of tests/domain/test_policy.py's megabyte test
HOSTILE = {
    "a × 1M": "a" * 1_000_000,
    "'1 ' × 500k": "1 " * 500_000,
    "'a.' × 500k": "a." * 500_000,
    "'code ' × 200k": "code " * 200_000,
    "63-char labels × 15k": ("x" * 63 + ".") * 15_000,
    "'http://' × 140k": "http://" * 140_000,
    "'password ' × 110k": "password " * 110_000,
}
POLICY_TARGET_S = 2.0
WEBHOOK_TARGET_S = 5.0


def policy_rows() -> list[dict[str, Any]]:
    from backend.domain.policy import ContentPolicy

    policy = ContentPolicy()
    rows = []
    for label, text in HOSTILE.items():
        started = time.perf_counter()
        policy.check(text)
        elapsed = time.perf_counter() - started
        rows.append(
            row(
                NAME,
                f"policy check of {label}",
                elapsed * 1000,
                "ms",
                f"<{POLICY_TARGET_S * 1000:.0f} ms",
                ok=elapsed < POLICY_TARGET_S,
            )
        )
    return rows


async def webhook_seconds() -> float:
    """A 1 MB text message, signed, posted to a real backend until it has committed."""
    import httpx

    from backend.domain.clock import FixedClock
    from tests.support import LiveBackend
    from tests.whatsapp import payloads as p
    from tests.whatsapp.conftest import NOW, UNREACHABLE_GRAPH, connect_number, signed_post

    huge = ("lorem ipsum dolor sit amet 12345 www.example.com " * 22000)[:1_000_000]
    with tempfile.TemporaryDirectory(prefix="ttydesk-bench-hostile-") as tmp:
        backend = LiveBackend(
            data_dir=Path(tmp),
            clock=FixedClock(NOW),
            overrides={"whatsapp_graph_url": UNREACHABLE_GRAPH},
        )
        await backend.start()
        try:
            await connect_number(backend)
            async with httpx.AsyncClient(base_url=backend.url, timeout=60) as client:
                started = time.perf_counter()
                response = await signed_post(client, p.messages_envelope(p.text(huge, at=NOW)))
                elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text
        finally:
            await backend.stop()
    return elapsed


def main() -> list[dict[str, Any]]:
    rows = policy_rows()
    elapsed = asyncio.run(webhook_seconds())
    rows.append(
        row(
            NAME,
            "1 MB text: webhook → committed",
            elapsed * 1000,
            "ms",
            f"<{WEBHOOK_TARGET_S * 1000:.0f} ms",
            ok=elapsed < WEBHOOK_TARGET_S,
        )
    )
    return rows


if __name__ == "__main__":
    print_rows(main())
