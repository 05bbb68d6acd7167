"""``ttydesk demo --data-dir DIR`` run again on the same folder: the demo's saved channel
works with the new run's simulator, so a reply reaches it. Real processes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from tests.backend.test_demo_stack import start_demo

START_TIMEOUT = 90.0


def demo(data_dir: Path, runtime: Path) -> tuple[subprocess.Popen[str], dict]:
    """A headless demo on ``data_dir`` that stops when its standard input closes."""
    return start_demo(runtime, "--watch-stdin", "--data-dir", str(data_dir))


def stop(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()  # the demo stops when its standard input closes
    try:
        process.wait(START_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def reply_reaches_the_simulator(info: dict, text: str) -> bool:
    token = info["agents"]["alice"]
    with httpx.Client(
        base_url=info["backend_url"], headers={"Authorization": f"Bearer {token}"}, timeout=20
    ) as api:
        threads = api.get("/api/v1/threads", params={"limit": 50}).json()["items"]
        thread = next(t for t in threads if t["channel_type"] == "WHATSAPP")
        sent = api.post(
            f"/api/v1/threads/{thread['id']}/messages", json={"kind": "text", "text": text}
        )
        assert sent.status_code == 202, sent.text
    deadline = time.monotonic() + 20
    with httpx.Client(base_url=info["simulator_url"], timeout=10) as sim:
        while time.monotonic() < deadline:
            items = sim.get("/_sim/sent").json()["items"]
            if any(text in json.dumps(item, ensure_ascii=False) for item in items):
                return True
            time.sleep(0.1)
    return False


def test_the_demo_runs_again_on_its_folder_and_replies_reach_the_simulator(tmp_path):
    data_dir, runtime = tmp_path / "demo", tmp_path / "run"
    first, info = demo(data_dir, runtime)
    try:
        assert reply_reaches_the_simulator(info, "first run reply")
    finally:
        stop(first)
    second, info = demo(data_dir, runtime)
    try:
        assert reply_reaches_the_simulator(info, "second run reply")
    finally:
        stop(second)
