"""The thread list's rules, apart from its drawing: which pages to fetch and which to keep,
where the cursor may go, when a failed page is fetched again, which live updates reload the
list, and when they wait (the hold).

No Textual here (an import-linter contract says so): the widget
(``tui/widgets/thread_list.py``) asks this model what to do and does it: it runs the
fetches this model hands back (``PageRequest``), arms the timers whose waits it returns,
and draws. The clock is injected (``clock``, monotonic seconds).

While rows are selected, or the cursor moved in the last ``hold_seconds``, an update that may
reorder the list waits: the order holds under the agent's keys, ``held`` names the threads
whose updates wait, and they are applied at once by ``.``, or by themselves once the cursor
has been still for ``hold_seconds`` and nothing is selected.

A page never takes a thread back to an older state than the list has shown: a row that a live
change brought after the page was asked for is newer than the page's (read before that change,
maybe), and is kept when the page lands (``newer``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from backend.schemas import Thread

HOLD_FOREVER = 1e9
TIME_PASSED = 0
"""The held update of no one thread (no thread has id 0): the view's count moved because time
passed a thread into or out of it (a session window), with no event naming the thread."""

RETRY_SECONDS = 3.0  # a page whose fetch failed is fetched again after this
RELOAD_DELAY = 0.3  # a burst of live changes within this is gathered into one reload
MIN_HOLD_WAIT = 0.1  # the hold's timer never rings sooner than this


@dataclass(frozen=True)
class PageRequest:
    """A page to fetch, for the view's generation it was asked in (``with_total``: ask the
    server for the view's length too)."""

    generation: int
    page: int
    with_total: bool


class Update(Enum):
    """What a live change asks of the list."""

    NOTHING = "nothing"  # redrawn in place at most
    RELOAD = "reload"  # reload the pages in view a moment later (``RELOAD_DELAY``)
    HOLD = "hold"  # wait with the held updates (``hold``)
    ASK = "ask"  # a thread the list does not show: held only if it is in the view now


class ThreadPages:
    """The pages of one view the list holds, its cursor's bounds, its reloads and its hold."""

    def __init__(
        self,
        *,
        page_size: int,
        max_pages: int,
        hold_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self.page_size = page_size
        self.max_pages = max_pages
        self.hold_seconds = hold_seconds
        self.clock = clock
        self.total: int | None = None  # threads in the view, once a page said (or implied) it
        self.loaded: OrderedDict[int, list[Thread]] = OrderedDict()  # page → rows, oldest first
        self.stale: dict[int, list[Thread]] = {}  # before a reload: shown until it lands
        self.pending: set[int] = set()  # pages asked for and not in yet
        # page → the live changes taken (``changes``) when it was asked for: those taken
        # after are newer than what it brings
        self.asked_at: dict[int, int] = {}
        self.errors: dict[int, str] = {}  # page → why its fetch failed
        self.generation = 0  # a new view or a reload: what was asked before is void
        self.follow_id: int | None = None  # the cursor's thread, found again after a reload
        # a thread the cursor goes back to once a page brings it (an undone close), until
        # the agent moves the cursor
        self.return_id: int | None = None
        self.selected: dict[int, int] = {}  # thread id → ticket id
        self.held: set[int] = set()  # threads whose update waits
        self.moved_at = -HOLD_FOREVER
        self.asking = 0  # membership checks under way
        self.reload_waiting = False  # a reload is due a moment later
        self.hold_waiting = False  # the hold's timer is armed
        self.changes = 0  # live changes taken (``thread_changed``): orders them and the pages
        # thread id → (its change's number, its row): the newest live row of a thread, while a
        # page asked before it may still bring the thread as it was
        self.newer: dict[int, tuple[int, Thread]] = {}

    # ----------------------------------------------------------------- the view

    def reset(self) -> None:
        """Another view: forget every page, the selection and what was held (the list then
        starts from the top: its first page, with the total)."""
        self.generation += 1
        self.loaded.clear()
        self.stale.clear()
        self.pending.clear()
        self.asked_at.clear()
        self.errors.clear()
        self.selected.clear()
        self.held = set()
        self.total = None
        self.follow_id = None
        self.return_id = None
        self.newer.clear()

    def thread_at(self, index: int) -> Thread | None:
        page, slot = divmod(index, self.page_size)
        rows = self.loaded.get(page)
        if rows is None:
            rows = self.stale.get(page)
        if rows is None or slot >= len(rows):
            return None
        return rows[slot]

    def find(self, thread_id: int) -> int | None:
        """The index of a thread in the pages loaded (not the stale ones)."""
        for page, rows in self.loaded.items():
            for slot, thread in enumerate(rows):
                if thread.id == thread_id:
                    return page * self.page_size + slot
        return None

    def loaded_threads(self) -> list[Thread]:
        return [thread for rows in self.loaded.values() for thread in rows]

    # ----------------------------------------------------------------- the cursor

    def clamp(self, index: int) -> int:
        """The cursor stays on the list (0 when it is empty or its length unknown)."""
        if not self.total:
            return 0
        return max(0, min(index, self.total - 1))

    def last_index(self) -> int:
        return max(0, (self.total or 1) - 1)

    @staticmethod
    def page_step(rows_in_view: int, direction: int, half: bool) -> int:
        """How far a page key moves the cursor: a screenful, or half of one, at least a row."""
        rows = max(1, rows_in_view)
        return direction * (max(1, rows // 2) if half else rows)

    # ----------------------------------------------------------------- paging

    def visible_pages(self, top_row: int, rows_in_view: int) -> tuple[int, int]:
        """The first and last page the view shows, its first row at ``top_row`` (with the
        row a scroll half-shows below)."""
        return top_row // self.page_size, (top_row + rows_in_view + 1) // self.page_size

    def last_page(self) -> int:
        if self.total is None:
            return 0
        return max(0, (self.total - 1) // self.page_size)

    def request(self, page: int, *, with_total: bool = False) -> PageRequest | None:
        """Ask for a page, unless it is on its way or past the end of the list (a request
        with the total may look past it: the list may have grown)."""
        if page < 0 or page in self.pending:
            return None
        if self.total is not None and page > self.last_page() and not with_total:
            return None
        self.pending.add(page)
        self.asked_at[page] = self.changes
        return PageRequest(self.generation, page, with_total)

    def wanted(self, first: int, last: int) -> list[PageRequest]:
        """The pages a paint of pages ``first``…``last`` needs: those, one above, and one
        below once the list knows its length (before the first page is in, that would ask for
        a page that may not exist). A page that failed waits for its retry."""
        ahead = 1 if self.total is not None else 0
        requests = []
        for page in range(max(0, first - 1), last + 1 + ahead):
            if page not in self.loaded and page not in self.errors:
                request = self.request(page, with_total=self.total is None)
                if request is not None:
                    requests.append(request)
        return requests

    def may_fetch(self, request: PageRequest, first: int, last: int) -> bool:
        """A request's turn came (pages ``first``…``last`` in view): fetch it, unless its
        generation is over or the view scrolled away from it (a page with the total is
        always fetched)."""
        if request.generation != self.generation:
            return False
        if not request.with_total and not (first - 1 <= request.page <= last + 1):
            self._not_pending(request.page)  # scrolled away before its turn
            return False
        return True

    def page_in(
        self, page: int, threads: list[Thread], total: int | None
    ) -> list[tuple[int, Update]]:
        """Keep a page (at most ``max_pages``: the least recently landed goes) and learn the
        list's length from it: the total it came with, or, when none is known yet, that the
        list ends with it.

        The server read the page before, or while, the live changes taken after it was asked
        for were committed: a thread such a change brought keeps that row, never the page's
        older one. What the kept rows ask of the list, when they differ from the page's in
        what orders or filters the view (the change may have moved the thread, or out of the
        view): the threads and their update."""
        updates: list[tuple[int, Update]] = []
        asked = self.asked_at.get(page)  # None: a page no request of this list asked for
        if asked is not None and self.newer:
            threads = list(threads)
            for slot, thread in enumerate(threads):
                change = self.newer.get(thread.id)
                if change is None or change[0] <= asked:
                    continue
                threads[slot] = change[1]
                if _reorders(thread, change[1]):
                    updates.append((thread.id, Update.HOLD if self.holding else Update.RELOAD))
        self._not_pending(page)
        self.errors.pop(page, None)
        self.loaded[page] = threads
        self.loaded.move_to_end(page)
        self.stale.pop(page, None)
        while len(self.loaded) > self.max_pages:
            del self.loaded[next(iter(self.loaded))]
        if total is not None:
            self.total = total
            # pages past the end of a shrunken list are gone
            for stale_page in [p for p in self.stale if p > self.last_page()]:
                del self.stale[stale_page]
        elif self.total is None:
            self.total = page * self.page_size + len(threads)
        return updates

    def _not_pending(self, page: int) -> None:
        """A page is no longer on its way: a live row newer than no page still on its way is
        forgotten."""
        self.pending.discard(page)
        self.asked_at.pop(page, None)
        oldest = min(self.asked_at.values(), default=self.changes)
        self.newer = {key: value for key, value in self.newer.items() if value[0] > oldest}

    def failed(self, request: PageRequest, message: str) -> bool:
        """A page's fetch failed: shown as failed and retried after ``RETRY_SECONDS``
        (True), unless its generation is over."""
        if request.generation != self.generation:
            return False
        self._not_pending(request.page)
        self.errors[request.page] = message
        return True

    def retry(self, request: PageRequest) -> PageRequest | None:
        """The retry of a failed request, unless its generation is over or the page came
        in meanwhile. Page 0's retry asks for the total: it is the one that learns it."""
        if request.generation != self.generation or request.page in self.loaded:
            return None
        return self.request(request.page, with_total=request.page == 0)

    def after_page(self, page: int, threads: list[Thread], cursor: int) -> int:
        """Where the cursor goes once a page is in: onto the thread it is to go back to, or
        else the one it was on before the reload, if this page has it; and back onto a
        list that shrank under it."""
        for slot, thread in enumerate(threads):
            if thread.id == self.return_id:
                self.return_id = self.follow_id = None
                cursor = page * self.page_size + slot
                break
            if thread.id == self.follow_id:
                self.follow_id = None
                cursor = page * self.page_size + slot
        if self.total is not None and cursor >= self.total:
            cursor = max(0, self.total - 1)
        return cursor

    # ----------------------------------------------------------------- reloads

    def reload_later(self) -> bool:
        """A reload is wanted a moment later: True when its timer is to be armed (one for a
        burst of changes)."""
        if self.reload_waiting:
            return False
        self.reload_waiting = True
        return True

    def reload_due(self) -> None:
        """The reload's moment came, or a reload now answered it."""
        self.reload_waiting = False

    def reload(self, cursor: int, first: int, last: int) -> list[PageRequest]:
        """Refetch pages ``first``…``last`` (in view) and page 0 (for the total): the old
        pages stay on screen (stale) until the new ones land, also through a reload that
        comes before they do, and the cursor follows its thread."""
        current = self.thread_at(cursor)
        if current is not None:
            self.follow_id = current.id
        self.generation += 1
        # a page an earlier reload still waits for keeps its old rows on screen
        awaited = {page: rows for page, rows in self.stale.items() if page in self.pending}
        self.stale = awaited | self.loaded
        self.loaded.clear()
        self.pending.clear()
        self.asked_at.clear()
        self.newer.clear()  # what is asked now is newer than every change taken
        self.errors.clear()
        requests = [self.request(page, with_total=page == first) for page in range(first, last + 1)]
        if first != 0:
            requests.append(self.request(0, with_total=True))
        return [request for request in requests if request is not None]

    @property
    def settled(self) -> bool:
        """No reload waits or is under way, and no thread's membership is being asked: a
        count pushed after an event was sent after it, so that event's work comes first."""
        return not self.reload_waiting and not self.pending and not self.asking

    # ----------------------------------------------------------------- live updates

    def thread_changed(self, thread: Thread) -> tuple[int | None, Update]:
        """A live ``thread.updated``: its row takes it (its index, None when the list does
        not show it); what orders or filters a view (last message, status, owner, priority,
        snooze, read or unread) reloads the list, or holds.

        A page on its way (asked before this change) keeps this row when it lands, and the
        row a reload keeps on screen until its pages land takes it too."""
        self.changes += 1
        if self.pending:
            self.newer[thread.id] = (self.changes, thread)
        index = self.find(thread.id)
        if index is None:
            # maybe new in this view
            return self._restale(thread), (Update.ASK if self.holding else Update.RELOAD)
        page, slot = divmod(index, self.page_size)
        old = self.loaded[page][slot]
        self.loaded[page][slot] = thread
        if _reorders(old, thread):
            return index, (Update.HOLD if self.holding else Update.RELOAD)
        return index, Update.NOTHING

    def _restale(self, thread: Thread) -> int | None:
        """A row shown until a reload's page lands (``stale``) takes a live change: its index
        (to redraw), None when no such row is the thread's."""
        for page, rows in self.stale.items():
            for slot, row in enumerate(rows):
                if row.id == thread.id:
                    rows[slot] = thread
                    return page * self.page_size + slot
        return None

    def count_changed(self, count: int) -> Update:
        """The server counted ``count`` threads in this view. Unlike the list's total: a thread
        entered or left it with no event naming it (time passing its session into or out
        of a window), so reload, or hold (as ``TIME_PASSED``) while the order holds."""
        if self.total is None or count == self.total or not self.settled:
            return Update.NOTHING  # (what is on its way answers for the count too)
        if not self.holding:
            return Update.RELOAD
        if not self.held:
            return Update.HOLD
        return Update.NOTHING  # a held update's reload brings this one too

    def asking_begins(self) -> None:
        """The server is asked whether a thread the list does not show is in the view."""
        self.asking += 1

    def asking_ends(self) -> None:
        """It answered (or could not)."""
        self.asking -= 1

    def membership(self, generation: int, belongs: bool) -> Update:
        """The answer to whether a thread the list does not show is in the view (asked in
        ``generation``): held if it is, or reloaded if the hold ended meanwhile."""
        if not belongs or generation != self.generation:
            return Update.NOTHING
        return Update.HOLD if self.holding else Update.RELOAD

    # ----------------------------------------------------------------- the hold

    @property
    def holding(self) -> bool:
        """The order holds: rows are selected, or the cursor moved a moment ago."""
        return bool(self.selected) or (self.clock() - self.moved_at < self.hold_seconds)

    def moved(self) -> None:
        """The agent moved the cursor."""
        self.moved_at = self.clock()
        self.return_id = None

    def hold(self, thread_id: int) -> float | None:
        """A thread's update waits. The wait before the hold's timer looks again, when one is
        to be armed (none while rows are selected: only they end that hold)."""
        self.held = self.held | {thread_id}
        if not self.selected and not self.hold_waiting:
            self.hold_waiting = True
            return self._hold_left()
        return None

    def _hold_left(self) -> float:
        return max(MIN_HOLD_WAIT, self.hold_seconds - (self.clock() - self.moved_at))

    def hold_ended(self) -> float | None:
        """The hold's timer rang: the wait before it looks again while the cursor's hold
        lasts (it moved meanwhile), or None (then ``hold_over`` says whether what was held
        applies now)."""
        self.hold_waiting = False
        if not self.held or self.selected or not self.holding:
            return None
        self.hold_waiting = True
        return self._hold_left()

    @property
    def hold_over(self) -> bool:
        """Updates wait and the order no longer holds: they apply now."""
        return bool(self.held) and not self.holding

    def release(self) -> None:
        """``.``: what was held applies now (the list reloads), and the cursor's hold ends."""
        self.held = set()
        self.moved_at = -HOLD_FOREVER

    def toggle(self, thread: Thread) -> float | None:
        """Select or unselect a thread (the cursor then moves on: a move). Unselecting the
        last row leaves the held updates to the cursor's hold: the wait of its timer, when
        one is to be armed."""
        if thread.id in self.selected:
            del self.selected[thread.id]
        else:
            self.selected[thread.id] = thread.ticket.id
        self.moved()
        if not self.selected and self.held:
            return self.hold(next(iter(self.held)))
        return None

    def clear_selection(self) -> bool:
        """Every row unselected: True when held updates are to apply now (``release``)."""
        self.selected.clear()
        return bool(self.held)


def _reorders(old: Thread, new: Thread) -> bool:
    """The change from ``old`` to ``new`` may move the thread in a view, or into or out of
    one: its last message, status, owner, priority, snooze, read or unread."""
    return (
        old.last_message_at != new.last_message_at
        or old.ticket.status != new.ticket.status
        or old.ticket.owner_id != new.ticket.owner_id
        or old.ticket.priority != new.ticket.priority
        or old.ticket.snoozed_until != new.ticket.snoozed_until
        or (old.unread_count > 0) != (new.unread_count > 0)
    )
