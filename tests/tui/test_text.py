"""Customer text is inert: no markup, visible controls and bidi, WhatsApp styles, clipping."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from rich.console import Console

from backend.schemas import MailboxUpdate
from tui import glyphs
from tui.text import (
    age,
    clip,
    countdown,
    first_problem,
    human_size,
    inert,
    named_emoji,
    one_line,
    whatsapp,
)


def plain(text) -> str:
    return text.plain


def test_markup_is_not_interpreted():
    text = inert("[bold]hi[/bold] [link=http://x]y[/link]")
    assert plain(text) == "[bold]hi[/bold] [link=http://x]y[/link]"
    assert not text.spans


def test_ansi_escapes_are_made_visible():
    text = inert("a\x1b[31mred\x1b[0m\x07")
    assert plain(text) == "a␛[31mred␛[0m␇"
    assert "\x1b" not in plain(text)


def test_bidi_and_zero_width_characters_are_named():
    assert plain(inert("x\u202eexe.pdf\u202cy\u200b")) == "x⟨RLO⟩exe.pdf⟨PDF⟩y⟨ZWSP⟩"


def test_c1_controls_and_del_are_visible():
    assert plain(inert("a\x9bb\x7f")) == "a⟨U+009B⟩b␡"


def test_rendering_never_emits_raw_escape_bytes():
    console = Console(force_terminal=True, color_system="truecolor", width=80)
    with console.capture() as capture:
        console.print(whatsapp("\x1b]0;pwned\x07 *bold* \x1b[2J"))
    out = capture.get()
    assert "\x1b]0;" not in out and "\x1b[2J" not in out


def test_whatsapp_formatting():
    text = whatsapp("*bold* _it_ ~gone~ ```co*de*``` and a*b*c")
    assert plain(text) == "bold it gone co*de* and a*b*c"
    styles = {plain(text)[s.start : s.end]: str(s.style) for s in text.spans}
    assert "bold" in styles["bold"]
    assert "italic" in styles["it"]
    assert "strike" in styles["gone"]


def test_formatting_inside_stays_inert():
    text = whatsapp("*\x1b[1m[red]x*")
    assert plain(text) == "␛[1m[red]x"


def test_one_line_joins_lines():
    assert plain(one_line("a\n\nb   c")) == "a ⏎  ⏎ b c"


def test_clip_long_messages():
    clipped = clip("x" * 5000)
    assert len(clipped.text) == 2000 and clipped.hidden_chars == 3000
    lines = clip("\n".join(str(i) for i in range(100)), max_lines=30)
    assert lines.text.count("\n") == 29 and lines.truncated
    assert not clip("short").truncated


def test_one_megabyte_message_is_cheap():
    big = "A" * 2**20
    assert len(clip(big).text) == 2000


def test_sizes_ages_and_countdowns():
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert human_size(1536) == "1.5 KB" and human_size(10) == "10 B"
    assert age(now - timedelta(seconds=30), now) == "now"
    assert age(now - timedelta(minutes=5), now) == "5m"
    assert age(now - timedelta(hours=3), now) == "3h"
    assert age(now - timedelta(days=3), now) == "3d"
    assert countdown(now + timedelta(hours=2, minutes=5), now) == "2h 05m"
    assert countdown(now - timedelta(minutes=1), now) is None


def test_a_forms_first_problem_names_the_field_in_words():
    """One wording for the mailbox dialog, the channel wizard, the signature and a reply."""
    with pytest.raises(ValidationError) as refused:
        MailboxUpdate(imap_port=0, smtp_port=70000)
    assert first_problem(refused.value) == "imap port: Input should be greater than or equal to 1"


@pytest.mark.parametrize(
    ("shown", "named"),
    [
        ("ok 😂!", "ok [face with tears of joy]!"),
        ("👍🏽", "[thumbs up sign]"),  # the skin tone is part of it
        ("❤️ ❤ ☺", "[heavy black heart] [heavy black heart] [white smiling face]"),
        ("🇪🇸🇲🇽", "[flag ES][flag MX]"),
        ("👨‍👩‍👧", "[man + woman + girl]"),
        ("⌚ ⭐", "[watch] [white medium star]"),
        ("©️ 2026", "[copyright sign] 2026"),  # asked to be an emoji
        ("© 25°C → x ½", "© 25°C → x ½"),  # signs, arrows, fractions: left to the terminal
        ("\U0001fae8", "[emoji]"),  # newer than this Python's Unicode: unnamed, still one
        ("a\u200db", "a\u200db"),  # a joiner between letters is not an emoji's
        ("[b]x[/b]", "[b]x[/b]"),
    ],
)
def test_an_emoji_is_named_for_a_terminal_without_unicode(shown, named):
    assert named_emoji(shown) == named


def test_only_an_ascii_terminal_gets_the_names_and_they_stay_data():
    assert plain(inert("hi 😂")) == "hi 😂"
    glyphs.use(glyphs.ASCII)
    try:
        text = one_line("hi 😂 [bold]x[/bold]")
        assert plain(text) == "hi [face with tears of joy] [bold]x[/bold]"
        assert not text.spans  # no markup read from the customer's text
    finally:
        glyphs.use(glyphs.UNICODE)
