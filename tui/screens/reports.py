"""Reports (f5): one report at a time as a chart of one series, or as its table (``t``),
narrowed by range, agent, number and view (``f``). ``n``/``p`` move between reports and
``s`` between the series of the one shown. Days are UTC days, as the server counts them.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, Input, Label, Select, Static

from backend.schemas import Report, ReportInfo
from tui.charts import cell_text, draw, series_columns
from tui.client import ApiError
from tui.dialogs.simple import DIALOG_CSS
from tui.glyphs import glyphs
from tui.widgets.chrome import TopBar
from tui.widgets.footer import KeyFooter

FILTER_NAMES = ("from", "to", "agent", "number", "view")


class ReportChart(Widget):
    """One series of the report, drawn to fit the widget."""

    DEFAULT_CSS = "ReportChart { height: 1fr; padding: 0 1; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report: Report | None = None
        self.series = 0

    def show(self, report: Report | None, series: int) -> None:
        self.report, self.series = report, series
        self.refresh()

    def render(self) -> Text:
        if self.report is None:
            return Text(f"Loading{glyphs().ellipsis}", style="dim")
        columns = series_columns(self.report)
        if not columns:
            return Text("This report has nothing to draw; t shows the table.")
        chosen = columns[self.series % len(columns)]
        return draw(self.report, chosen, self.content_size.width, self.content_size.height)


class ReportFiltersDialog(ModalScreen[dict[str, str | None] | None]):
    """From, to, agent, number, view; enter or ctrl+s applies, escape keeps the old ones."""

    BINDINGS = [
        Binding("ctrl+s", "apply", "Apply", id="report_filters.apply", tooltip="Apply"),
        Binding("escape", "cancel", "Cancel", id="report_filters.cancel", tooltip="Cancel"),
    ]
    DEFAULT_CSS = (
        "ReportFiltersDialog {"
        + DIALOG_CSS
        + """
        & Horizontal { height: auto; }
        & Label { width: 10; padding-top: 1; }
        & Input, & Select { width: 1fr; }
    }"""
    )

    def __init__(self, filters: dict[str, str | None], agents: list[Any], views: list[Any]) -> None:
        super().__init__()
        self.filters = filters
        self.agents = agents
        self.views = views

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Report filters (UTC days, YYYY-MM-DD)"), classes="dialog-title")
            for name, label in (("from", "From"), ("to", "To")):
                with Horizontal():
                    yield Label(label)
                    yield Input(
                        self.filters.get(name) or "",
                        placeholder="YYYY-MM-DD",
                        id=f"filter-{name}",
                    )
            with Horizontal():
                yield Label("Agent")
                yield Select(
                    [(Text(agent.name), str(agent.id)) for agent in self.agents],
                    prompt="All agents",
                    value=self.filters.get("agent") or Select.NULL,
                    id="filter-agent",
                )
            with Horizontal():
                yield Label("Number")
                yield Input(
                    self.filters.get("number") or "",
                    placeholder="all numbers, or +15550001111",
                    id="filter-number",
                )
            with Horizontal():
                yield Label("View")
                yield Select(
                    [(Text(view.name), view.id) for view in self.views],
                    prompt="All conversations",
                    value=self.filters.get("view") or Select.NULL,
                    id="filter-view",
                )
            yield Static(Text("enter or ctrl+s applies · escape cancels"), classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one("#filter-from", Input).focus()

    def _value(self, name: str) -> str | None:
        widget = self.query_one(f"#filter-{name}")
        if isinstance(widget, Input):
            return widget.value.strip() or None
        assert isinstance(widget, Select)
        return None if widget.value is Select.NULL else str(widget.value)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_apply()

    def action_apply(self) -> None:
        self.dismiss({name: self._value(name) for name in FILTER_NAMES})

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReportsScreen(Screen[None]):
    BINDINGS = [
        Binding(
            "t", "toggle_table", "Table", id="reports.table", tooltip="The table beside the chart"
        ),
        Binding("s", "next_series", "Series", id="reports.series", tooltip="Draw the next column"),
        Binding("n", "move(1)", "Next", id="reports.next", tooltip="The next report"),
        Binding("p", "move(-1)", "Previous", id="reports.previous", tooltip="The previous report"),
        Binding(
            "f", "filters", "Filters", id="reports.filters", tooltip="Range, agent, number, view"
        ),
        Binding("r", "reload", "Reload", id="reports.reload", tooltip="Ask the server again"),
        Binding(
            "escape,q", "app.goto('inbox')", "Inbox", id="reports.back", tooltip="Back to the inbox"
        ),
    ]
    DEFAULT_CSS = """
    ReportsScreen #report-title { height: auto; padding: 0 1; text-style: bold; }
    ReportsScreen #report-filters { height: auto; padding: 0 1; color: $text-muted; }
    ReportsScreen #report-status { height: auto; padding: 0 1; }
    ReportsScreen ContentSwitcher { height: 1fr; }
    ReportsScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.infos: list[ReportInfo] = []
        self.index = 0
        self.series = 0
        self.filters: dict[str, str | None] = dict.fromkeys(FILTER_NAMES)
        self.report: Report | None = None
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        yield Static(id="report-title")
        yield Static(id="report-filters")
        yield Static(id="report-status")
        with ContentSwitcher(initial="report-chart"):
            yield ReportChart(id="report-chart")
            yield DataTable(id="report-table", zebra_stripes=True, cursor_type="row")
        yield KeyFooter()

    def on_mount(self) -> None:
        app: Any = self.app
        bar = self.query_one(TopBar)
        bar.title = "Reports"
        bar.agent = app.me
        bar.usage = app.usage
        bar.connection = app.conn_state
        self.watch(app, "conn_state", lambda state: setattr(bar, "connection", state))
        self.watch(app, "usage", lambda usage: setattr(bar, "usage", usage))
        self._show()
        self.load()

    # ----------------------------------------------------------------- loading

    @property
    def name_shown(self) -> str | None:
        return self.infos[self.index].name if self.infos else None

    @work(exclusive=True, group="report", exit_on_error=False)
    async def load(self) -> None:
        app: Any = self.app
        try:
            if not self.infos:
                self.infos = await app.client.reports()
            name = self.name_shown
            if name is None:
                return
            self.report = await app.client.report(name, self.filters)
            self.error = None
        except ApiError as exc:
            self.error = exc.message
        self._show()

    def _show(self) -> None:
        report = self.report
        info = self.infos[self.index] if self.infos else None
        title = Text(info.title if info is not None else "Reports")
        if self.infos:
            title.append(f"  ({self.index + 1}/{len(self.infos)})", style="dim")
        self.query_one("#report-title", Static).update(title)
        self.query_one("#report-filters", Static).update(self._filters_text())
        status = Text()
        if self.error:
            status.append(self.error, style="bold")
        elif report is not None and report.notes:
            status.append(" ".join(report.notes), style="dim")
        self.query_one("#report-status", Static).update(status)
        self.query_one("#report-status").display = bool(status.plain)
        shown = (
            report if report is not None and info is not None and report.name == info.name else None
        )
        self.query_one(ReportChart).show(shown, self.series)
        self._fill_table(shown)

    def _filters_text(self) -> Text:
        app: Any = self.app
        report = self.report
        text = Text()
        if report is not None:
            text.append(f"{report.date_from} – {report.date_to} UTC")
        else:
            text.append("the last 30 days")
        agent = self.filters.get("agent")
        if agent:
            found = app.agents.get(int(agent)) if agent.isdigit() else None
            text.append(" · agent ")
            text.append(found.name if found is not None else agent)
        if self.filters.get("number"):
            text.append(f" · number {self.filters['number']}")
        view = self.filters.get("view")
        if view:
            found_view = next((v for v in app.views if v.id == view), None)
            text.append(" · view ")
            text.append(found_view.name if found_view is not None else view)
        return text

    def _fill_table(self, report: Report | None) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        if report is None:
            return
        for column in report.columns:
            table.add_column(Text(column.label), key=column.name)
        # rows by day: newest first, so today is the row in view (the chart has it at the
        # right, where the eye ends); hours of the day keep their clock order
        by_day = bool(report.columns) and report.columns[0].unit == "day"
        for row in reversed(report.rows) if by_day else report.rows:
            table.add_row(
                *(
                    Text(cell_text(value, column, report.currency))
                    for value, column in zip(row, report.columns, strict=True)
                )
            )

    # ----------------------------------------------------------------- actions

    def action_toggle_table(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        switcher.current = "report-table" if switcher.current == "report-chart" else "report-chart"
        if switcher.current == "report-table":
            self.query_one(DataTable).focus()

    def action_next_series(self) -> None:
        self.series += 1
        self._show()

    def action_move(self, by: int) -> None:
        if not self.infos:
            return
        self.index = (self.index + by) % len(self.infos)
        self.series = 0
        self._show()
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_filters(self) -> None:
        app: Any = self.app

        def chosen(filters: dict[str, str | None] | None) -> None:
            if filters is not None:
                self.filters = filters
                self.load()

        self.app.push_screen(
            ReportFiltersDialog(self.filters, list(app.agents.values()), list(app.views)), chosen
        )
