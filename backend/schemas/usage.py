"""The WhatsApp usage meter, the budget and what sends cost."""

from datetime import date
from decimal import Decimal
from typing import Literal

from backend.schemas.base import ResponseModel


class Usage(ResponseModel):
    used: int
    limit: int
    period_start: date
    resets_on: date
    business_initiated_24h: int
    verified_business: bool = True
    level: Literal["ok", "warning", "critical", "exhausted"] = "ok"
    # the month's estimate against the ``budget`` setting (GET /usage only, with a rate card)
    budget: "Budget | None" = None


class Budget(ResponseModel):
    """The month's estimated spend against the ``budget`` setting."""

    amount: Decimal
    spent: Decimal
    currency: str
    level: Literal["ok", "warning", "exceeded"] = "ok"  # warning from 80 %


class UsageTally(ResponseModel):
    """Priced outbound messages of a month (of one number and category, or all)."""

    messages: int = 0
    billable: int = 0  # WhatsApp said billable
    free: int = 0  # WhatsApp said not billable
    unknown: int = 0  # the statuses did not say
    in_allowance: int = 0  # billable service messages the free monthly allowance covers
    charged: int = 0  # billable beyond the allowance: what the estimate prices
    unpriced: int = 0  # charged, but the rate card has no price for them
    estimate: Decimal | None = None  # in ``UsageMonth.currency``; None without a rate card


class UsageMonthLine(UsageTally):
    business_number: str
    category: str  # service | utility | marketing | authentication | unknown | …


class UsageMonth(ResponseModel):
    """What WhatsApp bills for one usage month (from the subscription's day), per
    business number and category, and the trend against the month before."""

    month: str  # YYYY-MM: the calendar month the period starts in
    period_start: date
    resets_on: date
    rate_card: bool = False
    currency: str | None = None
    free_service_messages_per_month: int
    lines: list[UsageMonthLine] = []
    total: UsageTally
    previous_month: str
    previous: UsageTally
    messages_change: int  # against the previous month
    messages_change_percent: float | None = None  # None when the previous month had none
    estimate_change: Decimal | None = None
    budget: Budget | None = None


class SendPrice(ResponseModel):
    """What one more message of a category would be billed, before it is sent."""

    category: str  # service | utility | marketing | authentication | …
    free: bool = False  # a service message the month's free allowance still covers
    price: Decimal | None = None  # in ``SendPrices.currency``; None: no rate card or no price


class SendPrices(ResponseModel):
    """What a send in one thread would be billed as: per category, by the customer's market
    (the contact's country), the rate card and the number's free allowance this month."""

    thread_id: int
    business_number: str
    market: str | None = None  # the contact's country; None when not known
    rate_card: bool = False
    currency: str | None = None
    free_service_messages_left: int  # of the number's allowance this usage month
    prices: list[SendPrice] = []
    # the mailbox the channel switch writes from (None: no mailbox in use: not offered)
    email_from: str | None = None
    # an e-mail thread whose mailbox (business_number) was removed: a reply is refused
    mailbox_removed: bool = False
