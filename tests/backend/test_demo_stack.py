"""The headless demo as a real process: what it seeds, what it leaves behind, and that
several demos of one user run side by side (a shared SSH server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

STOP_TIMEOUT = 60.0


def start_demo(runtime: Path, *args: str) -> tuple[subprocess.Popen[str], dict]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TTYDESK_")}
    env.update(XDG_RUNTIME_DIR=str(runtime), TTYDESK_CONFIG_FILE=os.devnull)
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "demo", "--headless", "--no-traffic", *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # one JSON line once it is up
    if not line.startswith("{"):
        process.kill()
        raise AssertionError(f"the demo did not start: {line!r}")
    return process, json.loads(line)


def stop_demo(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError("the demo did not stop on SIGTERM") from None


def view_count(info: dict, name: str) -> int:
    token = info["agents"]["alice"]
    with httpx.Client(
        base_url=info["backend_url"], headers={"Authorization": f"Bearer {token}"}, timeout=20
    ) as api:
        views = api.get("/api/v1/views").json()["items"]
    return next(view["count"] for view in views if view["name"] == name)


def test_the_demo_leaves_some_tickets_for_the_triage_queue(tmp_path):
    process, info = start_demo(tmp_path / "run")
    try:
        assert view_count(info, "Unassigned") > 0
        assert view_count(info, "All open") > view_count(info, "Unassigned")
    finally:
        stop_demo(process)
