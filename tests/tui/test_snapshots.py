"""Snapshots of the inbox (80×24 and 160×48) and the template picker, with hostile content
(ANSI escapes, ``[bold]`` markup, a bidi override, in a message, a profile name and a
template) shown inert.

The backend and the simulator are the real ones (``backend_fixtures``), seeded afresh for
each snapshot at a fixed time and served from a thread (``snap_compare`` runs the app in
its own event loop); the app's clock and the time zone (UTC, see conftest) are fixed too.
Update with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at each one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.backend_fixtures import T0, Desk, ThreadedDesk, wait_for
from tui.app import TtydeskApp
from tui.dialogs.template_picker import TemplatePicker
from tui.screens.inbox import InboxScreen


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Desk]:
    with ThreadedDesk(tmp_path / "data") as desk:
        yield desk


def make(desk: Desk) -> TtydeskApp:
    from tests.tui.backend_fixtures import make_app

    app = make_app(desk.url, desk.admin_token, clock=lambda: T0)
    app.desk_ids = desk.ids  # type: ignore[attr-defined]
    return app


async def ready(pilot) -> InboxScreen:
    app = pilot.app
    await wait_for(
        lambda: isinstance(app.screen, InboxScreen) and bool(app.screen.query("#threads")),
        timeout=10,
    )
    screen = app.screen
    await wait_for(lambda: screen.threads.current is not None and app.conn_state == "connected")
    await pilot.pause()
    return screen


async def open_eve(pilot) -> None:
    screen = await ready(pilot)
    ids = pilot.app.desk_ids
    await wait_for(lambda: screen.threads.find(ids["eve"]) is not None)
    screen.threads.move_to(ids["eve"])
    await pilot.press("enter")
    await wait_for(lambda: len(screen.log_widget.messages) == 3)
    await pilot.pause(0.2)


def test_inbox_list_80x24(snap_compare, backend):
    app = make(backend)

    async def run_before(pilot) -> None:
        await ready(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_inbox_thread_80x24_hostile(snap_compare, backend):
    assert snap_compare(make(backend), terminal_size=(80, 24), run_before=open_eve)


def test_inbox_160x48_hostile(snap_compare, backend):
    assert snap_compare(make(backend), terminal_size=(160, 48), run_before=open_eve)


def test_template_picker(snap_compare, backend):
    async def run_before(pilot) -> None:
        await open_eve(pilot)
        await pilot.press("t")
        await wait_for(lambda: isinstance(pilot.app.screen, TemplatePicker))
        await pilot.pause(0.2)

    assert snap_compare(make(backend), terminal_size=(120, 36), run_before=run_before)
