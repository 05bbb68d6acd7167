"""The virtual thread list on its own (a harness app), with 100,000 threads in memory."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult

from backend.schemas import Thread
from tests.tui.backend_fixtures import screen_text, wait_for
from tui.widgets.thread_list import ThreadList

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def make_thread(index: int) -> Thread:
    at = NOW - timedelta(minutes=index)
    return Thread.model_validate(
        {
            "id": index + 1,
            "contact": {"id": index + 1, "name": f"Customer {index}"},
            "ticket": {
                "id": index + 1,
                "subject": f"Subject {index}",
                "status": "waiting_on_us",
                "priority": "urgent" if index % 7 == 0 else "medium",
                "created_at": at,
                "updated_at": at,
            },
            "last_message_at": at,
            "last_message_preview": f"preview [bold]{index}[/bold]",
            "unread_count": index % 2,
            "session_expires_at": at + timedelta(hours=24),
            "created_at": at,
        }
    )


class Source:
    """An in-memory server: pages on demand, optionally slow or failing."""

    def __init__(self, total: int, delay: float = 0.0) -> None:
        self.total = total
        self.delay = delay
        self.calls: list[int] = []
        self.gate: asyncio.Event | None = None

    async def fetch(self, offset: int, limit: int, with_total: bool):
        self.calls.append(offset)
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        rows = [make_thread(i) for i in range(offset, min(offset + limit, self.total))]
        return rows, (self.total if with_total else None)


class ListApp(App[None]):
    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source
        self.opened: list[int] = []

    def compose(self) -> ComposeResult:
        yield ThreadList(id="list")

    def on_mount(self) -> None:
        thread_list = self.query_one(ThreadList)
        thread_list.now = lambda: NOW
        thread_list.set_source(self.source.fetch)
        thread_list.focus()

    def on_thread_list_opened(self, event: ThreadList.Opened) -> None:
        self.opened.append(event.thread.id)


async def test_hundred_thousand_threads_fetch_only_pages_near_the_viewport():
    """100k rows: only a few pages are ever fetched, however far the cursor jumps."""
    source = Source(100_000)
    app = ListApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        assert thread_list.total == 100_000
        assert thread_list.virtual_size.height == 200_000
        assert "Customer 0" in screen_text(app)
        await pilot.press("G")
        await wait_for(
            lambda: thread_list.current is not None and thread_list.current.id == 100_000
        )
        assert "Customer 99999" in screen_text(app)
        await pilot.press("g")
        await wait_for(lambda: thread_list.current is not None and thread_list.current.id == 1)
        assert len(source.calls) <= 6, source.calls
        assert len(thread_list._pages) <= ThreadList.MAX_PAGES


async def test_placeholder_until_the_page_lands_then_only_those_rows_redraw():
    source = Source(500)
    app = ListApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        source.gate = asyncio.Event()
        thread_list.cursor = 300  # a page not loaded yet
        await pilot.pause()
        assert thread_list.current is None
        assert "···" in screen_text(app)
        source.gate.set()
        await wait_for(lambda: thread_list.current is not None and thread_list.current.id == 301)
        await pilot.pause()
        assert "Customer 300" in screen_text(app)


async def test_moving_selecting_and_opening():
    source = Source(120)
    app = ListApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        await pilot.press("j", "j", "k")
        assert thread_list.cursor == 1
        await pilot.press("space", "space")
        assert set(thread_list.selected) == {2, 3}
        await pilot.press("pagedown")
        assert thread_list.cursor > 3
        await pilot.press("g", "enter")
        await pilot.pause()
        assert app.opened == [1]


async def test_hostile_preview_is_inert():
    app = ListApp(Source(3))
    async with app.run_test(size=(80, 10)):
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        assert "preview [bold]0[/bold]" in screen_text(app)


async def test_live_update_keeps_the_cursor_on_its_thread():
    source = Source(10)
    app = ListApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        await pilot.press("j", "j")
        assert thread_list.current.id == 3
        # thread 3 gets a new message: the server now lists it first
        moved = make_thread(2).model_copy(update={"last_message_at": NOW + timedelta(minutes=1)})
        original = source.fetch

        async def reordered(offset, limit, with_total):
            rows, total = await original(offset, limit, with_total)
            rows = [moved] + [r for r in rows if r.id != 3]
            return rows, total

        source.fetch = reordered  # type: ignore[method-assign]
        thread_list._fetch = reordered
        thread_list.apply_thread(moved)
        await wait_for(lambda: thread_list.cursor == 0)
        assert thread_list.current.id == 3


async def test_empty_view():
    app = ListApp(Source(0))
    async with app.run_test(size=(80, 10)):
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.total == 0)
        await asyncio.sleep(0.05)
        assert "No threads in this view." in screen_text(app)


def cell_styles(strip) -> list:
    """The style of every cell of a rendered line."""
    return [segment.style for segment in strip for _ in segment.text]


async def test_arrow_cursor_marks_the_row_in_one_cell():
    """Over SSH the cursor is mutt's arrow cursor: as it moves off a row, only that row's
    marker cell changes (two cells rewritten per j/k instead of two highlighted rows)."""
    for arrow in (False, True):
        app = ListApp(Source(5))
        app.arrow_cursor = arrow
        async with app.run_test(size=(80, 12)) as pilot:
            thread_list = app.query_one(ThreadList)
            await wait_for(lambda thread_list=thread_list: thread_list.current is not None)
            on_it = [cell_styles(thread_list.render_line(y)) for y in (0, 1)]
            await pilot.press("j")
            off_it = [cell_styles(thread_list.render_line(y)) for y in (0, 1)]
            assert on_it[0][0] != off_it[0][0]  # the marker
            if arrow:
                assert on_it[0][1:] == off_it[0][1:] and on_it[1] == off_it[1]
            else:
                assert on_it[0][5] != off_it[0][5]  # the whole row was highlighted
