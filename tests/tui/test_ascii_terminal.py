"""A terminal whose locale is not UTF-8 (``LC_ALL=C``): customer text is spelled in ASCII
as far as it can be, ``?`` only for what has no spelling. Real backend, pilot."""

from __future__ import annotations

import re

from tests.tui.backend_fixtures import inbox_ready, open_thread, screen_text, wait_for
from tui import glyphs
from tui.terminal_output import to_ascii


async def test_letters_without_an_accent_to_drop_are_spelled_out_not_questioned(desk):
    await desk.customer_writes("ana", "¡Grüße aus der Straße, Ærø og Łódź! ¿你好?")
    glyphs.use(glyphs.ASCII)
    try:
        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await inbox_ready(app)
            await open_thread(pilot, screen, desk.ids["ana"])
            await wait_for(lambda: "Gr" in to_ascii(screen_text(app)))
            # what the terminal is sent: every cell through to_ascii, as the driver does
            shown = to_ascii(screen_text(app))
            assert "!Grusse aus der Strasse, AEro og Lodz! ?????" in shown, shown
    finally:
        glyphs.use(glyphs.UNICODE)


def test_a_cut_reads_as_cut_not_as_a_full_stop():
    """Rich and Textual end a cut text with one "…" cell: in ASCII it is "~" (a mark that
    reads as cut), not "." ("HF-PO-881." read as the whole order number)."""
    assert to_ascii("HF-PO-881…") == "HF-PO-881~"


async def test_cut_texts_and_scrollbars_in_ascii(desk):
    """The thread list's preview and the thread's header cut a long text with a mark that
    reads as cut, words that go on ("Write a reply…") end with "..."; a scrollbar is whole cells (its ends in eighths of a cell, "▁▂▃", were
    "_" in ASCII: stray underscores beside the text)."""
    order = "HF-PO-881234567 " + " ".join(f"line {n} of the order details" for n in range(60))
    await desk.customer_writes("ana", order)
    glyphs.use(glyphs.ASCII)
    try:
        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(60, 20)) as pilot:
            screen = await inbox_ready(app)
            await wait_for(lambda: "HF-PO" in screen_text(app))
            shown = to_ascii(screen_text(app))
            preview = next(line for line in shown.splitlines() if "HF-PO" in line)
            assert preview.rstrip().endswith("~"), preview
            await open_thread(pilot, screen, desk.ids["ana"])
            await wait_for(lambda: "line 19" in screen_text(app))
            # words that go on say so with three dots, not a cut's "~"
            assert "Write a reply...  (ctrl+s send" in to_ascii(screen_text(app))
            log = screen.log_widget
            assert log.max_scroll_y > 0  # the message log scrolls: its scrollbar is drawn
            for y in range(log.max_scroll_y + 1):
                log.scroll_to(y=y, animate=False)
                await pilot.pause()
                shown = to_ascii(screen_text(app))
                assert "_" not in shown, shown
    finally:
        glyphs.use(glyphs.UNICODE)


async def test_the_palettes_search_mark_is_ascii(desk):
    """Textual's palette draws a magnifier emoji before what is typed: "??" in ASCII, as if
    something were broken. There it is ">"."""
    from textual.command import CommandPalette

    glyphs.use(glyphs.ASCII)
    try:
        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(80, 24)) as pilot:
            await inbox_ready(app)
            await pilot.press("ctrl+p")
            await wait_for(lambda: isinstance(app.screen, CommandPalette))
            await pilot.press(*"close")
            await wait_for(lambda: "Close the ticket" in screen_text(app))
            typed = next(line for line in screen_text(app).splitlines() if "close" in line)
            assert to_ascii(typed).split()[0] == ">", typed
    finally:
        glyphs.use(glyphs.UNICODE)


async def test_an_emoji_reads_as_its_name_in_ascii_not_as_question_marks(desk):
    """An emoji has no ASCII spelling: drawn cell by cell it was "??". Under LC_ALL=C the
    inbox shows its name in brackets, in the thread, the list's preview and the contact's
    name; what is stored (and would be quoted or sent) keeps the emoji."""
    text = "Jajaja 😂 gracias 👍🏽 ❤️ 🇪🇸 👩‍💻 [b]ok[/b]"
    message_id = await desk.customer_writes("ana", text)
    await desk.call("PATCH", f"/contacts/{desk.contacts['ana']}", json={"first_name": "Ana 🌸"})
    glyphs.use(glyphs.ASCII)
    try:
        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(120, 30)) as pilot:
            screen = await inbox_ready(app)
            await wait_for(lambda: "Jajaja" in screen_text(app))
            row = next(line for line in screen_text(app).splitlines() if "Jajaja" in line)
            assert "Jajaja [face with tears of joy] gracias" in to_ascii(row), row
            await open_thread(pilot, screen, desk.ids["ana"])
            await wait_for(lambda: "gracias" in to_ascii(screen_text(app)).split("Jajaja")[-1])
            shown = to_ascii(screen_text(app))
            flat = re.sub(r" *\n *[#|] ", " ", shown)  # the message's lines as one
            assert (
                "Jajaja [face with tears of joy] gracias [thumbs up sign] [heavy black heart] "
                "[flag ES] [woman + personal computer] [b]ok[/b]"
            ) in flat, shown  # the skin tone and the variation selector go with theirs
            assert "[cherry blossom]" in shown, shown  # the contact's name, in the header
            assert "??" not in shown, shown
    finally:
        glyphs.use(glyphs.UNICODE)
    stored = await desk.call("GET", f"/threads/{desk.ids['ana']}/messages")
    assert next(m for m in stored["items"] if m["id"] == message_id)["text"] == text
