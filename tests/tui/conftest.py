"""Fixtures for the TUI tests: the real backend and the real simulator on 127.0.0.1 (see
``backend_fixtures``), a frozen clock and time zone, no user config, no blinking cursor."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from tests.tui.backend_fixtures import Desk, start_desk, stop_desk


@pytest.fixture(autouse=True)
def _frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Deterministic screens: no blinking cursors, no user config, UTC."""
    monkeypatch.setattr(Input, "cursor_blink", False)
    monkeypatch.setattr(TextArea, "cursor_blink", False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TTYDESK_SERVER", raising=False)
    monkeypatch.delenv("TTYDESK_TOKEN", raising=False)
    monkeypatch.delenv("TTYDESK_TUI_CONFIG", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
    os.environ.pop("TTYDESK_TUI_CONFIG", None)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    """The real backend (fixed clock) + the real simulator, seeded (``seed_desk``)."""
    desk = await start_desk(tmp_path / "data")
    try:
        yield desk
    finally:
        await stop_desk(desk)
