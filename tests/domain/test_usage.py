import time
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

import pytest

from backend.domain.errors import LimitReached, UsageLimitReached
from backend.domain.usage import (
    RULE_CHANGE,
    UNVERIFIED_DAILY_LIMIT,
    Period,
    billing_period,
    check_unverified,
    check_usage,
    counts_as_conversation,
    usage_level,
)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# billing_period


def test_period_resets_on_the_subscription_day_of_month() -> None:
    assert billing_period(at(date(2025, 3, 10)), date(2024, 10, 28)) == Period(
        date(2025, 2, 28), date(2025, 3, 28)
    )


def test_period_starts_on_the_reset_day_itself() -> None:
    assert billing_period(at(date(2025, 3, 28), 0), date(2024, 10, 28)) == Period(
        date(2025, 3, 28), date(2025, 4, 28)
    )


def test_period_day_before_reset_is_still_previous_period() -> None:
    period = billing_period(datetime(2025, 3, 27, 23, 59, tzinfo=UTC), date(2024, 10, 28))
    assert period.resets_on == date(2025, 3, 28)


def test_start_on_31st_resets_on_last_day_of_february() -> None:
    assert billing_period(at(date(2025, 2, 10)), date(2025, 1, 31)) == Period(
        date(2025, 1, 31), date(2025, 2, 28)
    )


def test_start_on_31st_resets_on_29_february_in_a_leap_year() -> None:
    assert billing_period(at(date(2024, 2, 10)), date(2024, 1, 31)).resets_on == date(2024, 2, 29)


def test_start_on_31st_returns_to_the_31st_in_march() -> None:
    assert billing_period(at(date(2025, 3, 5)), date(2025, 1, 31)) == Period(
        date(2025, 2, 28), date(2025, 3, 31)
    )


def test_start_on_31st_resets_on_30th_in_a_30_day_month() -> None:
    assert billing_period(at(date(2025, 4, 30)), date(2025, 1, 31)) == Period(
        date(2025, 4, 30), date(2025, 5, 31)
    )


def test_period_crosses_the_year_end() -> None:
    assert billing_period(at(date(2025, 12, 20)), date(2025, 1, 15)) == Period(
        date(2025, 12, 15), date(2026, 1, 15)
    )


def test_period_in_january_starts_in_december() -> None:
    assert billing_period(at(date(2026, 1, 3)), date(2025, 1, 15)) == Period(
        date(2025, 12, 15), date(2026, 1, 15)
    )


def test_period_uses_the_utc_date() -> None:
    # 00:30 on the 28th in Madrid is still the 27th in UTC.
    madrid = timezone(timedelta(hours=1))
    period = billing_period(datetime(2025, 3, 28, 0, 30, tzinfo=madrid), date(2024, 10, 28))
    assert period.resets_on == date(2025, 3, 28)


def test_period_before_the_subscription_is_the_first_period() -> None:
    assert billing_period(at(date(2025, 1, 1)), date(2025, 3, 10)) == Period(
        date(2025, 3, 10), date(2025, 4, 10)
    )


class NoOffset(tzinfo):
    """A time zone that does not know its offset: as naive as no time zone at all."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def test_period_refuses_naive_now() -> None:
    with pytest.raises(ValueError, match="^now must be timezone-aware$"):
        billing_period(datetime(2025, 3, 1), date(2025, 1, 1))
    with pytest.raises(ValueError, match="^now must be timezone-aware$"):
        billing_period(datetime(2025, 3, 1, tzinfo=NoOffset()), date(2025, 1, 1))


@pytest.fixture
def far_east_machine(monkeypatch: pytest.MonkeyPatch):
    """The machine's own time zone is UTC+9: the rules must not use it."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_period_and_the_rule_change_ignore_the_machines_time_zone(far_east_machine) -> None:
    # 20:00 UTC on the 27th is the 28th in Tokyo: still the old period in UTC
    late = datetime(2025, 3, 27, 20, 0, tzinfo=UTC)
    assert billing_period(late, date(2024, 10, 28)).resets_on == date(2025, 3, 28)
    # 20:00 UTC on 31 Oct 2024 is 1 Nov in Tokyo: still the old rule in UTC
    before = datetime(2024, 10, 31, 20, 0, tzinfo=UTC)
    assert counts_as_conversation(before, session_open=True, session_already_counted=False)


# counts_as_conversation

AFTER_CHANGE = at(date(2025, 6, 1))
BEFORE_CHANGE = at(date(2024, 10, 15))


def test_rule_change_date() -> None:
    assert RULE_CHANGE == date(2024, 11, 1)


def test_send_outside_session_counts() -> None:
    assert counts_as_conversation(AFTER_CHANGE, session_open=False, session_already_counted=False)


def test_send_inside_session_does_not_count_from_rule_change() -> None:
    assert not counts_as_conversation(
        AFTER_CHANGE, session_open=True, session_already_counted=False
    )


def test_send_on_the_rule_change_day_follows_the_new_rule() -> None:
    sent_at = datetime(2024, 11, 1, 0, 0, tzinfo=UTC)
    assert not counts_as_conversation(sent_at, session_open=True, session_already_counted=False)


def test_send_outside_session_counts_before_rule_change() -> None:
    assert counts_as_conversation(BEFORE_CHANGE, session_open=False, session_already_counted=True)


def test_first_send_in_session_counts_before_rule_change() -> None:
    assert counts_as_conversation(BEFORE_CHANGE, session_open=True, session_already_counted=False)


def test_later_send_in_same_session_does_not_count_before_rule_change() -> None:
    assert not counts_as_conversation(
        BEFORE_CHANGE, session_open=True, session_already_counted=True
    )


# check_usage


def test_send_below_the_limit_is_allowed() -> None:
    check_usage(used=999, limit=1000, counts=True, resets_on=date(2025, 4, 1))


def test_send_that_would_pass_the_limit_is_refused_with_reset_date() -> None:
    with pytest.raises(UsageLimitReached) as caught:
        check_usage(used=1000, limit=1000, counts=True, resets_on=date(2025, 4, 1))
    assert caught.value.resets_on == date(2025, 4, 1)
    assert caught.value.status == 429
    assert caught.value.limit == 1000
    assert "the monthly limit of 1,000 conversations" in caught.value.message


def test_non_counting_send_is_allowed_at_the_limit() -> None:
    check_usage(used=1000, limit=1000, counts=False, resets_on=date(2025, 4, 1))


def test_zero_limit_refuses_every_counting_send() -> None:
    with pytest.raises(UsageLimitReached):
        check_usage(used=0, limit=0, counts=True, resets_on=date(2025, 4, 1))


# check_unverified


def test_unverified_limit_is_50() -> None:
    assert UNVERIFIED_DAILY_LIMIT == 50


def test_unverified_business_may_start_the_50th_conversation() -> None:
    check_unverified(verified=False, business_initiated_24h=49, counts=True)


def test_unverified_business_is_refused_the_51st_conversation() -> None:
    with pytest.raises(LimitReached) as caught:
        check_unverified(verified=False, business_initiated_24h=50, counts=True)
    assert caught.value.code == "business_initiated_limit_reached"
    assert caught.value.message == (
        "An unverified business may start at most 50 conversations in 24 hours; verify the "
        "business in Meta Business Manager to raise the limit."
    )
    assert not isinstance(caught.value, UsageLimitReached)


def test_verified_business_has_no_daily_limit() -> None:
    check_unverified(verified=True, business_initiated_24h=5000, counts=True)


def test_unverified_business_may_reply_inside_a_session_past_the_limit() -> None:
    check_unverified(verified=False, business_initiated_24h=50, counts=False)


# usage_level


@pytest.mark.parametrize(
    ("used", "level"),
    [(0, "ok"), (799, "ok"), (800, "warning"), (949, "warning"), (950, "critical"),
     (999, "critical"), (1000, "exhausted"), (1200, "exhausted")],
)  # fmt: skip
def test_usage_level_thresholds(used: int, level: str) -> None:
    assert usage_level(used, 1000) == level


def test_usage_level_with_zero_limit_is_exhausted() -> None:
    assert usage_level(0, 0) == "exhausted"


def test_usage_level_with_a_limit_of_one() -> None:
    assert (usage_level(0, 1), usage_level(1, 1)) == ("ok", "exhausted")
