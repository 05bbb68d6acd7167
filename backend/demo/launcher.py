"""``ttydesk demo``: the stack in a child process, the inbox in this one.

The child runs ``ttydesk demo --headless`` in its own process group and stops when its
standard input closes, so the stack goes away with the inbox even if this process is
killed. Quitting the inbox (``q`` or Ctrl+C) stops the child and waits for it.

An inbox that joins a running demo (``--join``) leaves a file in the demo's ``joined``
folder while it runs: the owner's inbox asks before quitting when others joined (quitting
stops the demo for them), and a joined inbox says so when the demo has stopped.

Each running demo leaves its details in this user's private runtime folder, one file per
demo (see stack.py), so several users, and several demos of one user, share a server:
``--join`` takes the caller's only demo, or the one named by its pid or ``--name``.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from backend.demo.stack import demos_dir, runtime_dir

START_TIMEOUT = 60.0


# what the headless stack writes before the one line that says why it could not start
REASON_PREFIX = "ttydesk demo: "


class DemoError(Exception):
    pass


def start_child(args: list[str], log_path: Path) -> tuple[subprocess.Popen[bytes], dict]:
    command = [sys.executable, "-m", "backend.cli", "demo", "--headless", "--watch-stdin", *args]
    log = log_path.open("ab")
    logged_before = log.tell()
    child = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
    )
    assert child.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    line = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([child.stdout], [], [], 0.2)
        if ready:
            line = child.stdout.readline()
            break
        if child.poll() is not None:
            break
    if not line:
        stop_child(child)
        reason = _reason_logged(log_path, logged_before)
        raise DemoError(reason or f"the demo backend did not start; see {log_path}")
    return child, json.loads(line)


def _reason_logged(log_path: Path, since: int) -> str | None:
    """The one line the stack wrote on why it could not start, if it wrote one."""
    with log_path.open("rb") as log:
        log.seek(since)
        lines = log.read().decode("utf-8", "replace").splitlines()
    reasons = [line.removeprefix(REASON_PREFIX) for line in lines if line.startswith(REASON_PREFIX)]
    return reasons[-1] if reasons else None


def stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        try:
            if child.stdin is not None:
                child.stdin.close()
            os.killpg(child.pid, signal.SIGTERM)
        except (ProcessLookupError, BrokenPipeError, OSError):
            pass
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    if child.stdout is not None:
        child.stdout.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def joined_dir(demo_pid: int) -> Path:
    return runtime_dir() / "joined" / str(demo_pid)


def joined_agents(demo_pid: int) -> list[str]:
    """The agents whose inbox joined this demo and still runs (by name, sorted)."""
    names = []
    folder = joined_dir(demo_pid)
    for entry in folder.glob("*") if folder.is_dir() else []:
        if entry.name.isdigit() and _alive(int(entry.name)):
            names.append(entry.read_text().strip() or "an agent")
    return sorted(names)


@contextlib.contextmanager
def joined_as(demo_pid: int, agent: str) -> Iterator[None]:
    """While this process's inbox runs, the demo's owner sees that ``agent`` joined."""
    marker = joined_dir(demo_pid) / str(os.getpid())
    marker.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    marker.write_text(agent.capitalize())
    try:
        yield
    finally:
        marker.unlink(missing_ok=True)


def running_demos() -> list[dict]:
    """This user's demos that still run, oldest first; a dead demo's details are removed."""
    demos = []
    for path in sorted(demos_dir().glob("*.json")):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being written, or not ours to read
        if _alive(info.get("pid", 0)):
            demos.append(info)
        else:
            path.unlink(missing_ok=True)
    return sorted(demos, key=lambda info: (info.get("started", ""), info["pid"]))


def describe(info: dict) -> str:
    name = f" {info['name']!r}" if info.get("name") else ""
    return f"pid {info['pid']}{name}, started {info.get('started', '?')}, data {info['data_dir']}"


def find_demo(wanted: str | None = None) -> dict:
    """The demo ``--join`` opens: the named one (pid or name), else the caller's only one."""
    demos = running_demos()
    if not demos:
        raise DemoError("no demo is running for this user; start one with `ttydesk demo`")
    if wanted:
        for info in demos:
            if wanted in (str(info["pid"]), info.get("name")):
                return info
        listed = "; ".join(describe(info) for info in demos)
        raise DemoError(f"no demo of yours is called {wanted!r}; running: {listed}")
    if len(demos) > 1:
        listed = "; ".join(describe(info) for info in demos)
        raise DemoError(
            f"{len(demos)} of your demos are running ({listed}); "
            "name one with `ttydesk demo --join PID`"
        )
    return demos[0]


def remove_temporary_data(info: dict) -> None:
    """Whatever way the demo ended, its temporary folder goes with it."""
    if info.get("data_dir_is_temporary"):
        shutil.rmtree(info["data_dir"], ignore_errors=True)


def run_interactive(*, agent: str, child_args: list[str], log_path: Path) -> int:
    from tui.app import DemoLink
    from tui.app import run as run_tui

    print("Starting the ttydesk demo (backend, simulator, customers)…", file=sys.stderr)
    child, info = start_child(child_args, log_path)
    try:
        token = info["agents"].get(agent)
        if token is None:
            raise DemoError(
                f"there is no demo agent {agent!r}; try one of {sorted(info['agents'])}"
            )
        demo = DemoLink(others_joined=lambda: joined_agents(info["pid"]))
        return run_tui(info["backend_url"], token, save_config=False, demo=demo)
    finally:
        # the inbox has left the screen: say what the wait is for
        print("Stopping the demo (backend, simulator, customers)…", file=sys.stderr)
        stop_child(child)
        if info.get("data_dir_is_temporary"):
            remove_temporary_data(info)
            log_path.unlink(missing_ok=True)  # kept when the demo failed to start


def join(*, agent: str, demo: str | None = None) -> int:
    from tui.app import DemoLink
    from tui.app import run as run_tui

    info = find_demo(demo)
    token = info["agents"].get(agent)
    if token is None:
        raise DemoError(f"there is no demo agent {agent!r}; try one of {sorted(info['agents'])}")
    demo_pid = info["pid"]
    with joined_as(demo_pid, agent):
        link = DemoLink(running=lambda: _alive(demo_pid))
        return run_tui(info["backend_url"], token, save_config=False, demo=link)
