"""Bytes the inbox writes to its terminal per key, at 80×24: what a slow SSH link carries.

The real ``ttydesk`` command runs in a pseudo-terminal against a headless demo (no live
traffic, so every byte counted is the answer to a key); each step sends keys, then reads
until the terminal has been quiet for a while, and counts what the inbox wrote. A terminal
emulator (``pyte``) replays the same bytes, so the benchmark also checks that the screen
shows what the keys should have brought up. At 32 kbit/s (4 KB/s) the figures are also
seconds: 8 KB is two seconds of waiting.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyte

from tests.bench.common import print_rows, row

NAME = "terminal bytes"
COLUMNS, LINES = 80, 24
QUIET_S = 0.6  # a burst of output has ended when the terminal is quiet this long
IDLE_S = 5.0
TARGETS = {"move": 300, "char": 120, "idle": 0, "open": 8 * 1024}


class Terminal:
    """``ttydesk`` in a pseudo-terminal of 80×24, and a pyte screen fed the same bytes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the inbox
            os.execvpe(argv[0], argv, env)
        import fcntl
        import struct
        import termios

        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        self.screen = pyte.Screen(COLUMNS, LINES)
        self.stream = pyte.ByteStream(self.screen)

    def read_for(self, seconds: float) -> int:
        """Everything written during ``seconds``; returns the byte count."""
        total = 0
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                total += self._read()
        return total

    def read_until_quiet(self, quiet: float = QUIET_S, limit: float = 30.0) -> int:
        total = 0
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], quiet)
            if not ready:
                return total
            total += self._read()
        return total

    def read_until_shown(self, text: str, limit: float = 60.0) -> int:
        """Read until the screen shows ``text``, then until quiet; returns the byte count."""
        total = 0
        deadline = time.monotonic() + limit
        while text not in self.text():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the inbox never showed {text!r}:\n{self.text()}")
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                total += self._read()
        return total + self.read_until_quiet()

    def _read(self) -> int:
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return 0
        self.stream.feed(data)
        return len(data)

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


def start_demo(data_dir: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    demo = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "demo", "--headless", "--no-traffic"]
        + ["--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert demo.stdout is not None
    line = demo.stdout.readline()
    if not line:
        raise RuntimeError("the headless demo printed nothing")
    return demo, json.loads(line)


def per_key(term: Terminal, keys: list[str]) -> float:
    counts = []
    for key in keys:
        term.send(key)
        counts.append(term.read_until_quiet())
    return sum(counts) / len(counts)


def measure(info: dict[str, Any]) -> dict[str, float]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TTYDESK_", "TEXTUAL_", "NO_COLOR"))
    }
    home = tempfile.mkdtemp(prefix="ttydesk-bench-tty-")
    env |= {
        # what an SSH session usually carries: TERM, but not COLORTERM
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": home,
        "TTYDESK_TOKEN": info["agents"]["alice"],
        "SSH_CONNECTION": "127.0.0.1 40000 127.0.0.1 22",  # as an agent over SSH would be
    }
    argv = [sys.executable, "-m", "backend.cli", "--server", info["backend_url"]]
    term = Terminal(argv, env)
    try:
        first = term.read_until_shown("Not now")  # the offer to save the server and token
        term.send("n")
        first += term.read_until_shown("All open")
        figures: dict[str, float] = {"start": first}
        figures["move"] = per_key(term, ["j"] * 8 + ["k"] * 8)
        term.send("\r")  # open the thread under the cursor
        figures["open"] = term.read_until_shown("session")
        term.send("r")  # the composer
        term.read_until_shown("Send")
        figures["char"] = per_key(term, list("thanks for waiting"))
        figures["idle"] = term.read_for(IDLE_S) / IDLE_S
        figures["screen_ok"] = float("thanks for waiting" in term.text())
        return figures
    finally:
        term.close()


def main() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="ttydesk-bench-tty-") as tmp:
        demo, info = start_demo(Path(tmp) / "demo")
        try:
            figures = measure(info)
        finally:
            os.killpg(demo.pid, signal.SIGTERM)
            demo.wait(timeout=30)
    shown = bool(figures["screen_ok"])
    return [
        row(NAME, "start-up: first screen at 80×24", figures["start"], "B"),
        row(
            NAME,
            "j/k in the thread list, per key",
            figures["move"],
            "B",
            f"≤{TARGETS['move']} B",
            ok=figures["move"] <= TARGETS["move"],
        ),
        row(
            NAME,
            "open a thread (enter)",
            figures["open"],
            "B",
            f"≤{TARGETS['open']} B",
            ok=figures["open"] <= TARGETS["open"],
        ),
        row(
            NAME,
            "a character typed in the composer (screen shows the text: "
            f"{'yes' if shown else 'NO'})",
            figures["char"],
            "B",
            f"≤{TARGETS['char']} B",
            ok=figures["char"] <= TARGETS["char"] and shown,
        ),
        row(
            NAME,
            "idle composer (cursor blink), per second",
            figures["idle"],
            "B/s",
            "0 B/s",
            ok=figures["idle"] == 0,
        ),
    ]


if __name__ == "__main__":
    print_rows(main())
