"""A fuzzy picker: type to filter, ``enter`` to choose, ``escape`` to cancel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.glyphs import glyphs

T = TypeVar("T")


@dataclass
class PickItem(Generic[T]):
    value: T
    label: Text
    search: str
    disabled: bool = False
    detail: Text = field(default_factory=Text)


class FuzzyPicker(ModalScreen[T | None], Generic[T]):
    """Pick one of ``items``; the result is the item's value (``None`` when cancelled)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel", tooltip="Close without choosing"),
        Binding(
            "down,ctrl+j", "move(1)", "Down", show=False, id="picker.down", tooltip="Next item"
        ),
        Binding("up,ctrl+k", "move(-1)", "Up", show=False, id="picker.up", tooltip="Previous item"),
    ]

    DEFAULT_CSS = """
    FuzzyPicker {
        align: center middle;
        & > Vertical {
            width: 70; max-width: 95%; height: auto; max-height: 80%;
            border: thick $primary 60%; background: $panel; padding: 0 1;
        }
        & #picker-title { text-style: bold; padding: 0 0 1 0; }
        & OptionList { height: auto; max-height: 20; border: none; }
        & #picker-detail { height: auto; color: $text-muted; }
    }
    """

    def __init__(
        self, title: str, items: list[PickItem[T]], *, placeholder: str = "type to filter"
    ) -> None:
        super().__init__()
        self.title_text = title
        self.items = items
        self.placeholder = placeholder
        self._shown: list[PickItem[T]] = []
        self._marked: int | None = None  # the option showing the cursor glyph

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text), id="picker-title")
            yield Input(placeholder=self.placeholder, id="picker-input", classes="query")
            yield OptionList(id="picker-options")
            yield Static("", id="picker-detail", markup=False)

    def on_mount(self) -> None:
        self._filter("")
        self.query_one("#picker-input", Input).focus()

    @on(Input.Changed, "#picker-input")
    def _on_changed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    def set_items(self, items: list[PickItem[T]]) -> None:
        """Show new items (fresher labels), keeping the typed filter and the highlighted value."""
        current = self.highlighted_item
        self.items = items
        self._filter(self.query_one("#picker-input", Input).value, keep=current)

    def _filter(self, query: str, *, keep: PickItem[T] | None = None) -> None:
        options = self.query_one("#picker-options", OptionList)
        if query.strip():
            matcher = Matcher(query.strip())
            scored = [(matcher.match(item.search), item) for item in self.items]
            shown = [item for score, item in sorted(scored, key=lambda p: -p[0]) if score > 0]
        else:
            shown = list(self.items)
        self._shown = shown
        self._marked = None
        options.clear_options()
        options.add_options(
            [Option(self._prompt(item, False), disabled=item.disabled) for item in shown]
        )
        kept = [i for i, item in enumerate(shown) if keep is not None and item.value == keep.value]
        if kept:
            options.highlighted = kept[0]
        else:
            for index, item in enumerate(shown):
                if not item.disabled:
                    options.highlighted = index
                    break
        self._show_detail()

    def _show_detail(self) -> None:
        item = self.highlighted_item
        self.query_one("#picker-detail", Static).update(item.detail if item else Text())
        self._mark_highlighted()

    @staticmethod
    def _prompt(item: PickItem[T], highlighted: bool) -> Text:
        """The item's line behind a marker column: the cursor glyph when highlighted (the
        highlight's background alone is lost without colour)."""
        line = Text(f"{glyphs().cursor} " if highlighted else "  ", style="bold")
        line.append_text(item.label)
        return line

    def _mark_highlighted(self) -> None:
        options = self.query_one("#picker-options", OptionList)
        index = options.highlighted
        if index == self._marked:
            return
        if self._marked is not None and self._marked < len(self._shown):
            options.replace_option_prompt_at_index(
                self._marked, self._prompt(self._shown[self._marked], False)
            )
        self._marked = None
        if index is not None and index < len(self._shown):
            options.replace_option_prompt_at_index(index, self._prompt(self._shown[index], True))
            self._marked = index

    @property
    def highlighted_item(self) -> PickItem[T] | None:
        options = self.query_one("#picker-options", OptionList)
        if options.highlighted is None or options.highlighted >= len(self._shown):
            return None
        return self._shown[options.highlighted]

    @on(OptionList.OptionHighlighted)
    def _on_highlighted(self) -> None:
        self._show_detail()

    @on(Input.Submitted, "#picker-input")
    def _on_submit(self) -> None:
        self._choose()

    @on(OptionList.OptionSelected)
    def _on_selected(self) -> None:
        self._choose()

    def _choose(self) -> None:
        item = self.highlighted_item
        if item is not None and not item.disabled:
            self.dismiss(item.value)

    def action_move(self, delta: int) -> None:
        options = self.query_one("#picker-options", OptionList)
        if delta > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)
