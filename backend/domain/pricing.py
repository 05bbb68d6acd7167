"""What WhatsApp bills us (WHATSAPP.md "The customer service window and pricing").

A status's ``pricing`` block read leniently, the admin's rate card (TOML text parsed into
a value object), the month in the subscription's terms, the month's estimate and the
budget level. Pure: the caller reads the file, counts the messages and brings the clock.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

from backend.domain.errors import DomainError, InvalidField
from backend.domain.usage import Period, _reset_day, _shift_month

SERVICE = "service"
UNKNOWN = "unknown"  # a status without a pricing block, or a block without a category
CATEGORIES = (SERVICE, "utility", "marketing", "authentication")
FREE_SERVICE_MESSAGES_PER_MONTH = 1000
ANY_MARKET = "*"  # the rate card's prices for every market it does not name
CATEGORY_MAX = 64

BudgetLevel = Literal["ok", "warning", "exceeded"]


# ------------------------------------------------------------------ a status's pricing block


@dataclass(frozen=True, slots=True)
class Pricing:
    category: str
    billable: bool | None = None
    model: str | None = None
    type: str | None = None


def _text(value: object) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value).strip()
        return text[:CATEGORY_MAX] or None
    return None


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def read_pricing(block: object) -> Pricing:
    """The pricing of a status, leniently: a category Meta adds later is kept as given
    (lower-cased), a missing or unreadable block is ``unknown``; never an error."""
    if not isinstance(block, Mapping):
        return Pricing(UNKNOWN)
    category = _text(block.get("category"))
    return Pricing(
        category=category.lower() if category else UNKNOWN,
        billable=_flag(block.get("billable")),
        model=_text(block.get("pricing_model")),
        type=_text(block.get("type")),
    )


# ------------------------------------------------------------------ the rate card


class RateCardError(ValueError):
    """A rate card that cannot be used: ``str()`` names the key and what is wrong."""


@dataclass(frozen=True, slots=True)
class RateCard:
    """Prices per message in one currency, per market (ISO country code) and category."""

    currency: str
    markets: Mapping[str, Mapping[str, Decimal]]

    def price(self, market: str | None, category: str) -> Decimal | None:
        """The price of one message, or None when the card has none for it."""
        for key in ((market or "").upper(), ANY_MARKET):
            rates = self.markets.get(key)
            if rates is not None and category in rates:
                return rates[category]
        return None


def _price(value: object, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RateCardError(f"{key}: a price is a number, e.g. 0.0625")
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise RateCardError(f"{key}: {value!r} is not a number") from None
    if not price.is_finite() or price < 0:
        raise RateCardError(f"{key}: a price is a number of at least 0")
    return price


def parse_rate_card(text: str) -> RateCard:
    """The rate card from its TOML text (see ``assets/rate-card.example.toml``)."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RateCardError(f"TOML syntax error: {exc}") from None
    unknown = sorted(set(table) - {"currency", "markets"})
    if unknown:
        raise RateCardError(f"{unknown[0]}: unknown key (a rate card has currency and markets)")
    currency = table.get("currency")
    if not isinstance(currency, str) or len(currency.strip()) != 3 or not currency.isalpha():
        raise RateCardError('currency: the ISO code the prices are in, e.g. "USD"')
    markets = table.get("markets", {})
    if not isinstance(markets, dict):
        raise RateCardError("markets: a table of markets, e.g. [markets.BR]")
    parsed: dict[str, dict[str, Decimal]] = {}
    for market, rates in markets.items():
        code = market.strip().upper()
        if code != ANY_MARKET and (len(code) != 2 or not code.isalpha()):
            raise RateCardError(
                f"markets.{market}: a market is a two-letter country code, or {ANY_MARKET!r}"
            )
        if not isinstance(rates, dict):
            raise RateCardError(f"markets.{market}: a table of prices per category")
        parsed[code] = {
            category.strip().lower(): _price(value, f"markets.{market}.{category}")
            for category, value in rates.items()
        }
    return RateCard(currency=currency.strip().upper(), markets=parsed)


# ------------------------------------------------------------------ months


def parse_month(value: str, *, field: str = "month") -> tuple[int, int]:
    """``YYYY-MM`` as (year, month); anything else is a clear error."""
    parts = value.strip().split("-")
    if len(parts) == 2 and (len(parts[0]), len(parts[1])) == (4, 2) and "".join(parts).isdigit():
        year, month = int(parts[0]), int(parts[1])
        if 1 <= month <= 12 and year >= 1:
            return year, month
    raise InvalidField(f"{value!r} is not a month; write it as YYYY-MM.", field=field)


def month_period(year: int, month: int, subscription_start: date) -> Period:
    """The usage month that starts in this calendar month on the subscription's day, as
    ``backend.domain.usage.billing_period`` counts months (UTC dates)."""
    anchor = subscription_start.day
    next_year, next_month = _shift_month(year, month, 1)
    return Period(
        start=_reset_day(year, month, anchor),
        resets_on=_reset_day(next_year, next_month, anchor),
    )


def previous_period(period: Period, subscription_start: date) -> Period:
    year, month = _shift_month(period.start.year, period.start.month, -1)
    return month_period(year, month, subscription_start)


def month_label(period: Period) -> str:
    return f"{period.start:%Y-%m}"


# ------------------------------------------------------------------ the month's estimate


@dataclass(frozen=True, slots=True)
class PricedCount:
    """How many priced messages of a kind one business number sent in the month."""

    business_number: str
    market: str | None  # the customer's country (ISO code), None when not known
    category: str
    billable: bool | None
    messages: int


@dataclass(frozen=True, slots=True)
class Tally:
    messages: int = 0
    billable: int = 0  # Meta says billable
    free: int = 0  # Meta says not billable
    unknown: int = 0  # the status did not say
    in_allowance: int = 0  # billable service messages the monthly free allowance covers
    charged: int = 0  # billable, beyond the allowance: what the estimate prices
    unpriced: int = 0  # charged messages the rate card has no price for
    cost: Decimal | None = None  # with a rate card

    def plus(self, other: Tally) -> Tally:
        cost = None
        if self.cost is not None or other.cost is not None:
            cost = (self.cost or Decimal(0)) + (other.cost or Decimal(0))
        return Tally(
            messages=self.messages + other.messages,
            billable=self.billable + other.billable,
            free=self.free + other.free,
            unknown=self.unknown + other.unknown,
            in_allowance=self.in_allowance + other.in_allowance,
            charged=self.charged + other.charged,
            unpriced=self.unpriced + other.unpriced,
            cost=cost,
        )


@dataclass(frozen=True, slots=True)
class MonthEstimate:
    lines: Mapping[tuple[str, str], Tally]  # (business number, category) → tally
    total: Tally
    currency: str | None


def estimate_month(
    counts: Iterable[PricedCount], *, rate_card: RateCard | None, free_service_messages: int
) -> MonthEstimate:
    """Counts per number and category, and what they cost by the rate card.

    Each number's first ``free_service_messages`` delivered service messages in the month
    are free (WHATSAPP.md): those Meta already marked not billable use the allowance
    first, the rest covers billable ones, in the number's busiest market first (ties by
    market code). Billable messages beyond it are charged at the rate card's price for
    the customer's market and the category; without a price they are counted unpriced.
    """
    cells: dict[tuple[str, str, str | None], list[int]] = defaultdict(lambda: [0, 0, 0])
    for count in counts:
        column = {True: 0, False: 1, None: 2}[count.billable]
        cells[(count.business_number, count.category, count.market)][column] += count.messages
    allowance_left: dict[str, int] = defaultdict(lambda: max(0, free_service_messages))
    for (number, category, _), (_, free, _) in cells.items():
        if category == SERVICE:
            allowance_left[number] = max(0, allowance_left[number] - free)
    order = sorted(cells, key=lambda key: (key[0], key[1], -cells[key][0], key[2] or ""))
    lines: dict[tuple[str, str], Tally] = {}
    for key in order:
        number, category, market = key
        billable, free, unknown = cells[key]
        covered = 0
        if category == SERVICE:
            covered = min(billable, allowance_left[number])
            allowance_left[number] -= covered
        charged = billable - covered
        cost: Decimal | None = None
        unpriced = 0
        if rate_card is not None:
            price = rate_card.price(market, category)
            if price is None:
                unpriced = charged
                cost = Decimal(0)
            else:
                cost = price * charged
        tally = Tally(
            messages=billable + free + unknown,
            billable=billable,
            free=free,
            unknown=unknown,
            in_allowance=covered,
            charged=charged,
            unpriced=unpriced,
            cost=cost,
        )
        lines[(number, category)] = lines.get((number, category), Tally()).plus(tally)
    total = Tally(cost=Decimal(0) if rate_card is not None else None)
    for tally in lines.values():
        total = total.plus(tally)
    return MonthEstimate(
        lines=lines, total=total, currency=rate_card.currency if rate_card else None
    )


@dataclass(frozen=True, slots=True)
class SendPrice:
    """What one more message of a category would cost, before it is sent."""

    category: str
    free: bool  # a service message the month's free allowance still covers
    price: Decimal | None  # by the rate card (0 when free); None: no card, or no price


def free_service_messages_left(
    counts: Iterable[PricedCount], business_number: str, free_service_messages: int
) -> int:
    """What is left of a number's free service allowance this month: every delivered
    service message uses it, billable or not (as ``estimate_month`` spends it)."""
    used = sum(
        count.messages
        for count in counts
        if count.business_number == business_number
        and count.category == SERVICE
        and count.billable is not None
    )
    return max(0, free_service_messages - used)


def send_prices(
    market: str | None, *, rate_card: RateCard | None, free_service_left: int
) -> list[SendPrice]:
    """The price of one message per category (the four WhatsApp bills, then any other the
    card names for the market) to a customer in ``market``."""
    categories = list(CATEGORIES)
    if rate_card is not None:
        for key in ((market or "").upper(), ANY_MARKET):
            categories += [c for c in rate_card.markets.get(key, {}) if c not in categories]
    prices = []
    for category in categories:
        free = category == SERVICE and free_service_left > 0
        price = None
        if rate_card is not None:
            price = Decimal(0) if free else rate_card.price(market, category)
        prices.append(SendPrice(category=category, free=free, price=price))
    return prices


def budget_level(spent: Decimal, budget: Decimal) -> BudgetLevel:
    """How the month's estimate stands against the budget: a warning from 80 %."""
    if spent >= budget:
        return "exceeded"
    if spent * 100 >= budget * 80:
        return "warning"
    return "ok"


class RateCardUnusable(DomainError):
    """The configured rate card cannot be read or parsed (it changed since start-up)."""

    status = 503
    default_code = "rate_card_unusable"
    default_message = "The rate card cannot be used; fix the file the rate_card setting names."
