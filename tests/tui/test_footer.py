"""The one-line key footer: what it shows, when it repaints, clicks."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.widgets.footer import KeyFooter


class FooterApp(App[None]):
    BINDINGS = [
        Binding("ctrl+p", "command_palette", "Palette", priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("r", "reply", "Reply"),
        Binding("c", "close", "Close"),
        Binding("j,down", "down", "Down", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.can_close: bool | None = True
        self.replies = 0

    def compose(self) -> ComposeResult:
        yield Static("body")
        yield KeyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close":
            return self.can_close
        return True

    def action_reply(self) -> None:
        self.replies += 1

    def action_help(self) -> None:
        pass


def footer_line(app: App[None]) -> str:
    footer = app.screen.query_one(KeyFooter)
    return str(footer.render())


async def test_shows_keys_palette_and_help_at_the_right():
    app = FooterApp()
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        line = footer_line(app)
        assert len(line) == 80
        assert line.startswith("r Reply c Close")
        assert line.rstrip().endswith("▏? Help ^p Palette")
        assert "Down" not in line


async def test_repaints_only_when_the_keys_change():
    app = FooterApp()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        before = footer.items
        app.screen.refresh_bindings()
        await pilot.pause()
        assert footer.items is before  # nothing changed: same tuple, no repaint

        app.can_close = None  # shown, disabled
        app.screen.refresh_bindings()
        await pilot.pause()
        assert [i.enabled for i in footer.items if i.description == "Close"] == [False]

        app.can_close = False  # hidden
        app.screen.refresh_bindings()
        await pilot.pause()
        assert "Close" not in footer_line(app)


async def test_narrow_form_bare_help_and_palette_then_cut_short():
    """Below NARROW_WIDTH the help and palette keys lose their descriptions (the keys stay),
    so more keys fit; a key that still does not fit whole is left out."""
    app = FooterApp()
    async with app.run_test(size=(40, 5)) as pilot:
        await pilot.pause()
        line = footer_line(app)
        assert len(line) == 40
        assert line.startswith("r Reply c Close")
        assert line.endswith("▏? ^p")
    app = FooterApp()
    async with app.run_test(size=(18, 5)) as pilot:
        await pilot.pause()
        line = footer_line(app)
        assert line == "r Reply      ▏? ^p"  # "c Close" does not fit whole: left for ? help
    app = FooterApp()
    async with app.run_test(size=(10, 5)) as pilot:
        await pilot.pause()
        assert footer_line(app) == "r Re…▏? ^p"  # the first key, cut, rather than none


class ManyKeysApp(FooterApp):
    BINDINGS = [
        *FooterApp.BINDINGS,
        Binding("a", "assign", "Assign"),
        Binding("enter", "open", "Open"),
        Binding("space", "select", "Select"),
        Binding("M", "take", "Take"),
        Binding("n", "note", "Note"),
        Binding("t", "templates", "Templates"),
        Binding("v", "new_view", "New view"),
    ]


async def test_a_key_that_does_not_fit_whole_is_left_out_not_cut():
    """At 80 columns the last key showed as "t …": a label is drawn whole or not at all
    (the keys left out are in ? help and the palette); the keys that fit keep their order."""
    app = ManyKeysApp()
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        line = footer_line(app)
        assert len(line) == 80
        assert "…" not in line, line
        assert line.rstrip().endswith("▏? Help ^p Palette"), line
        footer = app.screen.query_one(KeyFooter)
        drawn = [item for _, _, item in footer._spans if item in footer.items]
        assert drawn == list(footer.items[: len(drawn)])  # the leading keys, in order
        assert len(drawn) < len(footer.items)  # some keys were left out
        for start, end, item in footer._spans:
            assert line[start:end] == f"{item.display} {item.description}", line


async def test_the_actions_the_screen_names_lead():
    app = FooterApp()
    async with app.run_test(size=(60, 5)) as pilot:
        app.screen.FOOTER_FIRST = ("close",)  # type: ignore[attr-defined]
        app.screen.refresh_bindings()
        await pilot.pause()
        assert footer_line(app).startswith("c Close r Reply")


async def test_a_click_presses_the_key():
    app = FooterApp()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        await pilot.click(footer, offset=(2, 0))
        await pilot.pause()
        assert app.replies == 1
