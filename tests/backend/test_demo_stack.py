"""The headless demo as a real process: what it seeds, what it leaves behind, and that
several demos of one user run side by side (a shared SSH server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from backend.demo.launcher import DemoError, find_demo, running_demos

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


def test_a_temporary_demo_folder_goes_when_the_demo_ends(tmp_path):
    process, info = start_demo(tmp_path / "run")
    data_dir = Path(info["data_dir"])
    assert (data_dir / "ttydesk.db").exists()
    stop_demo(process)
    assert not data_dir.exists()


def test_a_data_dir_given_is_kept_when_the_demo_ends(tmp_path):
    process, info = start_demo(tmp_path / "run", "--data-dir", str(tmp_path / "kept"))
    assert Path(info["data_dir"]) == tmp_path / "kept"
    stop_demo(process)
    assert (tmp_path / "kept" / "ttydesk.db").exists()


def test_two_demos_of_one_user_run_side_by_side_and_join_finds_each(tmp_path, monkeypatch):
    runtime = tmp_path / "run"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    first, first_info = start_demo(runtime)
    try:
        second, second_info = start_demo(runtime, "--name", "training")
        try:
            urls = {first_info["backend_url"], first_info["simulator_url"]}
            urls |= {second_info["backend_url"], second_info["simulator_url"]}
            assert len(urls) == 4
            assert first_info["data_dir"] != second_info["data_dir"]
            assert view_count(first_info, "All open") > 0
            assert view_count(second_info, "All open") > 0
            # both run: --join must be told which one, and finds each by pid or name
            with pytest.raises(DemoError, match=str(first_info["pid"])) as refused:
                find_demo()
            assert str(second_info["pid"]) in str(refused.value)
            assert find_demo(str(first_info["pid"]))["backend_url"] == first_info["backend_url"]
            assert find_demo("training")["backend_url"] == second_info["backend_url"]
            with pytest.raises(DemoError, match="no demo of yours is called 'nope'"):
                find_demo("nope")
            # the command line says the same, in one line, and starts no inbox
            joined = subprocess.run(
                [sys.executable, "-m", "backend.cli", "demo", "--join", "--agent", "bob"],
                env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert joined.returncode == 1
            assert "2 of your demos are running" in joined.stderr
            assert str(first_info["pid"]) in joined.stderr
        finally:
            stop_demo(second)
        # the second one's end leaves the first one findable
        assert find_demo()["backend_url"] == first_info["backend_url"]
    finally:
        stop_demo(first)
    with pytest.raises(DemoError, match="no demo is running"):
        find_demo()


def test_a_runtime_folder_of_another_user_is_refused(tmp_path, monkeypatch):
    """On a shared /tmp another user could make ttydesk-<uid> first, to read the tokens."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    planted = tmp_path / f"ttydesk-{os.getuid()}"
    planted.mkdir()
    try:
        os.chown(planted, os.getuid() + 1, -1)
    except PermissionError:
        pytest.skip("only root can plant a folder owned by another user")
    with pytest.raises(PermissionError, match="belongs to another user"):
        running_demos()
