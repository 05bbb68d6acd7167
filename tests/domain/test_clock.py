from datetime import UTC, datetime, timedelta, timezone

import pytest

from backend.domain.clock import Clock, FixedClock, SystemClock

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_system_clock_returns_aware_utc_now() -> None:
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - now) < timedelta(seconds=5)


def test_fixed_clock_stands_still() -> None:
    clock = FixedClock(START)
    assert clock.now() == START
    assert clock.now() == START


def test_fixed_clock_advances_by_timedelta() -> None:
    clock = FixedClock(START)
    clock.advance(timedelta(hours=25))
    assert clock.now() == START + timedelta(hours=25)


def test_fixed_clock_advances_by_seconds() -> None:
    clock = FixedClock(START)
    assert clock.advance(90) == START + timedelta(seconds=90)


def test_fixed_clock_set_jumps_to_a_time() -> None:
    clock = FixedClock(START)
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2030, 1, 1, tzinfo=UTC)


def test_fixed_clock_converts_other_zones_to_utc() -> None:
    madrid_noon = datetime(2025, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    now = FixedClock(madrid_noon).now()
    assert now == START
    assert now.tzinfo == UTC


def test_fixed_clock_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError):
        FixedClock(datetime(2025, 3, 1, 12, 0))


def test_fixed_clock_set_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError):
        FixedClock(START).set(datetime(2025, 3, 1))


def test_both_clocks_satisfy_the_protocol() -> None:
    clocks: list[Clock] = [SystemClock(), FixedClock(START)]
    assert all(isinstance(c.now(), datetime) for c in clocks)
