"""What the benchmarks share: result rows, core pinning, a real backend in its own process.

Every benchmark that measures the backend runs it with ``python -m tests.bench.server`` in
a separate process pinned to core 0; load generators and clients run pinned to core 1
(``LOAD_CORE``), so the figures are per core and the two sides do not steal each other's
time. Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(__file__).resolve().parent / ".data"

SERVER_CORE = 0
LOAD_CORE = 1

# what the benchmark backend is configured with (tests/bench/server.py)
APP_SECRET = "bench-app-secret"
VERIFY_TOKEN = "bench-verify-token"
WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550001111"


def row(
    benchmark: str,
    figure: str,
    value: float | int | None,
    unit: str,
    target: str = "",
    *,
    baseline: float | int | None = None,
    ratio: float | None = None,
    ok: bool | None = None,
) -> dict[str, Any]:
    """One line of the results table (the shape ``tests/bench/__main__.py`` prints)."""
    if isinstance(value, float):
        value = round(value, 2 if abs(value) < 100 else 0)
    if isinstance(baseline, float):
        baseline = round(baseline, 2 if abs(baseline) < 100 else 0)
    return {
        "benchmark": benchmark,
        "figure": figure,
        "value": value,
        "unit": unit,
        "target": target,
        "baseline": baseline,
        "ratio": None if ratio is None else round(ratio, 2),
        "ok": ok,
    }


def print_rows(rows: list[dict[str, Any]]) -> None:
    """For ``python -m tests.bench.<module>`` alone: a plain table."""
    for r in rows:
        ok = "" if r["ok"] is None else ("ok" if r["ok"] else "MISSED")
        base = "" if r["baseline"] is None else f"baseline {r['baseline']}"
        ratio = "" if r["ratio"] is None else f"ratio {r['ratio']}"
        print(
            f"{r['benchmark']:<14} {r['figure']:<44} {r['value']!s:>10} {r['unit']:<6} "
            f"{r['target']:<10} {base:<18} {ratio:<10} {ok}"
        )


def pin(core: int) -> None:
    """Pin this process to one core (no-op where the machine has fewer)."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        if core < (os.cpu_count() or 1):
            os.sched_setaffinity(0, {core})


@contextlib.contextmanager
def pinned(core: int) -> Iterator[None]:
    """Pin this process to one core for a block, then restore its previous affinity."""
    try:
        before = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        yield
        return
    pin(core)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, before)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB (VmRSS)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def bench_env(root: Path = ROOT) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    # the benchmark's settings come from the command line, not from a ttydesk.toml around
    env["TTYDESK_CONFIG_FILE"] = os.devnull
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


@dataclass
class ServerProcess:
    """``python -m tests.bench.server`` (or the bare baseline) in its own pinned process."""

    args: list[str]
    module: str = "tests.bench.server"
    core: int = SERVER_CORE
    port: int = field(default_factory=free_port)
    root: Path = ROOT  # the source tree it runs from (another checkout, for an A/B)
    proc: subprocess.Popen[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> ServerProcess:
        cmd = [
            sys.executable,
            "-m",
            self.module,
            "--port",
            str(self.port),
            "--core",
            str(self.core),
            *self.args,
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.root,
            env=bench_env(self.root),
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
        )
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.module} exited with {self.proc.wait()} before READY")
            if line.startswith("READY "):
                self.info = json.loads(line[len("READY ") :])
                return self
        raise RuntimeError(f"{self.module} did not start in {timeout} s")

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_module_json(module: str, args: list[str], *, timeout: float = 300.0) -> Any:
    """Run ``python -m module args`` (a pinned load process); its last stdout line is JSON."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=bench_env(),
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed with exit code {done.returncode}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1])
