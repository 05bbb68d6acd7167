"""Reports for a help desk lead (issue 17): what each report is, its date range, and the
pure arithmetic over counts and samples the store reads (bucketing by day and hour,
medians and 90th percentiles, the cost of each day). The caller brings the clock.

Days are UTC days, as the usage months are (``backend.domain.usage.billing_period``):
ttydesk has no desk time zone, and a day here then adds up to the month view.
Times are plain wall-clock seconds (no business hours).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from backend.domain import pricing
from backend.domain.errors import InvalidField, NotFound
from backend.domain.numbers import positive_id
from backend.domain.usage import billing_period

TIME_ZONE = "UTC"
DEFAULT_DAYS = 30
MAX_DAYS = 366
UNASSIGNED = "Unassigned"
NO_NUMBER = "No number"

Unit = Literal["day", "hour", "text", "count", "seconds", "money"]
Chart = Literal["bar", "line"]
Cell = str | int | None


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    label: str
    unit: Unit


@dataclass(frozen=True, slots=True)
class ReportSpec:
    name: str
    title: str
    chart: Chart  # how the TUI draws it: x is the first column, a series per number column
    columns: tuple[Column, ...]


_DAY = Column("day", "Day", "day")
_RESPONSE_COLUMNS = (
    Column("tickets", "Tickets", "count"),
    Column("answered", "Answered", "count"),
    Column("first_response_median", "First response median", "seconds"),
    Column("first_response_p90", "First response p90", "seconds"),
    Column("resolved", "Resolved", "count"),
    Column("resolution_median", "Resolution median", "seconds"),
    Column("resolution_p90", "Resolution p90", "seconds"),
)
_VOLUME = (
    Column("conversations", "Conversations started", "count"),
    Column("messages_in", "Messages in", "count"),
    Column("messages_out", "Messages out", "count"),
)

REPORTS: dict[str, ReportSpec] = {
    spec.name: spec
    for spec in (
        ReportSpec(
            "messages_per_day", "Conversations and messages per day", "bar", (_DAY, *_VOLUME)
        ),
        ReportSpec(
            "messages_per_hour",
            "Conversations and messages per hour of the day",
            "bar",
            (Column("hour", "Hour", "hour"), *_VOLUME),
        ),
        ReportSpec(
            "response_by_agent",
            "First response and resolution per agent",
            "bar",
            (Column("agent", "Agent", "text"), *_RESPONSE_COLUMNS),
        ),
        ReportSpec(
            "response_by_view",
            "First response and resolution per view",
            "bar",
            (Column("view", "View", "text"), *_RESPONSE_COLUMNS),
        ),
        ReportSpec(
            "response_by_number",
            "First response and resolution per business number",
            "bar",
            (Column("number", "Business number", "text"), *_RESPONSE_COLUMNS),
        ),
        ReportSpec(
            "tickets_per_day",
            "Tickets opened and closed per day",
            "line",
            (_DAY, Column("opened", "Opened", "count"), Column("closed", "Closed", "count")),
        ),
        ReportSpec(
            "expiries_to_template",
            "Expired sessions that ended in a template",
            "bar",
            (_DAY, Column("templates", "Templates after expiry", "count")),
        ),
        ReportSpec(
            "cost_per_day",
            "What WhatsApp bills per day",
            "bar",
            (
                _DAY,
                Column("messages", "Messages priced", "count"),
                Column("billable", "Billable", "count"),
                Column("charged", "Charged", "count"),
                Column("cost", "Estimate", "money"),
            ),
        ),
    )
}


def report_spec(name: str) -> ReportSpec:
    spec = REPORTS.get(name)
    if spec is None:
        raise NotFound(
            f"There is no report {name[:40]!r}; the reports are {', '.join(REPORTS)}.",
            code="report_not_found",
        )
    return spec


# ------------------------------------------------------------------ the date range


@dataclass(frozen=True, slots=True)
class DateRange:
    """Whole UTC days, ``first`` to ``last`` included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the range."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=UTC)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidField(
            f"{text[:40]!r} is not a day; write it as YYYY-MM-DD.", field=field
        ) from None


def date_range(first: str | None, last: str | None, *, now: datetime) -> DateRange:
    """The days asked for; without ``to`` up to today, without ``from`` the 30 days up to
    ``to``. At most 366 days, and ``from`` not after ``to``."""
    last_day = _day(last, "to") if last else now.astimezone(UTC).date()
    first_day = _day(first, "from") if first else last_day - timedelta(days=DEFAULT_DAYS - 1)
    if first_day > last_day:
        raise InvalidField("The range starts after it ends (from is after to).", field="from")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise InvalidField(f"A report covers at most {MAX_DAYS} days.", field="from")
    return DateRange(first_day, last_day)


def agent_filter(value: str | None, *, me: int) -> int | None:
    """The agent a report is narrowed to: an id, or "me"."""
    if value is None:
        return None
    text = value.strip().lower()
    if text == "me":
        return me
    number = positive_id(text)
    if number is None:
        raise InvalidField(f'{value[:40]!r} is not an agent id or "me".', field="agent")
    return number


def number_filter(value: str | None) -> str | None:
    """The business number a report is narrowed to, as the desk shows it (+15550001111)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        raise InvalidField("A business number is needed to filter on.", field="number")
    return text


# ------------------------------------------------------------------ arithmetic


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` quantile by linear interpolation between closest ranks (the
    median of 10 and 20 is 15; the p90 of 10, 20, 30, 40 is 37); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _seconds(value: float | None) -> int | None:
    return None if value is None else int(Decimal(str(value)).quantize(Decimal(1)))


@dataclass(slots=True)
class Times:
    """The tickets of a group opened in the range: how many, and the first response and
    resolution times of those that have one (filled ticket by ticket)."""

    tickets: int = 0
    first_responses: list[int] = field(default_factory=list)
    resolutions: list[int] = field(default_factory=list)

    def add(self, first_response: int | None, resolution: int | None) -> None:
        self.tickets += 1
        if first_response is not None:
            self.first_responses.append(first_response)
        if resolution is not None:
            self.resolutions.append(resolution)


def response_row(label: str, times: Times) -> list[Cell]:
    answered, resolved = times.first_responses, times.resolutions
    return [
        label,
        times.tickets,
        len(answered),
        _seconds(percentile(answered, 0.5)),
        _seconds(percentile(answered, 0.9)),
        len(resolved),
        _seconds(percentile(resolved, 0.5)),
        _seconds(percentile(resolved, 0.9)),
    ]


def volume_rows(
    keys: Sequence[str],
    key_of: int,
    messages: Iterable[tuple[str, str, int]],
    opened: Iterable[tuple[str, int]],
) -> list[list[Cell]]:
    """Conversations started and messages in and out per key: the first ``key_of``
    characters of ``YYYY-MM-DDTHH`` (10: the day), or the hour ``HH`` (``key_of`` -1).
    ``messages`` are (hour key, direction, count), ``opened`` (hour key, count)."""

    def key(hour: str) -> str:
        return hour[11:13] if key_of < 0 else hour[:key_of]

    cells: dict[str, list[int]] = {name: [0, 0, 0] for name in keys}
    for hour, count in opened:
        if key(hour) in cells:
            cells[key(hour)][0] += count
    for hour, direction, count in messages:
        if key(hour) in cells:
            cells[key(hour)][1 if direction == "in" else 2] += count
    return [[name, *cells[name]] for name in keys]


def hours() -> list[str]:
    return [f"{hour:02d}" for hour in range(24)]


def day_rows(days: Sequence[date], *counts: Mapping[str, int]) -> list[list[Cell]]:
    return [
        [day.isoformat(), *(column.get(day.isoformat(), 0) for column in counts)] for day in days
    ]


@dataclass(frozen=True, slots=True)
class DailyCount:
    day: date
    count: pricing.PricedCount


def cost_from(days: DateRange, subscription_start: date) -> date:
    """The first day whose counts the cost of ``days`` needs: the start of the usage month
    the range starts in (the free allowance is used up from there)."""
    noon = datetime.combine(days.first, time(12), tzinfo=UTC)
    return min(billing_period(noon, subscription_start).start, days.first)


def cost_rows(
    days: DateRange,
    counts: Iterable[DailyCount],
    *,
    subscription_start: date,
    rate_card: pricing.RateCard | None,
    free_service_messages: int,
) -> list[list[Cell]]:
    """Each day's priced messages and its share of the month's estimate: the estimate of
    the usage month up to that day less the estimate up to the day before, so the days of
    a month add up to the month view (the free allowance goes to the month's first
    messages). ``counts`` start at ``cost_from``; the cost is None without a rate card."""
    by_day: dict[date, list[pricing.PricedCount]] = defaultdict(list)
    for item in counts:
        by_day[item.day].append(item.count)
    rows: list[list[Cell]] = []
    day = cost_from(days, subscription_start)
    period = None
    # the month so far, summed: (number, market, category, billable) → messages
    so_far: dict[tuple[str, str | None, str, bool | None], int] = {}
    before = pricing.Tally()
    while day <= days.last:
        noon = datetime.combine(day, time(12), tzinfo=UTC)
        current = billing_period(noon, subscription_start)
        if current != period:
            period, so_far, before = current, {}, pricing.Tally()
        today = by_day.get(day, [])
        for c in today:
            key = (c.business_number, c.market, c.category, c.billable)
            so_far[key] = so_far.get(key, 0) + c.messages
        total = pricing.estimate_month(
            [pricing.PricedCount(*key, messages) for key, messages in so_far.items()],
            rate_card=rate_card,
            free_service_messages=free_service_messages,
        ).total
        if day >= days.first:
            cost = None
            if total.cost is not None:
                cost = str(total.cost - (before.cost or Decimal(0)))
            rows.append(
                [
                    day.isoformat(),
                    sum(c.messages for c in today),
                    sum(c.messages for c in today if c.billable),
                    total.charged - before.charged,
                    cost,
                ]
            )
        before = total
        day += timedelta(days=1)
    return rows
