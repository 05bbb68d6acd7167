"""The ``?`` screen: every key of the screen below, grouped by where it works, from the
bindings themselves (so a remapped key shows its new key)."""

from __future__ import annotations

import re
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

INTRO = (
    "ttydesk is driven from the keyboard. Keys depend on where the focus is (tab moves "
    "between panes); the footer shows those that apply right now, ctrl+p finds any action "
    "by name, and jumps to views, agents and recent threads."
)

GROUP_TITLES = {
    "TtydeskApp": "Everywhere",
    "InboxScreen": "Inbox",
    "ThreadList": "Thread list",
    "MessageLog": "Messages (select one with j/k)",
    "Composer": "Composer",
    "ViewsSidebar": "Views column",
    "SearchScreen": "Search",
    "RecordsScreen": "Records",
    "SettingsScreen": "Settings",
    "UsageMonthScreen": "WhatsApp month",
    "ReportsScreen": "Reports",
}


def binding_rows(nodes: list[DOMNode], app: Any) -> list[tuple[str, list[tuple[str, str, str]]]]:
    groups: list[tuple[str, list[tuple[str, str, str]]]] = []
    seen_classes: set[type] = set()
    keymap = getattr(app, "_keymap", {}) or {}
    for node in nodes:
        cls = type(node)
        if cls in seen_classes:
            continue
        seen_classes.add(cls)
        rows: dict[tuple[str, str], list[str]] = {}
        for _key, binding in node._bindings:
            # ttydesk's own keys carry an id; Textual's internal ones (a text area's word
            # moves, a scroll view's arrows) do not, and are not what an agent looks for
            if not binding.description or binding.system or not binding.id:
                continue
            if re.fullmatch(r"View \d", binding.description):
                rows.setdefault(
                    ("Views 1–9", "Switch to the Nth view of the views column"), []
                ).append("1…9")
                continue
            key = keymap.get(binding.id, binding.key) if binding.id else binding.key
            display = ", ".join(app.get_key_display(Binding(k.strip(), "")) for k in key.split(","))
            rows.setdefault((binding.description, binding.tooltip), []).append(display)
        if rows:
            title = GROUP_TITLES.get(cls.__name__, cls.__name__)
            groups.append(
                (title, [(" / ".join(dict.fromkeys(keys)), d, t) for (d, t), keys in rows.items()])
            )
    return groups


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding(
            "escape,q,question_mark", "close", "Close", id="help.close", tooltip="Close the help"
        ),
        Binding("j,down", "scroll(1)", "Down", show=False, id="help.down", tooltip="Scroll down"),
        Binding("k,up", "scroll(-1)", "Up", show=False, id="help.up", tooltip="Scroll up"),
        Binding(
            "pagedown,space",
            "page(1)",
            "Page down",
            show=False,
            id="help.page_down",
            tooltip="A screenful down",
        ),
        Binding(
            "pageup",
            "page(-1)",
            "Page up",
            show=False,
            id="help.page_up",
            tooltip="A screenful up",
        ),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > Vertical {
            width: 100; max-width: 98%; height: 90%;
            border: thick $primary 60%; background: $panel; padding: 0 1;
        }
        & #help-intro { color: $text-muted; padding-bottom: 1; }
    }
    """

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2), expand=True)
        table.add_column("key", style="bold", no_wrap=True, width=14)
        table.add_column("action", width=18)
        table.add_column("what it does", style="dim", ratio=1)
        for title, rows in self.rows():
            table.add_row(Text(title, style="bold underline"), "", "")
            for key, description, tooltip in rows:
                table.add_row(Text(key), Text(description), Text(tooltip))
            table.add_row("", "", "")
        with Vertical():
            yield Static(Text("Keys  (esc to close)", style="bold"))
            yield Static(Text(INTRO), id="help-intro")
            with VerticalScroll(id="help-body"):
                yield Static(table)

    def rows(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        nodes: list[DOMNode] = [self.app, self.under]
        nodes.extend(self.under.query("*").results())
        return binding_rows(nodes, self.app)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, delta: int) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_relative(y=delta, animate=False)

    def action_page(self, direction: int) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        page = max(1, body.scrollable_content_region.height - 1)
        body.scroll_relative(y=direction * page, animate=False)
