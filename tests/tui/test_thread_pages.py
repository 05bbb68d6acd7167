"""The thread list's rules on their own (``tui/thread_pages.py``), without Textual: which pages
are fetched and kept, the cursor's bounds, the retry of a failed page, reloads, which live
updates reload, and the hold. The widget that runs them is tested with a pilot in
``test_thread_list.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.schemas import Thread, TicketPriority, TicketStatus
from tui.thread_pages import (
    MIN_HOLD_WAIT,
    TIME_PASSED,
    PageRequest,
    ThreadPages,
    Update,
)

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
PAGE = 10


class Clock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def thread(thread_id: int, *, unread: int = 1, **ticket: object) -> Thread:
    at = NOW - timedelta(minutes=thread_id)
    made = Thread.model_validate(
        {
            "id": thread_id,
            "contact": {"id": thread_id, "name": f"Customer {thread_id}"},
            "ticket": {
                "id": 1000 + thread_id,
                "subject": f"Subject {thread_id}",
                "status": "waiting_on_us",
                "priority": "medium",
                "created_at": at,
                "updated_at": at,
            },
            "last_message_at": at,
            "unread_count": unread,
            "session_expires_at": at + timedelta(hours=24),
            "created_at": at,
        }
    )
    return made.model_copy(update={"ticket": made.ticket.model_copy(update=ticket)})


def rows(page: int, count: int = PAGE, first_id: int = 1) -> list[Thread]:
    """Page ``page``'s rows of a list whose thread at index i has id ``first_id + i``."""
    start = page * PAGE + first_id
    return [thread(i) for i in range(start, start + count)]


def model(clock: Clock | None = None, *, max_pages: int = 4) -> ThreadPages:
    return ThreadPages(
        page_size=PAGE, max_pages=max_pages, hold_seconds=3.0, clock=clock or Clock()
    )


def with_pages(total: int, *pages: int, clock: Clock | None = None) -> ThreadPages:
    """A list of ``total`` threads (ids 1…) with these pages in."""
    made = model(clock)
    for page in pages:
        count = max(0, min(PAGE, total - page * PAGE))
        made.page_in(page, rows(page, count), total)
    return made


# ----------------------------------------------------------------- the cursor


def test_the_cursor_stays_on_the_list():
    pages = model()
    assert [pages.clamp(i) for i in (-1, 0, 5)] == [0, 0, 0]  # length not known yet
    pages.total = 0
    assert [pages.clamp(i) for i in (-1, 0, 5)] == [0, 0, 0]
    pages.total = 10
    assert [pages.clamp(i) for i in (-3, 0, 4, 9, 10, 500)] == [0, 0, 4, 9, 9, 9]
    pages.total = 1
    assert [pages.clamp(i) for i in (-1, 0, 1)] == [0, 0, 0]


def test_the_last_row():
    pages = model()
    assert pages.last_index() == 0
    for total, last in ((0, 0), (1, 0), (2, 1), (120, 119)):
        pages.total = total
        assert pages.last_index() == last


def test_page_keys_move_a_screenful_or_half_and_at_least_a_row():
    step = ThreadPages.page_step
    assert [step(11, 1, False), step(11, -1, False)] == [11, -11]
    assert [step(11, 1, True), step(10, 1, True), step(11, -1, True)] == [5, 5, -5]
    assert [step(3, 1, True), step(3, -1, True)] == [1, -1]
    assert [step(1, 1, False), step(1, 1, True), step(1, -1, True)] == [1, 1, -1]
    assert [step(0, 1, False), step(0, -1, False), step(0, 1, True)] == [1, -1, 1]


# ----------------------------------------------------------------- paging


def test_the_pages_in_view_include_the_row_half_shown_below():
    pages = model()
    assert pages.visible_pages(0, 5) == (0, 0)
    assert pages.visible_pages(3, 5) == (0, 0)  # rows 3…9
    assert pages.visible_pages(4, 5) == (0, 1)  # rows 4…10
    assert pages.visible_pages(9, 0) == (0, 1)
    assert pages.visible_pages(8, 0) == (0, 0)
    assert pages.visible_pages(25, 20) == (2, 4)


def test_the_last_page():
    pages = model()
    assert pages.last_page() == 0
    for total, last in ((0, 0), (1, 0), (10, 0), (11, 1), (20, 1), (21, 2)):
        pages.total = total
        assert pages.last_page() == last, total


def test_a_page_is_asked_for_once_and_never_past_the_end():
    pages = model()
    assert pages.request(-1) is None and pages.pending == set()
    first = pages.request(0, with_total=True)
    assert first == PageRequest(pages.generation, 0, True) and pages.pending == {0}
    assert pages.request(0, with_total=True) is None  # on its way
    assert pages.request(5) == PageRequest(pages.generation, 5, False)  # length unknown
    pages.total = 25  # pages 0…2
    assert pages.request(2) == PageRequest(pages.generation, 2, False)
    assert pages.request(3) is None and 3 not in pages.pending
    assert pages.request(3, with_total=True) == PageRequest(pages.generation, 3, True)
    assert pages.pending == {0, 2, 3, 5}


def test_a_paint_asks_for_the_pages_around_the_view_and_one_ahead_once_the_length_is_known():
    pages = model()
    # nothing known: only what is in view (and above), each asking for the total
    assert pages.wanted(0, 0) == [PageRequest(pages.generation, 0, True)]
    pages.page_in(0, rows(0), 100)
    assert pages.wanted(0, 0) == [PageRequest(pages.generation, 1, False)]
    assert pages.wanted(0, 0) == []  # on its way
    pages = with_pages(100, 2, 3)
    pages.errors[5] = "The server could not be reached."  # waits for its retry
    assert [r.page for r in pages.wanted(3, 4)] == [4]
    assert [(r.page, r.with_total) for r in pages.wanted(8, 9)] == [
        (7, False),
        (8, False),
        (9, False),
    ]
    assert pages.wanted(9, 9) == []  # nothing past the end


def test_before_the_first_page_is_in_a_paint_asks_for_every_page_in_view_with_the_total():
    pages = model()
    assert [(r.page, r.with_total) for r in pages.wanted(2, 3)] == [(1, True), (2, True), (3, True)]


def test_a_page_is_fetched_when_its_turn_comes_only_if_still_wanted():
    pages = with_pages(100, 0)
    near = [pages.request(page) for page in (1, 2, 5, 6, 7, 8)]
    assert all(request is not None for request in near)
    turns = {r.page: pages.may_fetch(r, 3, 4) for r in near if r is not None}  # view: 3…4
    assert turns == {1: False, 2: True, 5: True, 6: False, 7: False, 8: False}
    assert pages.pending == {2, 5}  # those scrolled away may be asked for again
    with_total = pages.request(9, with_total=True)
    assert with_total is not None and pages.may_fetch(with_total, 0, 0)  # the length: always
    pages.reset()  # another view
    old = pages.request(3)
    assert old is not None and pages.may_fetch(old, 0, 9)
    pages.reset()  # and another: the request of the one before is void
    assert not pages.may_fetch(old, 0, 9)
    assert pages.membership(old.generation, True) is Update.NOTHING


def test_the_page_cache_keeps_at_most_max_pages_dropping_the_least_recently_landed():
    pages = model(max_pages=3)
    for page in (0, 1, 2):
        pages.page_in(page, rows(page), 100)
    pages.page_in(0, rows(0), 100)  # landed again: the most recent now
    pages.page_in(3, rows(3), 100)
    assert list(pages.loaded) == [2, 0, 3]
    pages.page_in(4, rows(4), 100)
    assert list(pages.loaded) == [0, 3, 4]
    assert pages.thread_at(15) is None and pages.thread_at(1).id == 2


def test_a_page_that_lands_ends_its_wait_its_error_and_its_stale_rows():
    pages = with_pages(100, 0, 1)
    request = pages.request(2)
    assert request is not None and pages.failed(request, "down")
    pages.request(2)
    pages.stale[2] = rows(2, first_id=500)
    pages.page_in(2, rows(2), 100)
    assert pages.pending == set() and pages.errors == {} and 2 not in pages.stale
    assert pages.thread_at(20).id == 21


def test_the_length_comes_with_a_page_or_from_a_shorter_page_when_none_said_it():
    pages = model()
    pages.page_in(1, rows(1, 4), None)  # the list ends with this page
    assert pages.total == 14
    pages.page_in(0, rows(0), None)  # a page without the total changes a known one not
    assert pages.total == 14
    pages.page_in(0, rows(0), 40)
    assert pages.total == 40
    pages = model()
    pages.page_in(0, [], None)
    assert pages.total == 0


def test_a_list_that_shrinks_drops_the_stale_pages_past_its_end():
    pages = with_pages(60, 0, 1, 2, 3)
    assert pages.reload(0, 0, 0) == [PageRequest(pages.generation, 0, True)]
    pages.page_in(0, rows(0), 21)  # pages 0…2 now
    assert sorted(pages.stale) == [1, 2]
    pages.page_in(1, rows(1), 20)  # page 2 now past the end
    assert pages.stale == {}


def test_a_failed_page_shows_why_and_is_retried_until_it_lands():
    pages = with_pages(100, 0)
    request = pages.request(3)
    assert request is not None
    assert pages.failed(request, "The server could not be reached.")
    assert pages.errors == {3: "The server could not be reached."} and pages.pending == set()
    again = pages.retry(request)
    assert again == PageRequest(pages.generation, 3, False) and pages.pending == {3}
    assert pages.failed(again, "Still down.") and pages.errors == {3: "Still down."}
    last = pages.retry(again)
    assert last is not None
    pages.page_in(3, rows(3), None)
    assert pages.errors == {}
    assert pages.retry(again) is None  # came in meanwhile


def test_a_failure_or_retry_of_an_older_generation_is_forgotten():
    pages = with_pages(100, 0)
    request = pages.request(3)
    assert request is not None
    pages.reload(0, 0, 0)  # the list reloaded while it was on its way
    pages.pending.clear()
    assert not pages.failed(request, "down")
    assert pages.errors == {}
    assert pages.retry(request) is None and pages.pending == set()


def test_the_retry_of_the_first_page_learns_the_length_of_the_list():
    """Page 0 asks for the total: when it and page 1 failed, its retry is the one that
    learns how many threads there are (else the list would end after page 1)."""
    pages = model()
    zero, one = pages.request(0, with_total=True), pages.request(1, with_total=True)
    assert zero is not None and one is not None
    assert pages.failed(zero, "down") and pages.failed(one, "down")
    retried_one = pages.retry(one)
    assert retried_one == PageRequest(pages.generation, 1, False)
    pages.page_in(1, rows(1), None)
    assert pages.total == 20  # for now: the list seems to end here
    retried_zero = pages.retry(zero)
    assert retried_zero == PageRequest(pages.generation, 0, True)
    pages.page_in(0, rows(0), 200)
    assert pages.total == 200 and pages.last_page() == 19


# ----------------------------------------------------------------- reloads


def test_a_reload_refetches_the_pages_in_view_and_the_first_keeping_the_old_on_screen():
    pages = with_pages(100, 0, 2, 3)
    pages.errors[4] = "down"
    pages.pending.add(5)
    generation = pages.generation
    requests = pages.reload(20, 2, 3)
    assert pages.generation == generation + 1
    assert [(r.page, r.with_total, r.generation) for r in requests] == [
        (2, True, generation + 1),
        (3, False, generation + 1),
        (0, True, generation + 1),
    ]
    assert pages.loaded == {} and sorted(pages.stale) == [0, 2, 3]
    assert pages.errors == {} and pages.pending == {0, 2, 3}
    assert pages.thread_at(20).id == 21  # the old row, until the new page lands
    assert pages.find(21) is None  # only the pages in count as the list's
    pages.page_in(2, rows(2, first_id=1000), 100)
    assert pages.thread_at(20).id == 1020


def test_a_second_reload_before_the_first_lands_keeps_the_old_rows_on_screen():
    """Two live changes a moment apart: the second reload comes while the first one's pages
    are on their way. The rows shown stay until their new page lands (they went blank, and
    the cursor was on no thread: space and enter did nothing)."""
    pages = with_pages(100, 0, 1, 5)
    pages.reload(0, 0, 1)
    pages.page_in(1, rows(1, first_id=100), 100)  # page 0 still on its way
    pages.reload(0, 0, 1)
    assert pages.thread_at(0).id == 1  # the old row, still
    assert pages.thread_at(10).id == 110  # the row of the first reload
    assert 5 not in pages.stale  # a page no reload asked for again is not kept
    pages.page_in(0, rows(0, first_id=200), 100)
    assert pages.thread_at(0).id == 200


def test_a_reload_at_the_top_asks_for_the_first_page_once():
    pages = with_pages(100, 0)
    assert [(r.page, r.with_total) for r in pages.reload(0, 0, 1)] == [(0, True), (1, False)]
    assert [(r.page, r.with_total) for r in pages.reload(10, 1, 2)] == [
        (1, True),
        (2, False),
        (0, True),
    ]


def test_what_was_asked_before_a_reload_is_void_after_it():
    pages = with_pages(100, 0)
    pages.reload(0, 0, 0)
    before = pages.request(4)
    assert before is not None
    pages.reload(0, 0, 0)  # a second reload: the first one's requests are void too
    assert not pages.may_fetch(before, 3, 4)
    assert not pages.failed(before, "down") and pages.retry(before) is None


def test_a_reload_past_the_end_asks_only_for_pages_that_exist():
    pages = with_pages(25, 1, 2)
    assert [(r.page, r.with_total) for r in pages.reload(20, 2, 3)] == [(2, True), (0, True)]


def test_the_cursor_follows_its_thread_through_a_reload():
    pages = with_pages(100, 0, 1, 2)
    pages.reload(12, 1, 1)  # the cursor on thread 13
    assert pages.follow_id == 13
    assert pages.after_page(0, rows(0), 12) == 12  # not on this page: stays
    assert pages.follow_id == 13
    moved = rows(1, first_id=500)
    moved[7] = thread(13)
    assert pages.after_page(1, moved, 12) == 17
    assert pages.follow_id is None
    assert pages.after_page(2, [thread(13), *rows(2)[1:]], 17) == 17  # found once only


def test_the_cursor_goes_back_to_the_thread_it_returns_to_before_the_one_it_follows():
    """An undone close brings its thread back into the view: the cursor goes back onto it
    when a page brings it, unless the agent moved meanwhile."""
    pages = with_pages(100, 0, 1, 2)
    assert pages.return_id is None
    pages.reload(12, 1, 1)  # the cursor on thread 13
    pages.return_id = 18
    assert pages.after_page(1, rows(1), 12) == 17  # thread 18, though 13 came first
    assert pages.return_id is None and pages.follow_id is None
    pages.return_id = 18
    pages.moved()  # the agent moved on
    assert pages.return_id is None
    pages.return_id = 18
    pages.reset()
    assert pages.return_id is None


def test_a_reload_with_the_cursor_on_no_thread_follows_none():
    pages = with_pages(100, 0)
    pages.reload(55, 5, 5)  # page 5 not in
    assert pages.follow_id is None
    assert pages.after_page(5, rows(5), 55) == 55


def test_the_cursor_comes_back_onto_a_list_that_shrank_under_it():
    pages = with_pages(120, 11)
    pages.page_in(0, rows(0), 30)
    assert pages.after_page(0, rows(0), 119) == 29
    assert pages.after_page(0, rows(0), 30) == 29
    assert pages.after_page(0, rows(0), 29) == 29
    pages.page_in(0, [], 0)
    assert pages.after_page(0, [], 29) == 0
    unknown = model()
    assert unknown.after_page(3, [], 35) == 35  # no length known yet: nothing to clamp to


def test_a_burst_of_changes_is_one_reload_a_moment_later():
    pages = model()
    assert pages.reload_later() and pages.reload_waiting
    assert not pages.reload_later()
    pages.reload_due()
    assert not pages.reload_waiting
    assert pages.reload_later()


def test_the_list_is_settled_when_no_reload_fetch_or_question_is_under_way():
    pages = with_pages(30, 0)
    assert pages.settled
    pages.reload_later()
    assert not pages.settled
    pages.reload_due()
    pages.request(1)
    assert not pages.settled
    pages.pending.clear()
    pages.asking_begins()
    pages.asking_begins()
    pages.asking_ends()
    assert not pages.settled  # one question still under way
    pages.asking_ends()
    assert pages.settled


def test_data_access_by_index_and_by_thread():
    pages = with_pages(25, 0, 2)
    assert pages.thread_at(0).id == 1 and pages.thread_at(24).id == 25
    assert pages.thread_at(10) is None  # page 1 not in
    assert pages.thread_at(25) is None  # past the rows of the last page
    pages.stale[1] = rows(1)
    assert pages.thread_at(10).id == 11  # shown until its page lands
    pages.loaded[1] = rows(1, first_id=100)
    assert pages.thread_at(10).id == 110  # the landed page first
    assert pages.find(25) == 24 and pages.find(110) == 10 and pages.find(11) is None
    assert [t.id for t in pages.loaded_threads()] == [
        *range(1, 11),
        21,
        22,
        23,
        24,
        25,
        *range(110, 120),
    ]


def test_another_view_forgets_everything_but_the_timers():
    clock = Clock()
    pages = with_pages(100, 0, 1, clock=clock)
    assert pages.hold(7) is not None  # the hold's timer armed
    pages.toggle(thread(3))
    pages.reload_later()
    pages.stale[5], pages.errors[6] = rows(5), "down"
    pages.request(2)
    pages.follow_id = 4
    generation = pages.generation
    pages.reset()
    assert pages.generation == generation + 1
    assert (pages.loaded, pages.stale, pages.pending, pages.errors) == ({}, {}, set(), {})
    assert pages.selected == {} and pages.held == set()
    assert pages.total is None and pages.follow_id is None
    # the armed timers still ring (and find nothing held)
    assert pages.reload_waiting and pages.hold_waiting


# ----------------------------------------------------------------- live updates

LATER = NOW + timedelta(minutes=1)
ORDER_CHANGES = {
    "a new message": lambda: thread(3).model_copy(update={"last_message_at": LATER}),
    "status": lambda: thread(3, status=TicketStatus.closed),
    "owner": lambda: thread(3, owner_id=7),
    "priority": lambda: thread(3, priority=TicketPriority.low),
    "snooze": lambda: thread(3, snoozed_until=LATER),
    "read": lambda: thread(3, unread=0),
}


@pytest.mark.parametrize("what", list(ORDER_CHANGES))
def test_what_orders_or_filters_a_view_reloads_it_or_holds(what):
    clock = Clock()
    pages = with_pages(30, 0, 1, clock=clock)
    update = ORDER_CHANGES[what]()
    assert pages.thread_changed(update) == (2, Update.RELOAD)
    assert pages.thread_at(2) is update
    pages.moved()
    assert pages.thread_changed(ORDER_CHANGES[what]()) == (2, Update.NOTHING)  # the same again
    assert pages.thread_changed(thread(3)) == (2, Update.HOLD)  # and back, while holding


def test_an_unread_thread_that_is_still_unread_or_a_new_name_only_redraws_its_row():
    pages = with_pages(30, 0, 1, 2)
    more_unread = thread(14, unread=5)
    assert pages.thread_changed(more_unread) == (13, Update.NOTHING)
    assert pages.thread_at(13) is more_unread
    renamed = thread(25).model_copy(
        update={"contact": thread(25).contact.model_copy(update={"name": "Renamed"})}
    )
    assert pages.thread_changed(renamed) == (24, Update.NOTHING)
    assert pages.thread_at(24).contact.name == "Renamed"
    pages.page_in(0, [thread(1, unread=0), *rows(0)[1:]], 30)
    assert pages.thread_changed(thread(1, unread=1)) == (0, Update.RELOAD)  # unread again


def test_a_thread_the_list_does_not_show_reloads_or_is_asked_about_while_holding():
    clock = Clock()
    pages = with_pages(30, 0, clock=clock)
    assert pages.thread_changed(thread(25)) == (None, Update.RELOAD)  # maybe new here
    assert pages.thread_changed(thread(999)) == (None, Update.RELOAD)
    pages.moved()
    assert pages.thread_changed(thread(999)) == (None, Update.ASK)
    assert pages.find(999) is None


def test_the_answer_about_a_thread_not_shown():
    clock = Clock()
    pages = with_pages(30, 0, clock=clock)
    asked_in = pages.generation
    assert pages.membership(asked_in, False) is Update.NOTHING
    assert pages.membership(asked_in, True) is Update.RELOAD  # the hold ended meanwhile
    pages.moved()
    assert pages.membership(asked_in, True) is Update.HOLD
    assert pages.membership(asked_in, False) is Update.NOTHING
    pages.reset()  # another view since it was asked
    assert pages.membership(asked_in, True) is Update.NOTHING


def test_a_pushed_count_reloads_only_when_it_differs_and_the_list_is_settled():
    clock = Clock()
    pages = with_pages(30, 0, clock=clock)
    assert pages.count_changed(30) is Update.NOTHING
    assert pages.count_changed(31) is Update.RELOAD
    assert pages.count_changed(29) is Update.RELOAD
    pages.reload_later()  # a reload on its way answers for the count
    assert pages.count_changed(31) is Update.NOTHING
    pages.reload_due()
    pages.request(1)
    assert pages.count_changed(31) is Update.NOTHING
    pages.pending.clear()
    pages.asking_begins()
    assert pages.count_changed(31) is Update.NOTHING
    pages.asking_ends()
    pages.moved()  # holding: held as time passing, once
    assert pages.count_changed(31) is Update.HOLD
    pages.hold(TIME_PASSED)
    assert pages.count_changed(32) is Update.NOTHING  # a held update's reload brings it
    assert model().count_changed(5) is Update.NOTHING  # no length known yet


# ----------------------------------------------------------------- the hold


def test_the_order_holds_while_rows_are_selected_or_a_moment_after_the_cursor_moved():
    clock = Clock()
    pages = with_pages(30, 0, clock=clock)
    assert not pages.holding
    pages.moved()
    clock.now += 2.9
    assert pages.holding
    clock.now += 0.1  # hold_seconds after the move
    assert not pages.holding
    pages.selected[1] = 1001
    clock.now += 100
    assert pages.holding


def test_a_held_update_arms_one_timer_for_what_is_left_of_the_hold():
    clock = Clock()
    pages = with_pages(30, 0, clock=clock)
    pages.moved()
    clock.now += 1.0
    assert pages.hold(4) == pytest.approx(2.0) and pages.hold_waiting
    assert pages.hold(5) is None and pages.hold(4) is None
    assert pages.held == {4, 5}
    clock.now += 1.95
    pages.hold_waiting = False
    assert pages.hold(6) == MIN_HOLD_WAIT  # never sooner than that


def test_while_rows_are_selected_no_timer_ends_the_hold():
    clock = Clock()
    pages = with_pages(30, 0, clock=clock)
    pages.toggle(thread(1))
    assert pages.hold(4) is None and not pages.hold_waiting and pages.held == {4}


def test_the_hold_ends_by_itself_once_the_cursor_has_been_still():
    clock = Clock()
    pages = with_pages(30, 0, clock=clock)
    pages.moved()
    assert pages.hold(4) == pytest.approx(3.0)
    clock.now += 2.0
    pages.moved()  # moved again: looked at again when this move's hold ends
    assert pages.hold_ended() == pytest.approx(3.0) and pages.hold_waiting
    assert not pages.hold_over
    clock.now += 3.0
    assert pages.hold_ended() is None and not pages.hold_waiting
    assert pages.hold_over
    pages.release()
    assert pages.held == set() and not pages.hold_over


def test_a_timer_that_rings_with_nothing_held_or_rows_selected_does_nothing():
    clock = Clock()
    pages = with_pages(30, 0, clock=clock)
    pages.moved()
    pages.hold_waiting = True
    assert pages.hold_ended() is None and not pages.hold_waiting and not pages.hold_over
    pages.toggle(thread(1))
    pages.hold(4)
    clock.now += 10
    assert pages.hold_ended() is None and not pages.hold_over  # only `.` or unselecting


def test_applying_the_held_updates_ends_the_cursors_hold_too():
    clock = Clock()
    pages = with_pages(30, 0, clock=clock)
    pages.moved()
    pages.hold(4)
    pages.release()
    assert pages.held == set() and not pages.holding


def test_selecting_and_unselecting_rows():
    clock = Clock()
    pages = with_pages(30, 0, clock=clock)
    assert pages.toggle(thread(2)) is None
    assert pages.selected == {2: 1002} and pages.holding  # a selection is a move too
    clock.now += 10
    assert pages.toggle(thread(3)) is None
    assert pages.selected == {2: 1002, 3: 1003}
    pages.hold(9)
    assert pages.toggle(thread(2)) is None  # one still selected: it holds
    assert pages.selected == {3: 1003}
    clock.now += 1.0
    # the last one unselected: the held updates wait for the cursor's hold, then apply
    assert pages.toggle(thread(3)) == pytest.approx(3.0)
    assert pages.selected == {} and pages.held == {9} and pages.hold_waiting
    assert pages.toggle(thread(4)) is None
    assert pages.toggle(thread(4)) is None  # its timer is armed already


def test_unselecting_the_last_row_with_nothing_held_arms_nothing():
    pages = with_pages(30, 0)
    pages.toggle(thread(2))
    assert pages.toggle(thread(2)) is None and not pages.hold_waiting


def test_clearing_the_selection_applies_what_it_held():
    pages = with_pages(30, 0)
    pages.toggle(thread(2))
    pages.toggle(thread(3))
    assert not pages.clear_selection() and pages.selected == {}
    pages.toggle(thread(2))
    pages.hold(5)
    assert pages.clear_selection() and pages.selected == {}


# ----------------------------------------------------------------- a page older than a live change


def newer_row(thread_id: int, **ticket: object) -> Thread:
    """Thread ``thread_id`` after a live change: another preview and more unread (which
    orders or filters no view), and ``ticket``'s changes (which may)."""
    return thread(thread_id, unread=3, **ticket).model_copy(
        update={"last_message_preview": "the newer preview"}
    )


def test_a_page_asked_before_a_live_change_keeps_the_changed_row():
    """Page 1 is asked for; a live change to one of its threads comes while it is on its way;
    then the page lands, read by the server before that change was committed. The row stays
    as the change left it (it went back to the page's older preview and unread count)."""
    pages = with_pages(30, 0)
    assert pages.request(1) is not None
    changed = newer_row(15)
    assert pages.thread_changed(changed) == (None, Update.RELOAD)  # page 1 not in yet
    landed = pages.page_in(1, rows(1), 30)
    assert pages.thread_at(14) is changed
    assert pages.thread_at(13) == thread(14)  # the page's other rows are the page's
    assert landed == []  # nothing that orders the view changed
    assert pages.newer == {}  # nothing on its way: no page can be older than a row now


def test_a_reload_on_its_way_keeps_a_row_changed_meanwhile_and_shows_it_until_it_lands():
    """A reload after a burst of changes: another change comes before its pages land. The old
    row on screen takes it at once, and the reload's page, read before it, does not undo it."""
    pages = with_pages(30, 0, 1)
    pages.reload(0, 0, 1)
    pages.page_in(0, rows(0), 30)
    changed = newer_row(13)
    assert pages.thread_changed(changed) == (12, Update.RELOAD)  # redrawn, and reloaded
    assert pages.thread_at(12) is changed  # the row kept on screen until page 1 lands
    pages.page_in(1, rows(1), 30)
    assert pages.thread_at(12) is changed


def test_a_page_asked_after_a_live_change_is_newer_than_it():
    pages = with_pages(30, 0)
    pages.request(2)  # on its way: changes are remembered meanwhile
    pages.thread_changed(newer_row(15))
    pages.request(1)
    fresher = thread(15, unread=0)
    pages.page_in(1, [*rows(1)[:4], fresher, *rows(1)[5:]], 30)
    assert pages.thread_at(14) is fresher
    assert set(pages.newer) == {15}  # page 2, asked before it, is still on its way
    pages.page_in(2, rows(2), 30)
    assert pages.newer == {}


def test_each_change_is_newer_than_the_pages_asked_before_it_only():
    """Two changes to the same thread, a page asked for between them: the second one's row
    stays, and a page no request asked for (the first page fetched at start-up) is the
    page's."""
    pages = with_pages(30, 0)
    pages.request(2)
    first = newer_row(15)
    pages.thread_changed(first)
    pages.request(1)  # after the first change, before the second
    second = newer_row(15, priority=TicketPriority.high)
    pages.thread_changed(second)
    assert pages.page_in(1, rows(1), 30) == [(15, Update.RELOAD)]
    assert pages.thread_at(14) is second
    pages.page_in(1, rows(1), 30)  # again, not asked for
    assert pages.thread_at(14) == thread(15)


@pytest.mark.parametrize("holding", [False, True])
def test_a_kept_row_that_moved_the_thread_reloads_the_list_or_holds(holding):
    """The change that the page's rows do not have closed the thread: its row shows it closed,
    and the list reloads (or holds) so that the thread leaves the view of open threads."""
    clock = Clock()
    pages = with_pages(30, 0, clock=clock)
    if holding:
        pages.toggle(thread(1))  # a row selected: the order holds
    pages.request(1)
    closed = newer_row(15, status=TicketStatus.closed)
    pages.thread_changed(closed)
    landed = pages.page_in(1, rows(1), 30)
    assert pages.thread_at(14) is closed
    assert landed == [(15, Update.HOLD if holding else Update.RELOAD)]


def test_changes_before_a_reload_or_another_view_are_older_than_its_pages():
    pages = with_pages(30, 0)
    pages.request(1)
    pages.thread_changed(newer_row(15))
    pages.reload(0, 0, 1)  # asks for page 1 again, after the change
    pages.page_in(1, rows(1), 30)
    assert pages.thread_at(14) == thread(15)
    pages.request(2)
    pages.thread_changed(newer_row(25))
    assert set(pages.newer) == {25}
    pages.reset()
    assert pages.newer == {} and pages.asked_at == {}
