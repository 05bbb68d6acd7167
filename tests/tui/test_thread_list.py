"""The virtual thread list on its own (a harness app), with 100,000 threads in memory."""

from __future__ import annotations

import asyncio
import gc
import warnings
from datetime import UTC, datetime, timedelta

from textual import on
from textual.app import App, ComposeResult
from textual.widgets import Input

from backend.schemas import Thread, TicketPriority, TicketStatus
from tests.tui.backend_fixtures import screen_text, wait_for
from tui.client import ApiError
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
    def __init__(self, source: Source, *, page_retry_seconds: float | None = None) -> None:
        super().__init__()
        self.source = source
        self.page_retry_seconds = page_retry_seconds
        self.opened: list[int] = []
        self.highlighted: list[Thread | None] = []
        self.selections: list[int] = []
        self.held: list[int] = []

    def compose(self) -> ComposeResult:
        yield ThreadList(id="list")

    def on_mount(self) -> None:
        thread_list = self.query_one(ThreadList)
        thread_list.now = lambda: NOW
        if self.page_retry_seconds is not None:
            thread_list.PAGE_RETRY_SECONDS = self.page_retry_seconds
        thread_list.set_source(self.source.fetch)
        thread_list.focus()

    # each by the list's id: a message that does not name its list reaches none of these
    @on(ThreadList.Opened, "#list")
    def _opened(self, event: ThreadList.Opened) -> None:
        self.opened.append(event.thread.id)

    @on(ThreadList.Highlighted, "#list")
    def _highlighted(self, event: ThreadList.Highlighted) -> None:
        self.highlighted.append(event.thread)

    @on(ThreadList.SelectionChanged, "#list")
    def _selection_changed(self, event: ThreadList.SelectionChanged) -> None:
        self.selections.append(event.count)

    @on(ThreadList.HeldChanged, "#list")
    def _held_changed(self, event: ThreadList.HeldChanged) -> None:
        self.held.append(event.count)


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
        assert len(thread_list.pages.loaded) <= ThreadList.MAX_PAGES


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


async def test_moving_the_cursor_draws_only_the_rows_whose_look_changed():
    """j/k at the bottom edge scrolls the list by one row: the rows already on screen are
    not drawn again (only the row the cursor lands on), nor when the cursor comes back."""
    app = ListApp(Source(200))
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        rows = thread_list.scrollable_content_region.height // ThreadList.ROW_HEIGHT
        await pilot.press(*["j"] * (rows - 1))  # onto the last row in view
        await pilot.pause()
        before_scroll = thread_list.rows_drawn
        await pilot.press("j")  # the list scrolls by one row
        await pilot.pause()
        assert thread_list.scroll_offset.y == ThreadList.ROW_HEIGHT
        assert thread_list.rows_drawn - before_scroll == ThreadList.ROW_HEIGHT
        assert f"Customer {rows}" in screen_text(app)
        drawn = thread_list.rows_drawn
        await pilot.press("k", "k", "j", "j")  # draws the row left, first seen under the cursor
        await pilot.pause()
        assert thread_list.rows_drawn - drawn == ThreadList.ROW_HEIGHT
        drawn = thread_list.rows_drawn
        await pilot.press("k", "k", "j", "j")  # every row now drawn both ways
        await pilot.pause()
        assert thread_list.rows_drawn == drawn


async def test_a_drawn_row_still_follows_the_clock_and_its_thread():
    app = ListApp(Source(5))
    async with app.run_test(size=(80, 12)) as pilot:
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        assert "Customer 0" in screen_text(app)
        thread_list.now = lambda: NOW + timedelta(hours=3)
        thread_list.refresh()
        await pilot.pause()
        first = screen_text(app).splitlines()[0]
        assert first.rstrip().endswith("3h"), first
        renamed = make_thread(0)
        renamed.contact.name = "Renamed contact"
        thread_list.apply_thread(renamed)
        await pilot.pause()
        assert "Renamed contact" in screen_text(app)


async def test_the_cursor_row_dims_when_the_list_loses_the_focus():
    class WithInput(ListApp):
        def compose(self) -> ComposeResult:
            yield ThreadList(id="list")
            yield Input(id="elsewhere")

    app = WithInput(Source(5))
    async with app.run_test(size=(80, 14)) as pilot:
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        await pilot.pause()
        focused = cell_styles(thread_list.render_line(0))
        app.query_one(Input).focus()
        await pilot.pause()
        assert cell_styles(thread_list.render_line(0)) != focused
        thread_list.focus()
        await pilot.pause()
        assert cell_styles(thread_list.render_line(0)) == focused


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
        await wait_for(lambda: "No threads in this view." in screen_text(app))


class FailingSource(Source):
    """A server that fails the first ``failures[offset]`` fetches of a page."""

    def __init__(self, total: int, failures: dict[int, int]) -> None:
        super().__init__(total)
        self.failures = dict(failures)

    async def fetch(self, offset: int, limit: int, with_total: bool):
        if self.failures.get(offset, 0) > 0:
            self.failures[offset] -= 1
            self.calls.append(offset)
            raise ApiError(0, "unreachable", "The server could not be reached.")
        return await super().fetch(offset, limit, with_total)


async def test_the_page_cache_keeps_at_most_max_pages_dropping_the_oldest():
    pages = ThreadList.MAX_PAGES + 5
    source = Source(pages * ThreadList.PAGE_SIZE)
    app = ListApp(source)
    async with app.run_test(size=(80, 24)):
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        for page in range(pages):
            index = page * ThreadList.PAGE_SIZE
            thread_list.cursor = index
            await wait_for(lambda index=index: thread_list.thread_at(index) is not None)
        assert len(thread_list.pages.loaded) == ThreadList.MAX_PAGES
        assert 0 not in thread_list.pages.loaded and pages - 1 in thread_list.pages.loaded
        fetched = len(source.calls)
        thread_list.cursor = 0  # dropped: fetched again
        await wait_for(lambda: thread_list.current is not None and thread_list.current.id == 1)
        assert source.calls[fetched:].count(0) == 1
        assert len(thread_list.pages.loaded) == ThreadList.MAX_PAGES


async def test_the_cursor_stays_within_the_list_and_follows_it_when_it_shrinks():
    source = Source(120)
    app = ListApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        await pilot.press("k")
        assert thread_list.cursor == 0
        thread_list.cursor = -3
        assert thread_list.cursor == 0
        await pilot.press("G")
        assert thread_list.cursor == 119
        await pilot.press("j", "pagedown")
        assert thread_list.cursor == 119
        thread_list.cursor = 10_000
        assert thread_list.cursor == 119
        await wait_for(lambda: thread_list.current is not None and thread_list.current.id == 120)
        source.total = 30  # threads left the view: the cursor comes back onto the list
        thread_list.reload()
        await wait_for(lambda: thread_list.total == 30)
        assert thread_list.cursor == 29
        await wait_for(lambda: thread_list.current is not None and thread_list.current.id == 30)


async def test_an_empty_list_keeps_the_cursor_at_zero():
    app = ListApp(Source(0))
    async with app.run_test(size=(80, 10)) as pilot:
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.total == 0)
        thread_list.cursor = 5
        assert thread_list.cursor == 0
        await pilot.press("j")
        assert thread_list.cursor == 0
        await pilot.press("G")
        assert thread_list.cursor == 0 and thread_list.current is None


async def test_a_failed_page_shows_the_error_and_is_fetched_again():
    source = FailingSource(200, {100: 1})
    app = ListApp(source)
    async with app.run_test(size=(80, 24)):
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        thread_list.cursor = 100  # page 2, whose first fetch fails
        await wait_for(lambda: "⚠ The server could not be reached." in screen_text(app))
        assert thread_list.current is None
        await wait_for(
            lambda: thread_list.current is not None and thread_list.current.id == 101, timeout=10
        )
        assert source.calls.count(100) == 2
        await wait_for(lambda: "⚠" not in screen_text(app))


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


async def test_every_state_has_an_ascii_mark(monkeypatch):
    """Under a non-UTF-8 locale the row needs neither colour nor Unicode: [x]/[ ] for
    ticked, * for unread, > for the cursor."""
    from tui import glyphs

    monkeypatch.setattr(glyphs, "_current", glyphs.ASCII)
    app = ListApp(Source(3))
    async with app.run_test(size=(80, 10)) as pilot:
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        await pilot.press("space")  # ticks the first thread, moves to the second
        lines = screen_text(app).splitlines()
        assert lines[0].startswith(" [x]") and lines[2].startswith(">[ ]")
        assert all(character.isascii() for line in lines for character in line), lines


# ----------------------------------------------------------------- live changes and the hold


async def started(app: ListApp) -> ThreadList:
    thread_list = app.query_one(ThreadList)
    await wait_for(lambda: thread_list.current is not None)
    return thread_list


def changed(index: int, **ticket: object) -> Thread:
    """Thread ``index`` as a live update would bring it, with these ticket fields."""
    thread = make_thread(index)
    return thread.model_copy(update={"ticket": thread.ticket.model_copy(update=ticket)})


def renamed(index: int, name: str) -> Thread:
    thread = make_thread(index)
    return thread.model_copy(update={"contact": thread.contact.model_copy(update={"name": name})})


async def reloaded(thread_list: ThreadList, fetched: int) -> None:
    await wait_for(lambda: thread_list._reload_timer is None and thread_list.fetch_count > fetched)


async def test_an_update_reloads_the_list_only_when_the_order_or_the_view_may_change():
    """What orders or filters a view (last message, status, owner, priority, snooze, read or
    unread) reloads the pages in view, coalesced; anything else redraws the row in place."""
    app = ListApp(Source(10))
    async with app.run_test(size=(80, 24)):
        thread_list = await started(app)
        later = NOW + timedelta(minutes=1)
        order_changes = {
            "a new message": make_thread(1).model_copy(update={"last_message_at": later}),
            "status": changed(1, status=TicketStatus.closed),
            "owner": changed(1, owner_id=7),
            "priority": changed(1, priority=TicketPriority.low),
            "snooze": changed(1, snoozed_until=later),
            "read": make_thread(1).model_copy(update={"unread_count": 0}),
        }
        for what, update in order_changes.items():
            fetched = thread_list.fetch_count
            thread_list.apply_thread(update)
            assert thread_list._reload_timer is not None, what  # a reload, a moment later
            await reloaded(thread_list, fetched)
        # the same place in the order: thread 1 read (unread_count 0), thread 2 unread (1)
        for update in (
            renamed(0, "Renamed"),
            make_thread(1).model_copy(update={"last_message_preview": "still unread"}),
            renamed(2, "Third"),
        ):
            thread_list.apply_thread(update)
            assert thread_list._reload_timer is None, update
        # each row took its own update
        assert [thread_list.thread_at(i).contact.name for i in range(4)] == [
            "Renamed",
            "Customer 1",
            "Third",
            "Customer 3",
        ]
        await wait_for(lambda: "still unread" in screen_text(app))
        # the cursor's row tells the screen of its new thread; another row does not
        assert thread_list.cursor == 0
        await wait_for(lambda: app.highlighted and app.highlighted[-1].contact.name == "Renamed")
        assert all(thread is None or thread.id == 1 for thread in app.highlighted)


async def test_selected_rows_hold_the_order_until_the_last_is_unselected():
    """Updates that would reorder wait while rows are selected, each thread counted once;
    unselecting the last row lets them apply once the cursor has been still a moment."""
    now = [1000.0]
    app = ListApp(Source(10))
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = await started(app)
        thread_list.pages.clock = lambda: now[0]
        thread_list.pages.hold_seconds = 0.2  # real time for the timers; ``now`` decides the hold
        await pilot.press("space", "k", "space")  # selected and unselected: nothing held
        assert thread_list.selected == {} and thread_list.held == 0
        await pilot.press("k", "space")
        assert thread_list.selected == {1: 1} and thread_list.cursor == 1  # thread → ticket
        fetched = thread_list.fetch_count
        thread_list.apply_thread(changed(4, status=TicketStatus.closed))
        thread_list.apply_thread(changed(5, status=TicketStatus.closed))
        thread_list.apply_thread(changed(5, priority=TicketPriority.low))
        assert thread_list.held == 2 and thread_list._reload_timer is None
        await pilot.press("k", "space")  # the last selected row: the cursor's hold remains
        assert thread_list.selected == {} and thread_list.held == 2
        await wait_for(lambda: app.selections == [0, 1, 0, 1, 0] and app.held == [1, 2])
        now[0] += 1  # the cursor has been still long enough
        await wait_for(lambda: thread_list.held == 0 and app.held == [1, 2, 0])
        await reloaded(thread_list, fetched)
        # the order no longer holds: the next update reloads at once
        fetched = thread_list.fetch_count
        thread_list.apply_thread(changed(6, status=TicketStatus.closed))
        assert thread_list.held == 0 and thread_list._reload_timer is not None
        await reloaded(thread_list, fetched)


async def test_the_cursors_hold_lasts_while_it_keeps_moving_and_ends_by_itself_each_time():
    now = [1000.0]
    app = ListApp(Source(10))
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = await started(app)
        thread_list.pages.clock = lambda: now[0]
        thread_list.pages.hold_seconds = 0.2
        for round_ in range(2):  # the second hold arms its timer as the first did
            await pilot.press("j")
            fetched = thread_list.fetch_count
            thread_list.apply_thread(changed(round_ + 4, status=TicketStatus.closed))
            assert thread_list.held == 1
            first = thread_list._hold_timer
            assert first is not None
            # the time is up but the cursor moved meanwhile (``now`` stands still): looked
            # at again later
            await wait_for(lambda first=first: thread_list._hold_timer not in (first, None))
            assert thread_list.held == 1
            now[0] += 1
            await wait_for(lambda: thread_list.held == 0)
            await reloaded(thread_list, fetched)


async def test_while_the_order_holds_only_threads_of_the_view_count_as_updates():
    """A thread the list has not loaded is asked about (is it in this view now?): held only
    if it is; when the order does not hold, it reloads the list (it may be new here)."""
    asked: list[int] = []

    async def member(thread_id: int) -> bool:
        asked.append(thread_id)
        return thread_id == 998

    source = Source(10)
    app = ListApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = await started(app)
        thread_list.set_source(source.fetch, member=member)
        await wait_for(lambda: thread_list.current is not None)
        fetched = thread_list.fetch_count
        thread_list.apply_thread(make_thread(996))  # not loaded, not holding: reload
        assert thread_list._reload_timer is not None and asked == []
        await reloaded(thread_list, fetched)
        await pilot.press("space")
        thread_list.apply_thread(make_thread(996))
        await wait_for(lambda: thread_list.member_checks == 1)
        assert asked == [997] and thread_list.held == 0
        thread_list.apply_thread(make_thread(997))
        await wait_for(lambda: thread_list.member_checks == 2)
        assert asked == [997, 998] and thread_list.held == 1


async def test_a_message_of_the_list_names_it():
    app = ListApp(Source(3))
    async with app.run_test(size=(80, 10)) as pilot:
        thread_list = await started(app)
        await pilot.press("enter")
        await wait_for(lambda: app.opened == [1])
        await pilot.press("space")
        await wait_for(lambda: app.selections == [0, 1])
        assert thread_list.cursor == 1
        await wait_for(lambda: app.highlighted and app.highlighted[-1].id == 2)


async def test_when_the_first_two_pages_fail_their_retries_still_learn_the_length_of_the_list():
    """Page 0 asks for the total: when it and page 1 failed, its retry is the one that
    learns how many threads there are (else the list would end after one page)."""
    source = FailingSource(200, {0: 1, ThreadList.PAGE_SIZE: 1})
    # which retry learns the total is checked, not how long a retry waits (2 x 3 s)
    app = ListApp(source, page_retry_seconds=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None, timeout=10)
        await wait_for(lambda: source.calls.count(ThreadList.PAGE_SIZE) == 2, timeout=10)
        assert thread_list.total == 200
        await pilot.press("G")
        await wait_for(lambda: thread_list.current is not None and thread_list.current.id == 200)


async def test_page_keys_move_a_screenful_or_half_of_one_and_at_least_a_row():
    app = ListApp(Source(100))
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = await started(app)
        rows = thread_list.scrollable_content_region.height // ThreadList.ROW_HEIGHT
        await pilot.press("pagedown")
        assert thread_list.cursor == rows
        await pilot.press("ctrl+u")
        assert thread_list.cursor == rows - rows // 2
        await pilot.press("ctrl+d", "ctrl+d")
        assert thread_list.cursor == rows - rows // 2 + 2 * (rows // 2)
        await pilot.press("pageup")
        assert thread_list.cursor == rows - rows // 2 + 2 * (rows // 2) - rows
    app = ListApp(Source(100))
    async with app.run_test(size=(80, 3)) as pilot:  # room for one row
        thread_list = await started(app)
        await pilot.press("pagedown")
        assert thread_list.cursor == 1
        await pilot.press("ctrl+d")
        assert thread_list.cursor == 2


async def test_a_click_moves_the_cursor_and_a_double_click_opens_the_thread():
    app = ListApp(Source(3))
    async with app.run_test(size=(80, 10)) as pilot:
        thread_list = await started(app)
        row = ThreadList.ROW_HEIGHT
        await pilot.click(ThreadList, offset=(5, 1))  # the cursor's row, once: only kept
        await pilot.click(ThreadList, offset=(5, 2 * row + 1))
        assert thread_list.cursor == 2 and app.opened == []
        await pilot.click(ThreadList, offset=(6, row), times=2)
        await wait_for(lambda: app.opened == [2])
        assert thread_list.cursor == 1
        await pilot.click(ThreadList, offset=(5, 3 * row))  # below the last row
        await pilot.pause()
        assert thread_list.cursor == 1 and app.opened == [2]


async def test_move_to_a_thread_by_its_id():
    app = ListApp(Source(10))
    async with app.run_test(size=(80, 24)):
        thread_list = await started(app)
        assert thread_list.move_to(5) and thread_list.cursor == 4
        assert not thread_list.move_to(999) and thread_list.cursor == 4


async def test_clearing_the_selection_applies_the_updates_it_held():
    app = ListApp(Source(10))
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = await started(app)
        await pilot.press("space", "space")
        fetched = thread_list.fetch_count
        thread_list.apply_thread(changed(6, status=TicketStatus.closed))
        assert thread_list.held == 1
        thread_list.clear_selection()
        assert thread_list.selected == {} and thread_list.held == 0
        await reloaded(thread_list, fetched)
        await wait_for(lambda: app.selections == [0, 1, 2, 0] and app.held == [1, 0])
        thread_list.clear_selection()  # nothing held: nothing to reload
        assert thread_list._reload_timer is None and thread_list.fetch_count == fetched + 1


async def test_a_pushed_count_reloads_once_and_only_when_the_list_is_settled():
    """A count that differs from the list's total reloads it (a thread entered or left the
    view with no event naming it); one that comes while a reload is under way is answered
    by that reload, not by a second one."""
    source = Source(30)
    app = ListApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.total == 30)
        source.gate, source.total = asyncio.Event(), 31
        thread_list.reload()  # a thread event's reload, under way
        await wait_for(lambda: len(source.calls) == 2)
        thread_list.apply_count(31)  # the count pushed after that event
        source.gate.set()
        await wait_for(lambda: thread_list.total == 31)
        await pilot.pause()
        assert thread_list._reload_timer is None and len(source.calls) == 2, source.calls
        source.total = 30  # time passes a thread out of the view: no event, only the count
        thread_list.apply_count(30)
        await wait_for(lambda: thread_list.total == 30)
        assert len(source.calls) == 3, source.calls


async def test_a_page_asked_for_as_the_list_unmounts_leaves_no_coroutine_unawaited():
    """A page asked for just before the list goes (its workers cancelled on unmount, or
    all of them as the app exits) is never fetched: no coroutine may be left made and never
    run ("coroutine ThreadList._load was never awaited")."""
    source = Source(1000)
    app = ListApp(source)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        async with app.run_test():
            thread_list = app.query_one(ThreadList)
            await thread_list.first_loaded.wait()
            thread_list.reload()
            thread_list.workers.cancel_node(thread_list)  # as Widget._on_unmount does
            del thread_list
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
