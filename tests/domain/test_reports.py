"""The reports' arithmetic: percentiles, the date range (clock injected), each day's cost."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from backend.domain import pricing
from backend.domain import reports as r
from backend.domain.errors import InvalidField

NOW = datetime(2026, 11, 26, 23, 59, tzinfo=UTC)


def test_percentiles_interpolate_between_closest_ranks():
    assert r.percentile([], 0.5) is None
    assert r.percentile([7], 0.9) == 7
    assert r.percentile([20, 10], 0.5) == 15
    assert r.percentile([10, 20, 30, 40], 0.9) == pytest.approx(37)
    assert r.percentile([600, 1800, 7200], 0.9) == pytest.approx(6120)
    times = r.Times()
    for first_response, resolution in ((600, None), (1800, 7200), (None, None)):
        times.add(first_response, resolution)
    row = r.response_row("x", times)
    assert row == ["x", 3, 2, 1200, 1680, 1, 7200, 7200]


def test_the_range_defaults_to_the_30_days_up_to_today_and_refuses_nonsense():
    default = r.date_range(None, None, now=NOW)
    assert (default.first, default.last) == (date(2026, 10, 28), date(2026, 11, 26))
    assert len(default.days()) == 30
    assert default.end == datetime(2026, 11, 27, tzinfo=UTC)
    assert r.date_range("2026-11-01", None, now=NOW).last == date(2026, 11, 26)
    for first, last, field in (
        ("2026-11-31", None, "from"),
        (None, "26/11/2026", "to"),
        ("2026-11-20", "2026-11-19", "from"),
        ("2025-01-01", "2026-11-26", "from"),
    ):
        with pytest.raises(InvalidField) as caught:
            r.date_range(first, last, now=NOW)
        assert caught.value.field == field


def count(day: str, category: str, billable: bool, messages: int) -> r.DailyCount:
    return r.DailyCount(
        date.fromisoformat(day),
        pricing.PricedCount("+1555", "ES", category, billable, messages),
    )


def test_each_day_costs_its_share_of_the_month_and_the_allowance_resets_with_the_month():
    card = pricing.RateCard("EUR", {"ES": {"service": Decimal("0.02")}})
    days = r.DateRange(date(2026, 11, 14), date(2026, 11, 16))
    subscribed = date(2026, 1, 15)  # months run from the 15th
    assert r.cost_from(days, subscribed) == date(2026, 10, 15)
    rows = r.cost_rows(
        days,
        [
            count("2026-10-20", "service", True, 2),  # the October month's allowance
            count("2026-11-14", "service", True, 3),  # 1 free left: 2 charged
            count("2026-11-15", "service", True, 4),  # a new month: 3 free, 1 charged
            count("2026-11-16", "service", True, 1),
        ],
        subscription_start=subscribed,
        rate_card=card,
        free_service_messages=3,
    )
    assert rows == [
        ["2026-11-14", 3, 3, 2, "0.04"],
        ["2026-11-15", 4, 4, 1, "0.02"],
        ["2026-11-16", 1, 1, 1, "0.02"],
    ]
    counts_only = r.cost_rows(
        days, [], subscription_start=subscribed, rate_card=None, free_service_messages=3
    )
    assert [row[-1] for row in counts_only] == [None, None, None]
