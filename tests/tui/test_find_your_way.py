"""Nothing lost, find your way (issue 15): ``q`` goes back before it quits, quitting asks
when a draft or the agents who joined a demo would be lost, a joined inbox says when its
demo stopped, search keeps its results and pages, ``n``/``N`` jump between hits.

Against the REAL backend and simulator (``backend_fixtures``), driven by keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from backend.schemas import MessageKind
from tests.tui.backend_fixtures import (
    Desk,
    inbox_ready,
    open_thread,
    screen_text,
    search_for,
    wait_for,
)
from tui.app import DEMO_STOPPED, DemoLink, StartScreen
from tui.dialogs.simple import ConfirmDialog
from tui.screens.inbox import InboxScreen
from tui.screens.search import SearchResults, SearchScreen

if TYPE_CHECKING:
    from tui.dialogs.view_builder import ViewBuilder


def _quit_dialog(app) -> ConfirmDialog | None:  # noqa: ANN001
    screen = app.screen
    return screen if isinstance(screen, ConfirmDialog) and screen.id == "quit-confirm" else None


def _question(app) -> str:  # noqa: ANN001
    dialog = _quit_dialog(app)
    assert dialog is not None
    return dialog.question


async def test_q_goes_back_from_a_thread_and_quits_from_the_list(desk: Desk):
    """At 80×24 the thread replaces the list: ``q`` there goes back to the list, and only
    ``q`` on the list leaves (nothing to lose: without asking)."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("q")
        await wait_for(lambda: not screen.thread_open)
        assert app.return_code is None and app.screen is screen
        assert screen.threads.has_focus
        await pilot.press("q")
        await wait_for(lambda: app.return_code == 0)
        assert _quit_dialog(app) is None


async def test_q_in_a_wide_thread_goes_to_the_list_first(desk: Desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(140, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        assert screen.log_widget.has_focus
        await pilot.press("q")
        await wait_for(lambda: screen.threads.has_focus)
        assert app.return_code is None


async def test_quitting_keeps_a_typed_draft_on_the_server_without_asking(desk: Desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r", *"half a reply", "escape")  # composer → messages
        await wait_for(lambda: screen.log_widget.has_focus)
        await pilot.press("q")  # → the list (the draft is kept for the thread)
        await wait_for(lambda: not screen.thread_open)
        await pilot.press("q")
        await wait_for(lambda: app.return_code == 0)
        assert _quit_dialog(app) is None
    draft = await desk.call("GET", f"/threads/{desk.ids['ana']}/draft")
    assert draft["text"] == "half a reply"


async def test_quitting_asks_when_a_draft_cannot_be_saved(desk: Desk):
    """The server is gone: the typed reply cannot be kept, so q (and ctrl+q) ask first."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await desk.backend.stop()
        try:
            await wait_for(lambda: app.conn_state != "connected")
            await pilot.press("r", *"half a reply", "escape")
            await wait_for(lambda: screen.log_widget.has_focus)
            await pilot.press("q", "q")  # → the list → quit?
            await wait_for(lambda: _quit_dialog(app) is not None)
            assert "1 unsent draft could not be saved" in _question(app)
            await pilot.press("n")  # stay
            await wait_for(lambda: app.screen is screen)
            assert app.return_code is None
            await pilot.press("ctrl+q")  # from anywhere, same question
            await wait_for(lambda: _quit_dialog(app) is not None)
            await pilot.press("y")
            await wait_for(lambda: app.return_code == 0)
        finally:
            await desk.backend.start()


async def test_the_demo_owner_is_asked_before_stopping_it_for_joined_agents(desk: Desk):
    joined: list[str] = []
    app = desk.make_app(desk.admin_token, demo=DemoLink(others_joined=lambda: list(joined)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        joined.append("Bob")
        await pilot.press("q")
        await wait_for(lambda: _quit_dialog(app) is not None)
        assert "stops the demo for Bob" in _question(app)
        await pilot.press("escape")
        await wait_for(lambda: app.screen is screen)
        joined.clear()  # Bob left: nothing to ask
        await pilot.press("q")
        await wait_for(lambda: app.return_code == 0)


async def test_a_joined_inbox_says_when_the_demo_has_stopped(desk: Desk):
    running = [True]
    app = desk.make_app(desk.agent_token, demo=DemoLink(running=lambda: running[0]))
    async with app.run_test(size=(80, 24)) as pilot:
        await inbox_ready(app)
        running[0] = False
        await desk.backend.stop()
        try:
            await wait_for(lambda: isinstance(app.screen, StartScreen), timeout=10)
            await pilot.pause()
            assert "The demo you joined has stopped" in screen_text(app)
            assert app.conn_state == "offline" and app.conn_detail == DEMO_STOPPED
            assert not [w for w in app.workers if w.group == "live" and w.is_running]
            await pilot.press("q")
            await wait_for(lambda: app.return_code == 0)
        finally:
            await desk.backend.start()


async def test_search_results_move_with_j_k_and_are_kept_after_a_thread(desk: Desk):
    """j/k move in the results; q in the opened thread comes back to the same results at
    the same place; q/escape in the results go to the query, escape there to the inbox."""
    await desk.customer_writes("ben", "Where is my order?")
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        search = await search_for(pilot, app, "order")
        results = search.query_one(SearchResults)
        hits = list(search.hits)
        assert len(hits) >= 3 and results.has_focus and results.highlighted == 0
        await pilot.press("j", "j", "k")
        assert results.highlighted == 1
        chosen = hits[1]
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, InboxScreen))
        await wait_for(
            lambda: (
                screen.log_widget.selected is not None
                and screen.log_widget.selected.id == chosen.message_id
            )
        )
        await pilot.press("q")
        await wait_for(lambda: isinstance(app.screen, SearchScreen))
        back = app.screen
        assert [h.message_id for h in back.hits] == [h.message_id for h in hits]
        back_results = back.query_one(SearchResults)
        await wait_for(lambda: back_results.has_focus)
        assert back_results.highlighted == 1
        await pilot.press("q")  # results → query, results kept
        await wait_for(lambda: back.query_one("#search-query").has_focus)
        assert back_results.option_count == len(hits)
        await pilot.press("escape")
        await wait_for(lambda: app.screen is screen)
        assert app.return_code is None


async def test_the_palette_offers_an_action_whose_key_does_something_else_here(desk: Desk):
    """In a thread opened from a search, N is "previous hit": the palette offered only
    what each key does right now, so "New conv." (N elsewhere) could not be found."""
    from tui.commands import TtydeskCommands

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await search_for(pilot, app, "order")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, InboxScreen) and screen.thread_open)
        await wait_for(lambda: screen.log_widget.check_action("hit", ()) is True)
        commands = {name: text for name, text, _run in TtydeskCommands(screen, None)._commands()}
        assert "New conv." in commands, sorted(commands)
        assert "(N)" not in commands["New conv."]  # N is not the key for it here
        assert commands["Prev. hit"].endswith("(N)")


async def test_the_result_count_says_what_it_counts_and_goes_with_its_results(desk: Desk):
    """The count names its query ("1 result for …"); escape to the query and an emptied
    query take the results and their count away: no "N results" under an empty box."""
    await desk.customer_writes("ben", "Where is my parcel?")
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        await inbox_ready(app)
        search = await search_for(pilot, app, "parcel")
        results = search.query_one(SearchResults)
        count = search.query_one("#search-status")
        await wait_for(lambda: 'result for "parcel"' in str(count.render()))
        assert "1 result " in str(count.render())
        await pilot.press("escape")  # to the query: the results stay
        await wait_for(lambda: search.query_one("#search-query").has_focus)
        assert results.option_count == 1
        await pilot.press("ctrl+u")  # the query emptied
        await wait_for(lambda: results.option_count == 0)
        assert "result" not in str(count.render())
        assert search.hits == []
        await pilot.press(*"parcel", "enter")  # searched again: the count comes back
        await wait_for(lambda: 'result for "parcel"' in str(count.render()))
        await pilot.press("escape", "ctrl+u", "enter")  # an empty query submitted
        await wait_for(lambda: results.option_count == 0)
        assert "result" not in str(count.render())


async def test_n_and_shift_n_jump_between_hits_in_a_thread_opened_from_search(desk: Desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        older, newer = [m.id for m in await desk.messages("ana") if "rder" in (m.text or "")]
        await search_for(pilot, app, "order")
        await pilot.press("enter")  # the newest hit first
        log = screen.log_widget
        await wait_for(lambda: log.selected is not None and log.selected.id == newer)
        await pilot.press("N")
        await wait_for(lambda: log.selected.id == older)
        await pilot.press("n")
        await wait_for(lambda: log.selected.id == newer)
        assert not screen.composer.note_mode  # n did not start a note
        assert app.screen is screen


async def test_search_labels_notes_pages_past_100_and_fits_80_columns(desk: Desk):
    thread_id = desk.ids["ben"]
    for number in range(105):
        await desk.call(
            "POST",
            f"/threads/{thread_id}/messages",
            json={"kind": "note", "text": f"refund check {number}"},
        )
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        await inbox_ready(app)
        search = await search_for(pilot, app, "refund")
        assert len(search.hits) == 100
        assert all(hit.message_kind == MessageKind.note for hit in search.hits)
        text = screen_text(app)
        assert "note" in text and '100 results for "refund", more below' in text
        for line in text.splitlines():
            if "Ben Okafor" in line:  # the first line of a hit, ticket number included
                assert f"#{desk.tickets['ben']}" in line
        await pilot.press("end")  # the last one: the next page comes
        await wait_for(lambda: len(search.hits) == 105)
        assert search.query_one(SearchResults).option_count == 105
        await pilot.pause()
        assert "105 results" in screen_text(app)


async def _builder_at_the_properties(app, pilot, *keys: str) -> ViewBuilder:  # noqa: ANN001
    """Opens the view builder, types ``keys`` (the name and sharing steps) and waits for
    the property step."""
    from tui.dialogs.view_builder import ViewBuilder

    await pilot.press("v")
    await wait_for(lambda: isinstance(app.screen, ViewBuilder))
    builder = app.screen
    await pilot.pause()
    await pilot.press(*keys)
    await wait_for(lambda: builder.query_one("#vb-prop-filter").has_focus)
    return builder


async def test_the_view_builder_never_saves_by_default_and_arrows_choose(desk: Desk):
    """Name, sharing, then enter in the untouched property step: a property is picked (no
    empty view saved); up/down from the search box move in the list."""
    from tui.dialogs.view_builder import ViewBuilder

    before = len(await desk.view_list())
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        await inbox_ready(app)
        builder = await _builder_at_the_properties(
            app, pilot, *"Mine", "enter", "enter"
        )  # name, sharing: private
        options = builder.query_one("#vb-prop-list")
        assert builder._prop_shown[options.highlighted] is not None  # a property, not Save
        await pilot.press("down", "down", "up")
        assert options.highlighted == 1 and builder.query_one("#vb-prop-filter").has_focus
        chosen = builder._prop_shown[1]
        await pilot.press("enter")
        await wait_for(lambda: builder._prop is chosen)
        assert isinstance(app.screen, ViewBuilder)
        await pilot.press("escape")
    assert len(await desk.view_list()) == before


async def test_a_lead_builds_a_view_of_slow_first_responses_with_words_for_the_operator(
    desk: Desk,
):
    """The report properties (issue 17) are view filters in the builder too: "First
    response (seconds)" "is at least" 3600 saves a view the server filters on."""
    from tui.dialogs.view_builder import ViewBuilder

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        await inbox_ready(app)
        builder = await _builder_at_the_properties(app, pilot, *"Slow", "enter", "enter")
        await pilot.press(*"first response", "enter")
        await wait_for(lambda: builder._prop is not None)
        assert builder._prop.name == "first_response_seconds"
        operators = builder.query_one("#vb-operator")
        await wait_for(lambda: operators.option_count > 0)
        words = [
            str(operators.get_option_at_index(i).prompt) for i in range(operators.option_count)
        ]
        assert "is at least" in words and "at_least" not in words
        operators.highlighted = words.index("is at least")
        await pilot.press("enter")
        await wait_for(lambda: builder.query_one("#vb-value-input").has_focus)
        await pilot.press(*"3600", "enter")
        await wait_for(lambda: len(builder.filters) == 1)
        assert "First response (seconds) is at least 3600" in str(
            builder.query_one("#vb-filters").render()
        )
        builder.action_create()
        await wait_for(lambda: not isinstance(app.screen, ViewBuilder))
        # the builder closes first; the inbox then asks the server to create the view
        for _ in range(250):
            saved = [v for v in await desk.view_list() if v.name == "Slow"]
            if saved:
                break
            await pilot.pause(0.02)
    (view,) = saved
    assert [(f.property, f.operator.value, f.values) for f in view.filters] == [
        ("first_response_seconds", "at_least", ["3600"])
    ]


async def test_the_list_holds_its_order_while_rows_are_selected(desk: Desk):
    """space on a row, then a customer far down the list writes: the rows stay where they
    are and the top bar says so; ``.`` applies the update (the thread moves to the top)."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        threads = screen.threads
        order = [threads.thread_at(i).id for i in range(5)]
        assert order[-1] == desk.ids["chen"]
        await pilot.press("space", "j", "space")  # ana and ben (cursor skips eve)
        assert len(threads.selected) == 2
        fetched = threads.fetch_count
        await desk.customer_writes("chen", "Any news?")
        await wait_for(lambda: threads.held == 1)
        await pilot.pause()
        # no reload is on its way (without the hold one comes 0.3 s after the event)
        assert threads._reload_timer is None and threads.fetch_count == fetched
        assert [threads.thread_at(i).id for i in range(5)] == order
        assert "1 update — press . to refresh" in screen_text(app)
        await pilot.press("full_stop")
        await wait_for(lambda: threads.thread_at(0).id == desk.ids["chen"])
        assert threads.held == 0 and len(threads.selected) == 2
        await pilot.pause()
        assert "press . to refresh" not in screen_text(app)


async def test_the_view_builder_asks_for_a_number_of_hours_in_words_not_dates(desk: Desk):
    """ "Session expires" takes one number of hours: the value step says so, not "values,
    separated by commas (dates …)" nor "space to tick" (there is nothing to tick)."""
    from tui.dialogs.view_builder import ViewBuilder

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        await inbox_ready(app)
        builder = await _builder_at_the_properties(app, pilot, *"Expiring", "enter", "enter")
        await pilot.press(*"session expires", "enter")
        await wait_for(lambda: builder.query_one("#vb-value-input").has_focus)
        await pilot.pause()
        text = screen_text(app)
        assert "hours" in text and "YYYY-MM-DD" not in text and "tick" not in text, text
        await pilot.press("2", "enter")
        await wait_for(lambda: len(builder.filters) == 1)
        builder.action_create()
        await wait_for(lambda: not isinstance(app.screen, ViewBuilder))

        async def created() -> list:
            return [v for v in await desk.view_list() if v.name == "Expiring"]

        # the dialog closes as its request leaves: leaving the app now would cut it off
        (view,) = await desk.env.until(created)
    assert [(f.property, f.operator.value, f.values) for f in view.filters] == [
        ("session_expires", "within", ["2"])
    ]


async def test_held_updates_count_only_threads_of_the_view(desk: Desk):
    """Bob's "Assigned to me" holds its order while a row is selected: Ana (not his)
    writing is no update of this view; Ana assigned to him is."""
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        threads = screen.threads
        screen.select_view(next(v for v in app.views if v.id == "builtin:mine"))
        await wait_for(lambda: threads.total == 2 and threads.find(desk.ids["ben"]) is not None)
        threads.focus()
        await pilot.press("space")
        checked = threads.member_checks
        await desk.customer_writes("ana", "Still waiting")
        await wait_for(lambda: threads.member_checks > checked)
        assert threads.held == 0
        assert "press . to refresh" not in screen_text(app)
        await desk.call(
            "PATCH", f"/tickets/{desk.tickets['ana']}", json={"owner_id": desk.backend.agent.id}
        )
        await wait_for(lambda: threads.held == 1)
        await pilot.pause()
        assert "1 update — press . to refresh" in screen_text(app)


async def test_a_session_window_views_list_follows_the_clock_and_holds_under_a_selection(
    desk: Desk,
):
    """ "Session expires within 1 hour": no write, only the (injected) clock passing, moves
    threads into and out of it; the list follows like its count, and while a row is ticked
    the order holds with "N updates — press . to refresh"."""
    from datetime import timedelta

    window = [{"property": "session_expires", "operator": "within", "values": ["1"]}]
    made = await desk.call("POST", "/views", json={"name": "Expiring", "filters": window})
    ids = desk.ids
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        threads = screen.threads
        screen.select_view(next(v for v in app.views if v.id == made["id"]))
        await wait_for(lambda: threads.total == 0)
        # Mal wrote 45 minutes before now: her session ends at now + 23 h 15 min
        desk.clock.advance(timedelta(hours=22, minutes=20))
        await wait_for(lambda: app.counts.get(made["id"]) == 1, timeout=10)
        await wait_for(lambda: threads.total == 1 and threads.find(ids["mal"]) is not None)
        threads.focus()
        await pilot.press("space")
        # an hour on: Mal's session is over; Ben's, Eve's and Ana's end within the hour
        desk.clock.advance(timedelta(hours=1))
        await wait_for(lambda: app.counts.get(made["id"]) == 3, timeout=10)
        await wait_for(lambda: threads.held >= 1)
        assert threads.find(ids["mal"]) == 0 and threads.total == 1
        await pilot.pause()
        assert "press . to refresh" in screen_text(app)
        await pilot.press("full_stop")
        await wait_for(
            lambda: (
                threads.total == 3
                and {threads.thread_at(i).id for i in range(3)}
                == {ids["ben"], ids["eve"], ids["ana"]}
            )
        )


async def test_bulk_close_says_how_many_and_u_undoes_it(desk: Desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        mal_status = (await desk.thread("mal")).ticket.status
        ben, mal = desk.ids["ben"], desk.ids["mal"]
        for thread_id in (ben, mal):
            screen.threads.move_to(thread_id)
            await pilot.press("space")
        await pilot.press("c")
        await wait_for(lambda: any("Closed (2 threads)" in n.message for n in app._notifications))
        assert (await desk.thread("ben")).ticket.status.value == "closed"
        await pilot.press("u")
        await wait_for(
            lambda: any("Undone: Closed (2 threads)" in n.message for n in app._notifications)
        )
        assert (await desk.thread("ben")).ticket.status.value == "waiting_on_us"
        assert (await desk.thread("mal")).ticket.status == mal_status
        timeline = await desk.call("GET", f"/tickets/{desk.tickets['mal']}/timeline")
        changes = [
            (e["old"], e["new"]) for e in timeline["items"] if e["action"] == "status_changed"
        ]
        assert ("closed", mal_status.value) in changes


async def test_undo_is_only_for_a_while(desk: Desk):
    from datetime import timedelta

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        screen.threads.move_to(desk.ids["ben"])
        await pilot.press("c")
        await wait_for(lambda: any("Closed" in n.message for n in app._notifications))
        desk.clock.advance(timedelta(seconds=31))
        await pilot.press("u")
        await wait_for(lambda: any("Nothing to undo" in n.message for n in app._notifications))
    assert (await desk.thread("ben")).ticket.status.value == "closed"


async def test_s_cycles_the_sort_orders(desk: Desk):
    """S: newest activity → longest waiting (unanswered, oldest first) → session expiring."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        threads = screen.threads
        newest = [threads.thread_at(i).id for i in range(5)]
        await pilot.press("S")
        await wait_for(lambda: screen.sort == "waiting" and threads.current is not None)
        await wait_for(lambda: threads.thread_at(0).id == desk.ids["chen"])  # 30 h unanswered
        assert "longest waiting" in screen_text(app)
        await pilot.press("S")
        await wait_for(lambda: screen.sort == "expiring" and threads.current is not None)
        # chen's session expired: last; the others' soonest first (mal wrote 45 min ago)
        await wait_for(lambda: threads.thread_at(4) is not None)
        assert threads.thread_at(0).id == desk.ids["mal"]
        assert threads.thread_at(4).id == desk.ids["chen"]
        await pilot.press("S")
        await wait_for(lambda: screen.sort == "recent" and threads.current is not None)
        await wait_for(lambda: [threads.thread_at(i).id for i in range(5)] == newest)


async def test_m_assigns_to_me_and_j_opens_the_next_unread(desk: Desk):
    app = desk.make_app(desk.agent_token)  # Bob
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        screen.threads.move_to(desk.ids["chen"])
        await pilot.press("M")
        await wait_for(lambda: any("Assigned to me" in n.message for n in app._notifications))
        assert (await desk.thread("chen")).ticket.owner_id == desk.backend.agent.id
        screen.threads.move_to(desk.ids["eve"])  # below ana, the one unread thread
        await pilot.press("J")
        await wait_for(lambda: screen.thread is not None and screen.thread.id == desk.ids["ana"])


async def test_ctrl_d_and_ctrl_u_move_half_a_page(desk: Desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 14)) as pilot:
        screen = await inbox_ready(app)
        threads = screen.threads
        rows = threads.scrollable_content_region.height // threads.ROW_HEIGHT
        assert rows >= 2
        await pilot.press("ctrl+d")
        assert threads.cursor == rows // 2
        await pilot.press("ctrl+u")
        assert threads.cursor == 0


async def test_help_and_palette_list_only_ttydesks_own_actions(desk: Desk):
    """No text-area word moves or scroll-view arrows in ``?``; the palette offers ttydesk's
    actions (no "Focus Next", no Textual "Quit" that would not ask); help pages."""
    from tui.commands import TtydeskCommands
    from tui.screens.help import HelpScreen

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r")  # the composer's text area is on screen (and focused)
        await wait_for(lambda: screen.composer.area.has_focus)
        await pilot.press("escape")
        await pilot.press("question_mark")
        await wait_for(lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        titles = [title for title, _rows in help_screen.rows()]
        described = {d for _title, rows in help_screen.rows() for _k, d, _t in rows}
        assert "TextArea" not in titles and "ContactPanel" not in titles
        assert not described & {"Cursor word left", "Scroll Left", "Focus Next", "Page Left"}
        assert {"Reply", "Quit", "Undo", "Sort"} <= described
        body = help_screen.query_one("#help-body")
        await pilot.pause()
        await pilot.press("pagedown")
        await wait_for(lambda: body.scroll_y > 3)
        await pilot.press("pageup")
        await wait_for(lambda: body.scroll_y == 0)
        await pilot.press("j")
        await wait_for(lambda: body.scroll_y == 1)
        await pilot.press("escape")
        await wait_for(lambda: app.screen is screen)
        names = {name for name, _help, _run in TtydeskCommands(screen, None)._commands()}
        assert "Focus Next" not in names and "Copy selected text" not in names
        assert "Reply" in names
        system = [command.title for command in app.get_system_commands(screen)]
        assert "Quit" not in system and "Screenshot" not in system and "Inbox" in system
        # each once: "WhatsApp month" was offered twice (its f6 key and the system command)
        assert not names & set(system), names & set(system)


async def test_z_snoozes_and_the_thread_comes_back_by_itself(tmp_path):
    """z → "In 1 hour": the thread leaves All open; when the (injected) clock passes the
    hour the backend wakes it and it is back, the timeline naming who did what."""
    from datetime import timedelta

    from tests.tui.backend_fixtures import start_desk, stop_desk
    from tui.dialogs.picker import FuzzyPicker

    desk = await start_desk(tmp_path / "data", backend_overrides={"snooze_check_interval": 0.05})
    try:
        app = desk.make_app(desk.agent_token)  # Bob
        async with app.run_test(size=(140, 36)) as pilot:
            screen = await inbox_ready(app)
            threads = screen.threads
            ben = desk.ids["ben"]
            await open_thread(pilot, screen, ben)
            await pilot.press("z")
            await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
            await pilot.press("enter")  # In 1 hour
            await wait_for(lambda: threads.total == 4 and threads.find(ben) is None, timeout=10)
            ticket = (await desk.thread("ben")).ticket
            assert ticket.snoozed_until == desk.clock.now() + timedelta(hours=1)
            await wait_for(lambda: "(snoozed until" in screen_text(app))  # the open thread
            desk.clock.advance(timedelta(hours=1, seconds=1))
            await wait_for(lambda: threads.find(ben) is not None, timeout=10)
            threads.move_to(ben)
            await pilot.press("s")  # the contact panel, with the ticket's timeline
            await wait_for(lambda: "woke the ticket" in _timeline(screen), timeout=10)
            assert "Bob Agent snoozed the ticket until" in _timeline(screen)
    finally:
        await stop_desk(desk)


async def test_u_after_a_snooze_puts_back_the_status_and_the_snooze_before_it(desk: Desk):
    """Undoing a snooze ends it on the server even when the status was already "waiting on
    contact" (a snooze does not change it); undoing a second snooze puts back the first."""
    from datetime import timedelta

    from tui.dialogs.picker import FuzzyPicker

    ben = desk.ids["ben"]
    await desk.call(
        "PATCH", f"/tickets/{desk.tickets['ben']}", json={"status": "waiting_on_contact"}
    )
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(140, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, ben)

        async def snooze(down: int) -> None:
            await pilot.press("z")
            await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
            await pilot.press(*["down"] * down, "enter")
            await wait_for(lambda: not isinstance(app.screen, FuzzyPicker))

        async def undo() -> None:
            undone = len([n for n in app._notifications if n.message.startswith("Undone")])
            await pilot.press("u")
            await wait_for(
                lambda: (
                    len([n for n in app._notifications if n.message.startswith("Undone")]) > undone
                )
            )

        await snooze(0)  # in 1 hour
        await wait_for(lambda: screen.threads.find(ben) is None, timeout=10)
        await undo()
        ticket = (await desk.thread("ben")).ticket
        assert ticket.snoozed_until is None and ticket.status.value == "waiting_on_contact"
        await wait_for(lambda: screen.threads.find(ben) is not None)

        await snooze(0)
        first = (await desk.thread("ben")).ticket.snoozed_until
        assert first == desk.clock.now() + timedelta(hours=1)
        await snooze(1)  # in 4 hours instead
        assert (await desk.thread("ben")).ticket.snoozed_until == first + timedelta(hours=3)
        await undo()
        ticket = (await desk.thread("ben")).ticket
        assert ticket.snoozed_until == first and ticket.status.value == "waiting_on_contact"


async def test_the_timeline_names_agents_not_ids(desk: Desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ben"])  # owner: Bob, set by the seed
        await pilot.press("s")
        await wait_for(lambda: "changed the owner" in _timeline(screen), timeout=10)
        owners = [row for row in _timeline(screen).splitlines() if "changed the owner" in row]
        assert any(row.endswith("→ Bob Agent") for row in owners), owners
        assert not any(row.endswith(f"→ {desk.backend.agent.id}") for row in owners)


def _timeline(screen: InboxScreen) -> str:
    return str(screen.panel.query_one("#ticket-timeline").content)


async def test_a_returning_customer_shows_the_earlier_conversation(desk: Desk):
    """Dora's ticket was closed; she writes again (a new conversation). ``[`` shows the
    previous one above a divider; ``H`` opens it."""
    from tui.dialogs.picker import FuzzyPicker

    old_thread = desk.ids["dora"]
    await desk.customer_writes("dora", "Hallo again, a new question")
    new_thread = (await desk.call("GET", "/threads", params={"view": "builtin:all_open"}))["items"][
        0
    ]["id"]
    assert new_thread != old_thread
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, new_thread)
        log = screen.log_widget
        await pilot.press("left_square_bracket")
        await wait_for(lambda: log.earlier_shown)
        await pilot.pause()
        text = screen_text(app)
        assert "earlier conversation" in text and "Danke!" in text
        assert "── this conversation ──" in text
        assert [m.thread_id for m in log.messages] == [new_thread]  # the cursor's messages
        await pilot.press("H")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press("enter")
        await wait_for(lambda: screen.thread is not None and screen.thread.id == old_thread)


async def test_a_returning_customers_new_thread_says_there_is_an_earlier_one(desk: Desk):
    """Without a key: a divider line at the top of Dora's new thread names her previous
    conversation's day (its ticket was made at the seed's "now") and the key that shows it;
    Ana (no earlier thread) gets none."""
    await desk.customer_writes("dora", "Hallo again, a new question")
    new_thread = (await desk.call("GET", "/threads", params={"view": "builtin:all_open"}))["items"][
        0
    ]["id"]
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await wait_for(lambda: screen.earlier_checked == desk.ids["ana"])
        assert not screen.log_widget.earlier_hint_shown
        await open_thread(pilot, screen, new_thread)
        log = screen.log_widget
        await wait_for(lambda: log.earlier_hint_shown)
        await pilot.pause()
        assert "Earlier conversation on 26 Nov — press [ to show" in screen_text(app)
        await pilot.press("left_square_bracket")
        await wait_for(lambda: log.earlier_shown)
        assert not log.earlier_hint_shown


async def test_the_earlier_conversation_hint_names_the_key_as_remapped(desk: Desk):
    """The hint reads its key from the binding, as the footer does: with
    ``inbox.previous_conversation`` remapped to ``B`` it says ``B``, and ``B`` shows it."""
    from tui.config import Settings

    await desk.customer_writes("dora", "Hallo again, a new question")
    new_thread = (await desk.call("GET", "/threads", params={"view": "builtin:all_open"}))["items"][
        0
    ]["id"]
    settings = Settings(
        server=desk.url, token=desk.admin_token, keymap={"inbox.previous_conversation": "B"}
    )
    app = desk.make_app(desk.admin_token, settings=settings)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, new_thread)
        log = screen.log_widget
        await wait_for(lambda: log.earlier_hint_shown)
        await pilot.pause()
        assert "Earlier conversation on 26 Nov — press B to show" in screen_text(app)
        await pilot.press("B")
        await wait_for(lambda: log.earlier_shown)


async def test_ctrl_d_and_ctrl_u_in_the_messages(desk: Desk):
    for number in range(12):
        await desk.customer_writes("ana", f"line {number}")
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        log = screen.log_widget
        await wait_for(lambda: len(log.messages) == 14)
        newest = log.cursor
        step = max(1, log.scrollable_content_region.height // 6)
        await pilot.press("ctrl+u")
        assert log.cursor == newest - step
        await pilot.press("ctrl+d")
        assert log.cursor == newest


async def test_the_order_holds_a_moment_after_the_cursor_moved(desk: Desk):
    """No selection: an update that arrives just after j waits until the cursor has been
    still for the hold time, then applies by itself (the list's clock is injected)."""
    now = [1000.0]
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        threads = screen.threads
        threads.pages.clock = lambda: now[0]
        await pilot.press("j")
        now[0] += threads.pages.hold_seconds - 0.1  # still within the hold when the update comes
        await desk.customer_writes("chen", "Any news?")
        await wait_for(lambda: threads.held == 1)
        assert threads.thread_at(4).id == desk.ids["chen"]
        now[0] += 1.0  # the cursor has been still long enough
        await wait_for(lambda: threads.thread_at(0).id == desk.ids["chen"])
        assert threads.held == 0


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (160, 48)])
async def test_the_search_query_keeps_room_to_read_what_is_typed(desk: Desk, size):
    """The two filters give way on a narrow screen: the query box stays wide enough to
    read the words typed (at 60 columns it was 4 cells), and the bar fits the screen."""
    from textual.widgets import Input, Select

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=size) as pilot:
        await inbox_ready(app)
        await pilot.press("slash")
        await wait_for(lambda: isinstance(app.screen, SearchScreen))
        search = app.screen
        await pilot.press(*"refund")
        await pilot.pause()
        query = search.query_one("#search-query", Input)
        assert query.size.width >= 20, query.size
        right = max(select.region.right for select in search.query(Select))
        assert right <= size[0]
        assert "refund" in screen_text(app).splitlines()[1]


async def test_a_view_the_server_refuses_comes_back_with_its_filters_and_the_reason(desk: Desk):
    """A count typed as a word is refused on save: the builder opens again with the name,
    sharing and filters kept and the server's reason shown, so the lead fixes the filter
    (ctrl+d drops it) instead of building the view again from nothing."""
    from tui.dialogs.view_builder import ViewBuilder

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        await inbox_ready(app)
        builder = await _builder_at_the_properties(
            app, pilot, *"Slow ones", "enter", "down", "enter"
        )  # name, sharing: team
        await pilot.press(*"first response", "enter")
        operators = builder.query_one("#vb-operator")
        await wait_for(lambda: operators.has_focus and operators.option_count > 0)
        words = [
            str(operators.get_option_at_index(i).prompt) for i in range(operators.option_count)
        ]
        operators.highlighted = words.index("is at least")
        await pilot.press("enter")
        await wait_for(lambda: builder.query_one("#vb-value-input").has_focus)
        await pilot.press(*"soon", "enter")
        await wait_for(lambda: len(builder.filters) == 1)
        await pilot.press("ctrl+s")
        await wait_for(lambda: isinstance(app.screen, ViewBuilder) and app.screen is not builder)
        again = app.screen
        await wait_for(lambda: "not a whole number" in screen_text(app))
        assert (again.name_value, again.sharing.value) == ("Slow ones", "team")
        assert "First response (seconds) is at least soon" in str(
            again.query_one("#vb-filters").render()
        )
        await pilot.press("ctrl+d", "ctrl+s")
        await wait_for(lambda: not isinstance(app.screen, ViewBuilder))
        await wait_for(lambda: "Slow ones" in [v.name for v in app.views])
    saved = [v for v in await desk.view_list() if v.name == "Slow ones"]
    assert [(v.sharing.value, v.filters) for v in saved] == [("team", [])]


async def test_an_owner_filter_is_picked_from_the_agents_by_name(desk: Desk):
    """The server takes an agent's id (or "me") for Owner: the builder lists the agents by
    name to tick, so a lead never has to know an id, and the filter reads with the name."""

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        await inbox_ready(app)
        builder = await _builder_at_the_properties(app, pilot, *"Bob's", "enter", "enter")
        await pilot.press(*"owner", "enter")
        await wait_for(lambda: builder.query_one("#vb-operator").has_focus)
        await pilot.press("enter")  # is any of
        values = builder.query_one("#vb-value-list")
        await wait_for(lambda: values.has_focus)
        names = [str(values.get_option_at_index(i).prompt) for i in range(values.option_count)]
        assert "Bob Agent" in names, names
        values.highlighted = names.index("Bob Agent")
        await pilot.press("space", "enter")
        await wait_for(lambda: len(builder.filters) == 1)
        assert "Owner is any of Bob Agent" in str(builder.query_one("#vb-filters").render())
        await pilot.press("ctrl+s")
        await wait_for(lambda: "Bob's" in [v.name for v in app.views])
    saved = [v for v in await desk.view_list() if v.name == "Bob's"]
    assert [f.values for f in saved[0].filters] == [[str(desk.backend.agent.id)]]


async def test_undoing_a_close_puts_the_cursor_back_on_the_thread(desk: Desk):
    """The agent closed the thread under the cursor by mistake and pressed u: the thread
    comes back into the list, and the cursor with it (not left on the thread that took its
    place)."""
    ben = desk.ids["ben"]
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        await wait_for(lambda: screen.threads.find(ben) is not None)
        screen.threads.focus()
        screen.threads.move_to(ben)
        await pilot.pause()
        await pilot.press("c")
        await wait_for(
            lambda: (
                screen.threads.find(ben) is None
                and screen.threads.current is not None
                and screen.threads.current.id != ben
            ),
            timeout=10,
        )
        await pilot.press("u")
        await wait_for(lambda: screen.threads.find(ben) is not None, timeout=10)
        await wait_for(
            lambda: screen.threads.current is not None and screen.threads.current.id == ben
        )


async def test_the_assign_picker_puts_the_agents_who_read_the_contacts_language_first(desk: Desk):
    """Ana writes from Spain (she reads es first): Bob, whose skills say he reads Spanish
    (``lang:es``), leads the assign picker though Ada has fewer open tickets (the order
    before the contact's languages). For Eve (nothing says she reads Spanish) the order
    stays; the current owner is marked."""
    from tui.dialogs.picker import FuzzyPicker

    ada, bob = desk.backend.admin, desk.backend.agent
    assert "lang:es" in bob.skills and "lang:es" not in ada.skills
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["eve"])
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        picker = app.screen
        assert [item.value for item in picker.items][:2] == [ada.id, bob.id]
        assert "Ada Admin (current)" in picker.items[0].label.plain
        await pilot.press("escape")
        await wait_for(lambda: app.screen is screen)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        picker = app.screen
        await wait_for(lambda: picker.items[0].value == bob.id)
        assert picker.items[1].value == ada.id
        assert picker.highlighted_item is not None and picker.highlighted_item.value == bob.id


async def test_a_text_cut_to_a_length_says_it_was_cut(desk: Desk):
    """A subject cut to fit the palette's thread hit, the search hit's line or an owner's
    first name cut to the list's column ends with "…": "todav" or "HF-PO-88" read as the
    whole word, the whole order number."""
    from textual.command import CommandPalette

    from backend import schemas

    subject = "Order HF-PO-88123456 has not arrived and nobody answers the phone todavía"
    await desk.store.write(
        lambda tx: tx.execute(
            "UPDATE tickets SET subject = ? WHERE id = ?", (subject, desk.tickets["ana"])
        )
    )
    made = await desk.store.create_agent(schemas.AgentCreate(name="Maximiliana Ortega"))
    await desk.call("PATCH", f"/tickets/{desk.tickets['chen']}", json={"owner_id": made.agent.id})
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await inbox_ready(app)
        await wait_for(lambda: "Maximilia" in screen_text(app))
        (row,) = [line for line in screen_text(app).splitlines() if "Maximilia" in line]
        assert "Maximilia…" in row, row
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("ctrl+p")
        await wait_for(lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"thread")
        await wait_for(lambda: "thread: Ana" in screen_text(app))
        (hit,) = [line for line in screen_text(app).splitlines() if "thread: Ana" in line]
        assert "HF-PO-88123456 has not arrived an…" in hit, hit
        await pilot.press("escape")
        await wait_for(lambda: app.screen is screen)
        search = await search_for(pilot, app, "arrived")
        await wait_for(lambda: "Ana García" in screen_text(app))
        top = next(line for line in screen_text(app).splitlines() if "Ana García" in line)
        assert subject[:59] + "…" in top, top
        assert search is app.screen


async def test_quitting_asks_when_an_open_dialog_holds_typed_input(desk: Desk, tmp_path):
    """ctrl+q over the "Attach a file" prompt with a path typed in it asks first (what was
    typed would be lost); with nothing typed it quits at once."""
    from tui.dialogs.simple import PromptDialog

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r", "ctrl+f")
        await wait_for(lambda: isinstance(app.screen, PromptDialog))
        prompt = app.screen
        await pilot.press(*"~/Documents/invoice-2026-11.pdf")
        await pilot.press("ctrl+q")
        await wait_for(lambda: _quit_dialog(app) is not None)
        assert "typed in the open dialog" in _question(app)
        await pilot.press("n")
        await wait_for(lambda: app.screen is prompt)
        assert app.return_code is None
        await pilot.press("escape")  # the dialog closed: nothing typed is open any more
        await wait_for(lambda: app.screen is screen)
        await pilot.press("ctrl+f")
        await wait_for(lambda: isinstance(app.screen, PromptDialog))
        await pilot.press("ctrl+q")
        await wait_for(lambda: app.return_code == 0)
        assert _quit_dialog(app) is None


async def test_quitting_asks_when_the_reply_has_a_file_attached(desk: Desk, tmp_path):
    """A draft keeps the text only: a file attached to the reply would be lost."""
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(b"%PDF-1.4\n%%EOF\n")
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        screen.composer.add_attachment(invoice)
        await pilot.press("ctrl+q")
        await wait_for(lambda: _quit_dialog(app) is not None)
        assert "invoice.pdf" in _question(app)
        await pilot.press("y")
        await wait_for(lambda: app.return_code == 0)
