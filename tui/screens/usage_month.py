"""The month view (f6): what WhatsApp bills for one usage month, from ``GET /usage/month``:
messages per business number and category, billable and free, the estimate with a rate
card, the trend against the month before and the budget; ``[`` / ``]`` (or the arrows)
move a month back and forth."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from backend.schemas import EventType, Message, UsageMonth, UsageTally
from tui.billing import money
from tui.client import ApiError, LiveEvent
from tui.glyphs import glyphs
from tui.text import one_line
from tui.widgets.chrome import TopBar
from tui.widgets.footer import KeyFooter

COUNTS = ("messages", "billable", "free", "in_allowance", "charged")
HEADERS = {"in_allowance": "allowance"}


def shift_month(month: str, by: int) -> str:
    """``2026-11`` moved ``by`` months."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _row(label: Text, tally: UsageTally, view: UsageMonth) -> list[Text]:
    cells = [label, *(Text(str(getattr(tally, name))) for name in COUNTS)]
    if view.rate_card:
        estimate = "-" if tally.estimate is None else money(tally.estimate, None)
        cells.append(Text(estimate + (" *" if tally.unpriced else "")))
    return cells


def month_table(view: UsageMonth) -> Table:
    """A row per number (its name) and category, then the total; columns that need no
    colour (the header is bold, the total follows a rule)."""
    table = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold", expand=False)
    table.add_column("number / category", no_wrap=True, overflow="ellipsis", max_width=24)
    for name in COUNTS:
        table.add_column(HEADERS.get(name, name), justify="right", no_wrap=True)
    if view.rate_card:
        table.add_column(f"estimate {view.currency}", justify="right", no_wrap=True)
    number = None
    for line in view.lines:
        if line.business_number != number:
            number = line.business_number
            table.add_row(one_line(number or "(no number)", "bold"))
        label = Text("  ")
        label.append_text(one_line(line.category))
        table.add_row(*_row(label, line, view))
    table.add_section()
    table.add_row(*_row(Text("total", "bold"), view.total, view))
    return table


def _messages(count: int) -> str:
    return "1 message" if count == 1 else f"{count} messages"


def trend_text(view: UsageMonth) -> Text:
    """``Against 2026-10: 12 messages, 0.75 EUR; now +3 messages (+25.0 %), +0.19 EUR.``
    (plain ASCII apart from what the server sent: it reads in any locale)"""
    before = view.previous
    out = Text(f"Against {view.previous_month}: {_messages(before.messages)}")
    if view.rate_card and before.estimate is not None:
        out.append(f", {money(before.estimate, view.currency)}")
    out.append("; now ")
    change = f"{view.messages_change:+d} message{'' if abs(view.messages_change) == 1 else 's'}"
    if view.messages_change_percent is not None:
        change += f" ({view.messages_change_percent:+.1f} %)"
    if view.rate_card and view.estimate_change is not None:
        change += f", {'+' if view.estimate_change >= 0 else '-'}"
        change += money(abs(view.estimate_change), view.currency)
    out.append(change + ".", "bold")
    return out


def month_text(view: UsageMonth) -> Group:
    heading = Text(f"Usage month {view.month}", "bold")
    heading.append(f": {view.period_start:%d %b} to {view.resets_on:%d %b %Y} (exclusive)")
    card = (
        f"Estimate by the rate card, in {view.currency}."
        if view.rate_card
        else "No rate card (setting rate_card): counts only."
    )
    free = view.free_service_messages_per_month
    allowance = Text(
        f"Free allowance: {_messages(free).replace('message', 'service message')} "
        "a month per number.",
        "dim",
    )
    parts: list[Any] = [heading, Text(card), allowance, Text(), month_table(view)]
    if not view.lines:
        parts.append(Text("No priced messages in this month.", "dim"))
    parts += [Text(), trend_text(view)]
    if view.rate_card and view.total.unpriced:
        parts.append(
            Text(f"* {view.total.unpriced} charged messages have no price on the rate card.")
        )
    budget = view.budget
    if budget is not None:
        share = budget.spent * 100 / budget.amount if budget.amount else 100
        line = Text(
            f"Budget: {money(budget.spent, None)} of {money(budget.amount, budget.currency)} "
            f"({share:.0f} %)"
        )
        if budget.level != "ok":
            words = "budget exceeded" if budget.level == "exceeded" else "over 80 %"
            line.append(f" {glyphs().warning} {words}", "bold reverse")
        parts.append(line)
    return Group(*parts)


class UsageMonthScreen(Screen[None]):
    BINDINGS = [
        Binding(
            "left_square_bracket,left",
            "month(-1)",
            "Month before",
            id="usage.previous",
            tooltip="Show the usage month before",
            priority=True,  # before the scroll view's arrows
        ),
        Binding(
            "right_square_bracket,right",
            "month(1)",
            "Month after",
            id="usage.next",
            tooltip="Show the usage month after",
            priority=True,
        ),
        Binding(
            "t", "this_month", "This month", id="usage.this", tooltip="Back to the current month"
        ),
        Binding("r", "refresh", "Refresh", id="usage.refresh", tooltip="Count the month again"),
        Binding(
            "escape,q", "app.goto('inbox')", "Inbox", id="usage.back", tooltip="Back to the inbox"
        ),
    ]

    DEFAULT_CSS = """
    UsageMonthScreen {
        & #usage-body { height: 1fr; padding: 0 1; }
        & #usage-month.-error { color: $text-error; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.month: str | None = None  # None: the current one
        self.view: UsageMonth | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        with VerticalScroll(id="usage-body"):
            yield Static(Text(f"Counting{glyphs().ellipsis}", "dim"), id="usage-month")
        yield KeyFooter()

    def on_mount(self) -> None:
        app: Any = self.app
        bar = self.query_one(TopBar)
        bar.title = "WhatsApp month"
        bar.agent = app.me
        bar.usage = app.usage
        bar.connection = app.conn_state
        self.watch(app, "conn_state", lambda state: setattr(bar, "connection", state))
        self.watch(app, "usage", lambda usage: setattr(bar, "usage", usage))
        self.query_one("#usage-body").focus()
        app.live.subscribe(self, self._on_live)
        self.load()

    def on_screen_resume(self) -> None:
        if self.view is not None:
            self.load()  # back from another screen: the counts may have moved

    def _on_live(self, event: LiveEvent) -> None:
        """A status that prices one of our messages moves the counts: count again (one
        fetch at a time, the latest wins); when not shown, on return."""
        data = event.data
        if (
            event.type == EventType.message_updated
            and isinstance(data, Message)
            and data.pricing is not None
            and self.is_current
        ):
            self.load()

    @work(exclusive=True, group="usage-month", exit_on_error=False)
    async def load(self) -> None:
        client: Any = getattr(self.app, "client", None)
        if client is None:
            return
        shown = self.query_one("#usage-month", Static)
        try:
            view = await client.usage_month(self.month)
        except ApiError as exc:
            shown.update(Text(f"Cannot show the month: {exc.message}"))
            shown.set_class(True, "-error")
            return
        self.view, self.month = view, view.month
        shown.set_class(False, "-error")
        shown.update(month_text(view))

    def action_month(self, by: int) -> None:
        if self.month is None:
            return  # the first answer is still coming
        self.month = shift_month(self.month, by)
        self.load()

    def action_this_month(self) -> None:
        self.month = None
        self.load()

    def action_refresh(self) -> None:
        self.load()
