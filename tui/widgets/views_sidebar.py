"""The views column: built-in then custom views, each with its live count."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from backend.schemas import View
from tui.glyphs import glyphs
from tui.text import one_line


class ViewsSidebar(OptionList):
    """Saved views; ``enter`` opens one. Counts update live."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="views.down", tooltip="Next view"),
        Binding("k", "cursor_up", "Up", show=False, id="views.up", tooltip="Previous view"),
        Binding("g", "first", "Top", show=False, id="views.top", tooltip="First view"),
        Binding("G", "last", "Bottom", show=False, id="views.bottom", tooltip="Last view"),
        Binding(
            "E",
            "edit_view",
            "Edit view",
            id="views.edit",
            tooltip="Edit the highlighted custom view",
        ),
        Binding(
            "D",
            "delete_view",
            "Delete view",
            id="views.delete",
            tooltip="Delete the highlighted custom view",
        ),
    ]

    DEFAULT_CSS = """
    ViewsSidebar {
        width: 24;
        border: none;
        border-right: vkey $primary 30%;
        padding: 0;
        background: $surface;
        & > .option-list--option-highlighted { text-style: bold; }
    }
    """

    @dataclass
    class Chosen(Message):
        sidebar: ViewsSidebar
        view: View

        @property
        def control(self) -> ViewsSidebar:
            return self.sidebar

    @dataclass
    class EditRequested(Message):
        sidebar: ViewsSidebar
        view: View
        delete: bool

        @property
        def control(self) -> ViewsSidebar:
            return self.sidebar

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.views: list[View] = []
        self.counts: dict[str, int] = {}
        self.active_id: str | None = None

    def set_views(self, views: list[View], counts: dict[str, int] | None = None) -> None:
        highlighted = self.highlighted_view
        self.views = list(views)
        if counts is not None:
            self.counts = dict(counts)
        self.clear_options()
        self.add_options([Option(self._prompt(i, v), id=v.id) for i, v in enumerate(self.views)])
        if highlighted is not None:
            self.focus_view(highlighted.id, quiet=True)
        elif self.views:
            self.highlighted = 0

    def set_counts(self, counts: dict[str, int]) -> None:
        self.counts.update(counts)
        for index, view in enumerate(self.views):
            self.replace_option_prompt_at_index(index, self._prompt(index, view))

    def set_active(self, view_id: str) -> None:
        self.active_id = view_id
        for index, view in enumerate(self.views):
            self.replace_option_prompt_at_index(index, self._prompt(index, view))

    def _prompt(self, index: int, view: View) -> Text:
        width = max(10, (self.size.width or 24) - 2)
        key = f"{index + 1}" if index < 9 else " "
        count = self.counts.get(view.id, view.count)
        count_text = "" if count is None else f"{count:,}"
        marker = glyphs().active if view.id == self.active_id else " "
        line = Text(f"{marker}{key} ", style="dim" if view.id != self.active_id else "bold")
        name = one_line(view.name, "bold" if view.id == self.active_id else "")
        room = max(3, width - line.cell_len - len(count_text) - 1)
        name.truncate(room, overflow="ellipsis", pad=True)
        line.append_text(name)
        line.append(" ")
        line.append(count_text, "bold" if count else "dim")
        return line

    @property
    def highlighted_view(self) -> View | None:
        if self.highlighted is None or not (0 <= self.highlighted < len(self.views)):
            return None
        return self.views[self.highlighted]

    def focus_view(self, view_id: str, *, quiet: bool = False) -> None:
        for index, view in enumerate(self.views):
            if view.id == view_id:
                self.highlighted = index

    def view_at(self, number: int) -> View | None:
        """View ``1``–``9``."""
        if 1 <= number <= len(self.views):
            return self.views[number - 1]
        return None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.views):
            self.post_message(self.Chosen(self, self.views[event.option_index]))

    def on_resize(self) -> None:
        if self.views:
            self.set_counts({})

    def action_edit_view(self) -> None:
        view = self.highlighted_view
        if view is not None and not view.builtin:
            self.post_message(self.EditRequested(self, view, delete=False))

    def action_delete_view(self) -> None:
        view = self.highlighted_view
        if view is not None and not view.builtin:
            self.post_message(self.EditRequested(self, view, delete=True))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit_view", "delete_view"):
            view = self.highlighted_view
            return view is not None and not view.builtin
        return super().check_action(action, parameters)
