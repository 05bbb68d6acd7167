"""Search (``/``): full text over messages, contact names and numbers and ticket subjects,
with filters; ``enter`` on a result opens the thread at the matching message.

``j``/``k`` move in the results, more load when the cursor reaches the last one; ``q`` or
``escape`` go from the results back to the query, then to the inbox. The screen starts from
a ``SearchState`` and keeps it up to date, so a thread opened from here comes back to the
same results.
"""

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

from backend.schemas import MessageKind, SearchHit, TicketStatus
from tui.client import ApiError
from tui.glyphs import glyphs
from tui.search_state import SearchState
from tui.text import age, cut, one_line
from tui.widgets.footer import KeyFooter

MATCH_WORDS = {"message": "message", "contact": "contact", "subject": "subject"}
PAGE = 100
INVITE = "Type and press enter."


class SearchResults(OptionList):
    """The hits; ``j``/``k`` move like everywhere else."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="search.down", tooltip="Next result"),
        Binding("k", "cursor_up", "Up", show=False, id="search.up", tooltip="Previous result"),
    ]


class SearchScreen(Screen[SearchHit | None]):
    BINDING_GROUP_TITLE = "Search"
    BINDINGS = [
        Binding(
            "escape,q",
            "cancel",
            "Back",
            id="search.back",
            tooltip="From the results back to the query; from the query back to the inbox",
        ),
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
        & #search-query { width: 2fr; min-width: 20; }
        /* the filters give way on a narrow screen: the query stays readable */
        & Select { width: 1fr; min-width: 14; max-width: 26; }
        & #search-status {
            height: 1; padding: 0 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis;
        }
        /* a hit is its two lines: a long snippet is cut, never wrapped to column 0 */
        & SearchResults { height: 1fr; border: none; text-wrap: nowrap; text-overflow: ellipsis; }
    }
    """

    def __init__(self, state: SearchState | None = None) -> None:
        super().__init__()
        self.state = state or SearchState()
        self._loading_more = False

    @property
    def hits(self) -> list[SearchHit]:
        return self.state.hits

    def compose(self) -> ComposeResult:
        app: Any = self.app
        views = [(Text("all threads"), "")] + [(one_line(v.name), v.id) for v in app.views]
        statuses = [(Text("any status"), "")] + [
            (Text(s.value.replace("_", " ")), s.value) for s in TicketStatus
        ]
        state = self.state
        view = state.view_id if any(v.id == state.view_id for v in app.views) else ""
        with Horizontal(id="search-bar"):
            yield Input(
                state.query,
                placeholder="search messages, contacts, numbers, subjects",
                id="search-query",
                classes="query",  # a search: quitting loses nothing typed here
            )
            yield Select(views, value=view or "", allow_blank=False, id="search-view")
            yield Select(statuses, value=state.status, allow_blank=False, id="search-status-filter")
        yield Static(INVITE, id="search-status", markup=False)
        yield SearchResults(id="search-results")
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.state.hits:  # back from a thread opened from these results
            self._show_hits(self.state.hits, highlight=self.state.highlighted or 0)
        else:
            self.query_one("#search-query", Input).focus()

    @on(Input.Submitted, "#search-query")
    def _submitted(self) -> None:
        self.run_search()

    @on(Input.Changed, "#search-query")
    def _query_changed(self, event: Input.Changed) -> None:
        if not event.value.strip() and self.state.query:
            self._clear()

    def _clear(self) -> None:
        """No query, no results: nothing is left to say "N results" under an empty box."""
        self.state = SearchState(view_id=self.state.view_id, status=self.state.status)
        self.query_one("#search-results", SearchResults).clear_options()
        self.query_one("#search-status", Static).update(Text(INVITE))

    @on(Select.Changed)
    def _filters_changed(self) -> None:
        query = self.query_one("#search-query", Input).value.strip()
        state = self.state
        filters = (
            str(self.query_one("#search-view", Select).value) or None,
            str(self.query_one("#search-status-filter", Select).value),
        )
        if query and (query, *filters) != (state.query, state.view_id, state.status):
            self.run_search()

    @work(exclusive=True, group="search", exit_on_error=False)
    async def run_search(self) -> None:
        query = self.query_one("#search-query", Input).value.strip()
        status = self.query_one("#search-status", Static)
        if not query:
            self._clear()
            status.update(Text("Type something to search for."))
            return
        view = self.query_one("#search-view", Select).value
        state = self.query_one("#search-status-filter", Select).value
        status.update(Text(f"Searching{glyphs().ellipsis}"))
        client: Any = self.app.client  # type: ignore[attr-defined]
        try:
            page = await client.search(
                query, view=str(view) or None, status=str(state) or None, limit=PAGE
            )
        except ApiError as exc:
            status.update(Text(exc.message))
            return
        if self.query_one("#search-query", Input).value.strip() != query:
            return  # the query changed while we waited
        self.state = SearchState(
            view_id=str(view) or None,
            query=query,
            status=str(state),
            hits=page.items,
            next_cursor=page.next_cursor,
        )
        self._show_hits(page.items, highlight=0)

    def _show_hits(self, hits: list[SearchHit], *, highlight: int) -> None:
        results = self.query_one("#search-results", SearchResults)
        results.clear_options()
        results.add_options([Option(self._hit_text(hit)) for hit in hits])
        self._show_count()
        if hits:
            results.highlighted = min(highlight, len(hits) - 1)
            results.focus()

    def _show_count(self) -> None:
        count = len(self.state.hits)
        more = ", more below" if self.state.next_cursor else ""
        counted = Text(f"{count} result{'' if count == 1 else 's'} for ")
        counted.append_text(one_line(f'"{self.state.query}"'))
        counted.append(f"{more} · enter opens the thread at the match")
        self.query_one("#search-status", Static).update(counted)

    @on(OptionList.OptionHighlighted, "#search-results")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.state.highlighted = event.option_index
        if event.option_index >= len(self.state.hits) - 1 and self.state.next_cursor:
            self._load_more()

    @work(exclusive=True, group="search-more", exit_on_error=False)
    async def _load_more(self) -> None:
        state = self.state
        if self._loading_more or state.next_cursor is None:
            return
        self._loading_more = True
        client: Any = self.app.client  # type: ignore[attr-defined]
        try:
            page = await client.search(
                state.query,
                view=state.view_id,
                status=state.status or None,
                limit=PAGE,
                cursor=state.next_cursor,
            )
        except ApiError as exc:
            self.query_one("#search-status", Static).update(Text(exc.message))
            return
        finally:
            self._loading_more = False
        if self.state is not state:
            return  # a new search started meanwhile
        state.hits.extend(page.items)
        state.next_cursor = page.next_cursor
        self.query_one("#search-results", SearchResults).add_options(
            [Option(self._hit_text(hit)) for hit in page.items]
        )
        self._show_count()

    def _hit_text(self, hit: SearchHit) -> Text:
        """Two lines that fit 80 columns: who, ticket, what matched, when; the snippet."""
        what = MATCH_WORDS.get(hit.matched, hit.matched)
        if hit.message_kind == MessageKind.note:
            what = "note"
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(f"{what:<7} ", "bold" if what == "note" else "dim italic")
        top.append_text(one_line(cut(hit.thread.contact.name, 28), "bold"))
        top.append(f"  #{hit.thread.ticket.id} ", "dim")
        top.append(f"{age(hit.thread.last_message_at)}  ", "dim")
        top.append_text(one_line(cut(hit.thread.ticket.subject, 60)))
        snippet = Text("    ", no_wrap=True, overflow="ellipsis")
        snippet.append_text(one_line(cut(hit.snippet, 300), "dim"))
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append_text(top)
        line.append("\n")
        line.append_text(snippet)
        return line

    @on(OptionList.OptionSelected, "#search-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if 0 <= event.option_index < len(self.hits):
            self.state.highlighted = event.option_index
            self.dismiss(self.hits[event.option_index])

    def action_results(self) -> None:
        self.query_one("#search-results", SearchResults).focus()

    def action_focus_query(self) -> None:
        self.query_one("#search-query", Input).focus()

    def action_cancel(self) -> None:
        if isinstance(self.focused, SearchResults):
            self.action_focus_query()  # the results stay
        else:
            self.dismiss(None)
