"""The thread list: a virtual, fixed-row-height ``ScrollView`` that holds only pages near the
viewport.

It never holds every thread. ``render_lines`` works out which pages the viewport (plus one
page above and below) needs and asks for the missing ones in workers; ``render_line`` draws
a placeholder for a row whose page has not landed; when a page lands only its rows are
redrawn (``refresh_lines``). Live changes update a cached row in place or, when the order
may have changed, reload the pages in view while the old ones stay on screen.

While rows are selected, or the cursor moved in the last ``HOLD_SECONDS``, such reloads
wait: the order holds under the agent's keys, ``held`` counts the waiting updates, ``.``
(``refresh``) applies them.

The rules (which pages to fetch and keep, the cursor's bounds, retries, reloads, the hold)
are ``tui/thread_pages.py``'s ``ThreadPages`` (``pages``), which knows nothing of Textual:
this widget draws, takes the keys and the mouse, and runs the fetches and timers it asks for.
(The habit of Textualize/toolong ``src/toolong/log_lines.py``.)
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from backend.schemas import ChannelType, Direction, Thread, TicketPriority, TicketStatus
from tui.client import ApiError
from tui.glyphs import Glyphs, glyphs
from tui.text import age, countdown, cut, one_line
from tui.thread_pages import (
    RELOAD_DELAY,
    RETRY_SECONDS,
    TIME_PASSED,
    PageRequest,
    ThreadPages,
    Update,
)

#: ``fetch(offset, limit, with_total) → (threads, total or None)``
PageFetcher = Callable[[int, int, bool], Awaitable[tuple[list[Thread], int | None]]]
MemberCheck = Callable[[int], Awaitable[bool]]  # is this thread in the view now?

STATUS_SHORT = {
    TicketStatus.new: "new",
    TicketStatus.waiting_on_us: "on us",
    TicketStatus.waiting_on_contact: "on them",
    TicketStatus.closed: "closed",
}
PRIORITY_MARK = {
    TicketPriority.urgent: "!!",
    TicketPriority.high: "! ",
    TicketPriority.medium: "  ",
    TicketPriority.low: "  ",
}

_ROW_STYLES = ("cursor", "unread", "dim", "selected", "placeholder", "urgent", "expired")


@dataclass(frozen=True)
class _Look:
    """What every line of one paint shares, worked out once per paint rather than per line."""

    width: int
    top: int
    base: Style
    styles: dict[str, Style]
    key: tuple[Style, ...]
    now: datetime
    current_id: int | None
    glyphs: Glyphs


class ThreadList(ScrollView, can_focus=True):
    """Threads of one view, newest first, for any number of threads."""

    ROW_HEIGHT = 2
    PAGE_SIZE = 50
    MAX_PAGES = 40
    HOLD_SECONDS = 3.0
    PAGE_RETRY_SECONDS = RETRY_SECONDS  # a page whose fetch failed is fetched again after this
    LINE_CACHE = 600  # drawn lines kept (a dozen screens of rows)

    BINDINGS = [
        Binding("j,down", "cursor(1)", "Down", show=False, id="list.down", tooltip="Next thread"),
        Binding("k,up", "cursor(-1)", "Up", show=False, id="list.up", tooltip="Previous thread"),
        Binding("g,home", "first", "Top", show=False, id="list.top", tooltip="First thread"),
        Binding("G,end", "last", "Bottom", show=False, id="list.bottom", tooltip="Last thread"),
        Binding(
            "pagedown,ctrl+f",
            "page(1)",
            "Page down",
            show=False,
            id="list.page_down",
            tooltip="A screenful down",
        ),
        Binding(
            "pageup,ctrl+b",
            "page(-1)",
            "Page up",
            show=False,
            id="list.page_up",
            tooltip="A screenful up",
        ),
        Binding(
            "ctrl+d",
            "page(1, True)",
            "Half page down",
            show=False,
            id="list.half_down",
            tooltip="Half a screenful down",
        ),
        Binding(
            "ctrl+u",
            "page(-1, True)",
            "Half page up",
            show=False,
            id="list.half_up",
            tooltip="Half a screenful up",
        ),
        Binding(
            "enter", "open", "Open", id="list.open", tooltip="Open the thread under the cursor"
        ),
        Binding(
            "space",
            "toggle_select",
            "Select",
            id="list.select",
            tooltip="Select or unselect the thread for bulk actions",
        ),
        Binding(
            "full_stop",
            "refresh",
            "Refresh",
            id="list.refresh",
            tooltip="Apply the updates held while selecting (the list reorders)",
        ),
    ]

    COMPONENT_CLASSES = {
        "thread-list--cursor",
        "thread-list--unread",
        "thread-list--dim",
        "thread-list--selected",
        "thread-list--placeholder",
        "thread-list--urgent",
        "thread-list--expired",
    }

    DEFAULT_CSS = """
    ThreadList {
        background: $surface;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        & > .thread-list--cursor { background: $block-cursor-blurred-background; }
        &:focus > .thread-list--cursor {
            background: $block-cursor-background; color: $block-cursor-foreground;
            text-style: bold;
        }
        & > .thread-list--unread { text-style: bold; }
        & > .thread-list--dim { color: $text-muted; }
        & > .thread-list--selected { color: $text-accent; text-style: bold; }
        & > .thread-list--placeholder { color: $text-disabled; }
        & > .thread-list--urgent { color: $text-error; text-style: bold; }
        & > .thread-list--expired { color: $text-warning; }
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)
    _row_styles: tuple[Style, dict[str, Style], tuple[Style, ...], tuple[object, ...]] | None = None

    @dataclass
    class Opened(Message):
        """Enter on a thread."""

        thread_list: ThreadList
        thread: Thread

        @property
        def control(self) -> ThreadList:
            return self.thread_list

    @dataclass
    class Highlighted(Message):
        """The cursor moved onto a (loaded) thread."""

        thread_list: ThreadList
        thread: Thread | None

        @property
        def control(self) -> ThreadList:
            return self.thread_list

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ThreadList.Highlighted)

    @dataclass
    class HeldChanged(Message):
        """How many updates wait for ``.`` (0: none, the list is current)."""

        thread_list: ThreadList
        count: int

        @property
        def control(self) -> ThreadList:
            return self.thread_list

    @dataclass
    class SelectionChanged(Message):
        thread_list: ThreadList
        count: int

        @property
        def control(self) -> ThreadList:
            return self.thread_list

    def __init__(
        self,
        fetch: PageFetcher | None = None,
        *,
        owner_names: Callable[[int | None], str] | None = None,
        name: str | None = None,
        id: str | None = None,  # noqa: A002
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._fetch = fetch
        self.owner_names = owner_names or (
            lambda owner_id: "" if owner_id is None else f"#{owner_id}"
        )
        self.pages = ThreadPages(
            page_size=self.PAGE_SIZE,
            max_pages=self.MAX_PAGES,
            hold_seconds=self.HOLD_SECONDS,
            clock=time.monotonic,
        )
        self._semaphore = asyncio.Semaphore(3)
        self.drafts: frozenset[int] = frozenset()  # threads the agent left a draft in
        self.first_loaded = asyncio.Event()  # set once a first page (or why not) is in
        self._reload_timer: Timer | None = None
        self.fetch_count = 0  # for tests and the benchmark
        self.rows_drawn = 0  # row lines drawn (not taken from ``_lines``): for tests
        self._lines: OrderedDict[
            tuple[int, int, bool], tuple[Thread, tuple[object, ...], Strip]
        ] = OrderedDict()
        self._look: _Look | None = None
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._held_told = 0  # the count the last ``HeldChanged`` told
        self._member: MemberCheck | None = None
        self.member_checks = 0  # for tests
        self._hold_timer: Timer | None = None
        # mutt's arrow_cursor: the cursor is only the marker in the first column, so a
        # move rewrites two cells instead of two highlighted rows (slow links)
        self.arrow_cursor = False

    def on_mount(self) -> None:
        self.arrow_cursor = bool(getattr(self.app, "arrow_cursor", False))

    # ----------------------------------------------------------------- source

    def set_source(
        self,
        fetch: PageFetcher,
        *,
        member: MemberCheck | None = None,
        first_page: tuple[list[Thread], int | None] | None = None,
    ) -> None:
        """Show another view: forget every page and start from the top. ``member`` tells
        whether a thread the list does not show is in the view (while the order holds, only
        those count as updates waiting). ``first_page`` (its threads and the total), when
        already fetched, is shown in the very next frame instead of being asked for."""
        self._fetch = fetch
        self._member = member
        self.pages.reset()
        self._tell_held()
        self.cursor = 0
        self.scroll_to(y=0, animate=False, immediate=True)
        self.virtual_size = Size(self.scrollable_content_region.width, 0)
        if first_page is None:
            self._request(0, with_total=True)
        else:
            self._page_in(0, *first_page)
        self.post_message(self.SelectionChanged(self, 0))
        self.refresh()

    @property
    def total(self) -> int | None:
        """Threads in the view (None until a page tells)."""
        return self.pages.total

    def set_drafts(self, thread_ids: frozenset[int]) -> None:
        """The threads to mark "draft" (the rows whose mark changed are drawn again)."""
        if thread_ids != self.drafts:
            self.drafts = thread_ids
            self.refresh()

    @property
    def selected(self) -> dict[int, int]:
        """The threads selected for bulk actions: thread id → ticket id."""
        return self.pages.selected

    @property
    def load_failed(self) -> bool:
        """Some page could not be fetched (it is retried, or reloaded)."""
        return bool(self.pages.errors)

    @property
    def held(self) -> int:
        return len(self.pages.held)

    def _tell_held(self) -> None:
        count = len(self.pages.held)
        if count != self._held_told:
            self._held_told = count
            self.post_message(self.HeldChanged(self, count))

    def _do(self, update: Update, thread_id: int) -> None:
        """What the rules ask of a live change to a thread (or of time passing)."""
        if update is Update.RELOAD:
            self.reload(delay=RELOAD_DELAY)
        elif update is Update.HOLD:
            self._hold(thread_id)
        elif update is Update.ASK:
            self._hold_if_member(thread_id)

    def _hold(self, thread_id: int) -> None:
        wait = self.pages.hold(thread_id)
        self._tell_held()
        if wait is not None:
            self._hold_timer = self.set_timer(wait, self._hold_ended)

    def _hold_if_member(self, thread_id: int) -> None:
        """A thread the list does not show changed: an update of this view only if the
        thread is in it now (asked of the server; held when it cannot tell)."""
        member, generation = self._member, self.pages.generation
        if member is None:
            self._hold(thread_id)
            return

        async def check() -> None:
            self.pages.asking_begins()
            try:
                belongs = await member(thread_id)
            except ApiError:
                belongs = True
            finally:
                self.pages.asking_ends()
            self._do(self.pages.membership(generation, belongs), thread_id)
            self.member_checks += 1

        self.run_worker(check, group="thread-members", exit_on_error=False)

    def _hold_ended(self) -> None:
        self._hold_timer = None
        wait = self.pages.hold_ended()
        if wait is not None:
            self._hold_timer = self.set_timer(wait, self._hold_ended)
        elif self.pages.hold_over:
            self.action_refresh()

    def action_refresh(self) -> None:
        """``.``: apply the held updates now."""
        self.pages.release()
        self._tell_held()
        self.reload()

    def reload(self, delay: float = 0.0) -> None:
        """Refetch the pages in view (keeping the old ones on screen until they land)."""
        if self._fetch is None:
            return
        if delay:
            if self.pages.reload_later():  # coalesce a burst of live changes into one reload
                self._reload_timer = self.set_timer(delay, self._do_reload)
            return
        self._do_reload()

    def _do_reload(self) -> None:
        if self._reload_timer is not None:
            self._reload_timer.stop()
        self._reload_timer = None
        self.pages.reload_due()
        if not self.is_attached:
            return
        first, last = self._visible_pages()
        for request in self.pages.reload(self.cursor, first, last):
            self._start(request)

    # ----------------------------------------------------------------- data access

    def thread_at(self, index: int) -> Thread | None:
        return self.pages.thread_at(index)

    @property
    def current(self) -> Thread | None:
        return self.thread_at(self.cursor)

    def loaded_threads(self) -> list[Thread]:
        return self.pages.loaded_threads()

    def find(self, thread_id: int) -> int | None:
        return self.pages.find(thread_id)

    def apply_count(self, count: int) -> None:
        """The server counted ``count`` threads in this view. Unlike the list's total: a thread
        entered or left it with no event naming it (time passing its session into or out
        of a window), so reload, or hold while the order holds."""
        self._do(self.pages.count_changed(count), TIME_PASSED)

    def apply_thread(self, thread: Thread) -> None:
        """A live ``thread.updated``: redraw the row, or reload if the order may change."""
        index, update = self.pages.thread_changed(thread)
        if index is not None:
            self.refresh_lines(index * self.ROW_HEIGHT, self.ROW_HEIGHT)
            if index == self.cursor:
                self.post_message(self.Highlighted(self, thread))
        self._do(update, thread.id)

    # ----------------------------------------------------------------- paging

    def _visible_pages(self) -> tuple[int, int]:
        return self.pages.visible_pages(
            int(self.scroll_offset.y) // self.ROW_HEIGHT,
            self.scrollable_content_region.height // self.ROW_HEIGHT,
        )

    def _request(self, page: int, *, with_total: bool = False) -> None:
        if self._fetch is None:
            return
        request = self.pages.request(page, with_total=with_total)
        if request is not None:
            self._start(request)

    def _start(self, request: PageRequest) -> None:
        # the work, not a coroutine made now: a worker cancelled before it starts (the list
        # unmounting, the app exiting) would leave that coroutine never awaited
        self.run_worker(partial(self._load, request), group="thread-pages", exit_on_error=False)

    async def _load(self, request: PageRequest) -> None:
        fetch = self._fetch
        assert fetch is not None
        async with self._semaphore:
            if not self.pages.may_fetch(request, *self._visible_pages()):
                return
            self.fetch_count += 1
            try:
                threads, total = await fetch(
                    request.page * self.PAGE_SIZE, self.PAGE_SIZE, request.with_total
                )
            except ApiError as exc:
                if self.pages.failed(request, exc.message):
                    self.refresh()
                    self.set_timer(self.PAGE_RETRY_SECONDS, partial(self._retry, request))
                    self.first_loaded.set()
                return
        if request.generation == self.pages.generation:
            self._page_in(request.page, threads, total)

    def _page_in(self, page: int, threads: list[Thread], total: int | None) -> None:
        known = self.pages.total
        # a row a live change brought after the page was asked for is kept (the page may be
        # older): the list reloads, or holds, when that change may move the thread
        kept = self.pages.page_in(page, threads, total)
        if total is not None or known is None:
            self._set_total(known)
        self._after_page(page, threads)
        self.first_loaded.set()
        for thread_id, update in kept:
            self._do(update, thread_id)

    def _retry(self, request: PageRequest) -> None:
        again = self.pages.retry(request)
        if again is not None:
            self._start(again)

    def _after_page(self, page: int, threads: list[Thread]) -> None:
        cursor = self.pages.after_page(page, threads, self.cursor)
        if cursor != self.cursor:
            self.cursor = cursor
        start = page * self.PAGE_SIZE
        self.refresh_lines(start * self.ROW_HEIGHT, self.PAGE_SIZE * self.ROW_HEIGHT)
        if start <= self.cursor < start + self.PAGE_SIZE:
            self.post_message(self.Highlighted(self, self.current))

    def _set_total(self, before: int | None) -> None:
        """The list's length is known anew (``before``: what it was)."""
        total = self.pages.total or 0
        width = self.scrollable_content_region.width or self.size.width
        self.virtual_size = Size(width, total * self.ROW_HEIGHT)
        if self.pages.total != before:
            self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(
            self.scrollable_content_region.width, (self.total or 0) * self.ROW_HEIGHT
        )

    # ----------------------------------------------------------------- rendering

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._fetch is not None:
            for request in self.pages.wanted(*self._visible_pages()):
                self._start(request)
        self._look = self._make_look()
        try:
            return super().render_lines(crop)
        finally:
            self._look = None

    def notify_style_update(self) -> None:
        self._row_styles = None  # the theme, CSS or focus changed
        super().notify_style_update()

    def _make_look(self) -> _Look:
        # Textual forgets a widget's component styles at every refresh (every cursor move);
        # they change only with the CSS, the theme or the focus: ``notify_style_update``,
        # or new component style objects (a restyle may skip the notification)
        sources = tuple(self._component_styles.values())
        cached = self._row_styles
        if (
            cached is None
            or len(cached[3]) != len(sources)
            or any(old is not new for old, new in zip(cached[3], sources, strict=True))
        ):
            styles = {name: self._cs(name) for name in _ROW_STYLES}
            cached = self._row_styles = (self.rich_style, styles, tuple(styles.values()), sources)
        base, styles, key, _ = cached
        return _Look(
            width=self.scrollable_content_region.width,
            top=int(self.scroll_offset.y),
            base=base,
            styles=styles,
            key=key,
            now=self.now(),
            current_id=getattr(self.current, "id", None),
            glyphs=glyphs(),
        )

    def render_line(self, y: int) -> Strip:
        look = self._look or self._make_look()
        width, base, styles = look.width, look.base, look.styles
        index, sub = divmod(look.top + y, self.ROW_HEIGHT)
        if self.total is None or index >= self.total:
            if index == 0 and sub == 0 and self.total == 0:
                return self._strip(
                    Text("  No threads in this view.", style=styles["dim"]), width, base
                )
            if index == 0 and sub == 0 and self.total is None:
                return self._strip(
                    Text(f"  Loading{glyphs().ellipsis}", style=styles["placeholder"]), width, base
                )
            return Strip.blank(width, base)
        thread = self.thread_at(index)
        style = base
        if index == self.cursor and not self.arrow_cursor:
            style = base + styles["cursor"]
        if thread is None:
            page = index // self.PAGE_SIZE
            if sub == 0:
                error = self.pages.errors.get(page)
                mark = look.glyphs
                label = f"  {mark.warning} {error}" if error else f"  {mark.loading}"
                return self._strip(Text(label, style=styles["placeholder"]), width, style)
            return Strip.blank(width, style)
        # a row's line is drawn again only when something it shows changed: scrolling by
        # one row (every j/k at the edge of the view) then draws one new row, not the screen
        shown: tuple[object, ...] = (
            width,
            style,
            look.key,
            look.glyphs,
            thread.id in self.selected,
            thread.id in self.drafts,
            thread.id == look.current_id,
            self.arrow_cursor,
        )
        if sub == 0:
            ticket = thread.ticket
            shown += (
                self.owner_names(ticket.owner_id),
                countdown(thread.session_expires_at, look.now),
                age(thread.last_message_at, look.now),
            )
        key = (thread.id, sub, index == self.cursor)  # with and without the cursor on it
        cached = self._lines.get(key)
        if cached is not None and cached[0] is thread and cached[1] == shown:
            self._lines.move_to_end(key)
            return cached[2]
        self.rows_drawn += 1
        strip = self._strip(self._row_text(thread, sub, look), width, style)
        self._lines[key] = (thread, shown, strip)
        if len(self._lines) > self.LINE_CACHE:
            self._lines.popitem(last=False)
        return strip

    def _cs(self, name: str) -> Style:
        return self.get_component_rich_style(f"thread-list--{name}", partial=True)

    def _strip(self, text: Text, width: int, style: Style) -> Strip:
        text.no_wrap = True
        text.overflow = "ellipsis"
        text.truncate(width, overflow="ellipsis", pad=True)
        segments = [
            Segment(segment.text, style + segment.style if segment.style else style)
            for segment in text.render(self.app.console)
            if segment.text != "\n"
        ]
        return Strip(segments, width).crop_extend(0, width, style)

    def _row_text(self, thread: Thread, sub: int, look: _Look) -> Text:
        ticket = thread.ticket
        unread = thread.unread_count > 0
        selected = thread.id in self.selected
        styles = look.styles
        dim = styles["dim"]
        mark = look.glyphs
        if sub == 0:
            row = Text()
            at_cursor = thread.id == look.current_id
            marker = styles["cursor"] if at_cursor and self.arrow_cursor else None
            row.append(mark.cursor if at_cursor else " ", marker)
            row.append(mark.ticked if selected else mark.unticked, styles["selected"])
            row.append(mark.unread if unread else " ", styles["unread"])
            by_email = thread.channel_type == ChannelType.email
            row.append(" E " if by_email else " W ", dim)
            name = one_line(thread.contact.name, styles["unread"] if unread else "")
            if thread.group_id:
                name = Text(f"{mark.group} ", end="").append_text(name)  # a WhatsApp group's thread
            owner = self.owner_names(ticket.owner_id) or mark.nobody
            now = look.now
            left = countdown(thread.session_expires_at, now)
            # an e-mail thread has no 24-hour window to run out
            session = "" if by_email else f"{mark.session}{left.split()[0] if left else 'exp'}"
            right = Text()
            right.append(PRIORITY_MARK.get(ticket.priority, "  "), styles["urgent"])
            right.append(f"{session:>6} ", styles["expired"] if left is None else dim)
            right.append(f"{cut(owner, 10):>10} ", dim)
            right.append(f"{age(thread.last_message_at, now):>4}", dim)
            room = max(4, look.width - len(row) - len(right) - 1)
            name.truncate(room, overflow="ellipsis", pad=True)
            row.append_text(name)
            row.append(" ")
            row.append_text(right)
            return row
        row = Text("      ")
        status = ticket.status
        row.append(f"{STATUS_SHORT.get(status, status.value):<7} ", dim)
        if thread.id in self.drafts:  # what the agent left unsent here
            row.append("(draft) ", styles["urgent"])
        if thread.last_message_direction == Direction.outbound:
            row.append(f"{mark.replied} ", dim)
        preview = one_line(thread.last_message_preview or thread.ticket.subject, dim)
        row.append_text(preview)
        return row

    # ----------------------------------------------------------------- cursor and actions

    def watch_cursor(self, old: int, new: int) -> None:
        for index in (old, new):
            self.refresh_lines(index * self.ROW_HEIGHT, self.ROW_HEIGHT)
        self._scroll_cursor_into_view()
        self.post_message(self.Highlighted(self, self.current))

    def validate_cursor(self, value: int) -> int:
        return self.pages.clamp(value)

    def _scroll_cursor_into_view(self) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        top = self.cursor * self.ROW_HEIGHT
        bottom = top + self.ROW_HEIGHT
        y = self.scroll_offset.y
        if top < y:
            self.scroll_to(y=top, animate=False, immediate=True)
        elif bottom > y + height:
            self.scroll_to(y=bottom - height, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.pages.moved()
        self.cursor += delta

    def action_first(self) -> None:
        self.pages.moved()
        self.cursor = 0

    def action_last(self) -> None:
        self.pages.moved()
        self.cursor = self.pages.last_index()

    def action_page(self, direction: int, half: bool = False) -> None:
        self.pages.moved()
        rows = self.scrollable_content_region.height // self.ROW_HEIGHT
        self.cursor += self.pages.page_step(rows, direction, half)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "refresh":
            return bool(self.pages.held)
        return True

    def action_open(self) -> None:
        thread = self.current
        if thread is not None:
            self.post_message(self.Opened(self, thread))

    def action_toggle_select(self) -> None:
        thread = self.current
        if thread is None:
            return
        wait = self.pages.toggle(thread)
        self.refresh_lines(self.cursor * self.ROW_HEIGHT, self.ROW_HEIGHT)
        self.post_message(self.SelectionChanged(self, len(self.selected)))
        self.cursor += 1
        if wait is not None:  # the hold now ends with the cursor's
            self._hold_timer = self.set_timer(wait, self._hold_ended)

    def clear_selection(self) -> None:
        apply_held = self.pages.clear_selection()
        self.refresh()
        self.post_message(self.SelectionChanged(self, 0))
        if apply_held:
            self.action_refresh()

    def move_to(self, thread_id: int) -> bool:
        index = self.find(thread_id)
        if index is None:
            return False
        self.cursor = index
        return True

    def return_to(self, thread_id: int) -> None:
        """The cursor back on a thread that comes back into the view (an undone close): at
        once if the list shows it, else when a reload brings it (unless the agent moved
        on meanwhile)."""
        if not self.move_to(thread_id):
            self.pages.return_id = thread_id
            self.reload()

    def on_click(self, event: events.Click) -> None:
        line = int(self.scroll_offset.y) + event.y
        index = line // self.ROW_HEIGHT
        if self.total and index < self.total:
            if index == self.cursor and event.chain >= 2:
                self.action_open()
            self.cursor = index
