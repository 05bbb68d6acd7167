from datetime import UTC, datetime, timedelta, tzinfo

import pytest

from backend.domain.session import SESSION_WINDOW, is_open, session_expires_at, time_left

LAST_INBOUND = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
EXPIRES = LAST_INBOUND + timedelta(hours=24)


def test_window_is_24_hours() -> None:
    assert SESSION_WINDOW == timedelta(hours=24)


def test_session_expires_24_hours_after_the_last_inbound_message() -> None:
    assert session_expires_at(LAST_INBOUND) == datetime(2025, 5, 2, 10, 0, tzinfo=UTC)


class NoOffset(tzinfo):
    """A time zone that does not know its offset: as naive as no time zone at all."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def test_session_expires_at_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError, match="^last_inbound_at must be timezone-aware$"):
        session_expires_at(datetime(2025, 5, 1, 10, 0))
    with pytest.raises(ValueError, match="^last_inbound_at must be timezone-aware$"):
        session_expires_at(datetime(2025, 5, 1, 10, 0, tzinfo=NoOffset()))


def test_session_is_open_before_expiry() -> None:
    assert is_open(EXPIRES, EXPIRES - timedelta(seconds=1))


def test_session_is_closed_at_expiry() -> None:
    assert not is_open(EXPIRES, EXPIRES)


def test_session_without_expiry_is_closed() -> None:
    assert not is_open(None, LAST_INBOUND)


def test_is_open_refuses_naive_now() -> None:
    with pytest.raises(ValueError, match="^now must be timezone-aware$"):
        is_open(EXPIRES, datetime(2025, 5, 1, 12, 0))


def test_is_open_refuses_a_naive_expiry() -> None:
    with pytest.raises(ValueError, match="^expires_at must be timezone-aware$"):
        is_open(datetime(2025, 5, 2, 10, 0), LAST_INBOUND)
    with pytest.raises(ValueError, match="^expires_at must be timezone-aware$"):
        time_left(datetime(2025, 5, 2, 10, 0, tzinfo=NoOffset()), LAST_INBOUND)


def test_time_left_while_open() -> None:
    assert time_left(EXPIRES, EXPIRES - timedelta(minutes=30)) == timedelta(minutes=30)


def test_time_left_is_never_negative() -> None:
    assert time_left(EXPIRES, EXPIRES + timedelta(hours=3)) == timedelta(0)


def test_time_left_without_session_is_zero() -> None:
    assert time_left(None, LAST_INBOUND) == timedelta(0)
