"""The monthly conversation limit (SPEC §5) and the unverified-business daily limit (SPEC §2)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from backend.domain.errors import LimitReached, UsageLimitReached

RULE_CHANGE = date(2024, 11, 1)
DEFAULT_MONTHLY_LIMIT = 1000
UNVERIFIED_DAILY_LIMIT = 50

UsageLevel = Literal["ok", "warning", "critical", "exhausted"]


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    resets_on: date


def _reset_day(year: int, month: int, anchor_day: int) -> date:
    """The reset date in a month: the anchor day, or the month's last day when it is shorter."""
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(anchor_day, last_day))


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def billing_period(now: datetime, subscription_start: date) -> Period:
    """The usage month that contains `now` (its date in UTC).

    Before the subscription starts, the first period is returned.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    today = max(now.astimezone(UTC).date(), subscription_start)
    anchor = subscription_start.day
    this_month_reset = _reset_day(today.year, today.month, anchor)
    if today >= this_month_reset:
        start = this_month_reset
        next_year, next_month = _shift_month(today.year, today.month, 1)
    else:
        prev_year, prev_month = _shift_month(today.year, today.month, -1)
        start = _reset_day(prev_year, prev_month, anchor)
        next_year, next_month = today.year, today.month
    return Period(start=start, resets_on=_reset_day(next_year, next_month, anchor))


def counts_as_conversation(
    sent_at: datetime, *, session_open: bool, session_already_counted: bool
) -> bool:
    """Whether a business message counts as one conversation against the monthly limit.

    `session_already_counted` says whether an earlier message in the same
    contact-opened session was counted; it matters only for sends before RULE_CHANGE.
    """
    if not session_open:
        return True
    if sent_at.astimezone(UTC).date() >= RULE_CHANGE:
        return False
    return not session_already_counted


def check_usage(*, used: int, limit: int, counts: bool, resets_on: date) -> None:
    """Refuse a counting send that would take usage past the limit."""
    if counts and used + 1 > limit:
        raise UsageLimitReached(resets_on, limit=limit)


def check_unverified(*, verified: bool, business_initiated_24h: int, counts: bool) -> None:
    """Refuse the 51st business-initiated conversation in 24 h of an unverified business.

    `counts` says whether this send starts a business-initiated conversation
    (a send outside an open session).
    """
    if verified or not counts:
        return
    if business_initiated_24h + 1 > UNVERIFIED_DAILY_LIMIT:
        raise LimitReached(
            f"An unverified business may start at most {UNVERIFIED_DAILY_LIMIT} conversations "
            "in 24 hours; verify the business in Meta Business Manager to raise the limit.",
            code="business_initiated_limit_reached",
        )


def usage_level(used: int, limit: int) -> UsageLevel:
    """How close usage is to the limit: warning from 80 %, critical from 95 %."""
    if limit <= 0 or used >= limit:
        return "exhausted"
    if used * 100 >= limit * 95:
        return "critical"
    if used * 100 >= limit * 80:
        return "warning"
    return "ok"
