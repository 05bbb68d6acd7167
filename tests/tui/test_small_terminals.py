"""Small terminals over SSH: at 80×24 a toast never covers what the agent is writing or the
session timer, and 60×20 is still a working inbox. Real backend and simulator, pilot."""

from __future__ import annotations

import pytest
from textual.widgets._toast import Toast

from tests.tui.backend_fixtures import (
    CUSTOMERS,
    inbox_ready,
    open_thread,
    screen_text,
    search_for,
    wait_for,
)


def visible(widget) -> object:  # noqa: ANN001 - any mounted widget
    return widget.screen.find_widget(widget).visible_region


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_toasts_keep_off_the_composer_and_the_session_hint(desk, size):
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=size, notifications=True) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r")
        await wait_for(lambda: screen.composer.area.has_focus)
        # a draft of a few lines: the composer grows towards the top of the screen
        await pilot.press(*"Thanks for waiting,", "enter", *"it ships today", "enter", "-")
        assert "session" in str(screen.query_one("#thread-header").render())
        for number in range(8):  # more than fit: the newest show, in place
            title = f"From customer {number}"
            app.notify(
                f"Customer {number} wrote a long message that wraps over two lines here",
                title=title,
                markup=False,
            )
            await wait_for(lambda title=title: title in screen_text(app))
        composer = visible(screen.composer)
        session_hint = visible(screen.query_one("#thread-header"))
        assert composer.height >= 3 and session_hint.height >= 1
        shown = [visible(toast) for toast in app.screen.query(Toast)]
        assert any(region.height > 0 for region in shown)
        for region in shown:
            assert not region.overlaps(composer), (region, composer, screen_text(app))
            assert not region.overlaps(session_hint), (region, session_hint, screen_text(app))


async def test_at_60x20_the_list_shows_rows_and_a_reply_is_written_and_sent(desk):
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(60, 20)) as pilot:
        screen = await inbox_ready(app)
        threads = visible(screen.threads)
        assert threads.height >= 10, screen_text(app)
        assert "Ana García" in screen_text(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await wait_for(lambda: "Hola, my order has not arrived" in screen_text(app))
        # the session timer is the header's second line, whole, ahead of rarer details
        session_line = screen_text(app).splitlines()[2]
        assert "session 23h 57m left" in session_line, session_line
        await pilot.press("r")
        await wait_for(lambda: screen.composer.area.has_focus)
        await pilot.press(*"On its way")
        await wait_for(lambda: "On its way" in screen_text(app))
        composer = visible(screen.composer)
        assert composer.height >= 3 and composer.bottom <= 19, screen_text(app)
        footer = screen_text(app).splitlines()[-1]
        assert "Send" in footer, footer
        await pilot.press("ctrl+s")
        await wait_for(lambda: any(m.text == "On its way" for m in screen.log_widget.messages))
        await wait_for(lambda: screen.composer.text == "")
        await pilot.press("escape", "escape")
        await wait_for(lambda: not screen.thread_open)
        assert visible(screen.threads).height >= 10
    sent = await desk.env.sent(to=CUSTOMERS["ana"].wa_id)
    assert [item["body"]["text"]["body"] for item in sent] == ["On its way"]


@pytest.mark.parametrize("size", [(60, 20), (80, 24)])
async def test_the_footer_leads_with_reply_assign_close_in_the_list_and_the_thread(desk, size):
    """The keys of every reply lead the footer, before the focused pane's own; below 70
    columns the labels are short (one word, the help and palette keys bare) so they fit."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=size) as pilot:
        screen = await inbox_ready(app)
        lead = "r Reply a Assign c Close "
        await wait_for(lambda: screen_text(app).splitlines()[-1].startswith(lead))
        await open_thread(pilot, screen, desk.ids["ana"])
        screen.log_widget.focus()
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert footer.startswith(lead), footer
        assert "Q Quote" in footer, footer  # the message log's own keys follow
        narrow = size[0] < 70
        assert footer.rstrip().endswith("▏? ^p" if narrow else "▏? Help ^p Palette"), footer
        assert ("Quote reply" in footer) is not narrow, footer


async def test_at_80x24_every_footer_label_is_whole_and_the_rest_in_help_and_palette(desk):
    """At 80×24 the footer cut its last label ("t …", "t Templa…", "alt+e By e-ma…"): in
    the list, the thread and the composer, each label is drawn whole or left out, and a key
    left out is still in the command palette."""
    from tui.commands import TtydeskCommands
    from tui.widgets.footer import KeyFooter

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        footer = screen.query_one(KeyFooter)

        def check(where: str) -> None:
            line = screen_text(app).splitlines()[-1]
            assert "…" not in line, (where, line)
            for start, end, item in footer._spans:
                label = f"{item.display} {item.description}" if item.description else item.display
                assert line[start:end] == label, (where, line)
            drawn = {id(item) for _, _, item in footer._spans}
            left_out = [item for item in footer.items if id(item) not in drawn]
            commands = {name for name, _, _ in TtydeskCommands(screen)._commands()}
            for item in left_out:
                assert item.description in commands, (where, item, sorted(commands))

        await wait_for(lambda: screen_text(app).splitlines()[-1].startswith("r Reply"))
        check("list")
        await open_thread(pilot, screen, desk.ids["ana"])
        screen.log_widget.focus()
        await pilot.pause()
        check("thread")
        await pilot.press("r")
        await wait_for(lambda: screen.composer.area.has_focus)
        await pilot.pause()
        check("composer")


async def test_what_is_typed_right_after_r_lands_in_the_composer(desk):
    """Over a slow link the keys after ``r`` arrive before the app has handled it: they
    must go to the composer, not to the thread (where letters are commands)."""
    from textual import events

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        screen.log_widget.focus()
        await pilot.pause()
        for key in ("r", "y", "y"):  # queued together, as a burst from the terminal
            app.post_message(events.Key(key, key))
        await wait_for(lambda: screen.composer.text == "yy")


async def test_a_toast_raised_under_the_help_waits_until_the_help_closes(desk):
    """The help (like every dialog) takes the whole screen at 80×24: a toast raised while it
    is open would cover the keys being read, so it waits and shows once the help closes."""
    from tui.screens.help import HelpScreen

    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await inbox_ready(app)
        app.notify("Customer wrote before", title="From Ana", markup=False)
        await wait_for(lambda: "From Ana" in screen_text(app))
        await pilot.press("question_mark")
        await wait_for(lambda: isinstance(app.screen, HelpScreen))
        app.notify("Customer wrote while you read", title="From Ben", markup=False)
        for _ in range(3):
            await pilot.pause()
        assert "From Ben" not in screen_text(app)
        assert "From Ana" not in screen_text(app)  # shown before the help: hidden too
        await pilot.press("escape")
        await wait_for(lambda: app.screen is screen)
        await wait_for(lambda: "From Ben" in screen_text(app))


async def test_the_assign_picker_names_the_current_owner_on_the_owners_own_line(desk):
    """At 60 columns an agent's line (availability, open tickets, skills) wraps: the
    ``(current)`` mark comes right after the name, so it never lands alone on the next line
    where it reads as the mark of the agent below."""
    from tui.dialogs.picker import FuzzyPicker

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(60, 20)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ben"])  # Bob's
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await wait_for(lambda: "Bob Agent" in screen_text(app))
        lines = screen_text(app).splitlines()
        bob = next(line for line in lines if "Bob Agent" in line)
        assert "Bob Agent (current)" in bob, screen_text(app)


async def test_news_of_a_message_waits_off_the_search_and_reports_screens(desk):
    """Search results and reports fill the screen at 80×24: a toast there covers hits or
    table cells. News of a customer's message waits until the inbox is back (the list
    shows it meanwhile); then it shows."""
    from tests.tui.test_reports_screen import open_reports

    async def news_reached_the_app() -> None:
        newest = (await desk.store.event_bounds())[1]
        await wait_for(lambda: app.stream is not None and app.stream.since >= newest)
        await pilot.pause()  # what the event set off (a toast) is handled too

    await desk.call("PATCH", "/me", json={"notify": "all"})
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await inbox_ready(app)
        await search_for(pilot, app, "order")
        await desk.customer_writes("ben", "Are you there?")
        await news_reached_the_app()
        assert "New message" not in screen_text(app), screen_text(app)
        await pilot.press("escape", "escape")  # the results, the query, the inbox
        await wait_for(lambda: "New message from Ben" in screen_text(app))

        await open_reports(app, pilot)
        await desk.customer_writes("ana", "Hello again")
        await news_reached_the_app()
        assert "New message" not in screen_text(app), screen_text(app)
        await pilot.press("escape")
        await wait_for(lambda: "New message from Ana" in screen_text(app))


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_toasts_over_the_list_hide_no_row_of_it(desk, size):
    """With the list filling a narrow terminal, a toast at the top right covered the owner
    and age columns of the rows under it (the newest threads): toasts take rows of their
    own, and every row of the list stays whole while they show."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=size, notifications=True) as pilot:
        screen = await inbox_ready(app)
        for number in range(3):
            title = f"From customer {number}"
            app.notify(
                "A long message that wraps over two lines at 60 columns", title=title, markup=False
            )
            await wait_for(lambda title=title: title in screen_text(app))
        await pilot.pause()
        threads = visible(screen.threads)
        assert threads.height >= 6, screen_text(app)  # still a list to work in
        shown = [visible(toast) for toast in app.screen.query(Toast)]
        assert any(region.height > 0 for region in shown)
        for region in shown:
            assert not region.overlaps(threads), (region, threads, screen_text(app))


async def test_the_list_has_its_rows_back_once_a_toast_raised_in_a_thread_is_gone(desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        app.notify("Short-lived", title="From Ana", markup=False, timeout=0.5)
        await wait_for(lambda: "From Ana" in screen_text(app))
        await pilot.press("escape", "escape")
        await wait_for(lambda: not screen.thread_open)
        await wait_for(lambda: "From Ana" not in screen_text(app))
        await wait_for(lambda: visible(screen.threads).height >= 20)
        assert "Reply" in screen_text(app).splitlines()[-1]  # the footer, in its place


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_a_search_hit_keeps_to_its_two_lines(desk, size):
    """A long snippet (or subject) is cut at the edge with an ellipsis: it never wraps to
    column 0 under the next row, where it reads as a hit of its own."""

    long_text = "needle " + " ".join(f"filler{n}" for n in range(60)) + " tailword"
    await desk.customer_writes("ben", long_text)
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=size) as pilot:
        await inbox_ready(app)
        search = await search_for(pilot, app, "needle")
        await wait_for(lambda: len(search.hits) == 1 and "filler" in screen_text(app))
        await pilot.pause()
        shown = screen_text(app)
        assert "tailword" not in shown, shown
        snippet_lines = [line for line in shown.splitlines() if "filler" in line]
        assert len(snippet_lines) == 1, shown
        assert snippet_lines[0].strip("▊▎│ ").startswith("needle"), shown
        (hit_height,) = {len(strips) for strips in _option_renders(search)}
        assert hit_height == 2


def _option_renders(search) -> list:  # noqa: ANN001 - the SearchScreen
    from tui.screens.search import SearchResults

    results = search.query_one(SearchResults)
    style = results.get_visual_style("option-list--option")
    return [results._get_option_render(option, style) for option in results.options]


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_thread_header_shows_the_desks_number_whole(desk, size):
    """The number the customer wrote to was the last thing on the header's second line, and
    a narrow terminal cut it ("via 155500…"): a cut number reads as another number. It
    stands whole beside the customer's; the ticket's subject gives way instead."""
    from tests.tui.backend_fixtures import BUSINESS_DISPLAY

    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=size) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await wait_for(lambda: CUSTOMERS["ana"].phone in screen_text(app))
        header = str(screen.query_one("#thread-header").render())
        shown = screen_text(app)
        assert f"via {BUSINESS_DISPLAY}" in shown, shown
        assert CUSTOMERS["ana"].phone in shown, shown
        assert header.count("\n") == 1  # two lines


async def test_a_closed_thread_offers_reopen_where_close_was(desk):
    """On a closed ticket the footer offered "c Close" (which "closed" it again, with an
    undo toast) and hid Reopen: the key of its state takes the place instead."""
    from backend.schemas import TicketStatus

    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        footer = lambda: screen_text(app).splitlines()[-1]  # noqa: E731
        thread = await desk.thread("dora")
        assert thread.ticket.status == TicketStatus.closed
        screen.open_thread(thread)
        await wait_for(lambda: screen.thread is not None and screen.thread.id == thread.id)
        await wait_for(lambda: "o Reopen" in footer())
        assert "c Close" not in footer(), footer()
        await pilot.press("c")  # not for a closed ticket: nothing happens
        await pilot.pause()
        assert "u undoes" not in screen_text(app)
        await pilot.press("o")
        await wait_for(lambda: "c Close" in footer())
        assert "o Reopen" not in footer(), footer()
        assert (await desk.thread("dora")).ticket.status != TicketStatus.closed


async def test_a_record_to_start_a_conversation_with_keeps_to_its_line(desk):
    """N's picker: a company's line ("… lopezhermanos.example · 2 contact(s)") wrapped at
    80 columns, its end alone at column 0 under the next line's place; the line names the
    record, the contacts it stands for are told under the list."""
    from tui.screens.records import RecordSearchPicker

    ids = await desk.store.create_companies(
        [{"name": "Lopez Hermanos Sociedad Limitada", "domain": "lopezhermanos.example"}]
    )
    company = ids["Lopez Hermanos Sociedad Limitada"]
    await desk.store.associate_contacts_with_companies(
        [(desk.contacts["ana"], company), (desk.contacts["dora"], company)]
    )
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        await inbox_ready(app)
        await pilot.press("N")
        await wait_for(lambda: isinstance(app.screen, RecordSearchPicker))
        picker = app.screen
        await pilot.press(*"Hermanos")
        await wait_for(
            lambda: [item.label.plain.split()[0] for item in picker._shown] == ["company"]
        )
        await pilot.pause()
        options = picker.query_one("#picker-options")
        style = options.get_visual_style("option-list--option")
        heights = [len(options._get_option_render(o, style)) for o in options.options]
        assert heights == [1], screen_text(app)
        detail = str(picker.query_one("#picker-detail").render())
        assert "2 contacts: " in detail and "Dora Müller" in detail, detail


async def test_the_footer_says_what_ctrl_s_does_to_a_private_note(desk):
    """Writing a private note, the footer said "^s Send" (the composer's own line said
    "ctrl+s save"): an agent could fear the note goes to the customer."""
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        footer = lambda: screen_text(app).splitlines()[-1]  # noqa: E731
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r")
        await wait_for(lambda: screen.composer.area.has_focus and "^s Send" in footer())
        await pilot.press("ctrl+n")  # a private note
        await wait_for(lambda: "^s Save note" in footer())
        assert "Send" not in footer(), footer()
        await pilot.press("ctrl+n")  # a reply again
        await wait_for(lambda: "^s Send" in footer())


async def test_a_toast_waits_while_the_command_palette_is_open(desk):
    """The palette's options fill the middle of the screen at 80×24: a toast over them hid
    the commands being read. As under a dialog, a toast raised while it is open waits
    until it closes, and one shown before stays in the inbox below, off the options."""
    from textual.command import CommandList, CommandPalette

    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await inbox_ready(app)
        app.notify("Customer wrote before", title="From Ana", markup=False)
        await wait_for(lambda: "From Ana" in screen_text(app))
        await pilot.press("ctrl+p")
        await wait_for(lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"close")
        await wait_for(lambda: "Close the ticket" in screen_text(app))
        app.notify("Customer wrote while you chose", title="From Ben", markup=False)
        for _ in range(3):
            await pilot.pause()
        shown = screen_text(app).splitlines()
        assert not any("From Ben" in line for line in shown)
        options = app.screen.query_one(CommandList).region
        ana = next(y for y, line in enumerate(shown) if "From Ana" in line)
        assert ana >= options.bottom, "\n".join(shown)
        await pilot.press("escape")
        await wait_for(lambda: app.screen is screen)
        await wait_for(lambda: "From Ben" in screen_text(app))
