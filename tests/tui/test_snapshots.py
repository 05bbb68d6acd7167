"""Snapshots of the inbox (80×24 and 160×48) and the template picker, with hostile content
(ANSI escapes, ``[bold]`` markup, a bidi override) shown inert.

The backend here is the in-memory one at a fixed time, served from a thread (``snap_compare``
runs the app in its own event loop); the app's clock and time zone are fixed too.
Update with ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator

import pytest

from tests.tui.conftest import seed_inbox
from tests.tui.fake_backend import T0, FakeBackend, wait_for
from tui.app import TtydeskApp
from tui.client import ApiClient, LiveStream
from tui.config import Settings
from tui.dialogs.template_picker import TemplatePicker
from tui.screens.inbox import InboxScreen


class ThreadedBackend:
    """The fake backend on its own loop in a daemon thread."""

    def __init__(self) -> None:
        self.fake = FakeBackend(now=T0)
        self.fake.ids = seed_inbox(self.fake)  # type: ignore[attr-defined]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> FakeBackend:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(10)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBackend]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    with ThreadedBackend() as fake:
        yield fake
    os.environ.pop("TZ", None)
    time.tzset()


def make(fake: FakeBackend) -> TtydeskApp:
    return TtydeskApp(
        Settings(server=fake.url, token=fake.admin_token),
        ApiClient(fake.url, fake.admin_token),
        live=lambda client, since: LiveStream(client, since=since),
        save_config=False,
        clock=lambda: T0,
    )


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
    fake_ids = pilot.app.fake_ids
    await wait_for(lambda: screen.threads.find(fake_ids["eve"]) is not None)
    screen.threads.move_to(fake_ids["eve"])
    await pilot.press("enter")
    await wait_for(lambda: len(screen.log_widget.messages) == 3)
    await pilot.pause(0.2)


def test_inbox_list_80x24(snap_compare, backend):
    app = make(backend)

    async def run_before(pilot) -> None:
        await ready(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_inbox_thread_80x24_hostile(snap_compare, backend):
    app = make(backend)
    app.fake_ids = backend.ids  # type: ignore[attr-defined]
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_eve)


def test_inbox_160x48_hostile(snap_compare, backend):
    app = make(backend)
    app.fake_ids = backend.ids  # type: ignore[attr-defined]
    assert snap_compare(app, terminal_size=(160, 48), run_before=open_eve)


def test_template_picker(snap_compare, backend):
    app = make(backend)
    app.fake_ids = backend.ids  # type: ignore[attr-defined]

    async def run_before(pilot) -> None:
        await open_eve(pilot)
        await pilot.press("t")
        await wait_for(lambda: isinstance(pilot.app.screen, TemplatePicker))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)
