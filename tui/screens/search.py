"""Search (``/``): full text over messages, contact names and numbers and ticket subjects,
with filters; ``enter`` on a result opens the thread at the matching message."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from backend.schemas import SearchHit, TicketStatus
from tui.client import ApiError
from tui.text import age, one_line
from tui.widgets.footer import KeyFooter

MATCH_WORDS = {"message": "message", "contact": "contact", "subject": "subject"}


class SearchScreen(Screen[SearchHit | None]):
    BINDING_GROUP_TITLE = "Search"
    BINDINGS = [
        Binding("escape", "cancel", "Back", id="search.back", tooltip="Back to the inbox"),
        Binding(
            "ctrl+j,down",
            "results",
            "Results",
            show=False,
            id="search.results",
            tooltip="Move to the results",
        ),
        Binding(
            "slash", "focus_query", "Query", show=False, id="search.query", tooltip="Edit the query"
        ),
    ]

    DEFAULT_CSS = """
    SearchScreen {
        & #search-bar { height: auto; padding: 0 1; }
        & #search-query { width: 1fr; }
        & Select { width: 26; }
        & #search-status { height: 1; padding: 0 1; color: $text-muted; }
        & OptionList { height: 1fr; border: none; }
    }
    """

    def __init__(self, view_id: str | None = None) -> None:
        super().__init__()
        self.view_id = view_id
        self.hits: list[SearchHit] = []

    def compose(self) -> ComposeResult:
        app: Any = self.app
        views = [(Text("all threads"), "")] + [(one_line(v.name), v.id) for v in app.views]
        statuses = [(Text("any status"), "")] + [
            (Text(s.value.replace("_", " ")), s.value) for s in TicketStatus
        ]
        with Horizontal(id="search-bar"):
            yield Input(
                placeholder="search messages, contacts, numbers, subjects", id="search-query"
            )
            yield Select(views, value="", allow_blank=False, id="search-view")
            yield Select(statuses, value="", allow_blank=False, id="search-status-filter")
        yield Static("Type and press enter.", id="search-status", markup=False)
        yield OptionList(id="search-results")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#search-query", Input).focus()

    @on(Input.Submitted, "#search-query")
    def _submitted(self) -> None:
        self.run_search()

    @on(Select.Changed)
    def _filters_changed(self) -> None:
        if self.query_one("#search-query", Input).value.strip():
            self.run_search()

    @work(exclusive=True, group="search", exit_on_error=False)
    async def run_search(self) -> None:
        query = self.query_one("#search-query", Input).value.strip()
        status = self.query_one("#search-status", Static)
        if not query:
            status.update(Text("Type something to search for."))
            return
        view = self.query_one("#search-view", Select).value
        state = self.query_one("#search-status-filter", Select).value
        status.update(Text("Searching…"))
        client: Any = self.app.client  # type: ignore[attr-defined]
        try:
            page = await client.search(
                query, view=str(view) or None, status=str(state) or None, limit=100
            )
        except ApiError as exc:
            status.update(Text(exc.message))
            return
        if self.query_one("#search-query", Input).value.strip() != query:
            return  # the query changed while we waited
        self.hits = page.items
        results = self.query_one("#search-results", OptionList)
        results.clear_options()
        for hit in self.hits:
            results.add_option(Option(self._hit_text(hit)))
        more = " (more exist; refine the query)" if page.next_cursor else ""
        status.update(Text(f"{len(self.hits)} results{more} · enter opens the thread at the match"))
        if self.hits:
            results.highlighted = 0
            results.focus()

    def _hit_text(self, hit: SearchHit) -> Text:
        line = Text()
        line.append_text(one_line(hit.thread.contact.name, "bold"))
        line.append(f"  #{hit.thread.ticket.id} ", "dim")
        line.append_text(one_line(hit.thread.ticket.subject[:60]))
        line.append(f"  {MATCH_WORDS.get(hit.matched, hit.matched)}", "dim italic")
        line.append(f"  {age(hit.thread.last_message_at)}", "dim")
        line.append("\n    ")
        line.append_text(one_line(hit.snippet[:300], "dim"))
        return line

    @on(OptionList.OptionSelected, "#search-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if 0 <= event.option_index < len(self.hits):
            self.dismiss(self.hits[event.option_index])

    def action_results(self) -> None:
        self.query_one("#search-results", OptionList).focus()

    def action_focus_query(self) -> None:
        self.query_one("#search-query", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
