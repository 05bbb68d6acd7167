"""The pricing rules: a status's pricing block, the rate card, months in the subscription's
terms, the month's estimate (computed here by hand) and the budget level."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from backend.domain.errors import InvalidField
from backend.domain.pricing import (
    PricedCount,
    Pricing,
    RateCardError,
    SendPrice,
    budget_level,
    estimate_month,
    free_service_messages_left,
    month_label,
    month_period,
    parse_month,
    parse_rate_card,
    previous_period,
    read_pricing,
    send_prices,
)
from backend.domain.usage import billing_period

CARD = parse_rate_card(
    """
currency = "eur"
[markets.BR]
marketing = 0.0625
service = "0.008"
[markets.es]
utility = 0.02
[markets."*"]
marketing = 0.05
service = 0.01
utility = 0.01
"""
)
EXAMPLE = Path(__file__).parents[2] / "assets" / "rate-card.example.toml"


def test_read_pricing_keeps_new_categories_and_never_fails():
    assert read_pricing(
        {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "Marketing"}
    ) == Pricing("marketing", True, "PMP", "regular")
    assert read_pricing({"category": "marketing_lite", "billable": "false"}) == Pricing(
        "marketing_lite", False
    )
    for block in (None, "PMP", [], {}, {"category": ""}, {"category": None, "billable": 1}):
        assert read_pricing(block).category == "unknown"
    assert read_pricing({"category": True}).category == "unknown"
    assert len(read_pricing({"category": "x" * 500}).category) == 64


def test_rate_card_prices_by_market_then_the_any_market_row():
    assert CARD.currency == "EUR"
    assert CARD.price("BR", "marketing") == Decimal("0.0625")
    assert CARD.price("br", "service") == Decimal("0.008")
    assert CARD.price("ES", "utility") == Decimal("0.02")
    assert CARD.price("ES", "marketing") == Decimal("0.05")  # not on ES's row: "*"
    assert CARD.price(None, "service") == Decimal("0.01")
    assert CARD.price("BR", "authentication") is None  # nowhere on the card


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("currency = ", "TOML syntax"),
        ("[markets.BR]\nmarketing = 0.1", "currency"),
        ('currency = "US"', "currency"),
        ('currency = "USD"\nprices = 1', "prices"),
        ('currency = "USD"\n[markets.BRA]\nmarketing = 0.1', "markets.BRA"),
        ('currency = "USD"\n[markets.BR]\nmarketing = -0.1', "markets.BR.marketing"),
        ('currency = "USD"\n[markets.BR]\nmarketing = "cheap"', "markets.BR.marketing"),
        ('currency = "USD"\n[markets.BR]\nmarketing = true', "markets.BR.marketing"),
        ('currency = "USD"\n[markets.BR]\nmarketing = nan', "markets.BR.marketing"),
        ('currency = "USD"\nmarkets = 3', "markets"),
    ],
)
def test_a_bad_rate_card_is_refused_naming_the_key(text, names):
    with pytest.raises(RateCardError, match=names):
        parse_rate_card(text)


def test_the_shipped_example_parses_and_says_it_is_an_example():
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "AN EXAMPLE ONLY" in text and "NOT Meta's prices" in text
    card = parse_rate_card(text)
    assert card.price("ZZ", "marketing") is not None


def test_months_follow_the_subscription_day():
    start = date(2026, 1, 31)
    assert parse_month("2026-02") == (2026, 2)
    february = month_period(2026, 2, start)
    assert (february.start, february.resets_on) == (date(2026, 2, 28), date(2026, 3, 31))
    assert month_label(february) == "2026-02"
    january = previous_period(february, start)
    assert (january.start, january.resets_on) == (date(2026, 1, 31), date(2026, 2, 28))
    # the same period the usage meter counts, for a time in it
    assert billing_period(datetime(2026, 3, 30, 23, 59, tzinfo=UTC), start) == february
    december = previous_period(month_period(2026, 1, date(2025, 6, 15)), date(2025, 6, 15))
    assert (december.start, december.resets_on) == (date(2025, 12, 15), date(2026, 1, 15))


@pytest.mark.parametrize(
    "value", ["2026-13", "2026-1", "2026-1x", "26-01", "2026/01", "", "2026-00-01"]
)
def test_a_bad_month_is_a_clear_error(value):
    with pytest.raises(InvalidField) as caught:
        parse_month(value)
    assert caught.value.field == "month" and "YYYY-MM" in caught.value.message


def count(number, market, category, billable, messages):
    return PricedCount(number, market, category, billable, messages)


def test_estimate_against_the_rate_card_by_hand():
    counts = [
        count("+1", "BR", "marketing", True, 10),  # 10 × 0.0625 = 0.625
        count("+1", "ES", "marketing", True, 4),  # ES has no marketing: "*" 4 × 0.05 = 0.20
        count("+1", "BR", "marketing", False, 2),  # free: 0
        count("+1", "BR", "service", True, 7),  # allowance 5: 3 free ones use 3, 2 left
        count("+1", "ES", "service", True, 2),  # … cover BR's (busiest) first: 5 × 0.008
        count("+1", "BR", "service", False, 3),  # ES's 2 are beyond: 2 × 0.01 ("*") = 0.02
        count("+1", None, "utility", True, 1),  # no country: "*" 0.01
        count("+1", "BR", "authentication", True, 3),  # no price anywhere: unpriced
        count("+1", "BR", "unknown", None, 6),  # the statuses did not say
        count("+2", "ES", "service", True, 4),  # +2's own allowance covers all 4
    ]
    got = estimate_month(counts, rate_card=CARD, free_service_messages=5)
    marketing = got.lines[("+1", "marketing")]
    assert (marketing.messages, marketing.billable, marketing.free) == (16, 14, 2)
    assert (marketing.charged, marketing.cost) == (14, Decimal("0.825"))
    service = got.lines[("+1", "service")]
    assert (service.messages, service.billable, service.free) == (12, 9, 3)
    assert (service.in_allowance, service.charged) == (2, 7)
    assert service.cost == Decimal("0.06")  # 5 × 0.008 + 2 × 0.01
    assert got.lines[("+1", "utility")].cost == Decimal("0.01")
    authentication = got.lines[("+1", "authentication")]
    assert (authentication.charged, authentication.unpriced, authentication.cost) == (3, 3, 0)
    unknown = got.lines[("+1", "unknown")]
    assert (unknown.unknown, unknown.charged, unknown.cost) == (6, 0, 0)
    other = got.lines[("+2", "service")]
    assert (other.in_allowance, other.charged, other.cost) == (4, 0, 0)
    assert got.total.messages == 10 + 4 + 2 + 7 + 2 + 3 + 1 + 3 + 6 + 4
    assert got.total.cost == Decimal("0.825") + Decimal("0.06") + Decimal("0.01")
    assert (got.total.unpriced, got.currency) == (3, "EUR")


def test_without_a_rate_card_the_estimate_is_counts_only():
    counts = [count("+1", "BR", "marketing", True, 3), count("+1", "BR", "service", True, 2)]
    got = estimate_month(counts, rate_card=None, free_service_messages=1000)
    assert got.total.cost is None and got.currency is None
    assert (got.total.messages, got.total.charged, got.total.in_allowance) == (5, 3, 2)
    assert estimate_month([], rate_card=CARD, free_service_messages=0).total.cost == 0


def test_budget_levels_warn_from_80_percent():
    budget = Decimal(100)
    assert budget_level(Decimal("79.99"), budget) == "ok"
    assert budget_level(Decimal(80), budget) == "warning"
    assert budget_level(Decimal("99.99"), budget) == "warning"
    assert budget_level(Decimal(100), budget) == "exceeded"


def test_the_free_allowance_left_counts_the_numbers_delivered_service_messages():
    counts = [
        count("+1", "BR", "service", True, 3),
        count("+1", "ES", "service", False, 1),
        count("+1", "BR", "service", None, 9),  # the statuses did not say: not counted
        count("+1", "BR", "marketing", True, 5),
        count("+2", "BR", "service", True, 4),  # another number's allowance
    ]
    assert free_service_messages_left(counts, "+1", 5) == 1
    assert free_service_messages_left(counts, "+1", 4) == 0
    assert free_service_messages_left(counts, "+2", 3) == 0
    assert free_service_messages_left([], "+1", 5) == 5


def test_send_prices_by_market_and_allowance():
    card = parse_rate_card(
        'currency = "EUR"\n[markets.BR]\nmarketing = 0.0625\nmarketing_lite = 0.03\n'
        '[markets."*"]\nservice = 0.01\nutility = 0.02\n'
    )
    assert send_prices("br", rate_card=card, free_service_left=1) == [
        SendPrice("service", free=True, price=Decimal(0)),
        SendPrice("utility", free=False, price=Decimal("0.02")),
        SendPrice("marketing", free=False, price=Decimal("0.0625")),
        SendPrice("authentication", free=False, price=None),
        SendPrice("marketing_lite", free=False, price=Decimal("0.03")),
    ]
    charged = send_prices(None, rate_card=card, free_service_left=0)
    assert [(p.category, p.free, p.price) for p in charged] == [
        ("service", False, Decimal("0.01")),
        ("utility", False, Decimal("0.02")),
        ("marketing", False, None),  # only BR has a marketing price
        ("authentication", False, None),
    ]
    counts_only = send_prices("BR", rate_card=None, free_service_left=3)
    assert [(p.category, p.free, p.price) for p in counts_only] == [
        ("service", True, None),
        ("utility", False, None),
        ("marketing", False, None),
        ("authentication", False, None),
    ]
