"""``ttydesk demo --join`` leaves a marker while the joined inbox runs: the owner's inbox
asks before quitting (which stops the demo for them) while any joined inbox is alive."""

from __future__ import annotations

import subprocess
import sys

from backend.demo.launcher import joined_agents, joined_as, joined_dir


def test_the_owner_sees_who_joined_while_they_are_there(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert joined_agents(4242) == []
    with joined_as(4242, "bob"):
        assert joined_agents(4242) == ["Bob"]
        assert joined_agents(4343) == []  # another demo
    assert joined_agents(4242) == []


def test_a_joined_inbox_that_died_does_not_count(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs
    folder = joined_dir(4242)
    folder.mkdir(parents=True)
    (folder / str(gone.pid)).write_text("Chloe")
    assert joined_agents(4242) == []
