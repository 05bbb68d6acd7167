"""Charts drawn with text, for the Reports screen: one series of a report at a time.

A report over days or hours is drawn as columns (a line chart as a point atop each
column's place), a report over agents, views or numbers as horizontal bars with their
value. Heights are marks, not colours, so a chart reads the same under ``NO_COLOR``; in
the ASCII glyph set the marks are ``#`` and ``*`` and the axes ``|`` and ``-``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rich.text import Text

from backend.schemas import Report, ReportColumn
from tui.glyphs import ASCII, Glyphs, glyphs

EIGHTHS = " ▁▂▃▄▅▆▇█"
NUMBER_UNITS = ("count", "seconds", "money")


@dataclass(frozen=True, slots=True)
class Marks:
    full: str
    eighths: str  # partial heights, empty to round to whole cells
    point: str
    axis: str
    floor: str
    corner: str


UNICODE_MARKS = Marks(full="█", eighths=EIGHTHS, point="●", axis="┤", floor="─", corner="└")
ASCII_MARKS = Marks(full="#", eighths="", point="*", axis="|", floor="-", corner="+")


def marks(chosen: Glyphs | None = None) -> Marks:
    return ASCII_MARKS if (chosen or glyphs()) is ASCII else UNICODE_MARKS


def series_columns(report: Report) -> list[int]:
    """The indexes of the columns that can be drawn (counts, seconds, money)."""
    return [i for i, column in enumerate(report.columns) if column.unit in NUMBER_UNITS]


def number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(Decimal(str(value)))
    except InvalidOperation:
        return None


def duration(seconds: float) -> str:
    """600 → "10m", 7200 → "2h 0m", 165600 → "1d 22h", 42 → "42s"."""
    whole = int(round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def cell_text(value: object, column: ReportColumn, currency: str | None = None) -> str:
    """A cell as the table and the chart show it; an unknown value is the "nobody" mark."""
    if value is None:
        return glyphs().nobody
    if column.unit == "seconds":
        found = number(value)
        return duration(found) if found is not None else str(value)
    if column.unit == "count" and isinstance(value, int):
        return f"{value:,}"
    if column.unit == "money" and currency:
        return f"{value} {currency}"
    return str(value)


def _x_label(value: object, column: ReportColumn) -> str:
    text = str(value)
    return text[5:] if column.unit == "day" else text  # 2026-11-26 → 11-26


def draw(
    report: Report, series: int, width: int, height: int, chosen: Glyphs | None = None
) -> Text:
    """The chart of column ``series`` in ``width`` × ``height`` cells."""
    m = marks(chosen)
    column = report.columns[series]
    x_column = report.columns[0]
    values = [number(row[series]) for row in report.rows]
    top = max((v for v in values if v is not None), default=0.0)
    title = Text(f"{column.label}", style="bold")
    title.append(f"  highest {cell_text(_top_cell(report, series), column, report.currency)}")
    if not report.rows or width < 20 or height < 5:
        return Text.assemble(title, "\n", "Nothing to draw here; t shows the table.")
    if x_column.unit in ("day", "hour"):
        body = _columns(report, series, values, top, width, height - 1, m)
    else:
        body = _bars(report, series, values, top, width, height - 1, m)
    return Text("\n").join([title, *body])


def _top_cell(report: Report, series: int) -> object:
    best: object = None
    best_value = -math.inf
    for row in report.rows:
        found = number(row[series])
        if found is not None and found > best_value:
            best, best_value = row[series], found
    return best


def _columns(
    report: Report,
    series: int,
    values: list[float | None],
    top: float,
    width: int,
    height: int,
    m: Marks,
) -> list[Text]:
    column = report.columns[series]
    x_column = report.columns[0]
    top_label = cell_text(_top_cell(report, series), column) if top > 0 else "0"
    axis_width = max(len(top_label), 1) + 1
    room = width - axis_width - 1
    shown = list(range(len(values)))
    if len(shown) > room:
        shown = shown[-room:]  # the latest ones; the table has them all
    slot = max(1, room // max(len(shown), 1))
    bar = max(1, slot - 1) if slot >= 3 else 1
    plot_height = max(1, height - 2)
    line_chart = report.chart == "line"
    lines: list[Text] = []
    for level in range(plot_height, 0, -1):
        label = top_label if level == plot_height else ""
        line = Text(label.rjust(axis_width - 1) + " " + m.axis, style="dim")
        for index in shown:
            value = values[index] or 0.0
            eighths = 0 if top <= 0 else round(value / top * plot_height * 8)
            if line_chart:
                cell = m.point if value > 0 and math.ceil(eighths / 8) == level else " "
                cell = cell if value > 0 or level != 1 else m.point
            else:
                filled = eighths - (level - 1) * 8
                if filled >= 8:
                    cell = m.full
                elif filled > 0:
                    cell = m.eighths[filled] if m.eighths else (m.full if filled >= 4 else " ")
                else:
                    cell = " "
            line.append(cell * bar + " " * (slot - bar))
        lines.append(line)
    lines.append(
        Text(" " * (axis_width - 1) + "0" + m.corner + m.floor * (slot * len(shown)), style="dim")
    )
    labels = [_x_label(report.rows[index][0], x_column) for index in shown]
    longest = max((len(label) for label in labels), default=1)
    step = max(1, math.ceil((longest + 1) / slot))
    x_line = [" "] * (axis_width + 1 + slot * len(shown) + longest)
    for position, label in enumerate(labels):
        if position % step:
            continue
        start = axis_width + 1 + position * slot
        x_line[start : start + len(label)] = list(label)
    lines.append(Text("".join(x_line).rstrip()[:width], style="dim"))
    return lines


def _bars(
    report: Report,
    series: int,
    values: list[float | None],
    top: float,
    width: int,
    height: int,
    m: Marks,
) -> list[Text]:
    column = report.columns[series]
    labels = [str(row[0]) for row in report.rows]
    label_width = min(max((len(label) for label in labels), default=1), 18)
    texts = [cell_text(row[series], column, report.currency) for row in report.rows]
    value_width = max((len(text) for text in texts), default=1)
    room = max(1, width - label_width - value_width - 3)
    lines: list[Text] = []
    for label, value, text in list(zip(labels, values, texts, strict=True))[:height]:
        line = Text(label[:label_width].ljust(label_width) + " " + m.axis)
        length = 0 if not value or top <= 0 else max(1, round(value / top * room))
        line.append(m.full * length)
        line.append(" " * (room - length + 1) + text.rjust(value_width))
        lines.append(line)
    if len(labels) > height:
        lines[-1] = Text(f"… {len(labels) - height + 1} more: t shows the table", style="dim")
    return lines
