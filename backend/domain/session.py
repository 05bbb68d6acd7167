"""WhatsApp's customer service window: 24 hours after the contact's last message."""

from __future__ import annotations

from datetime import datetime, timedelta

SESSION_WINDOW = timedelta(hours=24)


def _require_aware(dt: datetime, name: str) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def session_expires_at(last_inbound_at: datetime) -> datetime:
    _require_aware(last_inbound_at, "last_inbound_at")
    return last_inbound_at + SESSION_WINDOW


def is_open(expires_at: datetime | None, now: datetime) -> bool:
    """A session is open strictly before its expiry; no expiry means the contact never wrote."""
    if expires_at is None:
        return False
    _require_aware(expires_at, "expires_at")
    _require_aware(now, "now")
    return now < expires_at


def time_left(expires_at: datetime | None, now: datetime) -> timedelta:
    if not is_open(expires_at, now):
        return timedelta(0)
    assert expires_at is not None
    return expires_at - now
