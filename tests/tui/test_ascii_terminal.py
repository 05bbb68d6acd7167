"""A terminal whose locale is not UTF-8 (``LC_ALL=C``): customer text is spelled in ASCII
as far as it can be, ``?`` only for what has no spelling. Real backend, pilot."""

from __future__ import annotations

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
