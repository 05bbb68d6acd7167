"""What the inbox loads before its first frame: what that frame needs, and no more."""

from __future__ import annotations

import json
import subprocess
import sys

#: modules the first frame of the inbox has no use for (the server stack, the phone-number
#: database, httpx's command-line client and what it pulls in)
NOT_AT_START = [
    "aiohttp",
    "aiosqlite",
    "backend.store",
    "backend.whatsapp",
    "phonenumbers",
    "click",
    "pygments",
    "rich.syntax",
    "rich.progress",
    "httpx._main",
]


def loaded_after(code: str) -> dict[str, object]:
    probe = (
        f"import json, sys\n{code}\n"
        f"print(json.dumps({{'loaded': [m for m in {NOT_AT_START!r} "
        "if sys.modules.get(m) is not None], 'result': result}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_inbox_and_its_screen_load_only_what_the_first_frame_needs():
    found = loaded_after(
        "import tui.app, tui.screens.inbox\nresult = None",
    )
    assert found["loaded"] == []


def test_ttydesk_alone_starts_the_inbox_without_loading_every_command():
    found = loaded_after(
        "from backend import cli\n"
        "args = cli.parse_args(['--server', 'http://desk:8580', '--token=ttd_x'])\n"
        "result = [args.command, args.server, args.token]",
    )
    assert found["result"] == [None, "http://desk:8580", "ttd_x"]
    assert found["loaded"] == []
    # commands and --help still see every command
    found = loaded_after(
        "from backend import cli\n"
        "args = cli.parse_args(['tui', '--server', 'http://desk:8580'])\n"
        "result = [args.command, args.server]",
    )
    assert found["result"] == ["tui", "http://desk:8580"]
    help_text = subprocess.run(
        [sys.executable, "-m", "backend.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "serve" in help_text and "admin" in help_text
