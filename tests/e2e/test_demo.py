"""End to end in a real terminal: ``ttydesk demo`` in tmux, driven by keys, read off the screen."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from tests.e2e.tmux import TTYDESK, Terminal, base_env

FIRST_SCREEN_TIMEOUT = 60.0


def demo_info(env: dict[str, str], timeout: float = 30.0) -> dict:
    folder = Path(env["XDG_RUNTIME_DIR"]) / f"ttydesk-{os.getuid()}" / "demos"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        written = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if written:
            return json.loads(written[0].read_text())
        time.sleep(0.2)
    raise AssertionError("the demo did not write its details")


def port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(check, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def list_cursor(screen: str) -> tuple[int, str]:
    """Where the thread list's cursor is: its line's number and the start of that line."""
    for number, line in enumerate(screen.splitlines()):
        if "▌" in line:
            return number, line[:40]
    return -1, ""


def open_thread(terminal: Terminal, name: str) -> None:
    """Move the list's cursor onto ``name``'s row and open it. The list reorders as the
    demo's customers write (the cursor stays on its thread), so each step reads again
    where the cursor and the row are and moves towards the row, never counting in advance."""
    for _ in range(40):
        screen = terminal.screen()
        at = list_cursor(screen)
        if name in at[1]:
            terminal.press("Enter")
            return
        rows = [n for n, line in enumerate(screen.splitlines()) if n > 0 and name in line]
        if not rows or at[0] < 0:
            raise AssertionError(f"{name} is not in the list:\n{screen}")
        terminal.press("j" if rows[0] > at[0] else "k")
        wait_until(lambda at=at: list_cursor(terminal.screen()) != at, timeout=5)
    raise AssertionError(f"the cursor never reached {name}:\n{terminal.screen()}")


def start_demo(tmux_socket: str, tmp_path: Path, name: str = "alice") -> tuple[Terminal, dict]:
    env = base_env(tmp_path)
    command = [
        TTYDESK,
        "demo",
        "--agent",
        name,
        "--rate",
        "0.3",
        "--data-dir",
        str(tmp_path / "demo"),
    ]
    terminal = Terminal.start(tmux_socket, name, command, env)
    terminal.wait_for("● live", timeout=FIRST_SCREEN_TIMEOUT)
    return terminal, env


def test_demo_reply_reassign_and_quit_leaves_nothing_behind(tmux_socket, tmp_path):
    terminal, env = start_demo(tmux_socket, tmp_path)
    info = demo_info(env)
    # the WhatsApp view (the sixth, after the five built-ins; at 80 columns the views
    # column is folded away, 1-9 still switch)
    terminal.wait_for("All open")
    terminal.press("6")
    terminal.wait_for(lambda s: "Maria Lopez" in s and "WhatsApp" in s.splitlines()[0])
    # open Maria's thread and reply
    open_thread(terminal, "Maria Lopez")
    # the thread's own header (the list's preview shows Maria's first words too)
    terminal.wait_for(lambda s: "Hola, mi pedido A123" in s and " via " in s)
    terminal.press("r")
    terminal.wait_for("Write a reply")  # the composer is open: typing goes into it
    terminal.type("Llega mañana antes de las 14:00")
    terminal.press("C-s")
    terminal.wait_for(
        lambda s: (
            any("✓✓" in line for line in s.splitlines() if "alice" in line) and "Llega mañana" in s
        ),
        timeout=20,
    )
    terminal.press("Escape")
    # reassign to dmitri
    terminal.press("a")
    terminal.wait_for("dmitri")
    terminal.type("dmitri")
    terminal.press("Enter")
    terminal.wait_for("owner dmitri", timeout=10)
    # quit: the inbox, the backend and the simulator all stop
    terminal.press("Escape", "q")
    # what the terminal shows while the demo stops is not "Starting the ttydesk demo…"
    terminal.wait_for("Stopping the demo", timeout=20)
    terminal.wait_for("[exited]", timeout=20)
    assert wait_until(lambda: not process_alive(info["pid"])), "the demo backend is still running"
    assert not port_open(info["backend_url"])
    assert not port_open(info["simulator_url"])


def test_two_agents_see_each_other_live(tmux_socket, tmp_path):
    alice, env = start_demo(tmux_socket, tmp_path)
    info = demo_info(env)
    bob = Terminal.start(tmux_socket, "bob", [TTYDESK, "demo", "--join", "--agent", "bob"], env)
    bob.wait_for("● live", timeout=FIRST_SCREEN_TIMEOUT)
    bob.wait_for("Klaus Brandt")
    # alice opens Klaus's thread; bob sees her there
    open_thread(alice, "Klaus Brandt")
    alice.wait_for(lambda s: "Guten Tag" in s and " via " in s)  # the thread, not the list
    # alice closes it; it leaves bob's "All open" list live
    before = bob.screen().count("Klaus Brandt")
    alice.press("c")
    alice.wait_for(lambda s: "Closed" in s, timeout=10)
    bob.wait_for(lambda s: s.count("Klaus Brandt") < before, timeout=15)
    # quitting would stop the demo for bob: alice is asked first
    alice.press("Escape", "q")
    alice.wait_for("stops the demo for Bob", timeout=10)
    alice.press("y")
    alice.wait_for("[exited]", timeout=20)
    # bob is told plainly, instead of reconnecting forever
    bob.wait_for("The demo you joined has stopped", timeout=20)
    assert wait_until(lambda: not process_alive(info["pid"]))
    bob.press("q")
    bob.wait_for("[exited]", timeout=20)


def test_a_demo_whose_data_is_still_in_use_waits_for_it_then_says_so_in_one_line(
    tmux_socket, tmp_path
):
    """A demo killed just now still holds its ``--data-dir`` for a moment (its backend
    closing the store): the next one waits for it. One that goes on running is named in
    one line, not a traceback or "see the log"."""
    from backend.startup import ServingLock

    data = tmp_path / "demo"
    data.mkdir()
    env = base_env(tmp_path)
    command = [TTYDESK, "demo", "--no-traffic", "--data-dir", str(data)]
    held = ServingLock(data / "ttydesk.db")
    held.acquire()  # as the stopping demo's backend does
    try:
        first = Terminal.start(tmux_socket, "first", command, env)
        first.wait_for("Starting the ttydesk demo")
        time.sleep(6)  # the other demo takes this long to let go
    finally:
        held.release()
    first.wait_for("● live", timeout=FIRST_SCREEN_TIMEOUT)

    # it goes on running: the second one gives up and says why (after 3 s, not the 15 s
    # of a demo's default wait: what it waits for is the same)
    second = Terminal.start(tmux_socket, "second", [*command, "--data-in-use-wait", "3"], env)
    second.wait_for("[exited]", timeout=3 + 40)
    # the lines as written: joining the terminal's wrapped lines loses a space where the
    # wrap fell on one (how long the temporary folder's path and the pid are decide that)
    screen = second.screen(joined=True)
    said = [line.strip() for line in screen.splitlines() if line.strip()]
    assert said[0].startswith("Starting the ttydesk demo") and said[-1] == "[exited]", said
    assert len(said) == 3, said  # one line says why
    why = said[1]
    assert why.startswith(f"ttydesk demo: the demo data in {data} is in use by another"), said
    assert why.endswith("stop that one first, or give this demo another --data-dir"), said
    assert "Traceback" not in screen and "see " not in screen, screen
    first.press("q")
    first.wait_for("[exited]", timeout=20)


def test_a_demo_whose_terminal_goes_away_stops_and_leaves_nothing_behind(tmux_socket, tmp_path):
    """An SSH link that drops hangs the terminal up, and ttydesk may get no SIGHUP for it
    (under `make demo`, or `nohup`: here SIGHUP is ignored): the inbox leaves and its demo
    stops, instead of reading end-of-file from a terminal that is gone, for ever."""
    env = base_env(tmp_path)
    demo = [TTYDESK, "demo", "--rate", "0.3", "--data-dir", str(tmp_path / "demo")]
    command = ["sh", "-c", 'trap "" HUP; exec "$@"', "sh", *demo]
    terminal = Terminal.start(tmux_socket, "alice", command, env)
    terminal.wait_for("● live", timeout=FIRST_SCREEN_TIMEOUT)
    info = demo_info(env)
    terminal.kill()
    assert wait_until(lambda: not process_alive(info["pid"]), timeout=30), (
        "the demo is still running after its terminal went away"
    )
    assert not port_open(info["backend_url"])
    assert not port_open(info["simulator_url"])
