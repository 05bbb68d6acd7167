"""The Reports screen (f5) against the real backend and simulator: a chart of one series
with its table a key away, the next series and report, filters and a refused filter, at
80×24; the charts' marks in the ASCII glyph set; a snapshot at 80×24."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable

from backend.schemas import Report, ReportColumn
from tests.tui.backend_fixtures import (
    T0,
    Desk,
    ThreadedDesk,
    inbox_ready,
    make_app,
    screen_text,
    wait_for,
)
from tui import glyphs
from tui.charts import draw
from tui.screens.help import HelpScreen
from tui.screens.reports import ReportFiltersDialog, ReportsScreen


async def open_reports(app, pilot) -> ReportsScreen:
    await inbox_ready(app)
    await pilot.press("f5")
    await wait_for(lambda: isinstance(app.screen, ReportsScreen))
    screen = app.screen
    await wait_for(lambda: screen.report is not None, timeout=10)
    await pilot.pause()
    return screen


async def test_a_chart_its_table_the_next_series_and_report_and_filters(desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(app, pilot)
        text = screen_text(app)
        assert "Conversations and messages per day" in text
        assert "Conversations started" in text and "2026-10-28 – 2026-11-26 UTC" in text
        assert "11-26" in text  # the x axis
        await pilot.press("t")
        table = screen.query_one(DataTable)
        await wait_for(lambda: table.has_focus)
        assert table.row_count == 30
        # newest first: today's row is the one in view, under the cursor
        today = [cell.plain for cell in table.get_row_at(0)]
        assert today[0] == "2026-11-26" and int(today[2]) >= 7  # seven customer messages today
        days = [table.get_row_at(index)[0].plain for index in range(30)]
        assert days == sorted(days, reverse=True) and days[-1] == "2026-10-28"
        assert table.cursor_row == 0 and "2026-11-26" in screen_text(app)
        await pilot.press("t", "s")
        await wait_for(lambda: "Messages in" in screen_text(app))
        await pilot.press("n")
        await wait_for(lambda: "per hour of the day" in screen_text(app))
        await wait_for(
            lambda: screen.report is not None and screen.report.name == "messages_per_hour"
        )
        # a filter the server refuses: said plainly, the report shown stays
        await pilot.press("f")
        await wait_for(lambda: isinstance(app.screen, ReportFiltersDialog))
        await pilot.press(*"2026-13-01", "enter")
        await wait_for(lambda: "is not a day" in screen_text(app))
        assert screen.report.name == "messages_per_hour"
        # a number nobody wrote to: every hour is empty
        await pilot.press("f")
        await wait_for(lambda: isinstance(app.screen, ReportFiltersDialog))
        dialog = app.screen
        dialog.query_one("#filter-from").value = ""
        dialog.query_one("#filter-number").value = "+19999999999"
        await pilot.press("enter")
        await wait_for(lambda: screen.report.business_number == "+19999999999")
        assert all(row[1:] == [0, 0, 0] for row in screen.report.rows)
        assert "number +19999999999" in screen_text(app)
        await pilot.press("question_mark")
        await wait_for(lambda: isinstance(app.screen, HelpScreen))
        groups = dict(app.screen.rows())
        assert ("t", "Table", "The table beside the chart") in groups["Reports"]
        assert any(row[0] == "f5" and row[1] == "Reports" for row in groups["Everywhere"])
        await pilot.press("escape")
        await pilot.press("q")
        await wait_for(lambda: app.current_mode == "inbox")


async def test_under_no_color_in_ascii_the_chart_is_marks_and_the_table_a_key_away(
    desk, monkeypatch
):
    monkeypatch.setenv("NO_COLOR", "1")
    glyphs.use(glyphs.ASCII)
    try:
        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_reports(app, pilot)
            lines = screen_text(app).splitlines()
            chart = [line for line in lines if " |" in line]
            assert len(chart) > 10 and any("#" in line for line in chart)
            assert any(line.strip().startswith("0+---") for line in lines)
            await pilot.press("t")
            await wait_for(lambda: "2026-11-26" in screen_text(app))
    finally:
        glyphs.use(glyphs.UNICODE)


REPORT = Report(
    name="tickets_per_day",
    title="Tickets opened and closed per day",
    chart="bar",
    columns=[
        ReportColumn(name="day", label="Day", unit="day"),
        ReportColumn(name="opened", label="Opened", unit="count"),
    ],
    date_from="2026-11-24",
    date_to="2026-11-26",
    rows=[["2026-11-24", 2], ["2026-11-25", 4], ["2026-11-26", 0]],
)


def test_charts_draw_heights_as_marks_and_only_ascii_in_the_ascii_set():
    chart = draw(REPORT, 1, 40, 10, glyphs.ASCII).plain
    assert chart.isascii()
    lines = chart.splitlines()
    columns = [line for line in lines if "|" in line]
    assert len(columns) == 7  # 10 rows less the title, the floor and the day labels
    top, bottom = columns[0], columns[-1]
    assert top.startswith("4 |") and "#" in top  # the 25th reaches the top
    assert bottom.count("#") > top.count("#")  # the 24th is half as high
    assert "11-24" in lines[-1] and "11-26" in lines[-1]
    unicode_chart = draw(REPORT, 1, 40, 10, glyphs.UNICODE).plain
    assert "█" in unicode_chart and "┤" in unicode_chart
    bars = draw(
        REPORT.model_copy(
            update={
                "columns": [
                    ReportColumn(name="agent", label="Agent", unit="text"),
                    REPORT.columns[1],
                ],
                "rows": [["Ada", 1], ["Bob", 4]],
            }
        ),
        1,
        40,
        6,
        glyphs.ASCII,
    ).plain.splitlines()
    assert bars[1].startswith("Ada |#") and bars[2].rstrip().endswith("4")
    assert bars[1].count("#") == round(bars[2].count("#") / 4)  # 1 against the highest, 4


@pytest.fixture
def threaded(tmp_path: Path) -> Iterator[Desk]:
    with ThreadedDesk(tmp_path / "data") as desk:
        yield desk


def test_reports_80x24(snap_compare, threaded):
    app = make_app(threaded.url, threaded.admin_token, clock=lambda: T0)

    async def run_before(pilot) -> None:
        await open_reports(pilot.app, pilot)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
