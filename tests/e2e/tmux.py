"""Drive a real terminal: the ``ttydesk`` command inside tmux, read back with capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TTYDESK = str(Path(sys.executable).parent / "ttydesk")


def tmux_available() -> bool:
    return shutil.which("tmux") is not None


@dataclass
class Terminal:
    """One tmux session on a private server socket."""

    socket: str
    name: str

    @classmethod
    def start(
        cls, socket: str, name: str, command: list[str], env: dict[str, str], size=(120, 40)
    ) -> Terminal:
        exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        # COLUMNS/LINES inherited from the test run would override the pane's own size
        line = (
            f"env -u COLUMNS -u LINES {exports} {shlex.join(command)}; echo '[exited]'; sleep 600"
        )
        subprocess.run(
            [
                "tmux",
                "-L",
                socket,
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                str(size[0]),
                "-y",
                str(size[1]),
                line,
            ],
            check=True,
        )
        return cls(socket, name)

    def screen(self, *, joined: bool = False) -> str:
        """What the terminal shows; ``joined``: each line the terminal wrapped read back as
        the one line it was written as (a wrap at a space otherwise loses that space)."""
        join = ["-J"] if joined else []
        result = subprocess.run(
            ["tmux", "-L", self.socket, "capture-pane", "-p", *join, "-t", self.name],
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout

    def press(self, *keys: str) -> None:
        for key in keys:
            subprocess.run(
                ["tmux", "-L", self.socket, "send-keys", "-t", self.name, key], check=True
            )
            # A lone ESC is told from the start of an Alt+key or an escape sequence only
            # by the pause after it (Textual's ESCDELAY, 100 ms): a key that reaches the
            # app together with it would read as Alt+key, as it would for a person who
            # typed them that fast. A loaded machine can delay the app's read by more.
            time.sleep(0.6 if key in ("Escape", "C-[") else 0.15)

    def type(self, text: str) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "send-keys", "-t", self.name, "-l", text], check=True
        )
        time.sleep(0.2)

    def wait_for(self, predicate: str | Callable[[str], bool], timeout: float = 20.0) -> str:
        check = predicate if callable(predicate) else (lambda screen: predicate in screen)
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {predicate!r}; the screen was:\n{screen}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-session", "-t", self.name], check=False)


def kill_server(socket: str) -> None:
    subprocess.run(["tmux", "-L", socket, "kill-server"], check=False, capture_output=True)


def base_env(tmp: Path) -> dict[str, str]:
    runtime = tmp / "run"
    runtime.mkdir(exist_ok=True)
    env = {
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_DATA_HOME": str(tmp / "share"),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "HOME": os.environ.get("HOME", str(tmp)),
        "PATH": os.environ.get("PATH", ""),
    }
    return env
